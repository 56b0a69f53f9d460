"""A counterexample as a numbered story in plain words.

One phrase per op type, driven by the op and its result (``model.ops``); an op type without a
phrase falls back to its rendered form, so new ops never break a report.
"""

from __future__ import annotations

from typing import Any

from model import ops as O
from model.ops import describe
from simulator.system import Arrive, Crash, Step


def _r(run_id: Any) -> str:
    return f"r{run_id}"


def _result(result: Any) -> str:
    if isinstance(result, O.Error):
        return f"fails with {result.name}"
    if isinstance(result, O.Ok):
        return "succeeds" if result.value is None else f"returns {describe(result.value)}"
    return f"gets {describe(result)}"


def phrase(step: Step) -> str:
    """What one step did, in words: '<actor> <does what> [and what came back]'."""
    op, result, who = step.op, step.result, step.actor
    kind = type(op)
    if kind is Arrive:
        return f"request {op.actor} arrives at t={result}"
    if kind is Crash:
        return f"the workflow body of {op.actor} crashes and restarts from its beginning"
    if kind is O.AdvanceClock:
        return f"the clock advances to t={result}"
    if isinstance(result, O.LostResponse):
        inner = phrase(Step(step.label, who, op, result.hidden))
        return f"{inner}, but the response is lost: the caller does not know and will retry"
    if kind is O.CreateRun:
        return f"{who} calls start() for workflow {op.workflow!r}: the world creates run {_r(result.value)}"
    if kind is O.KeyedStart:
        if isinstance(result, O.Started):
            what = f"admits a new run {_r(result.run_id)} under key {op.key!r}"
        elif isinstance(result, O.Existing):
            what = f"finds run {_r(result.run_id)} ({result.status}) already holding key {op.key!r}"
        elif isinstance(result, O.Dropped):
            what = "silently drops the start (success, no run)"
        else:
            what = f"refuses it: {_result(result)}"
        return f"{who} starts {op.workflow!r} with key {op.key!r}: the world {what}"
    if kind is O.StartRun:
        return (
            f"{who} starts running"
            if result == O.Ok()
            else f"{who} tries to start: {_result(result)}"
        )
    if kind is O.ClaimHook:
        if isinstance(result, O.HookCreated):
            return f"{who} claims hook token {op.token!r} and becomes its owner"
        if isinstance(result, O.HookConflict):
            return f"{who}'s claim of {op.token!r} conflicts: {_r(result.owner)} owns it"
        return f"{who} tries to claim {op.token!r}: {_result(result)}"
    if kind is O.PerformEffect:
        return f"{who} performs the duplicate-sensitive work for key {op.key!r}"
    if kind in (O.CompleteRun, O.FailRun):
        verb = "completes" if kind is O.CompleteRun else "fails"
        value = op.output if kind is O.CompleteRun else op.error
        if result == O.Ok():
            return f"{who} {verb} returning {describe(value)}; its hooks are released"
        return f"{who} tries to end ({verb}): {_result(result)}"
    if kind is O.CancelRun:
        by = f"{who} cancels {_r(op.run_id)}"
        return by if result == O.Ok() else f"{by}: {_result(result)}"
    if kind is O.GetHookByToken:
        if isinstance(result, O.HookInfo):
            return f"{who} looks up token {op.token!r}: owned by {_r(result.run_id)}"
        return f"{who} looks up token {op.token!r}: {_result(result)}"
    if kind is O.GetRun:
        if isinstance(result, O.RunInfo):
            return f"{who} reads run {_r(op.run_id)}: {result.status}"
        return f"{who} reads run {_r(op.run_id)}: {_result(result)}"
    if kind is O.AwaitRun:
        return f"{who} receives the end of {_r(op.run_id)}: {result.status}, output {describe(result.output)}"
    if kind is O.DeliverPayload:
        target = f"{who} delivers payload {op.payload!r} to {_r(op.run_id)}'s hook"
        return target if result == O.Ok() else f"{target}: {_result(result)}"
    if kind in (O.ConsumePayload, O.PollPayload):
        if isinstance(result, O.Payload):
            return f"{who} takes payload {result.value!r} from its hook"
        return (
            f"{who} finds no payload waiting"
            if result == O.Ok()
            else f"{who} waits on its hook: {_result(result)}"
        )
    if kind is O.DisposeHook:
        return f"{who} disposes its hook: {_result(result)}"
    if kind is O.ReleaseHooks:
        return f"the runtime releases the hooks of {_r(op.run_id)}"
    if kind is O.ListRuns:
        found = ", ".join(_r(i) for i in result.run_ids) if isinstance(result, O.RunList) else ""
        return (
            f"{who} lists {op.status or 'all'} runs of {op.workflow!r}"
            + (f" with {op.attribute[0]}={op.attribute[1]!r}" if op.attribute else "")
            + f": {found or 'none'}"
        )
    if kind is O.AppRecordGet:
        value = result.value if isinstance(result, O.Ok) else None
        return f"{who} reads the app record for {op.key!r}: " + (
            f"run {_r(value)}" if value is not None else "none"
        )
    if kind is O.AppRecordPut:
        return f"{who} records itself under {op.key!r}: the table keeps {_r(result.value)}"
    return f"{who}: {describe(op)} -> {describe(result)}"


def story(steps: list[Step]) -> list[str]:
    """The numbered story: one sentence a step."""
    return [f"{k}. {phrase(step)}." for k, step in enumerate(steps, start=1)]
