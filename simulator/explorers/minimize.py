"""Counterexample minimization: delete schedule steps while the violation survives.

Random walks, PCT and Hypothesis find long schedules full of steps that do not matter. After the
search, a counterexample is shortened one-deletion-at-a-time (the classic ddmin endgame): drop a
step, replay strictly (every remaining action must still be enabled), and keep the shorter
schedule when the same property is still violated (an invariant anywhere along it, where the
schedule is then cut; a final property at its end, which must still be final). Deterministic: the
deletions are tried from the last step to the first, and the pass repeats until nothing changes.
"""

from __future__ import annotations

from properties import INVARIANT, Property
from simulator.system import ReplayError, System


def _violates(system: System, schedule: list[str], prop: Property) -> list[str] | None:
    """The (possibly cut) schedule if it still violates ``prop``, else None."""
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


def minimize(system: System, schedule: list[str], prop: Property, budget: int = 20_000) -> list[str]:
    """A schedule no longer than ``schedule`` that still violates ``prop``; ``budget`` bounds the
    number of replays so a pathological trace cannot stall a report."""
    best = _violates(system, schedule, prop)
    if best is None:
        return schedule
    replays = 1
    changed = True
    while changed and replays < budget:
        changed = False
        for i in range(len(best) - 1, -1, -1):
            if i >= len(best):
                continue
            candidate = _violates(system, best[:i] + best[i + 1 :], prop)
            replays += 1
            if candidate is not None and len(candidate) < len(best):
                best = candidate
                changed = True
            if replays >= budget:
                break
    return best
