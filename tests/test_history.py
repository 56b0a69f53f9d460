"""The ``history`` reduction (``simulator/history.py``): what makes dropping a log sound.

* transitions never read a history log: on reachable states of every catalog scenario (all
  profiles and strategies the catalog uses), the successors of a state with every log emptied
  are the successors of the state with every log emptied, label for label;
* each property's ``logs`` declaration is complete: on those states, emptying the logs a
  property does not declare never changes its verdict or message (nor its settle check's);
* the search starts over when a violation makes a log droppable, keeps what it found, and its
  verdicts and shortest counterexamples are the unreduced search's (``tests/test_reductions.py``
  does this for every catalog scenario; here the restart itself is observed).
"""

from __future__ import annotations

from collections import deque

import pytest

from catalog import catalog
from properties import PROPERTIES
from properties.base import LOG_FIELDS, LOGS
from simulator import history
from simulator.engine import _as_set
from simulator.explorers import SearchOptions, check
from simulator.explorers.base import PropertyBook
from simulator.reductions import DEFAULT, plan
from simulator.system import System

STATES = 300
WALKS = 40  # seeded random walks to final states, beside the first BFS states
VALUES = 4  # other values of each log tried in place of a state's own
NO_LOGS = {log: () for log in LOGS}


def _reachable(system: System, limit: int = STATES):
    start = system.initial()
    seen = {start}
    queue = deque([start])
    out = []
    while queue and len(out) < limit:
        state = queue.popleft()
        out.append(state)
        for _, nxt in system.successors(state):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return out


def _walked(system: System, walks: int = WALKS, seed: int = 0):
    """Every state along ``walks`` seeded random walks to a final state (or 200 steps): the
    deep and final states the first BFS states never reach."""
    import random

    rng = random.Random(seed)
    out = []
    for _ in range(walks):
        state = system.initial()
        for _ in range(200):
            out.append(state)
            nexts = system.successors(state)
            if not nexts:
                break
            state = rng.choice(nexts)[1]
    return out


def _without(state, logs):
    return state._replace(world=state.world._replace(**{log: () for log in logs}))


def _has_logs(state) -> bool:
    return any(getattr(state.world, log) for log in LOGS)


@pytest.mark.parametrize("name", sorted(catalog()))
def test_transitions_never_read_a_history_log(name):
    system = System(catalog()[name])
    if history.why_not(system) is not None:
        pytest.skip(history.why_not(system))
    tried = 0
    for state in _reachable(system) + _walked(system, 10):
        if not _has_logs(state):
            continue
        tried += 1
        real = [(label, _without(nxt, LOGS)) for label, nxt in system.successors(state)]
        dropped = system.successors(_without(state, LOGS))
        assert [(label, _without(nxt, LOGS)) for label, nxt in dropped] == real, name
    if tried == 0:
        pytest.skip("no reachable state with a history log within the first states")


@pytest.mark.parametrize("name", sorted(catalog()))
def test_logs_only_grow(name):
    """Every step appends to a log or leaves it alone, never rewrites or removes an entry: what
    makes a log cut to a set of entry fields a quotient (the set after a step is the set before
    it plus what the step appended)."""
    system = System(catalog()[name])
    if history.why_not(system) is not None:
        pytest.skip(history.why_not(system))
    for state in _reachable(system) + _walked(system, 10):
        for label, nxt in system.successors(state):
            for log in LOGS:
                before, after = getattr(state.world, log), getattr(nxt.world, log)
                assert after[: len(before)] == before, (name, label, log)


def _cut(entries: tuple, fields: frozenset[str], log: str) -> tuple:
    blank = tuple(i for i, f in enumerate(LOG_FIELDS[log]) if f not in fields)
    return _as_set(entries, blank) if entries else entries


@pytest.mark.parametrize("name", sorted(catalog()))
def test_every_property_reads_only_the_logs_it_declares(name):
    """Each log a property does not declare is emptied, and replaced by the values it takes in
    other reachable states (mostly empty logs alone would hide a reader that looks at a log only
    when it holds a particular entry): the verdict and message never change. A log declared in
    ``log_fields`` is replaced by its cut set, by the set reversed and by the log reversed and
    repeated (a reader of order, repetition or another field would see a difference)."""
    system = System(catalog()[name])
    props = [PROPERTIES[n] for n in system.scenario.properties]
    states = _reachable(system) + _walked(system)
    values = {
        log: sorted({getattr(s.world, log) for s in states}, key=repr)[:VALUES] for log in LOGS
    }
    for state in states:
        final = not system.successors(state)
        for prop in props:
            assert prop.logs is not None, f"{prop.name} declares no logs"
            expected = prop.check(system, state)
            settled = prop.settle(system, state) if final and prop.settle is not None else None
            as_sets = dict(prop.log_fields)
            for log in LOGS:
                if log in prop.logs:
                    continue
                if log in as_sets:
                    entries = getattr(state.world, log)
                    cut = _cut(entries, as_sets[log], log)
                    others = (cut, cut[::-1], entries[::-1] + entries)
                else:
                    others = ((), *values[log])
                for value in others:
                    other = state._replace(world=state.world._replace(**{log: value}))
                    assert prop.check(system, other) == expected, (prop.name, log, value)
                    if final and prop.settle is not None:
                        assert prop.settle(system, other) == settled, (prop.name, log, value)


def test_the_declarations_are_not_vacuous():
    """A declaration that named no log where the check reads one would pass the test above only
    on states where that log is empty: the readers of each log see it nonempty somewhere."""
    readers = {
        log: [p.name for p in PROPERTIES.values() if p.logs and log in p.logs] for log in LOGS
    }
    assert all(readers.values()), readers
    seen = set()
    for name in sorted(catalog()):
        for state in _reachable(System(catalog()[name]), 200):
            seen |= {log for log in LOGS if getattr(state.world, log)}
    assert seen == set(LOGS)


def _supersede(n: int):
    from catalog.parse import parse_scenario

    requests = "".join(
        '\n[[requests]]\nstrategy = "supersede"\nkey = "a"\nworkflow = "w"\n' for _ in range(n)
    )
    return parse_scenario(
        'name = "s"\ndescription = "history"\nprofile = "vercel-today"\n'
        "[bounds]\nmax_depth = 120\n" + requests,
        "<s>",
    )


def test_a_violation_that_frees_a_log_restarts_the_search_without_it():
    """Supersede with 3 requests: newest-wins and no-reclaim-race, the two readers of
    ``cancels`` (newest-wins is the only reader of the arrival order, and with at-most-once-effect
    the readers of ``effects`` whole), are violated early; the search starts over without them
    (effects cut to which requests' runs did the work), keeps their counterexamples, and decides
    the rest over 776 states instead of 11,752 (6,190 when only whole logs were dropped)."""
    scenario = _supersede(3)
    plain = check(scenario, SearchOptions("bfs", reductions=DEFAULT - {"history"}))
    dropped = check(scenario, SearchOptions("bfs"))
    assert dropped.stats.reductions == ("symmetry", "private", "history")
    assert (plain.stats.states, dropped.stats.states) == (11_752, 776)
    assert dropped.properties == plain.properties
    assert {v.property: len(v.schedule) for v in dropped.violations} == {
        v.property: len(v.schedule) for v in plain.violations
    }
    system = System(scenario)
    for v in dropped.violations:
        state, _ = system.replay(v.schedule)
        prop = PROPERTIES[v.property]
        assert prop.check(system, state) or (prop.settle and prop.settle(system, state))


def test_what_is_kept_follows_the_undecided_properties():
    system = System(_supersede(2))
    book = PropertyBook(system, tuple(system.scenario.properties))
    whole = {h: history.WHOLE for h in history.HISTORIES}
    assert history.kept(book) == whole  # every history has a reader of all of it
    book.found["newest-wins"] = ("m", [])
    # at-most-once-effect reads effects whole; no-reclaim-race, cancels
    assert history.kept(book) == {**whole, history.ORDER: frozenset()}
    book.found["no-reclaim-race"] = ("m", [])
    book.found["at-most-once-effect"] = ("m", [])
    # no-silent-loss and no-lost-signal read effects as which requests' runs did the work
    view = history.kept(book)
    assert view == {
        **whole,
        "effects": frozenset({"key", "request"}),
        "cancels": frozenset(),
        history.ORDER: frozenset(),
    }
    assert history.coarser(view, whole) and not history.coarser(whole, view)
    assert not history.coarser(view, view)
    p = plan(system, DEFAULT, keep=view)
    assert p.engine.forget == ("cancels",) and "history" in p.applied
    assert p.engine.cut == (("effects", (2, 3)),) and not p.engine.track_order
    # an extra property that declares nothing reads every log
    extra = PROPERTIES["single-owner"].__class__(
        "observer", "final", "reads anything", lambda s, st: None
    )
    assert all(
        v is history.WHOLE
        for h, v in history.static_kept(system, (extra,)).items()
        if h != history.ORDER
    )


def test_a_log_cut_to_a_set_is_deduplicated_sorted_and_blanked():
    from model.state import Effect

    entries = (Effect("a", 2, 3, 0), Effect("a", 1, 1, 0), Effect("a", 2, 4, 1))
    assert _as_set(entries, (2, 3)) == (Effect("a", 1, 0, 0), Effect("a", 2, 0, 0))
    assert _as_set(((None, 1), ("x", 2)), (1,)) == tuple(sorted([(None, 0), ("x", 0)], key=repr))


@pytest.mark.parametrize(
    ("declaration", "error"),
    [
        ({"logs": None, "log_fields": {"effects": ("key",)}}, "needs logs declared too"),
        ({"logs": ("effects",), "log_fields": {"effects": ("key",)}}, "in both logs and"),
        ({"logs": (), "log_fields": {"effect": ("key",)}}, "unknown history log 'effect'"),
        ({"logs": (), "log_fields": {"effects": ("run",)}}, "unknown fields run"),
    ],
)
def test_a_wrong_log_fields_declaration_is_refused_at_once(declaration, error):
    from properties.base import register

    with pytest.raises(Exception, match=error):
        register("bad-declaration", "final", "x", **declaration)(lambda s, st: None)
