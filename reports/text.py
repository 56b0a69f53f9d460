"""Terminal rendering of check results (rich tables) and of traces as numbered steps.

``labelled`` is the human form of an op or a result: ``ClaimHook(run_id=2, hook_id='h1',
token='order:1')``, its fields named (``model.ops`` NamedTuples carry ``_fields``) and fields left at
their default omitted. Trace files and ``--json`` keep ``describe``'s positional text, which the
replay and the golden files pin; only what a person reads is labelled.
"""

from __future__ import annotations

from typing import Any

from model.ops import describe


def labelled(value: Any) -> str:
    """``Name(field=value, ...)`` for NamedTuples (fields at their default left out), nested
    values alike; plain values as ``describe`` renders them."""
    fields = getattr(value, "_fields", None) if isinstance(value, tuple) else None
    if fields is not None:
        defaults = getattr(type(value), "_field_defaults", {})
        args = ", ".join(
            f"{name}={labelled(v)}"
            for name, v in zip(fields, value, strict=True)
            if not (name in defaults and defaults[name] == v)
        )
        return f"{type(value).__name__}({args})"
    if isinstance(value, tuple):
        return "(" + ", ".join(labelled(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return describe(value)


def trace_lines(steps) -> list[str]:
    """One line a step: ``3. r1  ClaimHook(run_id=1, hook_id='h1', token='order:1') ->
    HookCreated()``."""
    width = max((len(s.label) for s in steps), default=0)
    return [
        f"{k:>3}. {s.label:<{width}}  {labelled(s.op)} -> {labelled(s.result)}"
        for k, s in enumerate(steps, start=1)
    ]


# (column, justify, shrinkable): columns in the order shown. Off a wide terminal the least
# important ones go first (DROP_ORDER), then the shrinkable ones are cut with an ellipsis; the
# scenario name is never folded or cut (it is what a person searches for and passes back).
CHECK_COLUMNS = (
    ("scenario", "left", False),
    ("profile", "left", True),
    ("explorer", "left", False),
    ("verdict", "left", False),
    ("expected", "left", True),
    ("ok", "center", False),
    ("states", "right", False),
    ("transitions", "right", False),
    ("depth", "right", False),
    ("seconds", "right", False),
)
DROP_ORDER = ("transitions", "depth", "explorer", "seconds", "expected")
PLAIN = {"violated": "red", "holds": "green"}


def _check_rows(results, stable: bool) -> list[dict[str, str]]:
    return [
        {
            "scenario": r.scenario.name,
            "profile": r.scenario.profile_name,
            "explorer": r.explorer,
            "verdict": r.verdict,
            "expected": r.scenario.expect or "-",
            "ok": "yes" if r.matches else "NO",
            "states": f"{r.stats.states:,}",
            "transitions": f"{r.stats.transitions:,}",
            "depth": str(r.stats.max_depth),
            "seconds": "-" if stable else f"{r.stats.seconds:.2f}",
        }
        for r in results
    ]


def fit_columns(rows: list[dict[str, str]], width: int) -> list[str]:
    """The columns shown at ``width``: all of them if their natural widths fit (each cell plus 3
    for padding and border), else without the least important ones, in ``DROP_ORDER``, until
    they do or only the essential ones remain (shrinkable ones are then cut by rich)."""
    shown = [name for name, _, _ in CHECK_COLUMNS]
    for name in DROP_ORDER:
        if sum(_natural(rows, c) for c in shown) + 1 <= width:
            break
        shown.remove(name)
    return shown


def _natural(rows: list[dict[str, str]], name: str) -> int:
    """A column's width with nothing cut: its widest cell or title, plus padding and border."""
    return max([len(name), *(len(row[name]) for row in rows)]) + 3


def table_width(results, stable: bool = False) -> int:
    """The check table's natural width (every column, nothing cut), between 100 and 200: what
    piped output without ``COLUMNS`` is printed at, so a CI log shows the whole table."""
    rows = _check_rows(results, stable)
    natural = sum(_natural(rows, name) for name, _, _ in CHECK_COLUMNS)
    return min(200, max(100, natural + 1))


def print_check_table(console, results, stable: bool = False, show_traces: bool = False) -> None:
    from rich.table import Table

    rows = _check_rows(results, stable)
    shown = fit_columns(rows, console.width)
    # what the columns that are never cut leave to the shrinkable ones, shared equally: rich
    # would otherwise shrink every column alike, the names too
    natural = {name: _natural(rows, name) for name in shown}
    kept = sum(
        natural[name] for name, _, shrinkable in CHECK_COLUMNS if name in shown and not shrinkable
    )
    cut = [name for name, _, shrinkable in CHECK_COLUMNS if name in shown and shrinkable]
    share = (console.width - 1 - kept) // len(cut) - 3 if cut else 0
    table = Table(title="idemrace check")
    for name, justify, shrinkable in CHECK_COLUMNS:
        if name in shown:
            table.add_column(
                name,
                justify=justify,
                no_wrap=True,
                overflow="ellipsis" if shrinkable else "fold",
                max_width=max(5, share) if shrinkable and natural[name] - 3 > share else None,
            )
    for row in rows:
        cells = dict(row)
        cells["verdict"] = f"[{PLAIN.get(row['verdict'], 'yellow')}]{row['verdict']}[/]"
        cells["ok"] = "[green]yes[/]" if row["ok"] == "yes" else "[red]NO[/]"
        table.add_row(*(cells[name] for name in shown))
    console.print(table)
    hidden = [name for name, _, _ in CHECK_COLUMNS if name not in shown]
    if hidden:
        console.print(
            f"[dim]not shown at {console.width} columns: {', '.join(hidden)} "
            "(wider terminal, COLUMNS=..., or --json)[/]",
            highlight=False,
        )
    for r in results:
        for v in r.violations:
            console.print(
                f"[bold]{r.scenario.name}[/]: [red]{v.property}[/] violated in "
                f"{len(v.steps)} steps: {v.message}",
                highlight=False,
            )
            if show_traces:
                for line in trace_lines(v.steps):
                    console.print(f"    {line}", highlight=False, markup=False)
        if r.cut_off and r.verdict != "violated":
            console.print(
                f"[yellow]{r.scenario.name}: search not exhaustive: {r.cut_off}[/]", highlight=False
            )
    mismatched = [r.scenario.name for r in results if not r.matches]
    if mismatched:
        console.print(f"[red]verdict differs from expectation: {', '.join(mismatched)}[/]")
