"""world-postgres: two concurrent hook_created with one token both succeed: two live hooks own it.

Run from the repository root: ``.venv/bin/python race-reports/backends/vercel-postgres-token-race/repro.py
[vercel-postgres|vercel-local|vercel-redis|vercel-mongodb ...] [--package NAME@VERSION]
[--url URL] [--write]`` (``--write`` refreshes trace.json here). Each client is its own World
process (a bridge); "held" = that client's ``events.create`` paused inside the World, after the World's token lookup and before its first write.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from backends.vercel.findings import finding_main, run_finding
from model import ops as O

BACKENDS = ("vercel-postgres", "vercel-local")


def script(run) -> dict:
    run.do(0, O.CreateRun("wf-k", 1))
    run.do(0, O.StartRun(1))
    run.do(0, O.CreateRun("wf-k", 2))
    run.do(0, O.StartRun(2))
    claim = run.hold(0, O.ClaimHook(1, "h1", "k"), "before")  # looked up: the token is free
    second = run.do(1, O.ClaimHook(2, "h1", "k"))
    first = run.release(0, claim)
    owner = run.do(1, O.GetHookByToken("k"))
    live = [h for h in run.sessions[1].snapshot().hooks if h.token == "k"]
    return {"second": second, "first": first, "owner": owner, "live_hooks": tuple(live)}


# the outcome per World package and version (backends/vercel/matrix.py checks these)
EXPECTED: dict[str, str] = {
    "@workflow/world-local@4.4.1": "does not reproduce",
    "@workflow/world-local@5.0.0-beta.46": "does not reproduce",
    "@workflow/world-postgres@4.3.7": "holds",
    "@workflow/world-postgres@5.0.0-beta.29": "holds",
    "@workflow-worlds/redis@0.2.2": "does not reproduce",
    "@workflow-worlds/mongodb@0.2.1": "does not reproduce",
}
# the Worlds this finding was first found on in issue 17 (the matrix marks them "new"); found
# on the 4.x packages before it
FOUND_ON: tuple[str, ...] = ()


def reproduce(backend: str, package: str | None = None, url: str | None = None) -> dict:
    return run_finding(backend, script, package=package, url=url)


if __name__ == "__main__":
    finding_main(script, BACKENDS, Path(__file__).with_name("trace.json"), EXPECTED)
