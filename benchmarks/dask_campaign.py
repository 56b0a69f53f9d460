"""Schedules per second of a seeded campaign on a local Dask cluster of 1, 2 and 4 workers.

    python benchmarks/dask_campaign.py [SCENARIO] [--walks N]

Not a test. On a 2-core machine 4 workers oversubscribe the cores: the figure shows the cost.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from distributed import Client, LocalCluster

from catalog import load_scenario
from simulator.explorers import SearchOptions, check
from simulator.explorers.distributed import check_distributed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", nargs="?", default="keyed-start-safe")
    parser.add_argument("--walks", type=int, default=20_000)
    parser.add_argument("--explorer", default="random", choices=("random", "pct"))
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    print(
        f"scenario {scenario.name}, {args.explorer}, {args.walks} schedules, cpus={os.cpu_count()}"
    )
    start = time.perf_counter()
    check(scenario, SearchOptions(args.explorer, seed=1, walks=args.walks))
    base = args.walks / (time.perf_counter() - start)
    print(f"{'in-process (no Dask)':<22} {base:>10,.0f} schedules/s  1.00x")
    for workers in (1, 2, 4):
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )
        with cluster, Client(cluster) as client:
            start = time.perf_counter()
            check_distributed(scenario, SearchOptions(args.explorer, seed=1, walks=args.walks), client=client)
            rate = args.walks / (time.perf_counter() - start)
        print(f"{f'{workers} worker(s)':<22} {rate:>10,.0f} schedules/s  {rate / base:.2f}x")


if __name__ == "__main__":
    main()
