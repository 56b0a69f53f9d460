"""``idemrace report``: race reports a person reads (Markdown, pictures, graphs, traces)."""

from __future__ import annotations

from pathlib import Path

from idemrace.commands.common import LazyChoices, UsageError, exit_status, non_negative

NAME = "report"
HELP = "write race reports (default: every catalog scenario into race-reports/)"
DESCRIPTION = """\
Search each scenario and write a report folder per scenario (report.md and report.html with the
story, verdicts and the fix; swimlane and state-graph pictures; a replayable trace.json) and an
index (index.md, index.html) with the comparison matrix on top.

The output folder is checked before any search: a report run writes only into a new or empty
folder, or one an earlier report run made (it holds a .idemrace-report file); --force writes into
another folder (its index.md, index.html and manifest.json are replaced). Nothing outside --out
is touched, and inside it only report folders are replaced or removed.

examples:
  idemrace report                                  # whole catalog into race-reports/
  idemrace report signal-forward-race my.toml --out /tmp/reports
  idemrace report --out site/races --force --generated-at "$(git rev-parse --short HEAD)"
"""


def add_arguments(p) -> None:
    p.add_argument(
        "scenarios",
        nargs="*",
        metavar="SCENARIO_OR_FILE",
        help="catalog names or scenario TOML files (default: the whole catalog)",
    )
    p.add_argument(
        "--out", type=Path, default=Path("race-reports"), metavar="DIR", help="output folder"
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="write into an existing non-empty folder no report run made (replacing its "
        "index.md, index.html, manifest.json; other files are left alone)",
    )
    p.add_argument(
        "--explorer",
        choices=LazyChoices("simulator.explorers", "EXPLORERS"),
        metavar="NAME",
        default=None,
        help="explorer behind the reports (default: the scenario's `explorer` key, else bfs)",
    )
    p.add_argument("--seed", type=non_negative, default=0, help="seed for random, pct, hypothesis")
    p.add_argument(
        "--matrix",
        choices=("auto", "computed", "scenarios"),
        default="auto",
        help="top table of the index: 'computed' = the comparison matrix of `idemrace matrix` "
        "(probes + catalog, slower), 'scenarios' = profile x property from the reported "
        "scenarios; 'auto' (default) = computed for the whole catalog, scenarios for a subset",
    )
    p.add_argument(
        "--generated-at",
        default=None,
        help="text of the 'Generated at' line (default: the current UTC time)",
    )
    from idemrace.progress import add_feedback_arguments

    add_feedback_arguments(p)


def _computed_matrix():
    """The comparison matrix of ``analysis.matrix``, or None while that module lacks it."""
    try:
        from analysis import matrix
    except ImportError:
        return None
    compute = getattr(matrix, "compute_matrix", None)
    return compute() if compute is not None else None


def _check_all(args, scenarios, progress) -> list:
    """The searches behind the reports, with progress bars on a terminal (``idemrace.progress``),
    stopping at the first counterexample with --fail-fast."""
    from idemrace.progress import search_budget
    from idemrace.signals import raise_if_stopped
    from simulator.explorers import SearchOptions, check

    results = []
    for scenario in scenarios:
        explorer = args.explorer or getattr(scenario, "explorer", "bfs")
        shown = progress.start(scenario.name, explorer, search_budget(args, scenario, explorer))

        def callback(done: int, total: int, shown=shown) -> str | None:
            raise_if_stopped()  # an interrupt lost in a gc callback stops the search here
            return shown(done, total)  # a reason to stop once --time-limit is spent

        result = check(scenario, SearchOptions(explorer, seed=args.seed), progress=callback)
        results.append(result)
        progress.finish(result)
        if args.fail_fast and result.violations:
            break
    return results


def run(args) -> int:
    from datetime import UTC, datetime

    from catalog import catalog, load_scenario
    from idemrace.progress import progress_display
    from reports.render import prepare_out, write_reports

    scenarios = [load_scenario(ref) for ref in args.scenarios] or list(catalog().values())
    names = [s.name for s in scenarios]
    if len(set(names)) != len(names):
        raise UsageError("a scenario is named twice; each report folder is named after one")
    # before any search: where the reports go, and that nothing there is not ours to replace
    prepare_out(args.out, names, force=args.force)
    progress = progress_display(args, len(scenarios))
    with progress:
        results = _check_all(args, scenarios, progress)
        whole = not args.scenarios and len(results) == len(scenarios)
        wanted = args.matrix == "computed" or (args.matrix == "auto" and whole)
        if wanted:
            progress.phase("comparison matrix")
        matrix = _computed_matrix() if wanted else None
        progress.end_phase()
        stamp = args.generated_at or datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        wrote = progress.phase("writing reports", len(results))
        written = write_reports(
            results, args.out, stamp, matrix, on_written=lambda w: wrote(w.scenario)
        )
        progress.end_phase()
    print(f"wrote {len(written)} reports and the index to {args.out}/ (open {args.out}/index.html)")
    if len(results) < len(scenarios):
        import sys

        print(
            f"idemrace: stopped at the first counterexample (--fail-fast): {len(results)} of "
            f"{len(scenarios)} scenarios reported",
            file=sys.stderr,
        )
    from idemrace.commands.common import no_counterexample_note

    note = no_counterexample_note(results)
    if note:
        import sys

        print(note, file=sys.stderr)
    return exit_status(results)
