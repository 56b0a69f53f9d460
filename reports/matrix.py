"""The comparison matrix, rendered: Markdown, JSON and trace files from a computed ``Matrix``.

Rendering only: the matrix is computed by ``analysis.matrix.compute_matrix`` (every cell an
explorer run on the model); nothing here searches. A cell's witness trace is the ``CheckResult``
the analysis kept with it.
"""

from __future__ import annotations

from typing import Any

from analysis.matrix import Cell, Matrix, Row

LIFECYCLE_TITLES = {
    "admission": "Admission atomic?",
    "in-flight": "In-flight duplicate gets",
    "memory": "Post-completion memory",
    "reuse": "Result reuse after completion",
}


def _cell_violation(cell: Cell):
    if cell.result is None or cell.property is None:
        return None
    return next((v for v in cell.result.violations if v.property == cell.property), None)


def matrix_json(matrix: Matrix, traces: dict[tuple[str, str], str] | None = None) -> dict:
    """Plain data: rows with every cell's text, verdict, scenario, detail and (where a search
    produced one) the witness trace."""
    from catalog.trace import step_rows

    rows = []
    for row in matrix.rows:
        cells = {}
        for column in matrix.columns:
            cell = row.cells[column]
            entry: dict[str, Any] = {
                "text": cell.text,
                "verdict": cell.verdict,
                "scenario": cell.scenario,
                "detail": cell.detail,
                "evidence": cell.evidence,
            }
            violation = _cell_violation(cell)
            if violation is not None:
                entry["trace"] = step_rows(violation.steps)
                if traces and (row.design.label, column) in traces:
                    entry["trace_file"] = traces[(row.design.label, column)]
            cells[column] = entry
        rows.append(
            {
                "design": row.design.label,
                "profile": row.design.profile,
                "options": dict(row.design.options),
                "strategies": list(row.design.strategies),
                "cells": cells,
            }
        )
    return {"columns": list(matrix.columns), "rows": rows, "skipped": list(matrix.skipped)}


def save_traces(matrix: Matrix, folder) -> dict[tuple[str, str], str]:
    """Write every cell's witness as a replayable trace file; returns (row, column) -> file name."""
    from pathlib import Path

    from catalog.trace import save_trace, trace_document

    folder = Path(folder)
    written: dict[tuple[str, str], str] = {}
    for row in matrix.rows:
        for column, cell in row.cells.items():
            violation = _cell_violation(cell)
            if violation is None or violation.property.startswith("observe-"):
                continue  # observer witnesses replay only with the observer: JSON carries them
            name = f"{row.design.slug}.{column}.trace.json"
            save_trace(folder / name, trace_document(cell.result, violation))
            written[(row.design.label, column)] = name
    return written


def matrix_markdown(
    matrix: Matrix,
    report_base: str = "race-reports",
    traces: dict[tuple[str, str], str] | None = None,
    trace_base: str = ".",
) -> str:
    """A Markdown table. A catalog scenario's cell links its report page
    (``{report_base}/{scenario}/report.md``); a probe's violated cell links its trace file."""

    def title(column: str) -> str:
        return LIFECYCLE_TITLES.get(column, f"`{column}`")

    def render(row: Row, column: str) -> str:
        cell = row.cells[column]
        text = cell.text.replace("|", "\\|")
        if cell.catalog and cell.scenario:
            return f"[{text}]({report_base}/{cell.scenario}/report.md) ({cell.scenario})"
        if traces and (row.design.label, column) in traces:
            return f"[{text}]({trace_base}/{traces[(row.design.label, column)]})"
        if column not in LIFECYCLE_TITLES and cell.verdict == "holds" and cell.evidence:
            # a generated probe decided it: say which and what exercised the property there
            # (``matrix:<row>:<strategy>:<kind>``; a catalog scenario is linked above)
            which = ":".join(cell.scenario.split(":")[2:]) or cell.scenario
            return f"{text} (probe {which}: {cell.evidence})".replace("|", "\\|")
        return text

    lines = [
        "| design | " + " | ".join(title(c) for c in matrix.columns) + " |",
        "|---|" + "---|" * len(matrix.columns),
    ]
    for row in matrix.rows:
        lines.append(
            f"| {row.design.label} | " + " | ".join(render(row, c) for c in matrix.columns) + " |"
        )
    if matrix.skipped:
        lines.append("")
        lines.append("Not computed: " + "; ".join(matrix.skipped))
    return "\n".join(lines) + "\n"


__all__ = ["LIFECYCLE_TITLES", "matrix_json", "matrix_markdown", "save_traces"]
