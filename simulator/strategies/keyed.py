"""Strategies for systems with atomic keyed admission (P0 keyed start, and the peers' start APIs).

The caller issues one ``KeyedStart`` and inspects the answer (``{run, created}`` or an error):

* ``Started(run)``: we were admitted; the run's body does the work;
* ``Existing(run, status, output)`` / ``HookConflictError(owner)``: a duplicate; the strategy
  rejects (returns the owner's id) or adopts (returns the owner's result, waiting for it if the
  owner still runs);
* ``Dropped``: the system swallowed the duplicate (the caller sees success and no run);
* other errors (``WorkflowExecutionAlreadyStarted``...): the system rejected the duplicate.

A lost response is retried by the environment with the identical call (same request id).
"""

from __future__ import annotations

from model import ops as O
from model.state import COMPLETED, TERMINAL
from simulator.process import Program, error, ok
from simulator.scenario import Request
from simulator.strategies import StrategySpec, register
from simulator.strategies.vercel_today import KeyedBody

# profiles whose start is atomic and keyed; peers add their names here
KEYED_PROFILES: tuple[str, ...] = ("vercel-keyed-start", "temporal", "inngest", "dbos")

CONFLICT_ERRORS = frozenset({"HookConflictError"})


class KeyedClient(Program):
    """``start(fn, args, {key})`` then reject or adopt. ``adopt`` is a constructor flag."""

    adopt = False

    def __init__(self, request: Request) -> None:
        self.request = request

    def start(self):
        r = self.request
        return ("start",), O.KeyedStart(r.workflow, r.index, r.key, (), f"req{r.index}")

    def on_result(self, local, result):
        phase = local[0]
        kind = type(result)
        if phase == "start":
            if kind is O.Started:
                return ("done",), ok(("started", result.run_id))
            if kind is O.Dropped:
                return ("done",), ok(("dropped",))
            if kind is O.Existing:
                return self.duplicate(result.run_id, result.status, result.output)
            if kind is O.Error and result.name in CONFLICT_ERRORS:
                return self.duplicate(result.detail, None, None)
            if kind is O.Error:
                return ("done",), ok(("rejected", result.name))
            return self.unexpected(local, result)
        if phase == "await":
            if kind is O.RunInfo:
                return self.adopted(result.status, result.output)
            return self.unexpected(local, result)
        return self.unexpected(local, result)

    def duplicate(self, owner: int, status: str | None, output):
        if not self.adopt:
            return ("done",), ok(("duplicate-of", owner))
        if status in TERMINAL:
            return self.adopted(status, output)
        return ("await", owner), O.AwaitRun(owner)

    def adopted(self, status: str, output):
        if status == COMPLETED:
            return ("done",), ok(("adopted", output))
        return ("done",), error("owner-" + status)


class KeyedAdoptClient(KeyedClient):
    adopt = True


class AdmittedBody(KeyedBody):
    """The body of a run admitted under its key: the key is already ours, so it just starts, does
    the work once and returns the result."""

    def claim(self):
        return self.own()

    def on_conflict(self, local, owner: int):  # never claims, so never conflicts
        return self.unexpected(local, O.HookConflict(owner))


register(
    StrategySpec(
        name="keyed-reject",
        description="atomic keyed start; a duplicate returns the owner's run id",
        profiles=KEYED_PROFILES,
        client=KeyedClient,
        body=AdmittedBody,
    )
)
register(
    StrategySpec(
        name="keyed-adopt",
        description="atomic keyed start; a duplicate returns the owner's result (waits if needed)",
        profiles=KEYED_PROFILES,
        client=KeyedAdoptClient,
        body=AdmittedBody,
    )
)
