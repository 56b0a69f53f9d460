"""``keyed-forward``: a keyed start whose duplicate forwards its payload to the owner.

The client calls the keyed start (P0 ``vercel-keyed-start`` or upstream's ``vercel-atomic-start``:
profiles of family ``keyed-hook``, whose key is also the run's hook token). Admitted, it answers
``RunStarted``; a duplicate (``Existing`` or ``HookConflictError``) forwards this request's payload
to the owner with ``resumeHook(key, payload)``, three world calls as in the runtime (lookup by
token, read the owner run, append ``hook_received``), checking the owner's status first as the v5
docs' signal strategy does ("A conflict can refer to a finished run when experimental_minRetention
is set, so check its status before sending data"): an ended owner makes the answer
``DuplicateOf(owner)`` and the payload goes nowhere. A ``HookNotFoundError`` or
``RunExpiredError`` from the lookup or the append (the owner ended in between) reaches the caller
as that error. The owner does its work, drains its hook (every payload forwarded so far) and
completes; with ``hold`` it keeps serving.

This is what lets one ask whether an atomic keyed start closes the signal race (it does not: the
owner can still end between the forwarder's read and its append).
"""

from __future__ import annotations

from model import ops as O
from model.outcomes import DuplicateOf, ForwardedTo, RunStarted
from model.state import TERMINAL
from simulator.process import Finished, Program, error, ok, phase
from simulator.scenario import Request
from simulator.strategies.base import StrategySpec, register
from simulator.strategies.keyed import CONFLICT_ERRORS, AdmittedBody
from simulator.strategies.vercel_today import HOOK_ID, Draining, Serving, Starting

FORWARD_FAILURES = frozenset({"HookNotFoundError", "RunExpiredError", "WorkflowRunNotFoundError"})

FindingOwner = phase("find-owner", "owner", run_ids=("owner",))
ReadingTarget = phase("read-owner", "owner", "hook", run_ids=("owner",))
Appending = phase("append", "owner", run_ids=("owner",))


class ForwardClient(Program):
    def __init__(self, request: Request) -> None:
        self.request = request

    def start(self):
        r = self.request
        return Starting(), O.KeyedStart(r.workflow, r.index, r.key, (), f"req{r.index}")

    def on_result(self, local, result):
        phase_ = type(local)
        kind = type(result)
        if kind is O.Error and result.name in FORWARD_FAILURES and phase_ is not Starting:
            return Finished(), error(result.name, "resumeHook")
        if phase_ is Starting:
            if kind is O.Started:
                return Finished(), ok(RunStarted(result.run_id))
            if kind is O.Existing:
                if result.status in TERMINAL:
                    return Finished(), ok(DuplicateOf(result.run_id))
                return self.forward(result.run_id)
            if kind is O.Error and result.name in CONFLICT_ERRORS:
                return self.forward(result.detail)
            return self.unexpected(local, result)
        if phase_ is FindingOwner and kind is O.HookInfo:
            return ReadingTarget(result.run_id, result.hook_id), O.GetRun(result.run_id)
        if phase_ is ReadingTarget and kind is O.RunInfo:
            if result.status in TERMINAL:  # a retained hook of an ended owner: nobody to signal
                return Finished(), ok(DuplicateOf(local.owner))
            return Appending(local.owner), O.DeliverPayload(
                local.owner, local.hook, self.request.payload
            )
        if phase_ is Appending and kind is O.Ok:
            return Finished(), ok(ForwardedTo(local.owner))
        return self.unexpected(local, result)

    def forward(self, owner: int):
        return FindingOwner(owner), O.GetHookByToken(self.request.key)


class ForwardOwnerBody(AdmittedBody):
    """The admitted owner: work, then take every payload forwarded to its hook, then complete."""

    def after_work(self):
        return Draining(), O.PollPayload(self.run_id, HOOK_ID)

    def on_other(self, local, result):
        phase_ = type(local)
        kind = type(result)
        if phase_ is Draining:
            if kind is O.Payload:
                return Draining(), O.PollPayload(self.run_id, HOOK_ID)
            if self.request.option("hold", False):
                return Serving(), O.ConsumePayload(self.run_id, HOOK_ID)
            return self.finish(self.result())
        if phase_ is Serving and kind is O.Payload:
            return Serving(), O.ConsumePayload(self.run_id, HOOK_ID)
        return self.unexpected(local, result)


register(
    StrategySpec(
        name="keyed-forward",
        description="atomic keyed start; a duplicate forwards its payload to the owner's hook",
        needs=frozenset({"keyed-start", "keyed-hook"}),
        ops=frozenset(
            {
                O.KeyedStart,
                O.GetHookByToken,
                O.GetRun,
                O.DeliverPayload,
                O.StartRun,
                O.PerformEffect,
                O.PollPayload,
                O.ConsumePayload,
                O.CompleteRun,
                O.FailRun,
                O.AwaitRun,
            }
        ),
        client=ForwardClient,
        body=ForwardOwnerBody,
        sends_payload=True,
    )
)

__all__ = ["ForwardClient", "ForwardOwnerBody"]
