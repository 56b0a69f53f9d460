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

import argparse
import math
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
        self._phase = None
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

    def phase(self, description: str, total: int | None = None) -> Callable[[str], None]:
        """A row for work after the searches (writing reports, computing the matrix): call the
        returned function with what was just done; ``end_phase`` removes the row."""
        task = None
        if self.progress is not None:
            count = f"0/{total}" if total else ""
            task = self.progress.add_task(description, total=total, rate="", count=count)
        self._phase = task
        done = 0

        def advance(what: str) -> None:
            nonlocal done
            done += 1
            if self.progress is not None and task is not None:
                count = f"{done}/{total}" if total else str(done)
                self.progress.update(task, completed=done, count=count, rate=what)

        return advance

    def end_phase(self) -> None:
        if self.progress is not None and self._phase is not None:
            self.progress.remove_task(self._phase)
        self._phase = None


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


# -- the commands' options -------------------------------------------------------------------------


def time_limit(text: str) -> float:
    """``--time-limit``: finite seconds > 0 (``nan`` compares false with everything, so a plain
    ``<= 0`` test lets it through; ``inf`` is no limit, which is leaving the option out)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number of seconds > 0")
    return value


def add_feedback_arguments(p) -> None:
    """``--fail-fast`` / ``-x`` and ``--time-limit`` (check and report)."""
    p.add_argument(
        "-x",
        "--fail-fast",
        action="store_true",
        help="stop after the first scenario with a counterexample (the rest are not run; "
        "default: run them all)",
    )
    p.add_argument(
        "--time-limit",
        type=time_limit,
        metavar="SECONDS",
        help="stop each search after SECONDS: its verdict is then unknown unless it already "
        "found a counterexample, and its statistics are what it explored (default: none; "
        "in-process searches only, not --workers/--scheduler)",
    )


def search_budget(args, scenario, explorer: str) -> int | None:
    """What a search's progress row counts up to: states (bfs, dfs), walks, examples."""
    if explorer in ("bfs", "dfs"):
        return getattr(args, "max_states", None) or scenario.bounds.max_states
    if explorer in ("random", "pct"):
        return getattr(args, "walks", None)
    return getattr(args, "max_examples", None)


def progress_display(args, total: int) -> SearchProgress:
    """The progress bars on stderr: only on a terminal and not with --json."""
    from rich.console import Console

    err = Console(stderr=True)
    enabled = err.is_terminal and not getattr(args, "json", False)
    return SearchProgress(err, total, enabled, getattr(args, "time_limit", None))
