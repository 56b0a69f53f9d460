"""``idemrace report``: race reports a person reads (Markdown, pictures, graphs, traces)."""

from __future__ import annotations

from pathlib import Path

from idemrace.commands.common import EXIT_MISMATCH, EXIT_OK, non_negative

NAME = "report"
HELP = "write race reports (default: every catalog scenario into race-reports/)"


def add_arguments(p) -> None:
    p.add_argument(
        "scenarios",
        nargs="*",
        metavar="SCENARIO_OR_FILE",
        help="catalog names or scenario TOML files (default: the whole catalog)",
    )
    p.add_argument("--out", type=Path, default=Path("race-reports"), help="output folder")
    p.add_argument(
        "--explorer",
        choices=("bfs", "dfs", "random", "pct"),
        default="bfs",
        help="explorer behind the reports (default bfs: shortest counterexamples)",
    )
    p.add_argument("--seed", type=non_negative, default=0, help="seed for random and pct")
    p.add_argument(
        "--no-matrix", action="store_true", help="skip the comparison matrix on the index"
    )
    p.add_argument(
        "--generated-at",
        default=None,
        help="text of the 'Generated at' line (default: the current UTC time)",
    )


def run(args) -> int:
    from datetime import UTC, datetime

    from idemrace.loader import catalog, load_scenario
    from reports.render import write_reports
    from simulator.explorers import check

    scenarios = [load_scenario(ref) for ref in args.scenarios] or list(catalog().values())
    results = [check(s, args.explorer, seed=args.seed) for s in scenarios]
    matrix = None
    if not args.no_matrix:
        from reports.matrix import compute_matrix

        matrix = compute_matrix()
    stamp = args.generated_at or datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    written = write_reports(results, args.out, stamp, matrix)
    print(f"wrote {len(written)} reports and the index to {args.out}/ (open {args.out}/index.html)")
    return EXIT_OK if all(r.matches for r in results) else EXIT_MISMATCH
