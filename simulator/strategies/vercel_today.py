"""Strategies for Vercel Workflow v4 as shipped (``vercel-today``), and the v4-shaped patterns.

Route handlers call ``start()`` (one ``run_created`` write). Bodies claim the request's key as a
hook token at their first suspension; on a conflict the strategy decides what the duplicate run
does with ``hook.getConflict()``'s owner (semantics.md, "Documented conflict strategies"). Every
world call is its own step: ``resumeHook`` is three (lookup, read run, append), as in the runtime.

Outputs are typed (``model.outcomes``) so properties can read them: an owner returns
``WorkResult(workflow, key, request)``; a duplicate returns ``DuplicateOf(owner)``,
``Adopted(<owner's output>)`` or ``ForwardedTo(owner)``. Each program's local state is one of the
phases declared below.
"""

from __future__ import annotations

from typing import Any

from model import ops as O
from model.outcomes import (
    Adopted,
    Delivered,
    DuplicateOf,
    Ended,
    ForwardedTo,
    OwnerEnded,
    RunStarted,
    Superseded,
    WorkResult,
)
from model.profiles.base import Option
from model.state import CANCELLED, COMPLETED, PENDING, RUNNING, TERMINAL
from simulator.process import Finished, Program, error, ok, phase
from simulator.scenario import Request
from simulator.strategies.base import StrategySpec, register

HOOK_ID = "h1"
IDEMPOTENCY_ATTRIBUTE = "idempotency"

# ---------------------------------------------------------------------------------------------
# Phases: where a program is and what it holds (its local state)

# clients and routes
Starting = phase("start")
Awaiting = phase("await", "run", run_ids=("run",))
RouteLookup = phase("lookup", "attempt")
RouteStarting = phase("start", "attempt")
RouteReading = phase("read", "attempt", "run", "hook", run_ids=("run",))
RouteDelivering = phase("deliver", "attempt", "owner", run_ids=("owner",))
RecordLookup = phase("lookup")
AwaitingRecorded = phase("await-recorded", "run", run_ids=("run",))
# bodies
Rechecking = phase("recheck")
Claiming = phase("claim")
ReclaimChecking = phase("reclaim-check")
Working = phase("work")
Holding = phase("hold")
Completing = phase("complete", "output", outputs=("output",))
Failing = phase("fail", "reason", outputs=("reason",))
Adopting = phase("adopt", "owner", run_ids=("owner",))
Inspecting = phase("inspect", "owner", run_ids=("owner",))
CheckingOwner = phase("status", "owner", run_ids=("owner",))
Draining = phase("drain")
Serving = phase("serve")
LookingUpOwner = phase("lookup", "owner", run_ids=("owner",))
ReadingOwner = phase("read", "owner", "hook", run_ids=("owner",))
Forwarding = phase("forward", "owner", run_ids=("owner",))
ClaimingAttempt = phase("claim", "attempt")
Cancelling = phase("cancel", "attempt", "owner", run_ids=("owner",))
Waiting = phase("wait")
EntityWaiting = phase("wait", "served")
EntityWorking = phase("work-entity", "served")
Recording = phase("record")
Querying = phase("lookup", "then")
AdoptingPrior = phase("adopt-prior")


# ---------------------------------------------------------------------------------------------
# Clients (route handlers)


class StartClient(Program):
    """The route handler: ``start(workflow, input)`` and return the new run's id."""

    attributes: bool = False  # seed ``{idempotency: key}`` at start (P1 attribute lookup)

    def __init__(self, request: Request) -> None:
        self.request = request

    def create(self) -> O.CreateRun:
        r = self.request
        attributes = ((IDEMPOTENCY_ATTRIBUTE, r.key),) if self.attributes else ()
        return O.CreateRun(r.workflow, r.index, attributes)

    def start(self):
        return Starting(), self.create()

    def on_result(self, local, result):
        if type(result) is O.Ok:
            return Finished(), ok(RunStarted(result.value))
        return self.unexpected(local, result)


class StartAndAwaitClient(StartClient):
    """The route handler starts the run and answers with its return value
    (``await run.returnValue``): the caller sees what the run (owner or duplicate) returned."""

    def on_result(self, local, result):
        phase = type(local)
        if phase is Starting and type(result) is O.Ok:
            return Awaiting(result.value), O.AwaitRun(result.value)
        if phase is Awaiting and type(result) is O.RunInfo:
            return answer_with(result)
        return self.unexpected(local, result)


class AttributeClient(StartAndAwaitClient):
    attributes = True


def answer_with(info: O.RunInfo):
    """What a caller awaiting a run gets back."""
    if info.status == COMPLETED:
        return Finished(), ok(info.output)
    if info.status == CANCELLED:
        return Finished(), ok(Superseded())  # cancelled on purpose by a newer request
    return Finished(), error("run-failed", info.output)


class ResumeOrStartRoute(Program):
    """The documented route pattern: ``resumeHook(key, payload)``; on ``HookNotFoundError``
    ``start()`` the workflow, then retry ``resumeHook`` up to ``resume_retries`` times until the
    new run has registered its hook. ``resumeHook`` is three world calls (lookup by token, read
    the owner run, append ``hook_received``); a HookNotFound from any of them counts."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.retries = request.option("resume_retries", 5)

    def start(self):
        return RouteLookup(0), O.GetHookByToken(self.request.key)

    def on_result(self, local, result):
        phase, attempt = type(local), local.attempt
        kind = type(result)
        if result == O.HOOK_NOT_FOUND or result == O.RUN_NOT_FOUND:
            if attempt == 0:
                return RouteStarting(0), O.CreateRun(self.request.workflow, self.request.index)
            if attempt < self.retries:
                return RouteLookup(attempt + 1), O.GetHookByToken(self.request.key)
            return Finished(), error("HookNotFoundError", "resume retries exhausted")
        if phase is RouteStarting and kind is O.Ok:
            return RouteLookup(1), O.GetHookByToken(self.request.key)
        if phase is RouteLookup and kind is O.HookInfo:
            return RouteReading(attempt, result.run_id, result.hook_id), O.GetRun(result.run_id)
        if phase is RouteReading and kind is O.RunInfo:
            owner, hook_id = local.run, local.hook
            return RouteDelivering(attempt, owner), O.DeliverPayload(
                owner, hook_id, self.request.payload
            )
        if phase is RouteDelivering and kind is O.Ok:
            return Finished(), ok(Delivered(local.owner))
        return self.unexpected(local, result)


class AppRecordClient(Program):
    """App-record pattern, route side: look the key up in the application's own table; a hit
    adopts that run's result (``getRun(id).returnValue``), a miss starts a run and awaits it."""

    def __init__(self, request: Request) -> None:
        self.request = request

    def start(self):
        return RecordLookup(), O.AppRecordGet(self.request.key)

    def on_result(self, local, result):
        phase = type(local)
        kind = type(result)
        if phase is RecordLookup and kind is O.Ok:
            if result.value is None:
                return Starting(), O.CreateRun(self.request.workflow, self.request.index)
            return AwaitingRecorded(result.value), O.AwaitRun(result.value)
        if phase is Starting and kind is O.Ok:
            return Awaiting(result.value), O.AwaitRun(result.value)
        if phase is AwaitingRecorded and kind is O.RunInfo:
            if result.status == COMPLETED:
                return Finished(), ok(Adopted(result.output))
            return answer_with(result)
        if phase is Awaiting and kind is O.RunInfo:
            return answer_with(result)
        return self.unexpected(local, result)


# ---------------------------------------------------------------------------------------------
# Bodies


class KeyedBody(Program):
    """A workflow body that claims ``request.key`` as its hook token, then either owns the key
    (does the duplicate-sensitive work and completes) or handles the conflict.

    Subclasses implement ``on_conflict`` (and ``on_other`` for the phases they add); the owner
    path is shared. A restarted body (crash) replays from the top: ``StartRun`` (``Ok`` again on
    vercel-today, whose ``run_started`` is idempotent) and its own claim (``EntityConflictError``),
    and it asks the world which case it is in.
    """

    def __init__(self, request: Request, run_id: int) -> None:
        self.request = request
        self.run_id = run_id
        self.key = request.key

    def start(self):
        return Starting(), O.StartRun(self.run_id)

    def after_start(self) -> tuple[Any, Any]:
        return self.claim()

    def claim(self) -> tuple[Any, Any]:
        return Claiming(), O.ClaimHook(self.run_id, HOOK_ID, self.key)

    def own(self) -> tuple[Any, Any]:
        """We hold the token: do the work once, then return our result."""
        return Working(), O.PerformEffect(self.key, self.run_id)

    def after_work(self) -> tuple[Any, Any]:
        if self.request.option("hold", False):
            return self.hold()
        return self.finish(self.result())

    def hold(self) -> tuple[Any, Any]:
        """A long-running owner: wait for our own end, which never comes."""
        return Holding(), O.AwaitRun(self.run_id)

    def finish(self, output: Any) -> tuple[Any, Any]:
        return Completing(output), O.CompleteRun(self.run_id, output)

    def fail(self, reason: Any) -> tuple[Any, Any]:
        return Failing(reason), O.FailRun(self.run_id, reason)

    def result(self) -> tuple[Any, ...]:
        """What the owner returns: it names workflow, key and request, so a property can tell
        whether a result someone adopted belongs to the right workflow and key."""
        return WorkResult(self.request.workflow, self.key, self.request.index)

    def on_conflict(self, local, owner: int) -> tuple[Any, Any]:
        raise NotImplementedError

    def on_other(self, local, result) -> tuple[Any, Any]:
        """Phases a subclass adds after a conflict."""
        return self.unexpected(local, result)

    def on_result(self, local, result):
        phase = type(local)
        kind = type(result)
        if phase is Starting:
            if kind is O.Ok:
                return self.after_start()
            # not pending any more: cancelled before it started, or a restarted body replaying
            return Rechecking(), O.GetRun(self.run_id)
        if phase is Rechecking:
            if kind is O.RunInfo and result.status in TERMINAL:
                return Finished(), ok(Ended(result.status))
            return self.after_start()
        if phase is Claiming or phase is ClaimingAttempt:
            if kind is O.HookCreated:
                return self.own()
            if kind is O.HookConflict:
                return self.on_conflict(local, result.owner)
            if result == O.ENTITY_CONFLICT:
                # our own claim replayed after a restart, or the run ended: ask which
                return ReclaimChecking(), O.GetRun(self.run_id)
            return self.unexpected(local, result)
        if phase is ReclaimChecking:
            if kind is O.RunInfo and result.status in TERMINAL:
                return Finished(), ok(Ended(result.status))
            return self.own()
        if phase is Working:
            return self.after_work()
        if phase is Completing:
            if kind is O.Ok:
                return Finished(), ok(local.output)
            if result == O.ENTITY_CONFLICT:  # cancelled under us
                return Finished(), ok(Ended(CANCELLED))
            return self.unexpected(local, result)
        if phase is Failing:
            if kind is O.Ok:
                return Finished(), error("failed", local.reason)
            return Finished(), ok(Ended(CANCELLED))
        return self.on_other(local, result)


class RejectBody(KeyedBody):
    """Strategy 1, reject: the duplicate run returns ``conflict.runId`` and ends."""

    def on_conflict(self, local, owner: int):
        return self.finish(DuplicateOf(owner))


class AdoptBody(KeyedBody):
    """Strategy 2, adopt: ``return await conflict.returnValue`` (waits for the owner)."""

    def on_conflict(self, local, owner: int):
        return Adopting(owner), O.AwaitRun(owner)

    def adopt(self, info: O.RunInfo):
        if info.status == COMPLETED:
            return self.finish(Adopted(info.output))
        return self.fail(OwnerEnded(info.status, info.run_id))

    def on_other(self, local, result):
        if type(local) is Adopting and type(result) is O.RunInfo:
            return self.adopt(result)
        return self.unexpected(local, result)


class InspectBody(AdoptBody):
    """Strategy 3, inspect: read ``conflict.status``; completed -> adopt its result, otherwise
    treat this run as a duplicate and return the owner's id."""

    def on_conflict(self, local, owner: int):
        return Inspecting(owner), O.GetRun(owner)

    def on_other(self, local, result):
        if type(local) is Inspecting and type(result) is O.RunInfo:
            if result.status == COMPLETED:
                return self.finish(Adopted(result.output))
            return self.finish(DuplicateOf(local.owner))
        return super().on_other(local, result)


class SignalBody(KeyedBody):
    """Strategy 4, signal: if the owner is pending/running, forward this request's payload to it
    with ``resumeHook(key, payload)`` from a step. The owner drains its hook after its work and
    completes once no payload is waiting. A HookNotFound mid-forward propagates (the documented
    code does not catch it): the duplicate run fails and the payload is gone."""

    def on_conflict(self, local, owner: int):
        return CheckingOwner(owner), O.GetRun(owner)

    def after_work(self):
        return Draining(), O.PollPayload(self.run_id, HOOK_ID)

    def on_other(self, local, result):
        phase = type(local)
        kind = type(result)
        if phase is Draining:
            if kind is O.Payload:
                return Draining(), O.PollPayload(self.run_id, HOOK_ID)
            if self.request.option("hold", False):  # a long-running owner keeps serving
                return Serving(), O.ConsumePayload(self.run_id, HOOK_ID)
            return self.finish(self.result())
        if phase is Serving and kind is O.Payload:
            return Serving(), O.ConsumePayload(self.run_id, HOOK_ID)
        if phase is CheckingOwner and kind is O.RunInfo:
            if result.status in (PENDING, RUNNING):
                return LookingUpOwner(local.owner), O.GetHookByToken(self.key)
            return self.finish(DuplicateOf(local.owner))
        if result == O.HOOK_NOT_FOUND or result == O.RUN_NOT_FOUND:
            return self.fail(("unhandled", result.name))
        if phase is LookingUpOwner and kind is O.HookInfo:
            return ReadingOwner(result.run_id, result.hook_id), O.GetRun(result.run_id)
        if phase is ReadingOwner and kind is O.RunInfo:
            return Forwarding(local.owner), O.DeliverPayload(
                local.owner, local.hook, self.request.payload
            )
        if phase is Forwarding and kind is O.Ok:
            return self.finish(ForwardedTo(local.owner))
        return self.unexpected(local, result)


class SupersedeBody(KeyedBody):
    """Strategy 5, supersede: up to ``attempts`` times { claim; no conflict -> we own it; else
    ``conflict.cancel()`` }, then throw "could not claim". A third arrival can claim between the
    cancel and the re-claim (the ABA shape)."""

    def __init__(self, request: Request, run_id: int) -> None:
        super().__init__(request, run_id)
        self.attempts = request.option("attempts", 3)

    def claim(self, attempt: int = 1):
        return ClaimingAttempt(attempt), O.ClaimHook(self.run_id, HOOK_ID, self.key)

    def on_conflict(self, local, owner: int):
        return Cancelling(local.attempt, owner), O.CancelRun(owner, by=self.run_id)

    def on_other(self, local, result):
        if type(local) is Cancelling:
            attempt = local.attempt
            if attempt < self.attempts:
                return self.claim(attempt + 1)
            return self.fail("could not claim")
        return self.unexpected(local, result)


class WaitForPayloadBody(KeyedBody):
    """The body behind the resume-or-start route: claim the key, wait for the payload the route
    will deliver (``for await (const p of hook)``, first payload), do the work with it, return.
    A duplicate run (conflict) returns the owner's id."""

    def own(self):
        return Waiting(), O.ConsumePayload(self.run_id, HOOK_ID)

    def on_conflict(self, local, owner: int):
        return self.finish(DuplicateOf(owner))

    def on_other(self, local, result):
        if type(local) is Waiting:
            if type(result) is O.Payload:
                return Working(), O.PerformEffect(self.key, self.run_id)
            return self.fail(("unhandled", getattr(result, "name", "?")))
        return self.unexpected(local, result)


class EntityBody(WaitForPayloadBody):
    """The entity pattern: one long-lived run per key loops on its hook forever, serializing every
    request for the key; it keeps in its own state which requests it has served, so a repeated
    payload is answered without repeating the work. Costs one perpetual run per key."""

    def own(self):
        return EntityWaiting(()), O.ConsumePayload(self.run_id, HOOK_ID)

    def on_other(self, local, result):
        if type(local) is EntityWaiting and type(result) is O.Payload:
            served = local.served
            if served:  # the key's work is done once; later payloads get the stored answer
                return EntityWaiting(served), O.ConsumePayload(self.run_id, HOOK_ID)
            return EntityWorking((*served, result.value)), O.PerformEffect(self.key, self.run_id)
        if type(local) is EntityWorking:
            return EntityWaiting(local.served), O.ConsumePayload(self.run_id, HOOK_ID)
        return super().on_other(local, result)


class AppRecordBody(KeyedBody):
    """App-record pattern, body side: in a step, insert ``runId`` under the key into the
    application's table (a unique constraint keeps the first writer); if we were first we own the
    key, else we adopt the recorded run's result. The record never expires."""

    def after_start(self):
        return Recording(), O.AppRecordPut(self.key, self.run_id)

    def on_conflict(self, local, owner: int):  # never claims a hook
        return self.unexpected(local, O.HookConflict(owner))

    def on_other(self, local, result):
        phase = type(local)
        if phase is Recording and type(result) is O.Ok:
            if result.value == self.run_id:
                return self.own()
            return Adopting(result.value), O.AwaitRun(result.value)
        if phase is Adopting and type(result) is O.RunInfo:
            if result.status == COMPLETED:
                return self.finish(Adopted(result.output))
            return self.fail(OwnerEnded(result.status, result.run_id))
        return self.unexpected(local, result)


class AttributeLookupBody(AdoptBody):
    """P1 attribute pattern: hook claim = in-flight mutex; the ``idempotency: key`` attribute =
    retention-bounded memory. The run looks for a completed run carrying its key (``runs.list``
    by attribute) and adopts its result; otherwise it claims the token and does the work (a
    conflict adopts the owner's result). ``lookup = "before-claim"`` (default) queries first and
    then claims, so an owner that completes in between leaves a just-completed window;
    ``"after-claim"`` queries once it holds the token."""

    def __init__(self, request: Request, run_id: int) -> None:
        super().__init__(request, run_id)
        self.lookup_first = request.option("lookup", "before-claim") == "before-claim"

    def lookup(self, then: str):
        query = O.ListRuns(self.request.workflow, COMPLETED, (IDEMPOTENCY_ATTRIBUTE, self.key))
        return Querying(then), query

    def after_start(self):
        return self.lookup("claim") if self.lookup_first else self.claim()

    def own(self):
        if self.lookup_first:
            return super().own()
        return self.lookup("work")

    def on_other(self, local, result):
        phase = type(local)
        if phase is Querying and type(result) is O.RunList:
            prior = [run_id for run_id in result.run_ids if run_id != self.run_id]
            if prior:
                return AdoptingPrior(), O.GetRun(prior[-1])
            return self.claim() if local.then == "claim" else super().own()
        if phase is AdoptingPrior and type(result) is O.RunInfo:
            return self.adopt(result)
        return super().on_other(local, result)


# ---------------------------------------------------------------------------------------------
# Registration

V4 = frozenset({"vercel-v4"})
RETRIES = {"resume_retries": Option(5, kind=int, doc="resumeHook retries after start()")}
# audited for the symmetry and key reductions (simulator/symmetry.py says what that took)
SYMMETRIC = frozenset({"reject", "adopt", "inspect", "supersede"})

# the world ops each strategy's client and body issue (tests/test_strategies.py checks that the
# explored ops of every catalog scenario are among them)
BODY_OPS = (O.StartRun, O.ClaimHook, O.PerformEffect, O.CompleteRun, O.FailRun, O.GetRun)
START_OPS = (O.CreateRun, O.AwaitRun, *BODY_OPS)
SIGNAL_OPS = (*START_OPS, O.GetHookByToken, O.DeliverPayload, O.ConsumePayload)
ATTRIBUTE_OPS = (*START_OPS, O.ListRuns)


def _spec(name, description, client, body, ops, needs=V4, options=None, payload=False):
    return register(
        StrategySpec(
            name=name,
            description=description,
            needs=needs,
            client=client,
            body=body,
            ops=frozenset(ops),
            options=options or {},
            sends_payload=payload,
            symmetric=name in SYMMETRIC,
        )
    )


_spec(
    "reject",
    "the duplicate run returns the owner's run id and ends",
    StartClient,
    RejectBody,
    START_OPS,
)
_spec(
    "adopt",
    "the duplicate run waits for the owner and returns its result",
    StartAndAwaitClient,
    AdoptBody,
    START_OPS,
)
_spec(
    "inspect",
    "the duplicate run reads the owner's status: completed -> adopt, else reject",
    StartAndAwaitClient,
    InspectBody,
    START_OPS,
)
_spec(
    "signal",
    "the duplicate run forwards its payload to a live owner with resumeHook",
    StartClient,
    SignalBody,
    (*SIGNAL_OPS, O.PollPayload),
    payload=True,
)
_spec(
    "supersede",
    "claim; on conflict cancel the owner and re-claim, up to 3 attempts",
    StartAndAwaitClient,
    SupersedeBody,
    (*START_OPS, O.CancelRun),
    options={"attempts": Option(3, kind=int, doc="claim attempts before 'could not claim'")},
)
_spec(
    "resume-or-start",
    "route: resumeHook; on HookNotFound start(), then retry resumeHook",
    ResumeOrStartRoute,
    WaitForPayloadBody,
    SIGNAL_OPS,
    options=RETRIES,
    payload=True,
)
_spec(
    "entity",
    "one long-lived run per key loops on its hook; routes resume it or start it",
    ResumeOrStartRoute,
    EntityBody,
    SIGNAL_OPS,
    options=RETRIES,
    payload=True,
)
_spec(
    "app-record",
    "runId stored under the key in the application's table from a step",
    AppRecordClient,
    AppRecordBody,
    (*START_OPS, O.AppRecordGet, O.AppRecordPut),
)
_spec(
    "attribute-lookup",
    "P1: adopt a completed run found by its idempotency attribute, else claim and work",
    AttributeClient,
    AttributeLookupBody,
    ATTRIBUTE_OPS,
    needs=frozenset({"vercel-v4", "vercel-attributes"}),
    options={
        "lookup": Option(
            "before-claim",
            choices=("before-claim", "after-claim"),
            doc="query completed runs before or after claiming the token",
        )
    },
)
