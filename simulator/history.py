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
that log dropped, keeping the violations found (at most once per log). A log dropped half-way
would leave states with and without it side by side, and the symmetry reduction's canonical form
then depends on when a state was met; counterexamples are turned back into schedules through that
form. The state count reported is the last search's.
"""

from __future__ import annotations

from properties.base import LOGS


def read_by(props) -> frozenset[str]:
    """The logs some property of ``props`` reads (all of them if one declares nothing)."""
    out: set[str] = set()
    for prop in props:
        if prop.logs is None:
            return frozenset(LOGS)
        out |= prop.logs
    return frozenset(out)


def needed(book) -> frozenset[str]:
    """The logs read by the properties of ``book`` (a ``PropertyBook``) not yet found violated."""
    return read_by(p for p in (*book.invariants, *book.finals) if p.name not in book.found)


def forgettable(book) -> frozenset[str]:
    return frozenset(LOGS) - needed(book)


def static_forgettable(system, extra_properties: tuple = ()) -> frozenset[str]:
    """The logs no property of ``system``'s scenario (nor ``extra_properties``) reads."""
    from properties import PROPERTIES

    props = (*(PROPERTIES[n] for n in system.scenario.properties), *extra_properties)
    return frozenset(LOGS) - read_by(props)


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


__all__ = ["LOGS", "forgettable", "needed", "read_by", "static_forgettable", "why_not"]
