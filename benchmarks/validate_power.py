"""Detection power of ``idemrace validate``: how often a default run catches each mutant, and
how often the reference backends pass.

    python benchmarks/validate_power.py [--runs 10] [--reference-runs 50] [--only NAME ...]
                                        [--no-postgres] [--no-reference] [--no-mutants]
                                        [--jobs 1]

Every run is the command a backend author runs in CI, ``idemrace validate MODULE:CLASS --seed S
--json`` at default settings, as its own process from the checkout (seeds 0, 1, ...). For every
mutant of ``tests/mutants/zoo.py`` it prints how many of ``--runs`` runs caught it (exit 1, a
discrepancy), the median and the longest wall time of a run, and which validations reported the
discrepancy; then the reference ``sqlite`` and ``postgres`` backends over ``--reference-runs``
runs each (conformant: exit 0). Any other exit (2: no verdict) is counted and shown apart.

Not a test: the times depend on the machine (and on what else it runs). The figures the README
quotes were measured with this script; a mutant caught fewer than ``--runs`` times, or a
reference run that is not conformant, makes the exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.mutants.zoo import MUTANTS  # noqa: E402

RUN_TIMEOUT = 600  # seconds: far past the 2-minute goal, so a hang is reported, not waited on


def one_run(target: str, seed: int) -> dict:
    started = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "idemrace", "validate", target, "--seed", str(seed), "--json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return {"seed": seed, "code": None, "seconds": RUN_TIMEOUT, "by": [], "error": "timeout"}
    seconds = time.monotonic() - started
    by: list[str] = []
    try:
        report = json.loads(proc.stdout)
        by = [
            m
            for m in ("differential", "concurrent", "faults")
            if isinstance(report.get(m), dict) and report[m].get("verdict") == "discrepancy"
        ]
    except json.JSONDecodeError:
        pass
    error = proc.stderr.strip().splitlines()[-1:] if proc.returncode not in (0, 1) else []
    return {
        "seed": seed,
        "code": proc.returncode,
        "seconds": seconds,
        "by": by,
        "error": error[0] if error else None,
    }


def runs(target: str, n: int, jobs: int, first: int = 0) -> list[dict]:
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda seed: one_run(target, seed), range(first, first + n)))


def summary(results: list[dict], want: int) -> tuple[int, int, float, float]:
    hits = sum(1 for r in results if r["code"] == want)
    other = sum(1 for r in results if r["code"] not in (0, 1))
    times = [r["seconds"] for r in results]
    return hits, other, statistics.median(times), max(times)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=10, help="default runs per mutant (default 10)")
    p.add_argument(
        "--reference-runs", type=int, default=50, help="runs per reference backend (default 50)"
    )
    p.add_argument("--only", nargs="*", metavar="NAME", help="only these mutants (class names)")
    p.add_argument("--no-postgres", action="store_true", help="skip the postgres reference")
    p.add_argument("--no-sqlite", action="store_true", help="skip the sqlite reference")
    p.add_argument("--no-reference", action="store_true", help="mutants only")
    p.add_argument("--no-mutants", action="store_true", help="reference backends only")
    p.add_argument("--jobs", type=int, default=1, help="runs at once (default 1)")
    p.add_argument("--first-seed", type=int, default=0, help="seeds from this one on (default 0)")
    args = p.parse_args(argv)
    unknown = sorted(set(args.only or ()) - set(MUTANTS))
    if unknown:
        print(
            f"unknown mutant(s): {', '.join(unknown)}; known: {', '.join(MUTANTS)}", file=sys.stderr
        )
        return 2
    names = [] if args.no_mutants else args.only or list(MUTANTS)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        f"; {args.jobs} run(s) at once"
    )
    print(f"{'mutant':<22} {'promise':<58} {'caught':>7} {'median s':>9} {'max s':>7}  caught by")
    failed = False
    for name in names:
        results = runs(f"tests.mutants.zoo:{name}", args.runs, args.jobs, args.first_seed)
        hits, other, median, longest = summary(results, 1)
        failed |= hits < args.runs
        by: dict[str, int] = {}
        for r in results:
            for m in r["by"]:
                by[m] = by.get(m, 0) + 1
        shown = ", ".join(f"{m} {k}" for m, k in by.items())
        extra = (
            f"  ({other} no verdict: {next(r['error'] for r in results if r['error'])})"
            if other
            else ""
        )
        print(
            f"{name:<22} {MUTANTS[name].PROMISE:<58} {hits:>3}/{args.runs:<3} {median:>9.1f} "
            f"{longest:>7.1f}  {shown}{extra}",
            flush=True,
        )
    if not args.no_reference:
        references = ([] if args.no_sqlite else ["sqlite"]) + (
            [] if args.no_postgres else ["postgres"]
        )
        for ref in references:
            results = runs(ref, args.reference_runs, args.jobs, args.first_seed)
            hits, other, median, longest = summary(results, 0)
            failed |= hits < args.reference_runs
            bad = [r for r in results if r["code"] != 0]
            extra = ""
            if bad:
                extra = "  not conformant: " + ", ".join(
                    f"seed {r['seed']} exit {r['code']} {'/'.join(r['by']) or r['error'] or ''}"
                    for r in bad[:5]
                )
            print(
                f"reference {ref:<12} conformant {hits}/{args.reference_runs}, median "
                f"{median:.1f} s, max {longest:.1f} s{extra}",
                flush=True,
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
