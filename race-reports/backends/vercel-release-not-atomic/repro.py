"""A run's end and the release of its hooks are two writes: seen between them, and a kill there leaks the token.

Run from the repository root: ``.venv/bin/python race-reports/backends/vercel-release-not-atomic/repro.py
[vercel-local|vercel-postgres|vercel-redis|vercel-mongodb ...] [--package NAME@VERSION]
[--url URL] [--write]`` (``--write`` refreshes trace.json here). Each client is its own World
process (a bridge); "held" = that client's ``events.create`` paused inside the World, after its first write (the run's terminal state) and before the hooks are deleted.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from backends.vercel.findings import finding_main, run_finding
from model import ops as O

BACKENDS = ("vercel-local", "vercel-postgres")


def script(run) -> dict:
    run.do(0, O.CreateRun("wf-k", 1))
    run.do(0, O.StartRun(1))
    run.do(0, O.ClaimHook(1, "h1", "k"))
    complete = run.hold(0, O.CompleteRun(1, "out"), "after")  # the run is written completed
    seen_run = run.do(1, O.GetRun(1))
    seen_hook = run.do(1, O.GetHookByToken("k"))
    completed = run.release(0, complete)
    # the same gap, with the completing World process killed in it (a crash between the writes)
    run.do(1, O.CreateRun("wf-k", 2))
    run.do(1, O.StartRun(2))
    run.do(1, O.ClaimHook(2, "h1", "k2"))
    crashed = run.hold(1, O.CompleteRun(2, "out"), "after")
    run.kill(1, crashed)
    run2 = run.do(0, O.GetRun(2))
    leaked = run.do(0, O.GetHookByToken("k2"))
    return {
        "seen_run": seen_run,
        "seen_hook": seen_hook,
        "completed": completed,
        "run2_after_kill": run2,
        "k2_after_kill": leaked,
    }


# the outcome per World package and version (backends/vercel/matrix.py checks these)
EXPECTED: dict[str, str] = {
    "@workflow/world-local@4.4.1": "holds",
    "@workflow/world-local@5.0.0-beta.46": "does not reproduce",
    "@workflow/world-postgres@4.3.7": "holds",
    "@workflow/world-postgres@5.0.0-beta.29": "holds",
    "@workflow-worlds/redis@0.2.2": "does not reproduce",
    "@workflow-worlds/mongodb@0.2.1": "holds",
}
# the Worlds this finding was first found on in issue 17 (the matrix marks them "new"); found
# on the 4.x packages before it
FOUND_ON: tuple[str, ...] = ()


def reproduce(backend: str, package: str | None = None, url: str | None = None) -> dict:
    return run_finding(backend, script, package=package, url=url)


if __name__ == "__main__":
    finding_main(script, BACKENDS, Path(__file__).with_name("trace.json"), EXPECTED)
