"""Distinct states per second for BFS, one core, no reductions (``check(..., reductions=frozenset())``).

    python benchmarks/bfs_throughput.py [SCENARIO ...]

Default: the catalog's largest exhaustive scenario (supersede-aba, 375k distinct states) and a
generated 4-request reject scenario. Prints one line per scenario and the machine it ran on.
Not a test: figures depend on the machine.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from catalog import load_scenario
from catalog.parse import parse_scenario
from simulator.explorers import SearchOptions, check

THREE_REJECTS = """
name = "bench-three-rejects"
description = "3 reject requests, one key, arrivals over 2 ticks"
profile = "vercel-today"
properties = ["single-owner"]
[bounds]
max_depth = 80
max_ticks = 2
dedupe_window = 2
""" + "".join(
    f'\n[[requests]]\nstrategy = "reject"\nkey = "k"\narrive = [0, {min(i, 2)}]\n' for i in range(3)
)


def measure(scenario) -> tuple[int, int, float]:
    """(distinct states, transitions, seconds) of ``check`` by BFS without reductions."""
    start = time.perf_counter()
    result = check(scenario, SearchOptions("bfs", reductions=frozenset()))
    seconds = time.perf_counter() - start
    return result.stats.states, result.stats.transitions, seconds


def main(argv: list[str]) -> None:
    scenarios = [load_scenario(ref) for ref in argv] or [
        load_scenario("supersede-aba"),
        parse_scenario(THREE_REJECTS, "bench-three-rejects"),
    ]
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()} "
        f"python={platform.python_version()}"
    )
    print(f"{'scenario':<28} {'states':>10} {'transitions':>12} {'seconds':>8} {'states/s':>10}")
    for scenario in scenarios:
        states, transitions, seconds = measure(scenario)
        print(
            f"{scenario.name:<28} {states:>10,} {transitions:>12,} "
            f"{seconds:>8.2f} {states / seconds:>10,.0f}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
