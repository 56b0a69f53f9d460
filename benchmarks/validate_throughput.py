"""Validation figures: linearizability checking time and validated operations per second.

    python benchmarks/validate_throughput.py [--no-postgres]

1. Checking time for concurrent histories of 1k and 10k operations from 10 client threads on
   10 keys against sqlite, partitioned by key (the default) and, for 1k, as one unpartitioned
   history for comparison (budget 60 s: running out prints "unknown").
2. Validated operations per second per backend: concurrent (run + check) and differential replay
   (backend operations replayed and compared per second).

Not a test: figures depend on the machine. sqlite files go to the default temp directory (a real
disk, ``synchronous=FULL``); postgres is a throwaway server started here.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backends import make_backend
from backends.validate.differential import differential
from backends.validate.linearizability import Checker, check_history
from backends.validate.workload import run_concurrent
from model.profiles import make_profile

PROFILE = make_profile("vercel-keyed-start", retention=1)


def checking_time() -> None:
    print("linearizability checking time (10 clients, 10 keys, sqlite histories)")
    backend = make_backend("sqlite")
    backend.start()
    try:
        for n in (1_000, 10_000):
            history = run_concurrent(backend, PROFILE, clients=10, ops=n, keys=10, seed=1)
            t = time.perf_counter()
            verdict = check_history(PROFILE, history, budget=60)
            partitioned = time.perf_counter() - t
            steps = sum(p.explored for p in verdict.partitions)
            print(
                f"  {len(history):>6} ops  partitioned: {partitioned:7.3f} s  {verdict.verdict}  "
                f"({len(verdict.partitions)} partitions, {steps} search steps)"
            )
            if n <= 1_000:
                t = time.perf_counter()
                whole = Checker(PROFILE).check("all", history, time.monotonic() + 60)
                print(
                    f"  {len(history):>6} ops  unpartitioned: {time.perf_counter() - t:5.3f} s  "
                    f"{whole.verdict}  ({whole.explored} search steps)"
                )
    finally:
        backend.close()


def throughput(names: list[str]) -> None:
    print("validated operations per second")
    for name in names:
        backend = make_backend(name)
        backend.start()
        try:
            t = time.perf_counter()
            history = run_concurrent(backend, PROFILE, clients=10, ops=2_000, keys=10, seed=2)
            ran = time.perf_counter() - t
            verdict = check_history(PROFILE, history, budget=60)
            total = time.perf_counter() - t
            d = differential(backend, bfs_states=100, walks=5)
            print(
                f"  {name:<9} concurrent: {len(history) / ran:8.0f} ops/s run, "
                f"{len(history) / total:8.0f} ops/s run+check ({verdict.verdict})   "
                f"differential: {d.backend_ops / d.seconds:8.0f} ops/s "
                f"({d.backend_ops} ops, {d.schedules} schedules, "
                f"{'conformant' if d.divergence is None else 'DIVERGED'})"
            )
        finally:
            backend.close()


def main(argv: list[str]) -> None:
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    checking_time()
    names = ["memory", "sqlite"] + ([] if "--no-postgres" in argv else ["postgres"])
    throughput(names)


if __name__ == "__main__":
    main(sys.argv[1:])
