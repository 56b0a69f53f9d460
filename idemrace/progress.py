"""Feedback while searches run: rich progress bars on stderr, only on a terminal.

One ``SearchProgress`` for a command that runs several searches (``check``, ``report``):

* an overall row, ``k/N scenarios``, with a bar, the time elapsed and an ETA over the scenarios;
* one row for the search running now: its states (or walks, or examples) so far, states a
  second, the share of its budget used (the state budget for bfs/dfs, the walk or example count
  for the samplers) and an ETA to that budget, which is an upper bound: most searches end well
  before their budget;
* a finished search's row is removed and one line with its verdict is printed above the bars
  (no stale rows at 80x24, however many scenarios).

``--time-limit SECONDS`` is a budget per search: the callback a search calls every few thousand
states (``simulator.explorers.base.Progress``) answers with a reason to stop once it is spent, and
the search ends with what it has (verdict ``unknown`` unless it already found a counterexample,
its statistics so far). The clock is only read here, in the CLI: no search result depends on it
except through that stop, which is named in the result's ``cut_off``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

VERDICT_STYLE = {"violated": "red", "holds": "green"}
UNITS = {"random": "walks", "pct": "walks", "hypothesis": "examples"}


def compact(n: float | None) -> str:
    """``950``, ``12.3k``, ``2M``: a count that fits a progress row at 80 columns."""
    if n is None:
        return "?"
    if n < 1000:
        return f"{n:.0f}"
    if n < 1_000_000:
        return f"{n / 1000:.1f}k".replace(".0k", "k")
    return f"{n / 1_000_000:.1f}M".replace(".0M", "M")


def time_limit_reason(seconds: float) -> str:
    return f"time limit {seconds:g} s reached"


class SearchProgress:
    """Progress of ``total`` searches on ``console`` (a stderr ``rich.console.Console``).
    ``enabled=False`` draws nothing (off a terminal, ``--json``); the time limit still holds."""

    def __init__(
        self,
        console,
        total: int,
        enabled: bool,
        time_limit: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.console = console
        self.total = total
        self.enabled = enabled
        self.time_limit = time_limit
        self.clock = clock
        self.done = 0
        self.progress = None
        self._overall = None
        self._search = None
        self._started = 0.0
        self._unit = "states"
        if enabled:
            from rich.progress import (
                BarColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.table import Column

            self.progress = Progress(
                TextColumn(
                    "{task.description}",
                    style="bold",
                    table_column=Column(max_width=34, no_wrap=True, overflow="ellipsis"),
                ),
                BarColumn(bar_width=None),
                TextColumn("{task.fields[count]}"),
                TextColumn("{task.fields[rate]}"),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=console,
                transient=True,
                expand=True,
            )

    # -- the command's side ----------------------------------------------------------------------

    def __enter__(self) -> SearchProgress:
        if self.progress is not None:
            self.progress.start()
            self._overall = self.progress.add_task(
                "scenarios", total=self.total, rate="", count=f"0/{self.total}"
            )
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None:
            self.progress.stop()

    def start(self, name: str, explorer: str, budget: int | None) -> Callable[[int, int], Any]:
        """A search begins: its row, and the callback to hand to ``check``."""
        self._started = self.clock()
        self._unit = UNITS.get(explorer, "states")
        if self.progress is not None:
            self._search = self.progress.add_task(
                f"{name} ({explorer})",
                total=budget or None,
                rate="",
                count=f"0/{compact(budget)} {self._unit}" if budget else "",
            )
        return self.callback

    def callback(self, done: int, total: int) -> str | None:
        """What a search calls every few thousand states: update the row; a reason to stop once
        the time limit is spent, else None."""
        elapsed = self.clock() - self._started
        if self.progress is not None and self._search is not None:
            rate = f"{compact(done / elapsed)}/s" if elapsed > 0 else ""
            count = f"{compact(done)}/{compact(total)} {self._unit}" if total else compact(done)
            self.progress.update(
                self._search, completed=done, total=total or None, rate=rate, count=count
            )
        if self.time_limit is not None and elapsed >= self.time_limit:
            return time_limit_reason(self.time_limit)
        return None

    def finish(self, result) -> None:
        """A search ended: its row collapses to one line with the verdict."""
        self.done += 1
        if self.progress is None:
            return
        if self._search is not None:
            self.progress.remove_task(self._search)
            self._search = None
        self.progress.update(self._overall, completed=self.done, count=f"{self.done}/{self.total}")
        self.progress.refresh()  # the live frame drops the row now, not at the next tick
        self.progress.console.print(verdict_line(result), highlight=False)


def verdict_line(result) -> str:
    """``violated  supersede-aba  (bfs, 62,524 states, 1.5 s) newest-wins in 9 steps``."""
    verdict = result.verdict
    style = VERDICT_STYLE.get(verdict, "yellow")
    stats = result.stats
    found = ", ".join(f"{v.property} in {len(v.steps)} steps" for v in result.violations)
    why = f" {result.cut_off}" if result.cut_off and not result.violations else ""
    mismatch = "" if result.matches else " [red](expected " + (result.expected or "-") + ")[/]"
    return (
        f"[{style}]{verdict:<8}[/] {result.scenario.name}  [dim]({result.explorer}, "
        f"{stats.states:,} states, {stats.seconds:.1f} s)[/] {found}{why}{mismatch}"
    )
