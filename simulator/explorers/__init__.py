"""Explorers and the one entry point the CLI, tests and reports use: ``check``."""

from __future__ import annotations

from simulator.explorers.base import (
    HOLDS,
    UNKNOWN,
    VIOLATED,
    Budget,
    CheckResult,
    Progress,
    PropertyBook,
    Stats,
    Violation,
)
from simulator.explorers.walks import pct, random_walk
from simulator.scenario import Scenario
from simulator.system import System

EXPLORERS = ("bfs", "dfs", "random", "pct", "hypothesis")


def check(
    scenario: Scenario,
    explorer: str = "bfs",
    *,
    seed: int = 0,
    max_depth: int | None = None,
    max_states: int | None = None,
    walks: int = 1000,
    pct_depth: int = 3,
    progress: Progress | None = None,
    system: System | None = None,
    extra_properties: tuple = (),
    max_examples: int | None = None,
    hypothesis_profile: str | None = None,
    reductions: frozenset[str] | None = None,
) -> CheckResult:
    """Explore ``scenario`` and check its properties. Budgets default to the scenario's bounds.

    ``extra_properties`` are ``Property`` objects checked besides the scenario's named ones
    (e.g. the comparison matrix's observations, which are not registered properties).

    ``reductions`` (bfs, dfs): state-space reductions to use, from ``simulator.reductions``
    (``symmetry``, ``key``); None = ``DEFAULT`` (all proven ones), ``frozenset()`` = none."""
    if explorer not in EXPLORERS:
        raise ValueError(f"unknown explorer {explorer!r}; allowed: {', '.join(EXPLORERS)}")
    system = system or System(scenario)
    book = PropertyBook(system, scenario.properties, extra_properties)
    budget = Budget(
        max_depth if max_depth is not None else scenario.bounds.max_depth,
        max_states if max_states is not None else scenario.bounds.max_states,
    )
    if explorer in ("bfs", "dfs"):
        from simulator.reductions import DEFAULT, explore

        stats, exhaustive, cut_off = explore(
            explorer,
            system,
            book,
            budget,
            progress,
            DEFAULT if reductions is None else reductions,
            extra_properties,
        )
    elif explorer == "hypothesis":
        from simulator.explorers.hypothesis_explorer import hypothesis_explore

        stats, exhaustive, cut_off = hypothesis_explore(
            system, book, budget, seed, max_examples, hypothesis_profile, progress
        )
    elif explorer == "random":
        stats, exhaustive, cut_off = random_walk(system, book, budget, seed, walks, progress)
    else:
        stats, exhaustive, cut_off = pct(system, book, budget, seed, walks, pct_depth, progress)
    used_seed = seed if explorer in ("random", "pct", "hypothesis") else None
    # walks and Hypothesis find long schedules: shorten them (BFS/DFS traces are kept as found)
    shorten = explorer in ("random", "pct", "hypothesis")
    return book.result(scenario, explorer, stats, exhaustive, cut_off, used_seed, shorten)


__all__ = [
    "EXPLORERS",
    "HOLDS",
    "UNKNOWN",
    "VIOLATED",
    "CheckResult",
    "Stats",
    "Violation",
    "check",
]
