"""Explorers and the one entry point the CLI, tests and reports use: ``check``.

Each explorer is one object in its own file, declaring what it is (``base.Explorer``: name,
exhaustive, shortens, the options it reads) and registered there in ``EXPLORERS``; ``check``
asks the registry, never a list of names. Importing this package imports every explorer file,
in the order of the CLI's ``--explorer`` choices.
"""

from __future__ import annotations

# the explorer files register themselves on import, in this order (the CLI's choices)
# isort: off
import simulator.explorers.bfs
import simulator.explorers.dfs
import simulator.explorers.walks
import simulator.explorers.hypothesis_explorer  # noqa: F401

# isort: on
from simulator.explorers.base import (
    EXPLORERS,
    HOLDS,
    UNKNOWN,
    VIOLATED,
    Budget,
    CheckResult,
    Explored,
    Explorer,
    Progress,
    PropertyBook,
    SearchOptions,
    Stats,
    Violation,
)
from simulator.explorers.walks import pct, random_walk
from simulator.scenario import Scenario
from simulator.system import System

DEFAULT_OPTIONS = SearchOptions()  # bfs within the scenario's bounds, every proven reduction


def check(
    scenario: Scenario,
    options: SearchOptions | str = DEFAULT_OPTIONS,
    *,
    system: System | None = None,
    extra_properties: tuple = (),
    progress: Progress | None = None,
) -> CheckResult:
    """Explore ``scenario`` and check its properties; ``options`` names the explorer and its
    budgets (a plain string is ``SearchOptions(explorer=that)``). Budgets left ``None`` are the
    scenario's bounds.

    ``extra_properties`` are ``Property`` objects checked besides the scenario's named ones
    (e.g. the comparison matrix's observations, which are not registered properties)."""
    if isinstance(options, str):
        options = SearchOptions(explorer=options)
    explorer = EXPLORERS[options.explorer]
    system = system or System(scenario)
    book = PropertyBook(system, scenario.properties, extra_properties)
    budget = Budget(
        options.max_depth if options.max_depth is not None else scenario.bounds.max_depth,
        options.max_states if options.max_states is not None else scenario.bounds.max_states,
    )
    stats, exhaustive, cut_off = explorer.explore(
        system, book, budget, options, progress, extra_properties
    )
    exhaustive = exhaustive and explorer.exhaustive  # only a declared-exhaustive one says holds
    # a seeded explorer's result says its seed (replays need it); BFS's and DFS's do not depend on one
    used_seed = options.seed if "seed" in explorer.reads else None
    # walks and Hypothesis find long schedules: shorten them (BFS/DFS traces are kept as found)
    return book.result(
        scenario, explorer.name, stats, exhaustive, cut_off, used_seed, explorer.shortens
    )


__all__ = [
    "DEFAULT_OPTIONS",
    "EXPLORERS",
    "HOLDS",
    "UNKNOWN",
    "VIOLATED",
    "CheckResult",
    "Explored",
    "Explorer",
    "SearchOptions",
    "Stats",
    "Violation",
    "check",
    "pct",
    "random_walk",
]
