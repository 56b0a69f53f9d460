"""The index page of a report folder: the comparison matrix on top, then every scenario.

The top table comes from one of two sources, both turned into the same neutral ``Table`` so the
Markdown and HTML writers do not care which:

* ``from_matrix(matrix)``: the computed comparison matrix of ``reports.matrix.compute_matrix``
  (designs x lifecycle questions and properties, probes included);
* ``index_matrix(results)``: built here from the check results this run already has (rows:
  profile with its options; columns: properties; a cell is the verdict over the row's scenarios,
  linking the scenario that shows it). Used when the computed matrix is not asked for or not
  available, and for a subset of the catalog, whose links must stay inside the folder.

A cell links a scenario's report only when that report is in this folder: ``index.md`` links
``report.md``, ``index.html`` the report's page (``report.html``, pictures inline).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from catalog.trace import write_atomic
from simulator.explorers import HOLDS, UNKNOWN, VIOLATED, CheckResult


@dataclass(frozen=True)
class TableCell:
    text: str
    verdict: str  # css class: violated | holds | unknown | n/a | observed
    scenario: str | None = None  # the report the cell links, if it is in this folder


@dataclass(frozen=True)
class Table:
    title: str
    note: str
    columns: tuple[str, ...]  # column titles
    rows: tuple[tuple[str, tuple[TableCell, ...]], ...]  # (row title, cells)


def design_of(result: CheckResult) -> str:
    scenario = result.scenario
    options = ", ".join(f"{k}={v}" for k, v in scenario.profile_options)
    return f"{scenario.profile_name} ({options})" if options else scenario.profile_name


def index_matrix(results: list[CheckResult]) -> Table:
    """Profile x property from this run's checks. A cell is ``violated`` if a scenario of the
    row violates the property (linking the one whose expectation is about it, else the first by
    name), ``holds`` if every scenario of the row checking it holds, ``unknown`` otherwise."""
    names = sorted({p for r in results for p in r.properties})
    designs: dict[str, list[CheckResult]] = {}
    for r in sorted(results, key=lambda r: (design_of(r), r.scenario.name)):
        designs.setdefault(design_of(r), []).append(r)
    rows = []
    for design, group in designs.items():
        cells = []
        for prop in names:
            checked = [r for r in group if prop in r.properties]
            violating = [r for r in checked if r.properties[prop] == VIOLATED]
            if not checked:
                cells.append(TableCell("-", "n/a"))
            elif violating:
                violating.sort(key=lambda r: r.scenario.expected_property != prop)
                shown = violating[0].scenario.name
                more = f" (+{len(violating) - 1})" if len(violating) > 1 else ""
                cells.append(TableCell(f"violated: {shown}{more}", VIOLATED, shown))
            elif all(r.properties[prop] == HOLDS for r in checked):
                shown = checked[0].scenario.name
                more = f" (+{len(checked) - 1})" if len(checked) > 1 else ""
                cells.append(TableCell(f"holds: {shown}{more}", HOLDS, shown))
            else:
                shown = next(r for r in checked if r.properties[prop] == UNKNOWN).scenario.name
                cells.append(TableCell(f"unknown: {shown}", UNKNOWN, shown))
        rows.append((design, tuple(cells)))
    return Table(
        "Comparison matrix (from the scenarios in this folder)",
        "Rows: profile and options; columns: properties. A cell is violated when a scenario of "
        "the row violates the property (the cell links it; +N: more scenarios do), holds when "
        "every scenario of the row that checks it holds within its bounds.",
        tuple(f"`{p}`" for p in names),
        tuple(rows),
    )


def from_matrix(matrix, rendered: set[str]) -> Table:
    """The computed comparison matrix (``reports.matrix.Matrix``) as a ``Table``."""
    from reports import matrix as computed

    titles = getattr(computed, "LIFECYCLE_TITLES", {})
    rows = []
    for row in matrix.rows:
        cells = []
        for column in matrix.columns:
            cell = row.cells[column]
            # a cell names one scenario, or (a 'holds' over several) a comma-separated list of
            # catalog scenarios and probes: link the first whose report is in this folder
            behind = [n for n in (cell.scenario or "").split(", ") if n in rendered]
            text = cell.text
            if behind:
                more = f" (+{len(behind) - 1})" if len(behind) > 1 else ""
                text = f"{cell.text}: {behind[0]}{more}"
            cells.append(TableCell(text, cell.verdict, behind[0] if behind else None))
        rows.append((row.design.label, tuple(cells)))
    note = (
        "Every cell is computed by a check on the model: lifecycle columns by generated probes, "
        "property columns by the row's catalog scenarios and probes. A cell naming a scenario "
        "links its report."
    )
    if matrix.skipped:
        note += " Not computed: " + "; ".join(matrix.skipped) + "."
    return Table(
        "Comparison matrix",
        note,
        tuple(titles.get(c, f"`{c}`") for c in matrix.columns),
        tuple(rows),
    )


def top_table(results: list[CheckResult], matrix=None) -> Table:
    rendered = {r.scenario.name for r in results}
    return from_matrix(matrix, rendered) if matrix is not None else index_matrix(results)


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def table_markdown(table: Table) -> list[str]:
    def cell(c: TableCell) -> str:
        return f"[{_md(c.text)}]({c.scenario}/report.md)" if c.scenario else _md(c.text)

    lines = [
        f"## {table.title}",
        "",
        table.note,
        "",
        "| | " + " | ".join(_md(c) for c in table.columns) + " |",
        "|---|" + "---|" * len(table.columns),
    ]
    lines += [
        f"| {_md(title)} | " + " | ".join(cell(c) for c in cells) + " |"
        for title, cells in table.rows
    ]
    return lines


def table_html(table: Table) -> list[str]:
    e = html.escape
    parts = [
        f"<h2>{e(table.title)}</h2>",
        f"<p>{e(table.note)}</p>",
        "<table class='matrix'><tr><th></th>",
    ]
    parts += [f"<th>{e(c.strip('`'))}</th>" for c in table.columns]
    parts.append("</tr>")
    for title, cells in table.rows:
        parts.append(f"<tr><th>{e(title)}</th>")
        for c in cells:
            text = e(c.text)
            if c.scenario:
                text = f"<a href='{e(c.scenario)}/report.html'>{text}</a>"
            parts.append(f"<td class='{e(c.verdict)}'>{text}</td>")
        parts.append("</tr>")
    parts.append("</table>")
    return parts


def _scenario_rows(results: list[CheckResult]) -> list[list[str]]:
    return [
        [
            f"[{r.scenario.name}]({r.scenario.name}/report.md)",
            r.scenario.profile_name,
            r.verdict,
            r.scenario.expect or "-",
            "yes" if r.matches else "NO",
            _md(r.scenario.description),
        ]
        for r in results
    ]


def write_index(out: Path, results: list[CheckResult], generated_at: str, matrix=None) -> Table:
    """``index.md`` and ``index.html``: the top table first, then one row per scenario. Returns
    the top table (what was written)."""
    table = top_table(results, matrix)
    md = ["# idemrace race reports", "", f"Generated at: {generated_at}", ""]
    md += table_markdown(table)
    md += ["", "## Scenarios", ""]
    header = ["scenario", "profile", "verdict", "expected", "matches", "what it models"]
    md += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    md += ["| " + " | ".join(row) + " |" for row in _scenario_rows(results)]
    write_atomic(out / "index.md", "\n".join(md) + "\n")

    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>idemrace race reports</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:110em}"
        "table{border-collapse:collapse;font-size:13px;margin-bottom:1.5em}"
        "td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}"
        ".violated{background:#ffebee}.holds{background:#e8f5e9}.unknown{background:#fff8e1}"
        "</style></head><body>",
        "<h1>idemrace race reports</h1>",
        f"<p>Generated at: {e(generated_at)}</p>",
    ]
    parts += table_html(table)
    parts.append(
        "<h2>Scenarios</h2><table><tr><th>scenario</th><th>profile</th><th>verdict</th>"
        "<th>expected</th><th>what it models</th><th>counterexample</th></tr>"
    )
    for r in results:
        name = e(r.scenario.name)
        picture = (
            f"<a href='{name}/report.html#explorer'><img src='{name}/swimlane.png' width='260' "
            f"alt='swimlane of {name}'></a>"
            if r.violations
            else ""
        )
        parts.append(
            f"<tr><td><a href='{name}/report.html'>{name}</a></td>"
            f"<td>{e(r.scenario.profile_name)}</td>"
            f"<td class='{e(r.verdict)}'>{e(r.verdict)}</td><td>{e(r.scenario.expect or '-')}</td>"
            f"<td>{e(r.scenario.description)}</td><td>{picture}</td></tr>"
        )
    parts.append("</table></body></html>")
    write_atomic(out / "index.html", "\n".join(parts) + "\n")
    return table
