"""Terminal rendering of check results (rich tables) and of traces as numbered steps."""

from __future__ import annotations

from model.ops import describe


def trace_lines(steps) -> list[str]:
    """One line a step: ``3. r1  ClaimHook(1, 'h1', 'order:1') -> HookCreated()``."""
    width = max((len(s.label) for s in steps), default=0)
    return [
        f"{k:>3}. {s.label:<{width}}  {describe(s.op)} -> {describe(s.result)}"
        for k, s in enumerate(steps, start=1)
    ]


def print_check_table(console, results, stable: bool = False, show_traces: bool = False) -> None:
    from rich.table import Table

    table = Table(title="idemrace check")
    for column, justify in (
        ("scenario", "left"),
        ("profile", "left"),
        ("explorer", "left"),
        ("verdict", "left"),
        ("expected", "left"),
        ("ok", "center"),
        ("states", "right"),
        ("transitions", "right"),
        ("depth", "right"),
        ("seconds", "right"),
    ):
        table.add_column(column, justify=justify, overflow="fold")
    for r in results:
        verdict_style = {"violated": "red", "holds": "green"}.get(r.verdict, "yellow")
        table.add_row(
            r.scenario.name,
            r.scenario.profile_name,
            r.explorer,
            f"[{verdict_style}]{r.verdict}[/]",
            r.scenario.expect or "-",
            "[green]yes[/]" if r.matches else "[red]NO[/]",
            f"{r.stats.states:,}",
            f"{r.stats.transitions:,}",
            str(r.stats.max_depth),
            "-" if stable else f"{r.stats.seconds:.2f}",
        )
    console.print(table)
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
