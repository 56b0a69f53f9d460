"""The key of a completed idempotent invocation outlives its retention until the cleaner runs.

Run from the repository root: ``.venv/bin/python race-reports/backends/restate-retention-cleanup/repro.py
[--write]`` (``--write`` refreshes trace.json here). A throwaway restate-server 1.7.12 on loopback, the
services registered with ``idempotency_retention`` of 2 s; the cleaner at the server's default interval
(``worker.cleanup-interval = "1h"``) and, for contrast, at 1 s.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from backends.restate.backend import RestateBackend
from model import ops as O
from model.profiles import make_profile

RETENTION = 2.0


def run(cleanup_interval: str) -> list[str]:
    b = RestateBackend(retention_seconds=RETENTION, cleanup_interval=cleanup_interval)
    steps: list[str] = []
    try:
        b.configure(make_profile("restate", api="idempotency-key", retention=1))
        b.reset()
        s = b.session()

        def do(op):
            got = s.apply(op)
            steps.append(f"{O.describe(op)} -> {O.describe(got)}")
            return got

        do(O.KeyedStart("order", 1, "k"))
        do(O.CompleteRun(1, "first"))
        ended = time.monotonic()
        time.sleep(3 * RETENTION)
        steps.append(
            f"... {time.monotonic() - ended:.1f} s after completion (retention {RETENTION:.0f} s)"
        )
        do(O.KeyedStart("order", 2, "k"))
    finally:
        b.close()
    return steps


def main() -> None:
    out = {}
    for interval in ("1h", "1s"):
        steps = run(interval)
        out[f"cleanup-interval={interval}"] = steps
        print(f"worker.cleanup-interval = {interval}")
        for line in steps:
            print("  " + line)
    if "--write" in sys.argv:
        (Path(__file__).parent / "trace.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
