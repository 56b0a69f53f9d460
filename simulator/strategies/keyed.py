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
from model.outcomes import Adopted, Dropped, DuplicateOf, Rejected, RunStarted
from model.state import COMPLETED, TERMINAL
from simulator.process import Finished, Program, error, ok
from simulator.scenario import Request
from simulator.strategies.base import StrategySpec, register
from simulator.strategies.vercel_today import Awaiting, KeyedBody, Starting

# the profiles whose start is atomic and keyed declare this family
KEYED = frozenset({"keyed-start"})
KEYED_OPS = frozenset(
    {O.KeyedStart, O.AwaitRun, O.StartRun, O.PerformEffect, O.CompleteRun, O.FailRun, O.GetRun}
)

CONFLICT_ERRORS = frozenset({"HookConflictError"})


class KeyedClient(Program):
    """``start(fn, args, {key})`` then reject or adopt. ``adopt`` is a constructor flag."""

    adopt = False

    def __init__(self, request: Request) -> None:
        self.request = request

    def start(self):
        r = self.request
        return Starting(), O.KeyedStart(r.workflow, r.index, r.key, (), f"req{r.index}")

    def on_result(self, local, result):
        phase = type(local)
        kind = type(result)
        if phase is Starting:
            if kind is O.Started:
                return Finished(), ok(RunStarted(result.run_id))
            if kind is O.Dropped:
                return Finished(), ok(Dropped())
            if kind is O.Existing:
                return self.duplicate(result.run_id, result.status, result.output)
            if kind is O.Error and result.name in CONFLICT_ERRORS:
                return self.duplicate(result.detail, None, None)
            if kind is O.Error:
                return Finished(), ok(Rejected(result.name))
            return self.unexpected(local, result)
        if phase is Awaiting:
            if kind is O.RunInfo:
                return self.adopted(result.status, result.output)
            return self.unexpected(local, result)
        return self.unexpected(local, result)

    def duplicate(self, owner: int, status: str | None, output):
        if not self.adopt:
            return Finished(), ok(DuplicateOf(owner))
        if status in TERMINAL:
            return self.adopted(status, output)
        return Awaiting(owner), O.AwaitRun(owner)

    def adopted(self, status: str, output):
        if status == COMPLETED:
            return Finished(), ok(Adopted(output))
        return Finished(), error("owner-" + status)


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
        needs=KEYED,
        ops=KEYED_OPS,
        client=KeyedClient,
        body=AdmittedBody,
    )
)
register(
    StrategySpec(
        name="keyed-adopt",
        description="atomic keyed start; a duplicate returns the owner's result (waits if needed)",
        needs=KEYED,
        ops=KEYED_OPS,
        client=KeyedAdoptClient,
        body=AdmittedBody,
    )
)
