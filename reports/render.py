"""Race reports on disk: one folder per scenario and an index with the comparison matrix.

``write_reports(results, out)`` writes, for each ``CheckResult``::

    out/<scenario>/report.md          what is modelled, verdicts, the story, the fix, statistics
    out/<scenario>/report.html        the same as a page: pictures inline, a step explorer
    out/<scenario>/swimlane.png|.svg  the counterexample as a sequence diagram
    out/<scenario>/state-graph.png|.svg|.graphml  the explored neighbourhood of the counterexample
    out/<scenario>/trace.json         replayable with ``idemrace replay``
    out/index.md, out/index.html      the comparison matrix, then every scenario

Every file is written to a temporary folder first and swapped in whole, so a report folder is
always either the previous run's or this run's, never a mix. Output is byte-identical for the same
inputs except the one ``Generated at`` line of each Markdown/HTML page.

Nothing outside ``out`` is touched, and inside it only what a report run wrote: a scenario name
that is not a plain folder name is refused (``report_folder``), a scenario folder is replaced only
if it is a report folder, and stale folders are removed only if the manifest lists them and they
are report folders. ``prepare_out`` (the CLI, before any search) also refuses a non-empty folder
that no report run created (it has no ``OUT_MARKER`` file) unless told to (``force``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from catalog.trace import save_trace, trace_document, write_atomic
from properties import PROPERTIES
from reports.causal import marks
from reports.graph import MAX_BRANCHES, neighbourhood, render_graph, save_graphml
from reports.index import write_index
from reports.page import step_rows, write_report_page
from reports.story import status_changes, story
from reports.swimlane import render_swimlane
from reports.text import labelled
from simulator.explorers import HOLDS, CheckResult
from simulator.scenario import Scenario
from simulator.system import System

MAX_RELATED = 5  # related designs listed in full under "What closes it"
FILES_VIOLATED = (
    "report.md",
    "report.html",
    "swimlane.png",
    "swimlane.svg",
    "state-graph.png",
    "state-graph.svg",
    "state-graph.graphml",
    "trace.json",
)
FILES_NO_VIOLATION = ("report.md", "report.html")


# a folder `idemrace report` made (or adopted with --force) has this file; a committed
# race-reports/ carries one, so the default --out is writable beside the curated backends/ folder
OUT_MARKER = ".idemrace-report"
MARKER_TEXT = (
    "This folder is written by `idemrace report`: its scenario folders, index.md, index.html and\n"
    "manifest.json are replaced by the next run; other files are left alone.\n"
)
# names of the files a run writes at the top of ``out``: no scenario folder may take them
TOP_FILES = ("index.md", "index.html", "manifest.json", OUT_MARKER)
# what may name a folder in ``out``: one path component, not hidden, not '.'/'..' (scenario files
# allow less, see ``catalog.parse.NAME_PATTERN``; a derived name such as <name>@<option>=<value>
# is fine)
_FOLDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@=+,-]*")


class ReportFolderError(ValueError):
    """A report run that would write where it must not: one line, nothing written."""


def _is_report_folder(folder: Path) -> bool:
    return folder.is_dir() and not folder.is_symlink() and (folder / "report.md").is_file()


def report_folder(out: Path, name: str) -> Path:
    """``out/name``, for a name that stays a direct child of ``out``; else ReportFolderError."""
    if _FOLDER_NAME.fullmatch(name) is None or len(name) > 200 or name in TOP_FILES:
        raise ReportFolderError(
            f"scenario name {name!r} cannot name a report folder (letters, digits, '-', '_', "
            f"'.', starting with a letter or digit, not one of {', '.join(TOP_FILES)})"
        )
    folder = out / name
    if (folder.exists() or folder.is_symlink()) and not _is_report_folder(folder):
        raise ReportFolderError(
            f"{folder} exists and is not a report folder (no report.md): not replacing it; "
            "rename the scenario or move that folder"
        )
    return folder


def _written_before(out: Path) -> list[str] | None:
    """The scenario folders the previous run listed in its manifest (None: no manifest)."""
    try:
        before = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(before, list):
        return None
    return [n for n in before if isinstance(n, str)]


def prepare_out(out: Path, names: list[str], force: bool = False) -> None:
    """Check, before any search, that a report run may write its ``names`` into ``out``; create
    ``out`` (and its marker). ReportFolderError (one line) if it may not."""
    if out.exists() and not out.is_dir():
        raise ReportFolderError(f"--out {out}: exists and is not a folder")
    for name in names:
        report_folder(out, name)
    if out.is_dir():
        entries = [e.name for e in out.iterdir()]
        ours = OUT_MARKER in entries or (
            # a folder an earlier idemrace wrote (before the marker): its manifest and index
            _written_before(out) is not None and "index.md" in entries
        )
        if entries and not ours and not force:
            raise ReportFolderError(
                f"--out {out}: the folder is not empty and was not written by `idemrace report` "
                f"(no {OUT_MARKER} file); name a new or empty folder, or pass --force to write "
                "into it (its index.md and index.html would be replaced)"
            )
    try:
        out.mkdir(parents=True, exist_ok=True)
        if not (out / OUT_MARKER).exists():
            write_atomic(out / OUT_MARKER, MARKER_TEXT)
            readable(out / OUT_MARKER)
    except OSError as exc:
        raise ReportFolderError(
            f"--out {out}: cannot write there ({exc.strerror or exc})"
        ) from None


@dataclass
class Written:
    scenario: str
    folder: Path
    files: list[str]
    lanes: list[str] = field(default_factory=list)
    story: list[str] = field(default_factory=list)


def featured(result: CheckResult):
    """The violation a report is about: the expected property's, else the first."""
    expected = result.scenario.expected_property
    for violation in result.violations:
        if violation.property == expected:
            return violation
    return result.violations[0] if result.violations else None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def readable(*paths: Path) -> None:
    """Give files the mode a plain ``open()`` would (0666 minus the umask): temporary files are
    created 0600, and reports are meant to be shared (served, attached, copied)."""
    mode = 0o666 & ~_umask()
    for path in paths:
        os.chmod(path, mode)


def _swap_in(tmp: Path, final: Path) -> None:
    old = final.with_name(f".{final.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    if old.exists():
        shutil.rmtree(old)


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return out


def related_designs(scenario: Scenario, prop: str, scenarios: dict[str, Scenario]) -> list[str]:
    """Scenarios of another profile (or other options) that check ``prop`` and expect it to
    hold: designs where the race shown here does not happen within their bounds. The same
    engine's other designs come first (``vercel-today`` -> ``vercel-keyed-start``), then by name.
    """
    design = (scenario.profile_name, scenario.profile_options)
    engine = scenario.profile_name.split("-")[0]
    return sorted(
        (
            name
            for name, other in scenarios.items()
            if other.expect == HOLDS
            and prop in other.properties
            and (other.profile_name, other.profile_options) != design
        ),
        key=lambda name: (scenarios[name].profile_name.split("-")[0] != engine, name),
    )


def _how_found(result: CheckResult, prop: str) -> str:
    if result.explorer == "bfs":
        return (
            "Found by breadth-first search, which explores schedules by length: no shorter "
            f"schedule violates `{prop}` within these bounds."
        )
    if result.explorer == "dfs":
        return "Found by depth-first search: a real schedule, not necessarily the shortest."
    seed = f" (seed {result.seed})" if result.seed is not None else ""
    return (
        f"Found by the `{result.explorer}` explorer{seed}, then shortened by deleting steps while "
        "the violation remains; a shorter schedule may exist (`--explorer bfs` finds the "
        "shortest when the space is small enough)."
    )


def _closers(scenario, violation, verdicts: dict[str, dict[str, str]], scenarios) -> list[str]:
    def verdict(name: str, missing: str) -> str:
        checked = verdicts.get(name)
        if checked is None:
            return missing
        if prop in checked:
            return f"`{prop}` {checked[prop]}"
        return f"does not check `{prop}`"

    def link(name: str) -> str:
        # a link only to a report that is in this folder; otherwise just the name
        return f"[{name}](../{name}/report.md)" if name in verdicts else f"`{name}`"

    if violation is None:
        return ["Nothing to close: no property is violated within these bounds."]
    prop = violation.property
    if scenario.closed_by:
        lines = [
            "The scenario names the design"
            + ("s that close it:" if len(scenario.closed_by) > 1 else " that closes it:"),
            "",
        ]
        for other in scenario.closed_by:
            known = scenarios.get(other)
            expected = f"expected: {known.expect or 'nothing violated'}; " if known else ""
            found = verdict(other, f"{expected}not checked in this run")
            where = f" (`{known.profile_name}`)" if known else ""
            bounds = " within its bounds" if other in verdicts else ""
            lines.append(f"- {link(other)}{where}: {found}{bounds}")
        return lines
    related = related_designs(scenario, violation.property, scenarios)
    if not related:
        return [f"No catalog scenario shows a design where `{violation.property}` holds yet."]
    lines = [
        f"No fix is named for this race. Related designs where `{violation.property}` holds "
        "within their bounds (other profiles or options checking the same property; a related "
        "design, not necessarily a drop-in fix):",
        "",
    ]
    for other in related[:MAX_RELATED]:
        other_scenario = scenarios[other]
        found = verdict(other, "expected to hold, not checked in this run")
        lines.append(f"- {link(other)} (`{other_scenario.profile_name}`): {found}")
    if len(related) > MAX_RELATED:
        rest = ", ".join(f"`{name}`" for name in related[MAX_RELATED:])
        lines.append(f"- and {len(related) - MAX_RELATED} more: {rest}")
    return lines


def write_scenario_report(
    result: CheckResult,
    out: Path,
    generated_at: str,
    catalog_verdicts: dict[str, dict[str, str]],
    catalog_scenarios: dict[str, Scenario] | None = None,
) -> Written:
    scenario = result.scenario
    final = report_folder(out, scenario.name)
    tmp = out / f".{scenario.name}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    violation = featured(result)
    written = Written(scenario.name, final, list(FILES_NO_VIOLATION))
    rows = marked = None  # the HTML page's step explorer, with a counterexample
    lines = [
        f"# {scenario.name}",
        "",
        f"Generated at: {generated_at}",
        "",
        f"**{scenario.description}**",
        "",
    ]
    options = ", ".join(f"`{k} = {v!r}`" for k, v in scenario.profile_options) or "defaults"
    lines += ["## What this models", "", f"Profile `{scenario.profile_name}` ({options}).", ""]
    if scenario.why:
        lines += [" ".join(scenario.why.split()), ""]
    lines += _md_table(
        ["request", "strategy", "workflow", "key", "payload", "arrives"],
        [
            [
                f"req{r.index}",
                r.strategy,
                r.workflow,
                r.key,
                r.payload,
                f"t={r.arrive_min}..{r.arrive_max}"
                + (f", after req{r.after}'s run ended" if r.after else "")
                + (f", while req{r.during}'s run is live" if r.during else ""),
            ]
            for r in scenario.requests
        ],
    )
    lines += [
        "",
        "## Verdict",
        "",
        f"**{result.verdict}** (expected: {scenario.expect or 'nothing violated'}; "
        f"{'matches' if result.matches else 'DOES NOT MATCH'}).",
        "",
    ]
    lines += _md_table(
        ["property", "verdict", "what it means"],
        [
            [f"`{name}`", verdict, PROPERTIES[name].explanation]
            for name, verdict in result.properties.items()
        ],
    )
    others = [v for v in result.violations if v is not violation]
    if violation is None:
        lines += ["", "## No counterexample", ""]
        if result.exhausted:
            lines.append(
                f"The search visited every reachable state within the bounds ({result.stats.states:,} "
                "states): no schedule violates any checked property. Nothing to draw, and no trace."
            )
        else:
            lines.append(
                "No violation was found, but the search did not cover the whole bounded space "
                f"({result.cut_off}): the properties are unknown beyond what was explored."
            )
    if violation is not None:
        system = System(scenario)
        steps = violation.steps
        changes = status_changes(system, violation.schedule)
        written.story = story(steps, violation.property, changes)
        lines += [
            "",
            f"## The counterexample ({len(steps)} steps)",
            "",
            f"`{violation.property}` is violated: {violation.message}.",
            "",
            _how_found(result, violation.property),
            "",
        ]
        lines += written.story
        lines += [
            "",
            "![swimlane](swimlane.png)",
            "",
            "One lane per process (`reqN`: the client or route handler of request N; `rN`: the "
            "workflow body of run N) and one for the world (the engine's storage). Each arrow is "
            "one atomic call, in schedule order; its result is written beside the world lane. "
            "The red step is the one that violates the property; the steps on an amber band lead "
            "to it (those of the processes the violation names and of the runs they met; the "
            "others are faded), and each process has the colour of its request's key "
            "(also as `swimlane.svg`).",
            "",
            "Schedule, replayable with `idemrace replay trace.json`:",
            "",
            "```",
        ]
        lines += [
            f"{k:>3}. {s.label:<14} {labelled(s.op)} -> {labelled(s.result)}"
            for k, s in enumerate(steps, start=1)
        ]
        lines += [
            "```",
            "",
            "## The state graph around it",
            "",
            "![state graph](state-graph.png)",
            "",
            "Each circle is a state of the whole system (world and every process), its runs, "
            "token owners and effects in a few words above it (all of it in the tooltips of "
            "`state-graph.svg` and the HTML page). The red path "
            "is the counterexample, numbered by step; grey states are what the scheduler could "
            f"have done instead at each step (up to {MAX_BRANCHES} a state), named by the process "
            "that moves. The graph is rebuilt after the search by re-exploring one step around "
            "the path; `state-graph.graphml` has it for graph tools (node attribute `label` "
            "summarizes each state).",
            "",
        ]
        title = f"{scenario.name}: {violation.property} violated"
        marked = marks(scenario, violation, system)
        written.lanes = render_swimlane(
            steps,
            title,
            [tmp / "swimlane.png", tmp / "swimlane.svg"],
            violation.property,
            scenario.description,
            marked,
            [
                f"{k}. {s.label}: {labelled(s.op)} -> {labelled(s.result)}"
                for k, s in enumerate(steps, start=1)
            ],
        )
        graph = neighbourhood(system, violation.schedule)
        render_graph(
            graph,
            f"{scenario.name}: states around the counterexample",
            tmp / "state-graph.png",
            tmp / "state-graph.svg",
        )
        rows = step_rows(system, violation.schedule, steps, marked)
        save_graphml(graph, tmp / "state-graph.graphml")
        save_trace(tmp / "trace.json", trace_document(result, violation))
        written.files = list(FILES_VIOLATED)
    if others:
        lines += ["## Other properties violated here", ""]
        lines += [f"- `{v.property}` in {len(v.steps)} steps: {v.message}" for v in others]
        lines += [""]
    lines += ["## What closes it", ""]
    lines += _closers(scenario, violation, catalog_verdicts, catalog_scenarios or {})
    stats = result.stats
    bounds = scenario.bounds
    lines += [
        "",
        "## Search",
        "",
        f"Explorer `{result.explorer}`"
        + (f", seed {result.seed}" if result.seed is not None else "")
        + f": {stats.states:,} distinct states, {stats.transitions:,} transitions, "
        f"maximum depth {stats.max_depth}.",
        f"Bounds: depth {bounds.max_depth}, {bounds.max_ticks} ticks, dedupe window "
        f"{bounds.dedupe_window}, crashes {bounds.max_crashes}, lost responses "
        f"{bounds.max_lost_responses}, state budget {bounds.max_states:,}.",
        "The search "
        + (
            "exhausted this bounded space."
            if result.exhausted
            else f"did not exhaust the space ({result.cut_off or 'stopped once every property was violated'})."
        ),
        "",
    ]
    write_atomic(tmp / "report.md", "\n".join(lines))
    write_report_page(tmp, "\n".join(lines), scenario.name, result.verdict, rows, marked)
    readable(*sorted(p for p in tmp.iterdir() if p.is_file()))
    _swap_in(tmp, final)
    return written


def write_reports(
    results: list[CheckResult], out: Path, generated_at: str, matrix=None, on_written=None
) -> list[Written]:
    """Every report, then the index; ``on_written(w)`` after each report (the CLI's progress)."""
    for result in results:  # refuse before writing anything
        report_folder(out, result.scenario.name)
    out.mkdir(parents=True, exist_ok=True)
    # leftovers of an interrupted run (our own temporary folders) go first
    for leftover in sorted(out.glob(".*.tmp")) + sorted(out.glob(".*.old")):
        if leftover.is_dir():
            shutil.rmtree(leftover)
    verdicts = {r.scenario.name: r.properties for r in results}
    from catalog import catalog

    # related designs come from the whole catalog (plus whatever was checked in this run)
    scenarios = {**catalog(), **{r.scenario.name: r.scenario for r in results}}
    written = []
    for result in results:
        written.append(write_scenario_report(result, out, generated_at, verdicts, scenarios))
        if on_written is not None:
            on_written(written[-1])
    write_index(out, results, generated_at, matrix)
    # a second run replaces the first cleanly: report folders the previous run wrote (listed in
    # its manifest) and this run did not are removed; nothing else in ``out`` is touched
    manifest = out / "manifest.json"
    now = sorted(w.scenario for w in written)
    for name in _written_before(out) or []:
        # a manifest is data: a name in it that is not a plain child of ``out`` is skipped
        if name in now or _FOLDER_NAME.fullmatch(name) is None or name in TOP_FILES:
            continue
        folder = out / name
        if _is_report_folder(folder):
            shutil.rmtree(folder)
    write_atomic(manifest, json.dumps(now, indent=1) + "\n")
    readable(out / "index.md", out / "index.html", manifest)
    return written
