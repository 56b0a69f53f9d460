"""What the pictures mark in a counterexample: the steps that lead to the violation, and a colour
per key.

Which steps are causal. A counterexample ends in the first state that violates the property, so
its last step is always marked. The steps before it are marked by *parties*, not by a data-flow
slice: the violation message names the processes the property caught (``r1 (for req1) cancelled
r2 (for req2)``, ``r4 (started for req3) waits forever on its hook: payload 'a2' went to r3``),
and the parties are

1. the processes named in the message, with the runs each named request created and the request
   each named run was created for (a request and its runs are one party for a person);
2. one hop further, the runs the named parties met in what the world answered them (the owner a
   ``HookConflict`` or an ``Existing`` names, the run a ``HookInfo`` points to, the run they
   cancelled or delivered to), with their requests: the other side of the race.

A step is causal if a party took it, or it acts on a party's run (another process cancelling it,
a release of its hooks), or it is a party's arrival. Ticks and everyone else's steps are context,
drawn faded. Why not a backward slice over what the failing property reads: the properties read
ghost state (``effects``, ``cancels``, arrival order) that nearly every step of a party writes, so
a slice marks the same steps with far more machinery, and it would have to be kept in step with
every property; the message is already the property's own account of who is involved. When a
message names no process at all, every step is marked (nothing is hidden on a guess).

Colours. Each request's key gets one colour (``KEY_COLOURS``, in first-request order, never the
violation red); a run has its request's key, so the steps of one key read as one thread even in a
56-step crowd interleaving three keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from simulator.system import Arrive, Crash, Step, System

# distinct at a glance and for the common colour-vision deficiencies (Okabe-Ito, without red)
KEY_COLOURS = (
    "#0072b2",  # blue
    "#009e73",  # green
    "#e69f00",  # orange
    "#cc79a7",  # purple-pink
    "#56b4e9",  # sky
    "#7a5195",  # violet
    "#8c6d31",  # brown
    "#000000",
)
NO_KEY = "#616161"  # the world's own steps, ticks
_PROCESS = re.compile(r"\b(req\d+|r\d+)\b")
# fields of ops and results that name a run
_RUN_FIELDS = ("run_id", "owner")


@dataclass(frozen=True)
class Marks:
    keys: dict[str, str]  # lane (process name) -> the key of its request
    colours: dict[str, str]  # key -> colour
    causal: frozenset[int]  # 1-based numbers of the causal steps
    parties: tuple[str, ...]  # the processes behind them, requests then runs

    def colour_of(self, lane: str) -> str:
        key = self.keys.get(lane)
        return self.colours[key] if key is not None else NO_KEY


def _order(name: str) -> tuple[int, int]:
    return (0 if name.startswith("req") else 1, int(name.lstrip("req") or 0))


def lane_keys(scenario, world) -> dict[str, str]:
    """Every process lane's key: ``reqN`` its request's, ``rN`` its run's request's."""
    keys = {f"req{r.index}": r.key for r in scenario.requests}
    for run in world.runs:
        request = keys.get(f"req{run.request}")
        if request is not None:
            keys[f"r{run.id}"] = request
    return keys


def key_colours(scenario) -> dict[str, str]:
    """One colour per key, in the order the scenario's requests first use them."""
    colours: dict[str, str] = {}
    for request in scenario.requests:
        if request.key not in colours:
            colours[request.key] = KEY_COLOURS[len(colours) % len(KEY_COLOURS)]
    return colours


def _runs_named(value: Any) -> set[str]:
    """The runs an op or result names by field (``run_id``, ``owner``), nested ones included."""
    found: set[str] = set()
    fields = getattr(value, "_fields", None) if isinstance(value, tuple) else None
    if fields is None:
        return found
    for name, item in zip(fields, value, strict=True):
        if name in _RUN_FIELDS and isinstance(item, int) and not isinstance(item, bool) and item:
            found.add(f"r{item}")
        elif isinstance(item, tuple):
            found |= _runs_named(item)
    return found


def _lane(step: Step) -> str:
    if isinstance(step.op, (Arrive, Crash)):
        return step.op.actor
    return step.actor


def parties(message: str, steps: list[Step], world) -> set[str]:
    """The processes of a violation (see the module docstring): named, then one hop."""
    run_request = {f"r{run.id}": f"req{run.request}" for run in world.runs}
    request_runs: dict[str, set[str]] = {}
    for run, request in run_request.items():
        request_runs.setdefault(request, set()).add(run)

    def close(names: set[str]) -> set[str]:
        out = set(names)
        for name in names:
            out |= request_runs.get(name, set())
            if name in run_request:
                out.add(run_request[name])
        return out

    named = close(set(_PROCESS.findall(message)))
    met: set[str] = set()
    for step in steps:
        if _lane(step) in named:
            met |= _runs_named(step.op) | _runs_named(step.result)
    return close(named | {m for m in met if m in run_request})


def marks(scenario, violation, system: System | None = None) -> Marks:
    """The marks of ``violation`` (a ``Violation`` of a check of ``scenario``)."""
    world = violation.state.world if violation.state is not None else None
    if world is None:
        state, _ = (system or System(scenario)).replay(list(violation.schedule))
        world = state.world
    steps = violation.steps
    who = parties(violation.message, steps, world)
    if who:
        causal = {
            k
            for k, step in enumerate(steps, start=1)
            if _lane(step) in who or _runs_named(step.op) & who
        }
    else:
        causal = set(range(1, len(steps) + 1))
    if steps:
        causal.add(len(steps))
    return Marks(
        keys=lane_keys(scenario, world),
        colours=key_colours(scenario),
        causal=frozenset(causal),
        parties=tuple(sorted(who, key=_order)),
    )
