"""Properties: named predicates the explorers check.

A property is either an ``invariant`` (checked on every reachable state) or ``final`` (checked on
states where nothing can move any more: the end of a finished trace). Trace properties are final
properties over ghost state: the world records the history facts they need (effects, deliveries,
consumptions, outcomes), which keeps state dedupe sound for them.

An invariant may also carry a ``settle`` check evaluated on final states only (newest-wins: no
older request cancels a newer one at any time, and the newest request owns the key at the end).

``check(system, state)`` returns ``None`` when the property holds there, else one sentence saying
what is wrong in this state (used by the CLI and the reports).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

INVARIANT = "invariant"
FINAL = "final"


@dataclass(frozen=True)
class Property:
    name: str
    kind: str  # INVARIANT | FINAL
    explanation: str  # plain words, for reports
    check: Callable[[Any, Any], str | None]
    # ghost state the simulator must keep for this property (e.g. "arrival_order")
    ghost: frozenset[str] = frozenset()
    # an extra check for final states only (an invariant that also says how things must settle)
    settle: Callable[[Any, Any], str | None] | None = None
    # strategy names the property is about; empty = every strategy. A scenario that does not
    # list its properties checks those that apply to its strategies.
    only_for: frozenset[str] = frozenset()

    def applies_to(self, strategies) -> bool:
        return not self.only_for or bool(self.only_for & set(strategies))


PROPERTIES: dict[str, Property] = {}


def register(
    name: str,
    kind: str,
    explanation: str,
    ghost: tuple[str, ...] = (),
    only_for: tuple[str, ...] = (),
    settle: Callable[[Any, Any], str | None] | None = None,
):
    def wrap(fn: Callable[[Any, Any], str | None]) -> Callable[[Any, Any], str | None]:
        if name in PROPERTIES:
            raise ValueError(f"property {name!r} registered twice")
        PROPERTIES[name] = Property(
            name, kind, explanation, fn, frozenset(ghost), settle, frozenset(only_for)
        )
        return fn

    return wrap


# the built-in properties register themselves on import
from properties import builtin as _builtin  # noqa: E402,F401

__all__ = ["FINAL", "INVARIANT", "PROPERTIES", "Property", "register"]
