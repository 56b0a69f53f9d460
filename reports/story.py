"""A counterexample as a numbered story in plain words, and short labels for the pictures.

One phrase per op type, driven by the op and its result (``model.ops``); an op type without a
phrase falls back to its rendered form with its fields named (``labelled``), so new ops never break
a report.
"""

from __future__ import annotations

from typing import Any

from model import ops as O
from model.ops import describe
from model.outcomes import DuplicateOf, WorkResult, typed
from reports.text import labelled
from simulator.system import Arrive, Crash, Step

VIOLATION_MARK = "**← the property is violated here**"


def _r(run_id: Any) -> str:
    return f"r{run_id}"


def _value(value: Any) -> str:
    """A workflow output in words: a ``WorkResult`` is named after its request; anything else
    is shown as stored."""
    value = typed(value)
    if isinstance(value, WorkResult):
        return f"the result for {value.key!r} (req{value.request}'s)"
    if (
        isinstance(value, tuple)
        and value
        and isinstance(value[0], str)
        and value[0].endswith("Error")
    ):
        return value[0]  # an error raised by the workflow: its class name says it
    if isinstance(value, DuplicateOf):
        return f"'duplicate of r{value.owner}'"
    return "nothing" if value is None else describe(value)


def _result(result: Any) -> str:
    if isinstance(result, O.Error):
        return f"fails with {result.name}"
    if isinstance(result, O.Ok):
        return "succeeds" if result.value is None else f"returns {describe(result.value)}"
    return f"gets {labelled(result)}"


def phrase(step: Step) -> str:
    """What one step did, in words: '<actor> <does what> [and what came back]'."""
    op, result, who = step.op, step.result, step.actor
    kind = type(op)
    if kind is Arrive:
        return f"request {op.actor} arrives at t={result}"
    if kind is Crash:
        # crashes replay the durable log (model/ops.py StepCrashed): the completed steps return
        # their recorded results, only the step in flight runs again
        return (
            f"the workflow body of {op.actor} crashes before its step is recorded; replayed "
            "from its log, it runs that step again"
        )
    if kind is O.AdvanceClock:
        return f"the clock advances to t={result}"
    if isinstance(result, O.LostResponse):
        inner = phrase(Step(step.label, who, op, result.hidden))
        return f"{inner}, but the response is lost: {who} does not know and will retry"
    if kind is O.CreateRun:
        if isinstance(result, O.Ok):
            return f"{who} calls start() for workflow {op.workflow!r}: the world creates run {_r(result.value)}"
        return f"{who} calls start() for workflow {op.workflow!r}: {_result(result)}"
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
            else f"{who} tries to start running: {_result(result)}"
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
        if kind is O.CompleteRun:
            verb, value = "completes", f"with {_value(op.output)}"
        else:
            verb, value = "fails", f"with error {_value(op.error)}"
        if result == O.Ok():
            return f"{who} {verb} {value}, and its hooks are released"
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
        if isinstance(result, O.RunInfo):
            return (
                f"{who} receives the end of {_r(op.run_id)}: {result.status}, "
                f"output {_value(result.output)}"
            )
        return f"{who} waits for {_r(op.run_id)} to end: {_result(result)}"
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
        if isinstance(result, O.Ok):
            return f"{who} records itself under {op.key!r}: the table keeps {_r(result.value)}"
        return f"{who} records itself under {op.key!r}: {_result(result)}"
    return f"{who}: {labelled(op)} -> {labelled(result)}"


def status_changes(system, schedule: list[str]) -> list[list[str]]:
    """Per step, the runs that existed before it and changed status during it, as
    ``"r1 is now cancelled"``: what a step did besides its own result (a terminate-existing start
    cancels the owner, a crash fails a run). Read off the world by replaying the schedule."""
    state = system.initial()
    changes = []
    for label in schedule:
        before = {run.id: run.status for run in state.world.runs}
        state, _ = system.step(state, label)
        changes.append(
            [
                f"r{run.id} is now {run.status}"
                for run in state.world.runs
                if run.id in before and before[run.id] != run.status
            ]
        )
    return changes


def story(
    steps: list[Step], violated: str | None = None, changes: list[list[str]] | None = None
) -> list[str]:
    """The numbered story: one sentence a step. ``violated`` names the property the last step
    breaks (a counterexample ends in the first state that violates it), and marks that step.
    ``changes`` (``status_changes``) adds run status changes a phrase does not already say."""
    lines = []
    for k, step in enumerate(steps, start=1):
        text = phrase(step)
        extra = [c for c in (changes[k - 1] if changes else []) if not _said(text, c)]
        if extra:
            text += f" ({'; '.join(extra)})"
        lines.append(f"{k}. {text}.")
    if violated and lines:
        lines[-1] += f" {VIOLATION_MARK.replace('the property', f'`{violated}`')}"
    return lines


def _said(text: str, change: str) -> bool:
    """Whether a phrase already tells a status change: 'r1 completes' covers 'r1 is now
    completed', 'r2 cancels r1' covers 'r1 is now cancelled'."""
    run, status = change.split(" is now ")
    stem = status.rstrip("ed")[:5]  # completed/complete, cancelled/cancels, failed/fails
    return stem in text and run in text


# -- short labels for the swimlane ---------------------------------------------------------------


def _short_result(result: Any) -> str:
    kind = type(result)
    if isinstance(result, O.LostResponse):
        return f"{_short_result(result.hidden)}, response LOST"
    if kind is O.Ok:
        return "ok" if result.value is None else describe(result.value)
    if kind is O.HookCreated:
        return "owner"
    if kind is O.HookConflict:
        return f"conflict: r{result.owner} owns it"
    if kind is O.HookInfo:
        return f"owned by r{result.run_id}"
    if kind is O.RunInfo:
        return result.status
    if kind is O.RunList:
        return ", ".join(_r(i) for i in result.run_ids) or "none"
    if kind is O.Payload:
        return f"payload {result.value!r}"
    if kind is O.Started:
        return f"new run r{result.run_id}"
    if kind is O.Existing:
        return f"existing r{result.run_id} ({result.status})"
    if kind is O.Dropped:
        return "dropped (no run)"
    if kind is O.Error:
        return result.name
    return labelled(result)


def short(step: Step) -> tuple[str, str]:
    """(what the actor asks the world, what comes back), a few words each, for an arrow."""
    op, result = step.op, step.result
    kind = type(op)
    if kind is O.CreateRun:
        hidden = result.hidden if isinstance(result, O.LostResponse) else result
        back = f"run r{hidden.value}" if isinstance(hidden, O.Ok) else _short_result(hidden)
        lost = ", response LOST" if isinstance(result, O.LostResponse) else ""
        return f"start {op.workflow!r}", back + lost
    labels = {
        O.KeyedStart: lambda: f"start {op.workflow!r} key {op.key!r}",
        O.StartRun: lambda: "begin running",
        O.ClaimHook: lambda: f"claim hook {op.token!r}",
        O.PerformEffect: lambda: f"do the work for {op.key!r}",
        O.CompleteRun: lambda: "complete (release hooks)",
        O.FailRun: lambda: "fail (release hooks)",
        O.CancelRun: lambda: f"cancel r{op.run_id}",
        O.GetHookByToken: lambda: f"look up token {op.token!r}",
        O.GetRun: lambda: f"read run r{op.run_id}",
        O.AwaitRun: lambda: f"await r{op.run_id}",
        O.DeliverPayload: lambda: f"send {op.payload!r} to r{op.run_id}",
        O.ConsumePayload: lambda: "take payload",
        O.PollPayload: lambda: "poll for payload",
        O.DisposeHook: lambda: "dispose hook",
        O.ReleaseHooks: lambda: f"release r{op.run_id}'s hooks",
        O.ListRuns: lambda: f"list {op.status or 'all'} {op.workflow!r} runs",
        O.AppRecordGet: lambda: f"read app record {op.key!r}",
        O.AppRecordPut: lambda: f"write app record {op.key!r}",
    }
    label = labels.get(kind)
    return (label() if label else labelled(op)), _short_result(result)
