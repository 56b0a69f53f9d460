"""The one shrinker: delete schedule steps while the violation survives.

Random walks, PCT and Hypothesis find long schedules full of steps that do not matter. After the
search a counterexample is shortened one deletion at a time (the classic ddmin endgame): drop a
step, replay the shorter schedule, and keep it when the same property is still violated (an
invariant anywhere along it, where the schedule is then cut; a final property, or the ``settle``
half of an invariant, at its end, which must be a state that cannot move). Deterministic: the
deletions are tried from the last step to the first, and the pass repeats until nothing changes.
``budget`` bounds the replays so a pathological trace cannot stall a search or a report.

What "replay" means is the one difference between the two users, so it is a parameter:

* ``strict`` (after random walks and PCT, ``PropertyBook.result``): every remaining action must
  still be enabled when its turn comes, else the candidate is dropped;
* ``completing(max_depth)`` (after Hypothesis's own shrinking): an action that is not enabled when
  its turn comes is skipped, and once the schedule is used up the system runs on in its default
  order (first enabled action) up to ``max_depth``, as the Hypothesis machine's ``teardown`` does.
  Deleting an arrival so drops that request's later steps too.
"""

from __future__ import annotations

from collections.abc import Callable

from properties import INVARIANT, Property
from simulator.system import ReplayError, System

# replays the shorter candidate: the (possibly cut) schedule that still violates, else None
Replay = Callable[[System, list[str], Property], list[str] | None]

STRICT_BUDGET = 20_000  # replays after a walk (cheap: strict replays stop at the first gap)
COMPLETING_BUDGET = 5_000  # replays after Hypothesis, which has shrunk the schedule already


def strict(system: System, schedule: list[str], prop: Property) -> list[str] | None:
    """The (possibly cut) schedule if it still violates ``prop`` when replayed exactly."""
    state = system.initial()
    invariant = prop.kind == INVARIANT
    if invariant and prop.check(system, state):
        return []
    for k, label in enumerate(schedule, start=1):
        try:
            state, _ = system.step(state, label)
        except ReplayError:
            return None
        if invariant and prop.check(system, state):
            return schedule[:k]
    if system.actions(state):
        return None  # final properties (and settle checks) speak of states that cannot move
    if not invariant and prop.check(system, state):
        return schedule
    if prop.settle is not None and prop.settle(system, state):
        return schedule
    return None


def completing(max_depth: int) -> Replay:
    """Replay skipping what is not enabled, then complete in the default order (see the module
    doc); the executed schedule if it violates ``prop``, else None."""

    def replay(system: System, labels: list[str], prop: Property) -> list[str] | None:
        state = system.initial()
        path: list[str] = []
        invariant = prop.kind == INVARIANT
        queue = iter(labels)
        while len(path) < max_depth:
            enabled = system.actions(state)
            label = next((x for x in queue if x in enabled), None)
            if label is None:
                if not enabled:
                    break
                label = enabled[0]  # the schedule is used up: default order from here
            state, _ = system.step(state, label)
            path.append(label)
            if invariant and prop.check(system, state) is not None:
                return path
        if system.actions(state):
            return None  # depth bound reached before the system settled
        if not invariant and prop.check(system, state) is not None:
            return path
        if prop.settle is not None and prop.settle(system, state) is not None:
            return path
        return None

    return replay


def shrink(
    system: System,
    schedule: list[str],
    prop: Property,
    replay: Replay = strict,
    budget: int = STRICT_BUDGET,
) -> list[str]:
    """A schedule no longer than ``schedule`` that still violates ``prop`` under ``replay``;
    ``schedule`` itself when it does not (a recorded failure always does)."""
    best = replay(system, schedule, prop)
    if best is None:
        return schedule
    replays = 1
    changed = True
    while changed and replays < budget:
        changed = False
        i = len(best) - 1
        while i >= 0 and replays < budget:
            candidate = replay(system, best[:i] + best[i + 1 :], prop)
            replays += 1
            if candidate is not None and len(candidate) < len(best):
                best = candidate
                changed = True
            # a cut candidate is shorter than i: go on from its last step
            i = min(i, len(best)) - 1
    return best


__all__ = ["COMPLETING_BUDGET", "STRICT_BUDGET", "Replay", "completing", "shrink", "strict"]
