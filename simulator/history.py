"""Forget history no undecided property reads: the ``history`` reduction.

The world carries history logs as ghost state (``WorldState.effects``, ``delivered``,
``consumed``, ``cancels``): facts only the properties read, kept in the state so that dedupe is
sound for them. Every property declares the logs it reads (``Property.logs``; undeclared = all).
Once no property still undecided in a search reads a log, the log only tells apart states that no
remaining check can tell apart, and it multiplies them: supersede's ``cancels`` records who
cancelled whom, in order, and with 4 requests on one key it alone makes 3,057,925 states of
what are 565,621 without it.

Why dropping a log keeps every verdict and every shortest counterexample length:

* transitions never read a log (our profiles' handlers only append to them, and strategies'
  programs never see the world; ``tests/test_history.py`` compares the successors of reachable
  states of every catalog scenario with and without their logs), so the
  successors of a state with a log emptied are the successors of the state, with the log emptied:
  the search runs over the quotient by "equal but for the log", one state per class, and every
  path of the real space is a path of the quotient with the same labels, and back;
* every property still undecided gives the same verdict on a state and on its class (it does not
  read the log; ``tests/test_history.py`` checks each declaration on reachable states of every
  catalog scenario), so BFS over the quotient finds each violation at the depth of its nearest
  real state, with a schedule that replays in the real system.

A property found violated is decided and needs nothing more from the search, so the set of
forgettable logs grows as violations are found. A log is dropped only for a whole search, from its
first state: when a violation makes a new log forgettable, the search stops and starts over with
that log dropped, keeping the violations found (a bounded number of times: see below). A log
dropped half-way would leave states with and without it side by side, and the symmetry
reduction's canonical form then depends on when a state was met; counterexamples are turned back
into schedules through that form. The state count reported is the last search's.

Two coarser cuts follow the same argument:

* a log some undecided property reads only as a set of entry fields (``Property.log_fields``:
  no-silent-loss reads ``effects`` as "which (workflow, key) had its work done") is kept as that
  set: its entries cut down to those fields (the others blanked), deduplicated and sorted. This
  is a quotient too because transitions only append to a log (``tests/test_history.py`` checks
  it) and the set of cut entries of ``log + [entry]`` is the set of ``log`` plus the cut
  ``entry``: states with equal sets step to states with equal sets, label for label. The
  renamings of the symmetry and key reductions map a blank to itself (0 for ids), so they
  commute with the cut. With 4 supersede requests on one key the order in which runs did the
  work doubles the states.
* the arrival order (``SystemState.order``, kept when a property declares ghost
  ``arrival_order``: newest-wins) is dropped once that property is decided; no transition reads
  it. With 4 supersede requests on one key it multiplies the states by 5 or more (and without it
  the private reduction lets one pending arrival go first).

What a search keeps of the history is a *view*: per history (``HISTORIES``), ``WHOLE`` or the
set of fields kept (empty: dropped). A search starts over when a violation makes the needed view
strictly coarser; views only coarsen, so that happens a bounded number of times.
"""

from __future__ import annotations

from properties.base import LOG_FIELDS, LOGS

ORDER = "arrival_order"  # the arrival order ghost (``SystemState.order``)
HISTORIES = (*LOGS, ORDER)
WHOLE = None  # a history kept whole, in order

# history -> WHOLE, or the fields of its entries kept as a set (empty: dropped)
View = dict[str, frozenset[str] | None]


def kept_for(props) -> View:
    """What of each history the properties ``props`` read: the finest need among them."""
    out: View = {h: frozenset() for h in HISTORIES}
    for prop in props:
        fields = dict(prop.log_fields)
        for h in LOGS:
            if out[h] is WHOLE:
                continue
            if prop.logs is None or h in prop.logs:
                out[h] = WHOLE
            elif h in fields:
                out[h] = out[h] | fields[h]
        if ORDER in prop.ghost:
            out[ORDER] = WHOLE
    return out


def kept(book) -> View:
    """What the properties of ``book`` (a ``PropertyBook``) not yet found violated read."""
    return kept_for(p for p in (*book.invariants, *book.finals) if p.name not in book.found)


def static_kept(system, extra_properties: tuple = ()) -> View:
    """What the properties of ``system``'s scenario (and ``extra_properties``) read."""
    from properties import PROPERTIES

    return kept_for((*(PROPERTIES[n] for n in system.scenario.properties), *extra_properties))


def _finer_or_equal(a: frozenset[str] | None, b: frozenset[str] | None) -> bool:
    return a is WHOLE or (b is not WHOLE and a >= b)


def coarser(new: View, old: View) -> bool:
    """``new`` keeps strictly less than ``old``: a search under ``old`` may start over."""
    return new != old and all(_finer_or_equal(old[h], new[h]) for h in HISTORIES)


def dropped(view: View) -> tuple[str, ...]:
    """The logs ``view`` drops entirely, in ``LOGS`` order."""
    return tuple(log for log in LOGS if view[log] == frozenset())


def cut(view: View) -> dict[str, tuple[int, ...]]:
    """log -> the positions of its entry fields blanked, for the logs ``view`` keeps as a set."""
    out = {}
    for log in LOGS:
        fields = view[log]
        if fields:
            out[log] = tuple(i for i, f in enumerate(LOG_FIELDS[log]) if f not in fields)
    return out


def describe(view: View, order_tracked: bool = True) -> str:
    """``view`` in words, for ``Plan.notes`` (the arrival order only where a property asked
    for it: ``order_tracked``)."""
    histories = HISTORIES if order_tracked else LOGS
    gone = [h.replace("_", " ") for h in histories if view[h] == frozenset()]
    parts = [f"drops {', '.join(gone)}"] if gone else []
    for h in histories:
        if view[h]:
            parts.append(f"keeps {h} as a set of ({', '.join(sorted(view[h]))})")
    return "; ".join(parts) or "keeps every history whole so far"


def why_not(system) -> str | None:
    """Why the logs cannot be dropped in ``system`` (transitions that may read them), or None.
    Profiles and strategies of our own packages are checked by ``tests/test_history.py``; a
    user's may read a log when it steps."""
    from simulator.strategies.base import STRATEGIES

    profile = type(system.profile)
    if not profile.__module__.startswith("model.profiles."):
        return f"profile {system.profile.name!r} is not ours: its handlers may read history logs"
    for r in system.requests:
        spec = STRATEGIES[r.strategy]
        for program in (spec.client, spec.body):
            module = getattr(program, "__module__", "") or ""
            if not module.startswith("simulator.strategies."):
                return f"strategy {r.strategy!r} is not ours: its programs may read history logs"
    return None


__all__ = [
    "HISTORIES",
    "ORDER",
    "WHOLE",
    "View",
    "coarser",
    "cut",
    "describe",
    "dropped",
    "kept",
    "kept_for",
    "static_kept",
    "why_not",
]
