"""``idemrace matrix``: the comparison matrix, every cell computed by explorer runs."""

from __future__ import annotations

import json
from pathlib import Path

from idemrace.commands.common import EXIT_OK, stdout_console

NAME = "matrix"
HELP = "compute the comparison matrix (systems x lifecycle questions and properties)"
DESCRIPTION = """\
Compute the comparison matrix: one row per design (each profile's declared matrix rows), one
column per lifecycle question and property; every cell is the verdict of an explorer run.

examples:
  idemrace matrix
  idemrace matrix --markdown --trace-out traces/ > matrix.md
"""


def add_arguments(p) -> None:
    p.add_argument(
        "--json", action="store_true", help="print the matrix as JSON (cells carry traces)"
    )
    p.add_argument("--markdown", action="store_true", help="print the matrix as a Markdown table")
    p.add_argument(
        "--trace-out",
        type=Path,
        metavar="DIR",
        help="save each violated cell's counterexample as a replayable trace file in DIR",
    )


def run(args) -> int:
    from analysis.matrix import compute_matrix
    from reports.matrix import matrix_json, matrix_markdown, save_traces

    matrix = compute_matrix()
    traces = save_traces(matrix, args.trace_out) if args.trace_out else None
    if args.json:
        print(json.dumps(matrix_json(matrix, traces), indent=2, default=str))
    elif args.markdown:
        base = str(args.trace_out) if args.trace_out else "."
        print(matrix_markdown(matrix, traces=traces, trace_base=base), end="")
    else:
        from rich.table import Table

        table = Table(title="idemrace matrix (every cell computed by a check)", show_lines=True)
        table.add_column("design", overflow="fold")
        for column in matrix.columns:
            table.add_column(column, overflow="fold")
        style = {"violated": "red", "holds": "green", "unknown": "yellow"}
        for row in matrix.rows:
            cells = []
            for column in matrix.columns:
                cell = row.cells[column]
                colour = style.get(cell.verdict)
                cells.append(f"[{colour}]{cell.text}[/]" if colour else cell.text)
            table.add_row(row.design.label, *cells)
        stdout_console().print(table)
        for skipped in matrix.skipped:
            stdout_console().print(f"[yellow]not computed: {skipped}[/]")
    return EXIT_OK
