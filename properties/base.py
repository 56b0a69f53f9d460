"""Properties: named predicates the explorers check, and their registry.

A property is either an ``invariant`` (checked on every reachable state) or ``final`` (checked on
states where nothing can move any more: the end of a finished trace). Trace properties are final
properties over ghost state: the world records the history facts they need (effects, deliveries,
consumptions, outcomes), which keeps state dedupe sound for them.

An invariant may also carry a ``settle`` check evaluated on final states only (newest-wins: no
older request cancels a newer one at any time, and the newest request owns the key at the end).

``check(system, state)`` returns ``None`` when the property holds there, else one sentence saying
what is wrong in this state (used by the CLI and the reports).

A property declares, besides its check: ``reads``, the parts of the system state its verdict
depends on (``world``, ``arrivals``, ``order``, ``clients``; the engine memoizes the check on
exactly those parts, and an undeclared property is checked on every state); ``ghost``, history the
simulator must keep for it; ``exercised_by``, the strategies it is about (empty: all); and
``logs``, the world's history logs (``LOGS``) it reads whole, in order (undeclared: all; a
search drops the others once no undecided property reads them); ``log_fields``, logs it reads
only as the set of some fields of their entries (order and repetition unseen: a search keeps just
that set once no undecided property reads the log whole); ``symmetric``, whether it was audited for the
symmetry and key reductions (it reads requests only
through fields the renamings reach); ``evidence``, what in a scenario exercises it (a payload sent,
a crash injected, a failure possible): ``evidence(system)`` says it in words, or None when a
search of that system cannot tell the property holds from not being tried (the matrix then says
"not exercised"; undeclared = every scenario exercises it). ``register`` checks the declaration at
once.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from model.registry import Registry

INVARIANT = "invariant"
FINAL = "final"
# the parts of a system state a property can read (see ``simulator.engine``'s key layout)
STATE_PARTS = ("world", "arrivals", "order", "clients")
GHOSTS = ("arrival_order",)
# the world's history logs (ghost fields of ``WorldState``): transitions only append to them, so a
# search may drop one once every property still undecided declares it does not read it
# (``simulator/history.py``)
LOGS = ("effects", "delivered", "consumed", "cancels")
# the names of a log entry's fields, for ``log_fields`` (``model.state``: ``Effect``, and the
# (payload, run id) and (cancelling run, cancelled run) pairs)
LOG_FIELDS = {
    "effects": ("key", "request", "run_id", "tick"),
    "delivered": ("payload", "run_id"),
    "consumed": ("payload", "run_id"),
    "cancels": ("by", "victim"),
}


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
    # parts of the state the check reads (``STATE_PARTS``); empty = undeclared (checked always)
    reads: frozenset[str] = frozenset()
    # audited for the symmetry and key reductions
    symmetric: bool = False
    # system -> what in its scenario exercises this property, or None (see the module doc)
    evidence: Callable[[Any], str | None] | None = None
    # the history logs (``LOGS``) the check and settle read; None = undeclared (all of them)
    logs: frozenset[str] | None = None
    # logs read only as the set of these fields of their entries: (log, fields) pairs
    log_fields: tuple[tuple[str, frozenset[str]], ...] = ()

    def evidence_in(self, system) -> str | None:
        return "every scenario" if self.evidence is None else self.evidence(system)

    @property
    def exercised_by(self) -> frozenset[str]:
        return self.only_for

    def applies_to(self, strategies) -> bool:
        return not self.only_for or bool(self.only_for & set(strategies))


def _check(prop: Property) -> str | None:
    if not isinstance(prop, Property):
        return "must be a properties.Property"
    if prop.kind not in (INVARIANT, FINAL):
        return f"kind must be {INVARIANT!r} or {FINAL!r}, got {prop.kind!r}"
    if not prop.explanation:
        return "needs a plain-words explanation (reports show it)"
    if not callable(prop.check):
        return "check must be callable (system, state) -> message or None"
    bad = sorted(prop.reads - set(STATE_PARTS))
    if bad:
        return (
            f"reads names unknown state parts {', '.join(bad)}; allowed: {', '.join(STATE_PARTS)}"
        )
    bad = sorted(prop.ghost - set(GHOSTS))
    if bad:
        return f"ghost names unknown history {', '.join(bad)}; allowed: {', '.join(GHOSTS)}"
    bad = sorted((prop.logs or frozenset()) - set(LOGS))
    if bad:
        return f"logs names unknown history logs {', '.join(bad)}; allowed: {', '.join(LOGS)}"
    for log, fields in prop.log_fields:
        if log not in LOGS:
            return f"log_fields names unknown history log {log!r}; allowed: {', '.join(LOGS)}"
        if prop.logs is None:
            return "log_fields needs logs declared too (undeclared logs = every log, read whole)"
        if log in prop.logs:
            return f"{log!r} is in both logs and log_fields: keep it in one of them"
        bad = sorted(fields - set(LOG_FIELDS[log]))
        if bad or not fields:
            return (
                f"log_fields[{log!r}] names unknown fields {', '.join(bad) or '(none)'}; "
                f"allowed: {', '.join(LOG_FIELDS[log])}"
            )
    if prop.reads and prop.kind != INVARIANT:
        return "reads is for invariants (final properties are checked once per final state)"
    return None


PROPERTIES: Registry[Property] = Registry(
    "property",
    "a module in properties/ that uses @register(...)",
    name_of=lambda prop: prop.name,
    check=_check,
    convert=lambda obj: obj if isinstance(obj, Property) else None,
)


def register(
    name: str,
    kind: str,
    explanation: str,
    ghost: tuple[str, ...] = (),
    only_for: tuple[str, ...] = (),
    settle: Callable[[Any, Any], str | None] | None = None,
    reads: tuple[str, ...] = (),
    symmetric: bool = False,
    evidence: Callable[[Any], str | None] | None = None,
    logs: tuple[str, ...] | None = None,
    log_fields: dict[str, tuple[str, ...]] | None = None,
):
    origin = inspect.stack(0)[1].filename

    def wrap(fn: Callable[[Any, Any], str | None]) -> Callable[[Any, Any], str | None]:
        prop = Property(
            name,
            kind,
            explanation,
            fn,
            frozenset(ghost),
            settle,
            frozenset(only_for),
            frozenset(reads),
            symmetric,
            evidence,
            None if logs is None else frozenset(logs),
            tuple(sorted((log, frozenset(f)) for log, f in (log_fields or {}).items())),
        )
        PROPERTIES.register(prop, origin=origin)
        return fn

    return wrap


__all__ = [
    "FINAL",
    "INVARIANT",
    "LOGS",
    "LOG_FIELDS",
    "PROPERTIES",
    "STATE_PARTS",
    "Property",
    "register",
]
