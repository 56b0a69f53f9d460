"""``idemrace list WHAT``: what a scenario file or a command line may name, from the registries.

Every row comes from the registry the parser checks against (profiles, strategies, properties,
explorers, backends), so the list cannot drift from what is accepted. ``options`` lists every
profile option and every strategy option with its default, allowed values and meaning.
"""

from __future__ import annotations

import json
from typing import Any

from idemrace.commands.common import EXIT_OK, stdout_console

NAME = "list"
HELP = "list profiles, strategies, properties, options, explorers or backends"
DESCRIPTION = """\
List what a scenario file or a command line may name, straight from the registries.

  profiles     the worlds a scenario runs in (`profile = ...`), with their options
  strategies   the client code a request runs (`[[requests]] strategy = ...`), with options
  properties   what `properties = [...]` may name: invariant (every state) or final
  options      every profile option and request option: default, allowed values, meaning
  explorers    the search strategies of `check --explorer` and a scenario's `explorer` key
  backends     the real stores `idemrace validate BACKEND` accepts

examples:
  idemrace list profiles
  idemrace list options --json | jq '.options[] | select(.of == "vercel-today")'
"""

WHAT = ("profiles", "strategies", "properties", "options", "explorers", "backends")


def add_arguments(p) -> None:
    p.add_argument("what", choices=WHAT, metavar="WHAT", help=" | ".join(WHAT))
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--markdown",
        action="store_true",
        help="print Markdown tables (options: the tables of the README's scenario-file section)",
    )


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def _option_rows(kind: str, owner: str, options: dict) -> list[dict[str, Any]]:
    rows = []
    for name, option in sorted(options.items()):
        choices = getattr(option, "choices", None)
        kind_of = getattr(option, "kind", object)
        rows.append(
            {
                "of": owner,
                "kind": kind,
                "option": name,
                "default": option.default,
                "allowed": [*choices]
                if choices is not None
                else (kind_of.__name__ if kind_of is not object else "any"),
                "doc": getattr(option, "doc", "") or "",
            }
        )
    return rows


def _profiles() -> list[dict[str, Any]]:
    from model.profiles import PROFILES

    return [
        {
            "name": name,
            "description": cls.description,
            "families": sorted(getattr(cls, "FAMILIES", ())),
            "options": {k: o.default for k, o in sorted(cls.OPTIONS.items())},
        }
        for name, cls in sorted(PROFILES.items())
    ]


def _strategies() -> list[dict[str, Any]]:
    from simulator.strategies import STRATEGIES

    return [
        {
            "name": name,
            "description": spec.description,
            "profiles": list(spec.profiles),
            "options": {k: o.default for k, o in sorted(spec.options.items())},
        }
        for name, spec in sorted(STRATEGIES.items())
    ]


def _properties() -> list[dict[str, Any]]:
    from properties import PROPERTIES

    return [
        {
            "name": name,
            "kind": prop.kind,
            "only_for": sorted(prop.only_for),
            "explanation": " ".join(prop.explanation.split()),
        }
        for name, prop in sorted(PROPERTIES.items())
    ]


def _options() -> list[dict[str, Any]]:
    from model.profiles import PROFILES
    from simulator.strategies import STRATEGIES

    rows = []
    for name, cls in sorted(PROFILES.items()):
        rows += _option_rows("profile_options", name, cls.OPTIONS)
    for name, spec in sorted(STRATEGIES.items()):
        rows += _option_rows("requests.options", name, spec.options)
    return rows


def _explorers() -> list[dict[str, Any]]:
    from simulator.explorers import EXPLORERS

    rows = []
    for name in EXPLORERS:
        entry = EXPLORERS[name] if hasattr(EXPLORERS, "__getitem__") else None
        exhaustive = getattr(entry, "exhaustive", name in ("bfs", "dfs"))
        rows.append(
            {
                "name": name,
                "exhaustive": exhaustive,
                "can_say": "holds, violated, unknown" if exhaustive else "violated, unknown",
                "reads": sorted(getattr(entry, "reads", ())),
                "description": " ".join(
                    (getattr(entry, "__doc__", None) or "").split("\n\n")[0].split()
                ).replace("``", "")
                if entry is not None and not isinstance(entry, str)
                else "",
            }
        )
    return rows


def _backends() -> list[dict[str, Any]]:
    from backends import BUILTIN

    return [
        {"name": name, "class": entry.ref, "description": entry.description}
        for name, entry in BUILTIN.items()
    ]


ROWS = {
    "profiles": _profiles,
    "strategies": _strategies,
    "properties": _properties,
    "options": _options,
    "explorers": _explorers,
    "backends": _backends,
}


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={_shown(v)}" for k, v in value.items()) or "-"
    if isinstance(value, list):
        return ", ".join(_shown(v) if not isinstance(v, str) else v for v in value) or "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value) if value not in (None, "") else "-"


def options_markdown(rows: list[dict[str, Any]]) -> str:
    """The option tables of the README's "Scenario files": one row per option and meaning, with
    every profile or strategy that reads it."""
    out = []
    for kind, title in (
        ("profile_options", "[profile_options]"),
        ("requests.options", "[[requests]] options"),
    ):
        groups: dict[tuple[str, str, str, str], list[str]] = {}
        for row in rows:
            if row["kind"] != kind:
                continue
            allowed = row["allowed"]
            shown = (
                ", ".join(f"`{_shown(a)}`" for a in allowed)
                if isinstance(allowed, list)
                else allowed
            )
            key = (row["option"], _shown(row["default"]), shown, row["doc"].replace("|", "\\|"))
            groups.setdefault(key, []).append(row["of"])
        out += [f"| {title} | of | default | allowed | meaning |", "|---|---|---|---|---|"]
        for (option, default, allowed, doc), owners in sorted(groups.items()):
            out.append(f"| `{option}` | {', '.join(owners)} | `{default}` | {allowed} | {doc} |")
        out.append("")
    return "\n".join(out)


def _markdown(rows: list[dict[str, Any]]) -> str:
    columns = list(rows[0]) if rows else ["name"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row[c]).replace("|", "\\|") for c in columns) + " |")
    return "\n".join(lines) + "\n"


def run(args) -> int:
    rows = ROWS[args.what]()
    if args.json:
        print(json.dumps({args.what: rows}, indent=2, default=str))
        return EXIT_OK
    if args.markdown:
        print(options_markdown(rows) if args.what == "options" else _markdown(rows), end="")
        return EXIT_OK
    from rich.table import Table

    table = Table(title=f"idemrace {args.what}", show_lines=args.what in ("options", "properties"))
    columns = list(rows[0]) if rows else ["name"]
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        cells = []
        for column in columns:
            value = row[column]
            cells.append(_shown(value) if column == "default" else _cell(value))
        table.add_row(*cells)
    stdout_console().print(table)
    return EXIT_OK
