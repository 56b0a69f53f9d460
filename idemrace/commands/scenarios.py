"""``idemrace scenarios``: list the built-in scenario catalog."""

from __future__ import annotations

import json

from idemrace.commands.common import EXIT_OK, stdout_console

NAME = "scenarios"
HELP = "list the built-in scenario catalog"
DESCRIPTION = """\
List the built-in scenarios (catalog/scenarios/*.toml): name, profile, expectation, and what each
models. Any of them can be named on `check`, `report` and `replay`, alone or as catalog:NAME.

examples:
  idemrace scenarios
  idemrace scenarios --json | jq -r '.scenarios[].name'
"""


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args) -> int:
    from catalog import catalog

    rows = [
        {
            "name": s.name,
            "profile": s.profile_name,
            "expect": s.expect,
            "description": s.description,
        }
        for s in catalog().values()
    ]
    if args.json:
        print(json.dumps({"scenarios": rows}, indent=2))
        return EXIT_OK
    from rich.table import Table

    table = Table(title="idemrace scenario catalog")
    for column in ("name", "profile", "expect", "description"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["name"], row["profile"], row["expect"] or "-", row["description"])
    stdout_console().print(table)
    return EXIT_OK
