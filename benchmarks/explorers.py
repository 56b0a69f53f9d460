"""Which explorer to use when: per catalog race, the time to the first counterexample and to the
final (shrunk or minimal) one, and both lengths, for BFS, random walks, PCT and Hypothesis, in one
run; then a summary per explorer. Not a test: the seconds depend on the machine.

    python benchmarks/explorers.py [SCENARIO ...] [--seed N] [--walks N] [--profile ci|dev|deep]
    python benchmarks/explorers.py --study [SCENARIO ...]   # Hypothesis design choices, measured

Every explorer hunts only the scenario's expected property, so BFS stops at its shortest
counterexample and the walks stop at their first. "first" is when the first counterexample was
found: BFS's is already minimal; random and PCT then shorten theirs by step deletion
(``shrink``, strict replay); Hypothesis shrinks (within its profile) and ``shrink`` finishes. BFS is run on
each scenario's own state budget: on the scenarios that recommend Hypothesis it stops at that
budget without a counterexample ("-").

``--study`` measures the Hypothesis choices the README quotes, on the same races: the ``ci``
profile as shipped, with Hypothesis's shrink phase at its own limit (500 shrinks) instead of off,
with the ``explain`` phase on, without step deletion (``shrink_steps=False``), and with ``target()`` on.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from catalog import catalog, load_scenario
from simulator.explorers import check
from simulator.explorers.base import Budget, PropertyBook
from simulator.explorers.hypothesis_explorer import hypothesis_explore
from simulator.explorers.walks import pct, random_walk
from simulator.system import System

EXPLORERS = ("bfs", "random", "pct", "hypothesis")


@dataclasses.dataclass
class Row:
    scenario: str
    explorer: str
    found: bool
    first: float  # seconds to the first counterexample (or to giving up)
    final: float  # seconds to the final counterexample
    first_len: int | None
    final_len: int | None


def _hunt(scenario):
    return dataclasses.replace(scenario, properties=(scenario.expected_property,))


def _walks(scenario, explorer: str, seed: int, walks: int) -> Row:
    system = System(scenario)
    book = PropertyBook(system, scenario.properties)
    budget = Budget(scenario.bounds.max_depth, scenario.bounds.max_states)
    start = time.perf_counter()
    if explorer == "random":
        stats, exhaustive, cut_off = random_walk(system, book, budget, seed, walks)
    else:
        stats, exhaustive, cut_off = pct(system, book, budget, seed, walks, 3)
    first = time.perf_counter() - start
    found = book.found.get(scenario.expected_property)
    first_len = len(found[1]) if found else None
    result = book.result(scenario, explorer, stats, exhaustive, cut_off, seed, True)
    final = time.perf_counter() - start
    final_len = len(result.violations[0].schedule) if result.violations else None
    return Row(scenario.name, explorer, found is not None, first, final, first_len, final_len)


def _hypothesis(scenario, seed: int, profile: str | None, **options) -> Row:
    system = System(scenario)
    book = PropertyBook(system, scenario.properties)
    budget = Budget(scenario.bounds.max_depth, scenario.bounds.max_states)
    start = time.perf_counter()
    cpu = time.process_time()
    stats, exhaustive, cut_off = hypothesis_explore(
        system, book, budget, seed, None, profile, **options
    )
    result = book.result(scenario, "hypothesis", stats, exhaustive, cut_off, seed, True)
    final = time.perf_counter() - start
    first = stats.first_found if stats.first_found is not None else final
    length = len(result.violations[0].schedule) if result.violations else None
    row = Row(scenario.name, "hypothesis", bool(result.violations), first, final, None, length)
    row.cpu = time.process_time() - cpu  # type: ignore[attr-defined]
    row.examples = stats.schedules  # type: ignore[attr-defined]
    return row


def _bfs(scenario) -> Row:
    start = time.perf_counter()
    result = check(scenario, "bfs")
    seconds = time.perf_counter() - start
    length = len(result.violations[0].schedule) if result.violations else None
    return Row(scenario.name, "bfs", bool(result.violations), seconds, seconds, length, length)


def _fmt(value: float | int | None, width: int, digits: int = 2) -> str:
    if value is None:
        return f"{'-':>{width}}"
    if isinstance(value, float):
        return f"{value:>{width}.{digits}f}"
    return f"{value:>{width}}"


def race_rows(scenario, seed: int, walks: int, profile: str | None) -> list[Row]:
    """One row per explorer (BFS first) hunting ``scenario``'s expected property."""
    hunt = _hunt(scenario)
    rows = [_bfs(hunt)]
    for explorer in EXPLORERS[1:]:
        if explorer == "hypothesis":
            rows.append(_hypothesis(hunt, seed, profile))
        else:
            rows.append(_walks(hunt, explorer, seed, walks))
    return rows


def race_table(scenarios, seed: int, walks: int, profile: str | None) -> None:
    print(
        f"{'scenario':<36} {'explorer':<10} {'first s':>8} {'final s':>8} {'len':>4} {'x bfs':>6}"
    )
    rows: list[Row] = []
    for scenario in scenarios:
        found_rows = race_rows(scenario, seed, walks, profile)
        bfs = found_rows[0]
        for row in found_rows:
            ratio = (
                row.final_len / bfs.final_len
                if row.final_len is not None and bfs.final_len
                else None
            )
            print(
                f"{scenario.name:<36} {row.explorer:<10} {_fmt(row.first, 8)} "
                f"{_fmt(row.final, 8)} {_fmt(row.final_len, 4)} {_fmt(ratio, 6)}"
                + ("" if row.found else "  not found"),
                flush=True,
            )
        rows.extend(found_rows)
    print()
    print(
        f"{'explorer':<10} {'found':>7} {'first s (median, max, sum)':>28} "
        f"{'final s (median, max, sum)':>28} {'len/bfs':>8}"
    )
    n = len(scenarios)
    bfs_len = {r.scenario: r.final_len for r in rows if r.explorer == "bfs"}
    for explorer in EXPLORERS:
        mine = [r for r in rows if r.explorer == explorer]
        firsts = [r.first for r in mine if r.found]
        finals = [r.final for r in mine if r.found]
        ratios = [
            r.final_len / bfs_len[r.scenario]
            for r in mine
            if r.found and bfs_len.get(r.scenario) and r.final_len
        ]

        def trio(xs: list[float]) -> str:
            if not xs:
                return f"{'-':>28}"
            return f"{statistics.median(xs):>8.2f} {max(xs):>8.2f} {sum(xs):>9.2f}"

        found = sum(r.found for r in mine)
        mean_ratio = statistics.mean(ratios) if ratios else None
        print(
            f"{explorer:<10} {found:>3}/{n:<3} {trio(firsts):>28} {trio(finals):>28} "
            f"{_fmt(mean_ratio, 8)}"
        )


def study(scenarios, seed: int) -> None:
    """The Hypothesis design choices, measured on the same races."""
    variants = {
        "ci as shipped (shrink phase off)": {},
        "shrink capped at 10": {"max_shrinks": 10},
        "shrink capped at 100 (dev)": {"max_shrinks": 100},
        "shrink at Hypothesis's 500 (deep)": {"max_shrinks": 500},
        "shrink 500 + explain phase on": {"max_shrinks": 500, "explain": True},
        "shrink 500, no step deletion": {"max_shrinks": 500, "shrink_steps": False},
        "target() on (live runs per key)": {"use_target": True},
    }
    print(
        f"{'variant':<36} {'found':>7} {'first s sum':>12} {'final s sum':>12} "
        f"{'cpu s sum':>10} {'examples':>9} {'len/bfs':>8}"
    )
    bfs_len = {}
    for scenario in scenarios:
        row = _bfs(_hunt(scenario))
        bfs_len[scenario.name] = row.final_len
    for name, options in variants.items():
        rows = [_hypothesis(_hunt(s), seed, "ci", **options) for s in scenarios]
        found = [r for r in rows if r.found]
        ratios = [r.final_len / bfs_len[r.scenario] for r in found if bfs_len[r.scenario]]
        print(
            f"{name:<36} {len(found):>3}/{len(rows):<3} {sum(r.first for r in found):>12.2f} "
            f"{sum(r.final for r in found):>12.2f} {sum(r.cpu for r in rows):>10.2f} "
            f"{sum(r.examples for r in rows):>9} "
            f"{_fmt(statistics.mean(ratios) if ratios else None, 8)}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--walks", type=int, default=20_000)
    parser.add_argument("--profile", choices=("ci", "dev", "deep"), default="ci")
    parser.add_argument("--study", action="store_true", help="measure the Hypothesis choices")
    args = parser.parse_args()
    os.environ.pop("IDEMRACE_HYPOTHESIS_TARGET", None)
    scenarios = [load_scenario(s) for s in args.scenarios] or [
        s for s in catalog().values() if s.expected_property
    ]
    if args.study:
        study(scenarios, args.seed)
    else:
        race_table(scenarios, args.seed, args.walks, args.profile)


if __name__ == "__main__":
    main()
