"""The community Worlds: a run replaying its own claim (the same ``hook_created``, same hook id,
same token) is answered ``hook_conflict``: the run is told its key is held by another run, which
is itself.

Run from the repository root: ``.venv/bin/python race-reports/backends/vercel-community-own-claim-conflict/repro.py
[--package NAME@VERSION] [--url URL] [--write]`` (default: the redis and mongodb Worlds; ``--write`` refreshes
trace.json here). One client, no race: a claim retried after its answer was lost.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from backends.vercel.findings import finding_main, run_finding
from model import ops as O

BACKENDS = ("vercel-redis", "vercel-mongodb", "vercel-local", "vercel-postgres")


def script(run) -> dict:
    run.do(0, O.CreateRun("wf-k", 1))
    run.do(0, O.StartRun(1))
    first = run.do(0, O.ClaimHook(1, "h1", "k"))
    again = run.do(0, O.ClaimHook(1, "h1", "k"))  # the same claim, replayed
    holder = run.do(1, O.GetHookByToken("k"))
    return {"first": first, "again": again, "holder": holder}


# the outcome per World package and version (backends/vercel/matrix.py checks these)
EXPECTED: dict[str, str] = {
    "@workflow/world-local@4.4.1": "does not reproduce",
    "@workflow/world-local@5.0.0-beta.46": "does not reproduce",
    "@workflow/world-postgres@4.3.7": "does not reproduce",
    "@workflow/world-postgres@5.0.0-beta.29": "does not reproduce",
    "@workflow-worlds/redis@0.2.2": "holds",
    "@workflow-worlds/mongodb@0.2.1": "holds",
}
# the Worlds this finding was first found on (the version matrix marks them "new")
FOUND_ON: tuple[str, ...] = ("@workflow-worlds/redis@0.2.2", "@workflow-worlds/mongodb@0.2.1")


def reproduce(backend: str, package: str | None = None, url: str | None = None) -> dict:
    return run_finding(backend, script, package=package, url=url)


if __name__ == "__main__":
    finding_main(script, BACKENDS[:2], Path(__file__).with_name("trace.json"), EXPECTED)
