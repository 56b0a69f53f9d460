"""State-space reductions for the exhaustive explorers, each behind a flag.

* ``symmetry`` (``simulator/symmetry.py``): interchangeable requests, canonical form; exact
  shortest counterexamples, same verdicts, for the audited profiles, strategies and properties.
* ``key`` (``simulator/por.py``): persistent sets over independent key clusters; same verdicts,
  fewer states. Shortest *invariant* counterexamples are not preserved by the reduced graph, so
  when it finds violations, ``check`` searches again without it (symmetry still on), for the
  violated properties only, and reports those shortest counterexamples: the verdicts and state
  counts come from the reduced search, the traces are the unreduced search's.
* ``split`` (``simulator/split.py``): independent key clusters searched one at a time, each
  under the other reductions, verdicts combined; counterexamples rebuilt as schedules of the
  whole scenario, as short as the unreduced search's. Same audit as ``key``.
* ``private`` (``simulator/private.py``): singleton persistent sets of steps nobody else can
  observe (a read of an ended run, a body's step on a run no one else knows yet); the one-key
  contention case, where ``key`` gets nothing. Same verdicts; shortest counterexamples are
  recomputed as for ``key``. Where both apply, a private step is taken first, else a key
  cluster's ample set.
* ``history`` (``simulator/history.py``): the history no undecided property reads is dropped
  (a log, the arrival order) or cut to what is read (a log read as a set of entry fields); the
  search starts over when a violation makes it coarser. Same verdicts and shortest
  counterexamples.

All are on by default (``DEFAULT``): the soundness tests (``tests/test_reductions.py``) compare
every catalog scenario's per-property verdicts and shortest counterexample lengths with and
without each. A reduction that does not apply to a scenario (not audited, nothing symmetric, one
key) is skipped and ``Plan.notes`` says why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from simulator.engine import Engine, Key

REDUCTIONS = ("symmetry", "key", "private", "split", "history")
DEFAULT = frozenset(REDUCTIONS)


def parse(text: str) -> frozenset[str]:
    """``"key,symmetry"`` -> the set; ``"none"`` or ``""`` -> no reduction. ValueError names
    the allowed values."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if names in ([], ["none"]):
        return frozenset()
    unknown = [name for name in names if name not in REDUCTIONS]
    if unknown:
        raise ValueError(
            f"unknown reduction {unknown[0]!r}; allowed: {', '.join(REDUCTIONS)}, none"
        )
    return frozenset(names)


@dataclass
class Plan:
    engine: Engine
    canon: Callable[[Key], Key] | None = None
    expand: Callable[[Key], tuple[list, bool]] | None = None
    applied: tuple[str, ...] = ()
    notes: dict[str, str] = field(default_factory=dict)  # reduction -> what it did or why not
    keep: dict | None = None  # what of the history the engine keeps (``history``), when applied


def plan(
    system,
    reductions: frozenset[str],
    extra_properties: tuple = (),
    keep: dict | None = None,
) -> Plan:
    """The reductions of ``reductions`` that apply to ``system``, over a new engine. ``keep``:
    what of the history the engine keeps (``history``: a ``simulator.history.View``; None: what
    the properties of the scenario and ``extra_properties`` read)."""
    from simulator import history
    from simulator.por import make_key_reduction
    from simulator.private import make_private_steps
    from simulator.split import make_split
    from simulator.symmetry import make_symmetry

    engine = Engine(system)
    out = Plan(engine)
    applied = []
    if "history" in reductions:
        reason = history.why_not(system)
        if reason is None:
            if keep is None:
                keep = history.static_kept(system, extra_properties)
            engine.keep_history(
                history.dropped(keep), history.cut(keep), keep[history.ORDER] is history.WHOLE
            )
            out.keep = keep
            out.notes["history"] = (
                f"{history.describe(keep, system.track_order)}; more as violations are found"
            )
        else:
            out.notes["history"] = f"not applied: {reason}"

    def use(name: str, make):
        """``make(engine, extra_properties)`` -> (reduction or None, note), when asked for."""
        if name not in reductions:
            return None
        made, note = make(engine, extra_properties)
        out.notes[name] = note if made is not None else f"not applied: {note}"
        if made is not None:
            applied.append(name)
        return made

    sym = use("symmetry", make_symmetry)
    key = use("key", make_key_reduction)
    if key is not None and sym is not None:
        normal, symcanon = key.normal, sym.canon
        out.canon = lambda k: symcanon(normal(k))
    elif key is not None:
        out.canon = key.normal
    elif sym is not None:
        out.canon = sym.canon
    use("split", make_split)  # a flag: ``explore_reduced`` runs it
    private = use("private", make_private_steps)
    if key is not None and private is not None:
        out.expand = Chained(private, key).expand
    elif key is not None:
        out.expand = key.expand
    elif private is not None:
        out.expand = private.expand
    if "history" in out.notes and not out.notes["history"].startswith("not applied"):
        applied.append("history")
    out.applied = tuple(applied)
    return out


class Chained:
    """A private step when there is one, else the key reduction's ample set: each is persistent
    on its own, so either choice is."""

    def __init__(self, first, second) -> None:
        self.first, self.second = first, second

    @property
    def reduced(self) -> int:
        return self.first.reduced + self.second.reduced

    def expand(self, key: Key) -> tuple[list, bool]:
        nexts, reduced = self.first.expand(key)
        if reduced:
            return nexts, True
        return self.second.expand(key, nexts)  # all successors: not computed twice


__all__ = ["DEFAULT", "REDUCTIONS", "Plan", "parse", "plan"]
