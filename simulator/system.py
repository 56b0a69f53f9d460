"""The system: world + processes + environment, and its one-step transition relation.

``SystemState`` is what explorers store and dedupe on. Its process tuple has a fixed canonical
layout: one slot per request (``req1..reqN``, ``None`` until the request arrives) followed by one
slot per run in run-id order (``r1, r2, ...``: the workflow body of that run, spawned when the run
appears in the world). A slot is ``(local, pending)`` where ``pending`` is the op the process will
perform when scheduled, or ``Done``.

Actions are strings (they are the schedule, saved in trace files and replayed; code that needs to
know what one means reads it with ``simulator.actions.parse_action``):

* ``req2`` / ``r1``: the process takes its next step (performs its pending op);
* ``arrive req2``: request 2 arrives (its client process starts);
* ``tick``: the clock advances one tick;
* ``release r1``, ...: a world-internal step the profile offers (``Profile.environment``);
* ``crash r1``: the body of run 1 crashes inside a step whose effect lies outside the durable log
  (``Profile.AT_LEAST_ONCE``): the effect happens, the step's completion record does not, and the
  replayed body runs that step again (``bounds.max_crashes``; see "Crashes" below);
* ``req1 lost``: request 1's start call is performed by the world but its response is lost, so the
  caller, not knowing whether it was admitted, sends the same call again (the pending op stays;
  ``bounds.max_lost_responses``). Only start calls (``Profile.LOSSY``) can lose their response.

Crashes replay the durable log, as all four engines do (Vercel's event log, Temporal's history,
DBOS's step table, Inngest's step memo): after a crash the body is re-executed, its completed steps
return their recorded results and the payloads it already received are re-delivered in order; only
the step in flight runs again (at-least-once). A body is a pure function of the results it was
given, so replaying it over its recorded results reaches exactly the (local, pending) it crashed
in: a crash anywhere but inside a step is a stutter and is not drawn. Inside a step, world ops are
events the log records atomically with their answer (``events.create`` returns the event), so
they too replay; what the log cannot make atomic is an effect outside it (``PerformEffect``: the
card is charged, then ``step_completed`` is written). A crash between that effect and its step's
completion record repeats the effect (the ``crash rK`` action: the effect is applied, the body
stays on the same step); a crash after the record does not (a stutter). Until issue 15 a crash
restarted the body from scratch and forgot what it had consumed: it drew traces no engine
produces (a restarted body re-claiming its own hook) and hid others.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from model import ops as O
from model.profiles.base import Profile
from model.state import TERMINAL, WorldState
from properties import PROPERTIES
from simulator.process import Done, Program
from simulator.scenario import Scenario
from simulator.strategies import STRATEGIES
from simulator.strategies.owner_failure import failing

_new_state = tuple.__new__  # builds a NamedTuple without its Python-level __new__


class SystemState(NamedTuple):
    world: WorldState
    procs: tuple[Any, ...]  # per slot: None | (local, pending op or Done)
    arrivals: tuple[int | None, ...]  # tick at which each request arrived
    crashes: int = 0
    lost: int = 0  # responses lost so far
    order: tuple[int, ...] = ()  # request indices in arrival order (ties in a tick need it)


class Step(NamedTuple):
    """One executed action: who did what, and what came back."""

    label: str
    actor: str
    op: Any
    result: Any


class Arrive(NamedTuple):
    """Environment: a request arrives (its client process starts)."""

    actor: str


class Crash(NamedTuple):
    """Environment: a workflow body crashes between a step's effect and the step's completion
    record; the step's result (``StepCrashed``) is what the effect answered, which nobody saw."""

    actor: str


class ReplayError(Exception):
    """A schedule could not be replayed, or replayed differently from its recording."""


class System:
    def __init__(self, scenario: Scenario, profile: Profile | None = None) -> None:
        self.scenario = scenario
        self.profile = profile if profile is not None else scenario.make_profile()
        self.requests = scenario.requests
        self.n = len(scenario.requests)
        self.bounds = scenario.bounds
        # resolve: a user's package.module:NAME is loaded here too (a Dask worker, a replay)
        self._specs = [STRATEGIES.resolve(r.strategy) for r in scenario.requests]
        self._clients: list[Program] = [
            spec.client(req) for spec, req in zip(self._specs, scenario.requests, strict=False)
        ]
        self._bodies: dict[tuple[int, int], Program] = {}
        self._client_names = [f"req{r.index}" for r in scenario.requests]
        self._arrive_labels = [f"arrive {name}" for name in self._client_names]
        self._lost_labels = [f"{name} lost" for name in self._client_names]
        self._run_names: list[str] = []
        # Arrival order is ghost state only some properties read (newest-wins); tracking it
        # splits states that differ only in the order of same-tick arrivals, so it is kept only
        # when a checked property asks for it.
        self.track_order = any(
            "arrival_order" in PROPERTIES.resolve(name).ghost for name in scenario.properties
        )
        self._crash_labels: list[str] = []

    # -- naming ----------------------------------------------------------------------------------

    def slot_name(self, slot: int) -> str:
        if slot < self.n:
            return self._client_names[slot]
        return self._run_name(slot - self.n + 1)

    def _run_name(self, run_id: int) -> str:
        while len(self._run_names) < run_id:
            k = len(self._run_names) + 1
            self._run_names.append(f"r{k}")
            self._crash_labels.append(f"crash r{k}")
        return self._run_names[run_id - 1]

    def slot_of(self, label: str) -> int | None:
        if label.startswith("req") and label[3:].isdigit():
            i = int(label[3:])
            return i - 1 if 1 <= i <= self.n else None
        if label.startswith("r") and label[1:].isdigit():
            return self.n + int(label[1:]) - 1
        return None

    def spec(self, request_index: int):
        """The ``StrategySpec`` of request ``request_index`` (1-based)."""
        return self._specs[request_index - 1]

    def body(self, world: WorldState, run_id: int) -> Program:
        run = world.runs[run_id - 1]
        key = (run_id, run.request)
        program = self._bodies.get(key)
        if program is None:
            request = self.requests[run.request - 1]
            program = self._specs[run.request - 1].body(request, run_id)
            program = failing(program, request, run_id)  # the request's ``ends`` option
            self._bodies[key] = program
        return program

    def program(self, world: WorldState, slot: int) -> Program:
        if slot < self.n:
            return self._clients[slot]
        return self.body(world, slot - self.n + 1)

    # -- the transition relation ---------------------------------------------------------------

    def initial(self) -> SystemState:
        return SystemState(self.profile.initial(), (None,) * self.n, (None,) * self.n, 0, 0, ())

    def actions(self, state: SystemState) -> list[str]:
        """Enabled actions, in a fixed order (processes, arrivals, environment, tick, crashes)."""
        return [label for label, _ in self._enabled(state)]

    def _enabled(self, state: SystemState) -> Iterator[tuple[str, Any]]:
        world, procs, arrivals, crashes, lost, _order = state
        enabled = self.profile.enabled
        blocking = self.profile.BLOCKING
        lossy = self.profile.LOSSY
        n = self.n
        max_lost = self.bounds.max_lost_responses
        for slot, proc in enumerate(procs):
            if proc is None:
                continue
            pending = proc[1]
            if type(pending) is Done:
                continue
            if type(pending) in blocking and not enabled(world, pending):
                continue
            yield self.slot_name(slot), ("proc", slot)
            if slot < n and lost < max_lost and type(pending) in lossy:
                yield self._lost_labels[slot], ("lost", slot)
        clock = world.clock
        for i, req in enumerate(self.requests):
            if arrivals[i] is None and req.arrive_min <= clock and self._after_ok(world, req):
                yield self._arrive_labels[i], ("arrive", i)
        for op in self.profile.environment(world):
            yield _env_label(op), ("env", op)
        if clock < self.bounds.max_ticks and all(
            arrivals[i] is not None or req.arrive_max > clock for i, req in enumerate(self.requests)
        ):
            yield "tick", ("tick",)
        if crashes < self.bounds.max_crashes:
            at_least_once = self.profile.AT_LEAST_ONCE
            for slot in range(self.n, len(procs)):
                if type(procs[slot][1]) in at_least_once:
                    self._run_name(slot - self.n + 1)
                    yield self._crash_labels[slot - self.n], ("crash", slot)

    @staticmethod
    def _after_ok(world: WorldState, req) -> bool:
        """Arrival guards: ``after`` (a run of that request has ended), ``during`` (a run of
        that request exists and has not ended)."""
        if req.after is not None and not any(
            r.request == req.after and r.status in TERMINAL for r in world.runs
        ):
            return False
        if req.during is not None and not any(
            r.request == req.during and r.status not in TERMINAL for r in world.runs
        ):
            return False
        return True

    def successors(self, state: SystemState) -> list[tuple[str, SystemState]]:
        """Every (action, next state) pair: the explorers' hot loop."""
        fire = self._fire
        return [(label, fire(state, how, False)[0]) for label, how in self._enabled(state)]

    def step(self, state: SystemState, label: str) -> tuple[SystemState, Step]:
        """Fire one named action; ``ReplayError`` if it is not enabled in ``state``."""
        for candidate, how in self._enabled(state):
            if candidate == label:
                return self._fire(state, how)
        enabled = ", ".join(self.actions(state)) or "nothing"
        raise ReplayError(f"action {label!r} is not enabled here (enabled: {enabled})")

    def _fire(
        self, state: SystemState, how: tuple[Any, ...], record: bool = True
    ) -> tuple[SystemState, Step | None]:
        """The next state, and (``record``) the ``Step`` that names what happened. Search asks
        for the state only: building the record for every transition costs a fifth of BFS."""
        world, procs, arrivals, crashes, lost, order = state
        kind = how[0]
        if kind == "proc":
            slot = how[1]
            local, pending = procs[slot]
            world2, result = self.profile.apply(world, pending)
            if slot < self.n:
                program = self._clients[slot]
            else:
                program = self.body(world, slot - self.n + 1)
            procs2 = (*procs[:slot], program.on_result(local, result), *procs[slot + 1 :])
            if len(world2.runs) != len(world.runs):
                procs2 = self._spawn(world2, procs2)
            nxt = _new_state(SystemState, (world2, procs2, arrivals, crashes, lost, order))
            if not record:
                return nxt, None
            name = self.slot_name(slot)
            return nxt, Step(name, name, pending, result)
        if kind == "lost":
            slot = how[1]
            pending = procs[slot][1]
            world2, result = self.profile.apply(world, pending)
            procs2 = procs
            if len(world2.runs) != len(world.runs):
                procs2 = self._spawn(world2, procs2)
            name = self.slot_name(slot)
            return SystemState(world2, procs2, arrivals, crashes, lost + 1, order), Step(
                self._lost_labels[slot], name, pending, O.LostResponse(result)
            )
        if kind == "arrive":
            i = how[1]
            procs2 = (*procs[:i], self._clients[i].start(), *procs[i + 1 :])
            arrivals2 = (*arrivals[:i], world.clock, *arrivals[i + 1 :])
            label = self._arrive_labels[i]
            order2 = (*order, i + 1) if self.track_order else order
            return SystemState(world, procs2, arrivals2, crashes, lost, order2), Step(
                label, "env", Arrive(self._client_names[i]), world.clock
            )
        if kind == "env":
            op = how[1]
            world2, result = self.profile.apply(world, op)
            return SystemState(world2, procs, arrivals, crashes, lost, order), Step(
                _env_label(op), "world", op, result
            )
        if kind == "tick":
            world2 = self.profile.tick(world)
            return SystemState(world2, procs, arrivals, crashes, lost, order), Step(
                "tick", "env", O.AdvanceClock(), world2.clock
            )
        if kind == "crash":
            # the step's effect happens; its completion record does not, so the replayed body
            # is back on the same step (its slot is unchanged) and will run it again
            slot = how[1]
            pending = procs[slot][1]
            world2, result = self.profile.apply(world, pending)
            name = self.slot_name(slot)
            return SystemState(world2, procs, arrivals, crashes + 1, lost, order), Step(
                f"crash {name}", "env", Crash(name), O.StepCrashed(pending, result)
            )
        raise AssertionError(kind)

    def _spawn(self, world: WorldState, procs: tuple[Any, ...]) -> tuple[Any, ...]:
        """Start the workflow body of every run the world has and the processes do not yet."""
        have = len(procs) - self.n
        new = tuple(
            self.body(world, run_id).start() for run_id in range(have + 1, len(world.runs) + 1)
        )
        return procs + new

    # -- replay ----------------------------------------------------------------------------------

    def replay(
        self, labels: list[str], recorded: list[tuple[str, str, str]] | None = None
    ) -> tuple[SystemState, list[Step]]:
        """Re-run a schedule from the initial state. With ``recorded`` (per step: actor, op and
        result as ``describe`` renders them), every step must come out exactly as recorded; the
        first difference raises ``ReplayError`` saying where."""
        state = self.initial()
        steps: list[Step] = []
        for k, label in enumerate(labels, start=1):
            try:
                state, step = self.step(state, label)
            except ReplayError as exc:
                raise ReplayError(f"step {k}: {exc}") from None
            if recorded is not None and k <= len(recorded):
                want = tuple(recorded[k - 1])
                got = (step.actor, O.describe(step.op), O.describe(step.result))
                if got != want:
                    raise ReplayError(
                        f"step {k} ({label}): the model is nondeterministic or has changed: "
                        f"recorded {want[0]}: {want[1]} -> {want[2]}, "
                        f"replayed {got[0]}: {got[1]} -> {got[2]}"
                    )
            steps.append(step)
        return state, steps

    # -- helpers for properties ----------------------------------------------------------------

    def outcomes(self, state: SystemState) -> dict[str, Any]:
        """Outcome of each finished process by actor name."""
        out = {}
        for slot, proc in enumerate(state.procs):
            if proc is not None and type(proc[1]) is Done:
                out[self.slot_name(slot)] = proc[1].outcome
        return out


def _env_label(op: Any) -> str:
    if type(op) is O.ReleaseHooks:
        return f"release r{op.run_id}"
    return O.describe(op)
