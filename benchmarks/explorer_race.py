"""Which explorer to use when: time to the first counterexample and to the final (shrunk or
minimal) one, per catalog race, for BFS, random walks, PCT and Hypothesis, in one run.

    python benchmarks/explorer_race.py [SCENARIO ...] [--seed N]

Each explorer hunts only the scenario's expected property (so BFS stops at its shortest
counterexample). Random/PCT do not shrink: their first counterexample is their final one.
Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from idemrace.loader import catalog, load_scenario
from simulator.explorers import check

EXPLORERS = ("bfs", "random", "pct", "hypothesis")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenarios", nargs="*")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--walks", type=int, default=20_000)
    args = parser.parse_args()
    scenarios = [load_scenario(s) for s in args.scenarios] or [
        s for s in catalog().values() if s.expected_property
    ]
    print(f"{'scenario':<34} {'explorer':<10} {'first s':>8} {'len':>4} {'final s':>8} {'len':>4}")
    totals = {e: [0.0, 0] for e in EXPLORERS}
    for scenario in scenarios:
        hunt = dataclasses.replace(scenario, properties=(scenario.expected_property,))
        for explorer in EXPLORERS:
            start = time.perf_counter()
            result = check(hunt, explorer, seed=args.seed, walks=args.walks)
            total = time.perf_counter() - start
            if not result.violations:
                print(f"{scenario.name:<34} {explorer:<10} {'not found':>8}")
                continue
            length = len(result.violations[0].steps)
            first = result.stats.first_found if result.stats.first_found is not None else total
            print(
                f"{scenario.name:<34} {explorer:<10} {first:>8.2f} {'':>4} {total:>8.2f} {length:>4}"
            )
            totals[explorer][0] += total
            totals[explorer][1] += 1
    print()
    for explorer, (seconds, found) in totals.items():
        print(f"{explorer:<10} found {found}/{len(scenarios)} races, {seconds:.1f} s in all")


if __name__ == "__main__":
    main()
