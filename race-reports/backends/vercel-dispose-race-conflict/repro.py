"""Two concurrent hook_disposed of one hook: the loser gets EntityConflictError, not HookNotFoundError.

Run from the repository root: ``.venv/bin/python race-reports/backends/vercel-dispose-race-conflict/repro.py
[vercel-local|vercel-postgres|vercel-redis|vercel-mongodb ...] [--package NAME@VERSION]
[--url URL] [--write]`` (``--write`` refreshes trace.json here). Each client is its own World
process (a bridge); "held" = that client's ``events.create`` paused inside the World, after the World's existence check and before its first write.
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
    dispose = run.hold(0, O.DisposeHook(1, "h1"), "before")  # checked: the hook exists
    first = run.do(1, O.DisposeHook(1, "h1"))
    second = run.release(0, dispose)
    sequential = run.do(1, O.DisposeHook(1, "h1"))
    return {"first": first, "second": second, "sequential": sequential}


# the outcome per World package and version (backends/vercel/matrix.py checks these)
EXPECTED: dict[str, str] = {
    "@workflow/world-local@4.4.1": "holds",
    "@workflow/world-local@5.0.0-beta.46": "holds",
    "@workflow/world-postgres@4.3.7": "holds",
    "@workflow/world-postgres@5.0.0-beta.29": "holds",
    "@workflow-worlds/redis@0.2.2": "holds",
    "@workflow-worlds/mongodb@0.2.1": "holds",
}
# the Worlds this finding was first found on in issue 17 (the matrix marks them "new"); found
# on the 4.x packages before it
FOUND_ON: tuple[str, ...] = ()


def reproduce(backend: str, package: str | None = None, url: str | None = None) -> dict:
    return run_finding(backend, script, package=package, url=url)


if __name__ == "__main__":
    finding_main(script, BACKENDS, Path(__file__).with_name("trace.json"), EXPECTED)
