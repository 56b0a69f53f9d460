"""The ``Profile`` interface: one world semantics, selectable by name with options.

A profile is a pure transition function over ``WorldState``:

* ``apply(world, op) -> (world', result)`` performs one atomic world operation;
* ``enabled(world, op)`` says whether a *blocking* op (waiting for a payload, for a run to end)
  can fire now; non-blocking ops are always enabled;
* ``environment(world)`` lists world-internal steps nobody's code issues but which happen anyway
  (e.g. the runtime releasing hooks after a terminal transition when that is not atomic);
* ``tick(world)`` advances the logical clock one tick and applies what expires then.

Options are declared once (name, default, allowed values, why) so scenario files are validated
against the declaration and errors can list what is allowed.

A profile also declares what others need to know about it, in its own class (nothing is listed by
name elsewhere): ``FAMILIES``, the kinds of client code it runs (a strategy names the families it
needs); ``SYMMETRIC``, whether its handlers were audited for the symmetry and key reductions;
``MATRIX_ROWS``, its rows in the comparison matrix. Defining a subclass with its own ``name``
registers it in ``PROFILES`` and checks those declarations at once: a wrong one fails at import,
naming the file to edit. A new profile is one file in ``model/profiles/`` (found by
``model.profiles`` on import) plus its scenarios.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from model import ops as O
from model.registry import Registry
from model.state import (
    CANCELLED,
    COMPLETED,
    FAILED,
    PENDING,
    RUNNING,
    TERMINAL,
    Effect,
    Hook,
    Run,
    WorldState,
)


class ModelError(Exception):
    """A definition error: an op a profile does not support, an invalid option combination."""


@dataclass(frozen=True)
class Option:
    default: Any
    choices: tuple[Any, ...] | None = None  # allowed values; None = any value of ``kind``
    kind: type = object
    doc: str = ""

    def check(self, name: str, value: Any) -> Any:
        if self.choices is not None:
            if value not in self.choices:
                allowed = ", ".join(repr(c) for c in self.choices)
                raise ValueError(f"option {name!r} is {value!r}; allowed: {allowed}")
            return value
        if self.kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"option {name!r} must be an integer, got {value!r}")
        if self.kind is int and value < 0:
            raise ValueError(f"option {name!r} must be >= 0, got {value!r}")
        if self.kind is bool and not isinstance(value, bool):
            raise ValueError(f"option {name!r} must be true or false, got {value!r}")
        return value


Handler = Callable[[Any, WorldState, Any], tuple[WorldState, Any]]


@dataclass(frozen=True)
class MatrixRow:
    """One row of the comparison matrix (``analysis.matrix``) a profile declares for itself."""

    label: str
    options: tuple[tuple[str, Any], ...]
    # the strategies the row's probes and property columns use; the first is the representative
    # for the memory and result-reuse questions
    strategies: tuple[str, ...]
    # where the row sits: rows are sorted by rank (peers first, then Vercel's designs, then the
    # application patterns), so a new profile places its rows without editing another file
    rank: int


# every kind of client code a profile can declare it runs (a strategy needs some of them)
FAMILIES = {
    "vercel-v4": "Vercel v4's start() plus hooks claimed inside the run (createHook/resumeHook)",
    "vercel-attributes": "runs.list filtered by an idempotency attribute (P1)",
    "keyed-start": "one atomic start call under a key: {run, created}, existing run, or an error",
    "keyed-hook": "a keyed start whose key is also the run's hook token (resumeHook reaches it)",
    "peer-start": "a peer engine's own start-and-wait API (Temporal, Inngest, DBOS)",
}


def _check_profile(cls: type[Profile]) -> str | None:
    if not cls.description:
        return "needs a one-line description"
    for name, option in cls.OPTIONS.items():
        if not isinstance(option, Option):
            return f"OPTIONS[{name!r}] must be an Option"
    unknown = sorted(set(cls.FAMILIES) - set(FAMILIES))
    if not cls.FAMILIES or unknown:
        return f"FAMILIES must name some of {', '.join(sorted(FAMILIES))}" + (
            f" (unknown: {', '.join(unknown)})" if unknown else ""
        )
    for row in cls.MATRIX_ROWS:
        if not isinstance(row, MatrixRow) or not row.strategies:
            return "MATRIX_ROWS must be MatrixRow values with at least one strategy"
        bad = sorted(set(dict(row.options)) - set(cls.OPTIONS))
        if bad:
            return f"matrix row {row.label!r} sets unknown options {', '.join(bad)}"
    return None


PROFILES: Registry[type[Profile]] = Registry(
    "profile",
    "a new file in model/profiles/ (a Profile subclass with its own name)",
    name_of=lambda cls: cls.name,
    check=_check_profile,
    convert=lambda obj: obj if isinstance(obj, type) and issubclass(obj, Profile) else None,
)


class Profile:
    """Base world: the Vercel Workflow v4 event-log contract, shared by the Vercel profiles.

    Subclasses override handlers (``HANDLERS`` maps op type -> method name) and declare options.
    """

    name: ClassVar[str] = "base"
    description: ClassVar[str] = ""
    OPTIONS: ClassVar[dict[str, Option]] = {}
    HANDLERS: ClassVar[dict[type, str]] = {}
    # op types that block until ``enabled`` says they can fire
    BLOCKING: ClassVar[frozenset[type]] = frozenset({O.ConsumePayload, O.AwaitRun})
    # op types whose response a client can lose (so it retries, not knowing it was admitted)
    LOSSY: ClassVar[frozenset[type]] = frozenset({O.CreateRun, O.KeyedStart})
    # op types that are steps with an effect outside the durable log: a crash between the effect
    # and the step's completion record repeats the effect (``simulator.system``, "Crashes");
    # every other op is an event the log records atomically with its answer, and replays
    AT_LEAST_ONCE: ClassVar[frozenset[type]] = frozenset({O.PerformEffect, O.AppRecordPut})
    # the kinds of client code this world runs (keys of ``FAMILIES``)
    FAMILIES: ClassVar[frozenset[str]] = frozenset()
    # handlers audited for the symmetry and key reductions (``simulator.symmetry``, ``por``):
    # every place that names a request or run id is one the renamings reach
    SYMMETRIC: ClassVar[bool] = False
    MATRIX_ROWS: ClassVar[tuple[MatrixRow, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            return  # a shared base (V4World), not a selectable profile
        origin = getattr(sys.modules.get(cls.__module__), "__file__", None) or cls.__module__
        PROFILES.register(cls, origin=origin)

    def __init__(self, **options: Any) -> None:
        unknown = sorted(set(options) - set(self.OPTIONS))
        if unknown:
            allowed = ", ".join(sorted(self.OPTIONS)) or "none"
            raise ValueError(
                f"profile {self.name!r} has no option {unknown[0]!r}; allowed: {allowed}"
            )
        values = {name: opt.default for name, opt in self.OPTIONS.items()}
        for name, value in options.items():
            values[name] = self.OPTIONS[name].check(name, value)
        self.options: dict[str, Any] = values
        self.validate()
        # bound handler table built once: dispatch is one dict lookup in the hot loop
        self._dispatch: dict[type, Callable[[WorldState, Any], tuple[WorldState, Any]]] = {
            op_type: getattr(self, method) for op_type, method in self.HANDLERS.items()
        }

    def validate(self) -> None:
        """Reject invalid option combinations (raise ``ValueError`` naming them)."""

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in sorted(self.options.items()))
        return f"{self.name}({opts})"

    # -- the interface explorers use -----------------------------------------------------------

    def initial(self) -> WorldState:
        return WorldState()

    def apply(self, world: WorldState, op: Any) -> tuple[WorldState, Any]:
        handler = self._dispatch.get(type(op))
        if handler is None:
            raise ModelError(
                f"profile {self.name!r} does not support {type(op).__name__}; "
                f"pick a strategy written for this profile"
            )
        return handler(world, op)

    def supports(self, op_type: type) -> bool:
        return op_type in self._dispatch

    def enabled(self, world: WorldState, op: Any) -> bool:
        kind = type(op)
        if kind is O.ConsumePayload:
            hook = world.hook_of(op.run_id, op.hook_id)
            return hook is None or bool(hook.inbox)
        if kind is O.AwaitRun:
            run = world.run(op.run_id)
            return run is None or run.status in TERMINAL
        return True

    def environment(self, world: WorldState) -> tuple[Any, ...]:
        return ()

    def tick(self, world: WorldState) -> WorldState:
        return world._replace(clock=world.clock + 1)

    # what the liveness properties ask (``properties/liveness.py``): profiles that keep tokens past
    # their run's end (hook retention) override both

    def after_time(self, world: WorldState) -> WorldState:
        """``world`` once every pending deadline has passed with nothing else happening (fair
        scheduling: in a final state only the clock still moves)."""
        return world

    def token_free(self, world: WorldState, token: str) -> bool:
        """Could a new claimant take ``token`` now?"""
        return world.hook_by_token(token) is None


def run_info(run) -> O.RunInfo:
    return O.RunInfo(run.id, run.workflow, run.status, run.output, run.request)


class V4World(Profile):
    """The Vercel Workflow v4 world operations (``@workflow/world`` 4.5).

    ``atomic_release``: whether a terminal transition and the disposal of the run's hooks are one
    atomic write or two (the hooks are disposed afterwards: an environment step ``ReleaseHooks``).
    world-local 4.4.1 and world-postgres 4.3.7 do two: the terminal event writes the run, then
    deletes its hooks, in the same call but not atomically (world-local
    dist/storage/events-storage.js ``writeJSON(run)`` then ``deleteAllHooksForRun``; world-postgres
    dist/storage.js ``UPDATE workflow_runs`` then ``DELETE FROM workflow_hooks``, autocommitted);
    the vercel-local and vercel-postgres backends observe the gap. The default stays ``true``: as
    one caller sees it, the call has released the hooks by the time it returns.
    """

    OPTIONS = {
        "atomic_release": Option(
            True, kind=bool, doc="terminal transition and hook release are one atomic step"
        ),
    }
    HANDLERS = {
        O.CreateRun: "create_run",
        O.StartRun: "start_run",
        O.ClaimHook: "claim_hook",
        O.DeliverPayload: "deliver_payload",
        O.ConsumePayload: "consume_payload",
        O.PollPayload: "poll_payload",
        O.DisposeHook: "dispose_hook",
        O.CompleteRun: "complete_run",
        O.FailRun: "fail_run",
        O.CancelRun: "cancel_run",
        O.ReleaseHooks: "release_hooks",
        O.GetHookByToken: "get_hook_by_token",
        O.GetRun: "get_run",
        O.ListRuns: "list_runs",
        O.AwaitRun: "await_run",
        O.PerformEffect: "perform_effect",
        O.AppRecordGet: "app_record_get",
        O.AppRecordPut: "app_record_put",
    }

    # -- runs ----------------------------------------------------------------------------------

    @staticmethod
    def new_run(world: WorldState, op: O.CreateRun | O.KeyedStart) -> tuple[WorldState, Run]:
        """Append a pending run for ``op`` (``run_created``); keyed starts record their key."""
        run = Run(
            id=len(world.runs) + 1,
            workflow=op.workflow,
            status=PENDING,
            request=op.request,
            key=getattr(op, "key", None),
            attributes=tuple(sorted(op.attributes)),
            started_at=world.clock,
        )
        return world._replace(runs=(*world.runs, run)), run

    def create_run(self, world: WorldState, op: O.CreateRun):
        world, run = self.new_run(world, op)
        return world, O.Ok(run.id)

    # what starting a run that is not pending answers: already running / already ended
    START_RUNNING: ClassVar[Any] = O.ENTITY_CONFLICT
    START_ENDED: ClassVar[Any] = O.ENTITY_CONFLICT

    def start_run(self, world: WorldState, op: O.StartRun):
        run = world.run(op.run_id)
        if run is None:
            return world, O.RUN_NOT_FOUND
        if run.status == RUNNING:
            return world, self.START_RUNNING
        if run.status != PENDING:
            return world, self.START_ENDED
        return world.with_run(run._replace(status=RUNNING)), O.Ok()

    def _end(self, world: WorldState, run_id: int, status: str, output: Any):
        run = world.run(run_id)
        if run is None:
            return world, O.RUN_NOT_FOUND
        if run.status in TERMINAL:
            if status == CANCELLED and run.status == CANCELLED:
                return world, O.Ok()  # re-cancelling a cancelled run is accepted
            return world, O.ENTITY_CONFLICT
        world = world.with_run(run._replace(status=status, output=output, ended_at=world.clock))
        if self.options["atomic_release"]:
            world = self._drop_hooks(world, run_id)
        return world, O.Ok()

    def complete_run(self, world: WorldState, op: O.CompleteRun):
        return self._end(world, op.run_id, COMPLETED, op.output)

    def fail_run(self, world: WorldState, op: O.FailRun):
        return self._end(world, op.run_id, FAILED, op.error)

    def cancel_run(self, world: WorldState, op: O.CancelRun):
        run = world.run(op.run_id)
        world2, result = self._end(world, op.run_id, CANCELLED, None)
        if op.by and run is not None and run.status not in TERMINAL:
            world2 = world2._replace(cancels=world2.cancels + ((op.by, op.run_id),))
        return world2, result

    def get_run(self, world: WorldState, op: O.GetRun):
        run = world.run(op.run_id)
        return world, (O.RUN_NOT_FOUND if run is None else run_info(run))

    def await_run(self, world: WorldState, op: O.AwaitRun):
        run = world.run(op.run_id)
        return world, (O.RUN_NOT_FOUND if run is None else run_info(run))

    def list_runs(self, world: WorldState, op: O.ListRuns):
        if op.attribute is not None:
            raise ModelError(
                f"profile {self.name!r}: runs.list filters by workflowName and status only; "
                "use the vercel-attribute-lookup profile for attribute filters"
            )
        ids = tuple(
            r.id
            for r in world.runs
            if r.workflow == op.workflow and (op.status is None or r.status == op.status)
        )
        return world, O.RunList(ids)

    # -- hooks ---------------------------------------------------------------------------------

    @staticmethod
    def _drop_hooks(world: WorldState, run_id: int) -> WorldState:
        if any(h.run_id == run_id for h in world.hooks):
            return world._replace(hooks=tuple(h for h in world.hooks if h.run_id != run_id))
        return world

    def claim_hook(self, world: WorldState, op: O.ClaimHook):

        run = world.run(op.run_id)
        if run is None:
            return world, O.RUN_NOT_FOUND
        if run.status in TERMINAL:
            return world, O.ENTITY_CONFLICT
        if world.hook_of(op.run_id, op.hook_id) is not None:
            return world, O.ENTITY_CONFLICT  # replayed claim of our own hook
        holder = world.hook_by_token(op.token)
        if holder is not None:
            return world, O.HookConflict(holder.run_id)
        return world.with_hooks((*world.hooks, Hook(op.token, op.run_id, op.hook_id))), (
            O.HookCreated()
        )

    def deliver_payload(self, world: WorldState, op: O.DeliverPayload):
        hook = world.hook_of(op.run_id, op.hook_id)
        if hook is None:
            return world, O.HOOK_NOT_FOUND
        hooks = tuple(
            h._replace(inbox=(*h.inbox, op.payload)) if h is hook else h for h in world.hooks
        )
        return world._replace(
            hooks=hooks, delivered=(*world.delivered, (op.payload, op.run_id))
        ), O.Ok()

    def consume_payload(self, world: WorldState, op: O.ConsumePayload):
        hook = world.hook_of(op.run_id, op.hook_id)
        if hook is None:
            return world, O.HOOK_NOT_FOUND
        payload = hook.inbox[0]
        hooks = tuple(h._replace(inbox=h.inbox[1:]) if h is hook else h for h in world.hooks)
        return world._replace(
            hooks=hooks, consumed=(*world.consumed, (payload, op.run_id))
        ), O.Payload(payload)

    def poll_payload(self, world: WorldState, op: O.PollPayload):
        hook = world.hook_of(op.run_id, op.hook_id)
        if hook is None or not hook.inbox:
            return world, O.Ok(None)
        return self.consume_payload(world, O.ConsumePayload(op.run_id, op.hook_id))

    def dispose_hook(self, world: WorldState, op: O.DisposeHook):
        hook = world.hook_of(op.run_id, op.hook_id)
        if hook is None:
            return world, O.HOOK_NOT_FOUND
        return world._replace(hooks=tuple(h for h in world.hooks if h is not hook)), O.Ok()

    def release_hooks(self, world: WorldState, op: O.ReleaseHooks):
        return self._drop_hooks(world, op.run_id), O.Ok()

    def get_hook_by_token(self, world: WorldState, op: O.GetHookByToken):
        hook = world.hook_by_token(op.token)
        if hook is None:
            return world, O.HOOK_NOT_FOUND
        return world, O.HookInfo(hook.run_id, hook.hook_id)

    def environment(self, world: WorldState) -> tuple[Any, ...]:
        if self.options.get("atomic_release", True) or not world.hooks:
            return ()
        ended = sorted(
            {h.run_id for h in world.hooks if world.runs[h.run_id - 1].status in TERMINAL}
        )
        return tuple(O.ReleaseHooks(run_id) for run_id in ended)

    # -- application side ----------------------------------------------------------------------

    def perform_effect(self, world: WorldState, op: O.PerformEffect):
        run = world.run(op.run_id)
        request = run.request if run is not None else 0
        effect = Effect(op.key, request, op.run_id, world.clock)
        return world._replace(effects=(*world.effects, effect)), O.Ok()

    def app_record_get(self, world: WorldState, op: O.AppRecordGet):
        for key, run_id in world.records:
            if key == op.key:
                return world, O.Ok(run_id)
        return world, O.Ok(None)

    def app_record_put(self, world: WorldState, op: O.AppRecordPut):
        for key, run_id in world.records:
            if key == op.key:
                return world, O.Ok(run_id)  # the unique constraint keeps the first writer
        records = tuple(sorted((*world.records, (op.key, op.run_id))))
        return world._replace(records=records), O.Ok(op.run_id)
