"""Race reports on disk: one folder per scenario and an index with the comparison matrix.

``write_reports(results, out)`` writes, for each ``CheckResult``::

    out/<scenario>/report.md          what is modelled, verdicts, the story, the fix, statistics
    out/<scenario>/swimlane.png|.svg  the counterexample as a sequence diagram
    out/<scenario>/state-graph.png|.graphml  the explored neighbourhood of the counterexample
    out/<scenario>/trace.json         replayable with ``idemrace replay``
    out/index.md, out/index.html      the comparison matrix, then every scenario

Every file is written to a temporary folder first and swapped in whole, so a report folder is
always either the previous run's or this run's, never a mix. Output is byte-identical for the same
inputs except the one ``Generated at`` line of each Markdown/HTML page.
"""

from __future__ import annotations

import html
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from idemrace.trace import save_trace, trace_document, write_atomic
from model.ops import describe
from properties import PROPERTIES
from reports.graph import neighbourhood, render_graph, save_graphml
from reports.story import story
from reports.swimlane import render_swimlane
from simulator.explorers import CheckResult
from simulator.system import System

FILES_VIOLATED = (
    "report.md",
    "swimlane.png",
    "swimlane.svg",
    "state-graph.png",
    "state-graph.graphml",
    "trace.json",
)


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


def write_scenario_report(
    result: CheckResult, out: Path, generated_at: str, catalog_verdicts: dict[str, str]
) -> Written:
    scenario = result.scenario
    final = out / scenario.name
    tmp = out / f".{scenario.name}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    violation = featured(result)
    written = Written(scenario.name, final, ["report.md"])
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
    if violation is not None:
        system = System(scenario)
        steps = violation.steps
        written.story = story(steps)
        lines += [
            "",
            f"## The minimal counterexample ({len(steps)} steps)",
            "",
            f"`{violation.property}` is violated: {violation.message}.",
            "",
        ]
        lines += written.story
        lines += [
            "",
            "![swimlane](swimlane.png)",
            "",
            "Schedule, replayable with `idemrace replay trace.json`:",
            "",
            "```",
        ]
        lines += [
            f"{k:>3}. {s.label:<14} {describe(s.op)} -> {describe(s.result)}"
            for k, s in enumerate(steps, start=1)
        ]
        lines += [
            "```",
            "",
            "## The state graph around it",
            "",
            "![state graph](state-graph.png) (also `state-graph.graphml`)",
            "",
        ]
        title = f"{scenario.name}: {violation.property} violated"
        written.lanes = render_swimlane(steps, title, [tmp / "swimlane.png", tmp / "swimlane.svg"])
        graph = neighbourhood(system, violation.schedule)
        render_graph(
            graph, f"{scenario.name}: states around the counterexample", tmp / "state-graph.png"
        )
        save_graphml(graph, tmp / "state-graph.graphml")
        save_trace(tmp / "trace.json", trace_document(result, violation))
        written.files = list(FILES_VIOLATED)
    if others:
        lines += ["## Other properties violated here", ""]
        lines += [f"- `{v.property}` in {len(v.steps)} steps: {v.message}" for v in others]
        lines += [""]
    lines += ["## What closes it", ""]
    if scenario.closed_by:
        for other in scenario.closed_by:
            verdict = catalog_verdicts.get(other, "not checked in this run")
            lines.append(f"- [{other}](../{other}/report.md): {verdict} within its bounds")
    elif violation is not None:
        lines.append("No catalog scenario is linked as the fix for this race yet.")
    else:
        lines.append("Nothing to close: no property is violated within these bounds.")
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
    _swap_in(tmp, final)
    return written


def write_index(out: Path, results: list[CheckResult], generated_at: str, matrix=None) -> None:
    from reports.matrix import LIFECYCLE_TITLES, matrix_markdown

    rows = [
        [
            f"[{r.scenario.name}]({r.scenario.name}/report.md)",
            r.scenario.profile_name,
            r.verdict,
            r.scenario.expect or "-",
            "yes" if r.matches else "NO",
            r.scenario.description,
        ]
        for r in results
    ]
    md = ["# idemrace race reports", "", f"Generated at: {generated_at}", ""]
    if matrix is not None:
        md += [
            "## Comparison matrix",
            "",
            "Every cell is computed by a check; a violated cell links the scenario that shows it.",
            "",
            matrix_markdown(matrix, report_base="."),
            "",
        ]
    md += ["## Scenarios", ""]
    md += _md_table(
        ["scenario", "profile", "verdict", "expected", "matches", "what it models"], rows
    )
    write_atomic(out / "index.md", "\n".join(md) + "\n")

    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>idemrace race reports</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:13px}"
        "td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:top}"
        ".violated{background:#ffebee}.holds{background:#e8f5e9}.unknown{background:#fff8e1}"
        "</style></head><body>",
        "<h1>idemrace race reports</h1>",
        f"<p>Generated at: {e(generated_at)}</p>",
    ]
    if matrix is not None:
        parts.append(
            "<h2>Comparison matrix</h2><p>Every cell is computed by a check.</p><table><tr><th>design</th>"
        )
        parts += [f"<th>{e(LIFECYCLE_TITLES.get(c, c))}</th>" for c in matrix.columns]
        parts.append("</tr>")
        for row in matrix.rows:
            parts.append(f"<tr><th>{e(row.design.label)}</th>")
            for column in matrix.columns:
                cell = row.cells[column]
                text = e(cell.text)
                if cell.catalog and cell.scenario:
                    text = f"<a href='{e(cell.scenario)}/report.md'>{text}</a><br><small>{e(cell.scenario)}</small>"
                parts.append(f"<td class='{e(cell.verdict)}'>{text}</td>")
            parts.append("</tr>")
        parts.append("</table>")
    parts.append(
        "<h2>Scenarios</h2><table><tr><th>scenario</th><th>profile</th><th>verdict</th>"
        "<th>expected</th><th>what it models</th><th>picture</th></tr>"
    )
    for r in results:
        name = e(r.scenario.name)
        picture = (
            f"<a href='{name}/swimlane.png'><img src='{name}/swimlane.png' width='240'></a>"
            if r.violations
            else ""
        )
        parts.append(
            f"<tr><td><a href='{name}/report.md'>{name}</a></td><td>{e(r.scenario.profile_name)}</td>"
            f"<td class='{e(r.verdict)}'>{e(r.verdict)}</td><td>{e(r.scenario.expect or '-')}</td>"
            f"<td>{e(r.scenario.description)}</td><td>{picture}</td></tr>"
        )
    parts.append("</table></body></html>")
    write_atomic(out / "index.html", "\n".join(parts) + "\n")


def write_reports(
    results: list[CheckResult], out: Path, generated_at: str, matrix=None
) -> list[Written]:
    out.mkdir(parents=True, exist_ok=True)
    verdicts = {}
    for r in results:
        prop = r.scenario.expected_property
        verdicts[r.scenario.name] = (
            f"`{prop}` {r.properties.get(prop, 'unknown')}"
            if prop
            else ", ".join(f"`{k}` {v}" for k, v in r.properties.items() if v != "holds")
            or "every property holds"
        )
    written = [write_scenario_report(r, out, generated_at, verdicts) for r in results]
    write_index(out, results, generated_at, matrix)
    # a second run replaces the first cleanly: report folders the previous run wrote (listed in
    # its manifest) and this run did not are removed; nothing else in ``out`` is touched
    manifest = out / "manifest.json"
    now = sorted(w.scenario for w in written)
    if manifest.exists():
        try:
            before = json.loads(manifest.read_text())
        except (OSError, ValueError):
            before = []
        for name in before:
            folder = out / str(name)
            if name not in now and folder.is_dir() and (folder / "report.md").exists():
                shutil.rmtree(folder)
    write_atomic(manifest, json.dumps(now, indent=1) + "\n")
    return written
