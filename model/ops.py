"""World operations (``Op``) and their outcomes (``Result``).

One ``Op`` is one atomic step of the real system: where the engine does two writes, a strategy
issues two ops. Ops and results are ``NamedTuple``s so they are hashable (they sit in process
states) and print readably in traces. ``describe_op``/``describe_result`` render them for humans
and for the JSON trace format.
"""

from __future__ import annotations

from typing import Any, NamedTuple

# ---------------------------------------------------------------------------------------------
# Ops of the Vercel Workflow v4 world contract (events.create / runs / hooks)


class CreateRun(NamedTuple):
    """``run_created``: a new pending run. ``request`` is the request whose input it carries."""

    workflow: str
    request: int
    attributes: tuple[tuple[str, str], ...] = ()


class StartRun(NamedTuple):
    """``run_started``: pending -> running (the queue hands the run to a worker)."""

    run_id: int


class ClaimHook(NamedTuple):
    """``hook_created {token}`` -> HookCreated | HookConflict(owner)."""

    run_id: int
    hook_id: str
    token: str


class DeliverPayload(NamedTuple):
    """``hook_received``: append ``payload`` to the inbox of hook (run_id, hook_id)."""

    run_id: int
    hook_id: str
    payload: Any


class ConsumePayload(NamedTuple):
    """The body takes the next payload from its hook's inbox (``for await`` on the hook).

    Blocking: only enabled while the inbox is non-empty or the hook is gone.
    """

    run_id: int
    hook_id: str


class PollPayload(NamedTuple):
    """The body takes the next payload if one is there, else gives up waiting (a ``for await`` on
    the hook raced against a sleep): ``Payload(v)`` or ``Ok(None)``. Never blocks."""

    run_id: int
    hook_id: str


class DisposeHook(NamedTuple):
    """``hook_disposed``: free the token early."""

    run_id: int
    hook_id: str


class CompleteRun(NamedTuple):
    run_id: int
    output: Any = None


class FailRun(NamedTuple):
    run_id: int
    error: Any = None


class CancelRun(NamedTuple):
    run_id: int
    by: int = 0  # ghost: the run whose code cancels (``conflict.cancel()``); 0 = outside code


class ReleaseHooks(NamedTuple):
    """Dispose every hook of a terminal run (the runtime's second write when release is not
    atomic with the terminal transition)."""

    run_id: int


class GetHookByToken(NamedTuple):
    token: str


class GetRun(NamedTuple):
    run_id: int


class ListRuns(NamedTuple):
    workflow: str
    status: str | None = None
    attribute: tuple[str, str] | None = None  # only profiles with attribute lookup accept it


class AwaitRun(NamedTuple):
    """Wait for a run to reach a terminal state (``await run.returnValue``). Blocking."""

    run_id: int


class PerformEffect(NamedTuple):
    """Ghost: the duplicate-sensitive work (charge the card, send the email), done in a step."""

    key: str
    run_id: int


class AppRecordGet(NamedTuple):
    """Read the application's own table: the run id stored under ``key`` (app-record pattern)."""

    key: str


class AppRecordPut(NamedTuple):
    """Insert-if-absent into the application's own table (a unique constraint)."""

    key: str
    run_id: int


class KeyedStart(NamedTuple):
    """Atomic keyed admission (P0 keyed start and the peers' start APIs).

    Profiles that support it return ``Started``, ``Existing`` or ``Rejected``.
    """

    workflow: str
    request: int
    key: str
    attributes: tuple[tuple[str, str], ...] = ()
    request_id: str | None = None  # Temporal's request id; retried starts carry the same one


class AdvanceClock(NamedTuple):
    """Environment: one logical tick passes."""


# ---------------------------------------------------------------------------------------------
# Results


class Ok(NamedTuple):
    value: Any = None


class HookCreated(NamedTuple):
    pass


class HookConflict(NamedTuple):
    owner: int  # conflictingRunId


class HookInfo(NamedTuple):
    run_id: int
    hook_id: str


class RunInfo(NamedTuple):
    run_id: int
    workflow: str
    status: str
    output: Any
    request: int


class RunList(NamedTuple):
    run_ids: tuple[int, ...]


class Payload(NamedTuple):
    value: Any


class Started(NamedTuple):
    """Keyed start admitted a new run (``created: true``)."""

    run_id: int


class Existing(NamedTuple):
    """Keyed start found a run under the key (``created: false``); ``status``/``output`` as stored."""

    run_id: int
    status: str
    output: Any


class Dropped(NamedTuple):
    """The start was silently dropped (Inngest): the caller sees success and no run."""


class LostResponse(NamedTuple):
    """The world performed the call but the caller never saw ``hidden`` (the real result): a
    timeout or a dropped connection. Shown in traces; the caller just retries."""

    hidden: Any


class StepCrashed(NamedTuple):
    """The body crashed after ``op`` (a step's effect outside the durable log) did its work and
    before the step's completion was recorded: ``hidden`` is what the effect answered, which no
    one saw. The replayed body runs the step again (at-least-once steps)."""

    op: Any
    hidden: Any


class Error(NamedTuple):
    """A thrown error, by the real system's class name (``HookNotFoundError``, ...)."""

    name: str
    detail: Any = None


HOOK_NOT_FOUND = Error("HookNotFoundError")
ENTITY_CONFLICT = Error("EntityConflictError")
RUN_NOT_FOUND = Error("WorkflowRunNotFoundError")


def describe(value: Any) -> str:
    """``Name(a, b)`` for ops and results, ``repr`` for plain values: stable across runs."""
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        args = ", ".join(describe(v) for v in value)
        return f"{type(value).__name__}({args})"
    if isinstance(value, tuple):
        return "(" + ", ".join(describe(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, str):
        return repr(value)
    return repr(value)
