"""The explorers' fast transition relation (``simulator/engine.py``) is ``System``'s, step for
step: same actions in the same order, and each successor key materializes to the very state
``System.successors`` builds. Checked on the first states of every catalog scenario."""

from __future__ import annotations

from collections import deque

import pytest

from catalog import catalog
from simulator.engine import Engine
from simulator.system import System

STATES = 400


@pytest.mark.parametrize("name", sorted(catalog()))
def test_engine_successors_equal_system_successors(name):
    system = System(catalog()[name])
    engine = Engine(system)
    start = system.initial()
    key = engine.initial()
    assert engine.materialize(key) == start
    seen = {key}
    queue = deque([(start, key)])
    visited = 0
    while queue and visited < STATES:
        state, key = queue.popleft()
        visited += 1
        expected = system.successors(state)
        got = engine.successors(key)
        assert [label for label, _ in got] == [label for label, _ in expected]
        for (label, nxt), (_, nkey) in zip(expected, got, strict=True):
            assert engine.materialize(nkey) == nxt, label
            assert engine.key(nxt) == nkey, label
            if nkey not in seen:
                seen.add(nkey)
                queue.append((nxt, nkey))
    assert visited == min(STATES, len(seen))


@pytest.mark.parametrize(
    ("storage", "reductions"),
    [
        ("full", None),
        ("fingerprint", None),
        ("full", frozenset()),
        ("full", frozenset({"symmetry"})),
    ],
)
@pytest.mark.parametrize(
    "name", ["supersede-aba", "crowd-keyed-start-crashes", "reject-retry-after-completion"]
)
def test_memos_that_start_over_when_full_change_nothing_but_speed(
    monkeypatch, name, storage, reductions
):
    """The (world, procs)- and token-keyed memos are emptied at ``MEMO_CAP`` entries
    (``forget_if_full``): with a cap of a few entries, so every memo starts over again and again
    during the search, the verdicts, counts and counterexamples are those of the uncapped search."""
    import simulator.engine as engine_module
    from idemrace import check
    from simulator.explorers.base import SearchOptions

    def run():
        options = SearchOptions("bfs", storage=storage, reductions=reductions)
        result = check(catalog()[name], options)
        return (
            result.verdict,
            result.exhausted,
            result.stats.states,
            result.stats.transitions,
            [(v.property, v.steps) for v in result.violations],
        )

    uncapped = run()
    monkeypatch.setattr(engine_module, "MEMO_CAP", 3)
    assert run() == uncapped
    assert uncapped[2] > 500  # the memos were filled and emptied many times over


@pytest.mark.parametrize("name", sorted(catalog()))
def test_coded_successors_are_the_successors_encoded(name):
    """``Engine.coded_successors`` (and the plain fast path the BFS loop inlines) give the codes
    of ``successors``, in the same order, and codes decode to the keys they encode."""
    from simulator.engine import CODE_BITS, CODE_MASK

    engine = Engine(System(catalog()[name]))
    start = engine.encode(engine.initial())
    seen = {start}
    queue = deque([start])
    visited = 0
    plain = 0
    while queue and visited < STATES:
        code = queue.popleft()
        visited += 1
        key = engine.decode(code)
        assert engine.encode(key) == code
        expected = [engine.encode(nxt) for _, nxt in engine.successors(key)]
        got = engine.coded_successors(code)
        assert got == expected
        if engine.rest_plain[code & CODE_MASK]:
            plain += 1
            bases = engine.plain_bases(code >> CODE_BITS)
            assert [base | (code & CODE_MASK) for base in bases] == expected
        for label, nxt in engine.successors(key):
            child = engine.encode(nxt)
            # the first successor that reaches a state names the step to it
            assert engine.label_of(code, child) == next(
                lbl for lbl, other in engine.successors(key) if other == nxt
            ), label
            if child not in seen:
                seen.add(child)
                queue.append(child)
    assert visited == min(STATES, len(seen))


def search_outcome(scenario, run, symmetry: bool, states: int):
    """(states, transitions, depth, cut-off, first violations) of one BFS of ``scenario``:
    ``run(system, book, budget, engine, canon)`` is the search (``_bfs``, ``_bfs_coded``, ...),
    at most ``states`` states, under the symmetry if asked (None where it does not apply).
    Shared with ``tests/test_search_variants.py``."""
    from simulator.explorers.base import Budget, PropertyBook
    from simulator.symmetry import make_symmetry

    system = System(scenario)
    book = PropertyBook(system, scenario.properties)
    engine = Engine(system)
    canon = None
    if symmetry:
        sym, _ = make_symmetry(engine)
        if sym is None:
            return None
        canon = sym.canon
    budget = Budget(scenario.bounds.max_depth, states)
    stats, _, cut_off = run(system, book, budget, engine, canon)
    return stats.states, stats.transitions, stats.max_depth, cut_off, dict(book.found)


def _unreduced(name: str, coded: bool, symmetry: bool = False):
    from simulator.explorers import bfs as bfs_module

    def run(system, book, budget, engine, canon):
        if coded:
            return bfs_module._bfs_coded(system, book, budget, None, engine, canon)
        return bfs_module._bfs(system, book, budget, None, engine, canon, None)

    scenario = catalog()[name]
    return search_outcome(scenario, run, symmetry, min(scenario.bounds.max_states, 30_000))


def _symmetric() -> list[str]:
    """The catalog scenarios with interchangeable requests (the symmetry applies)."""
    from simulator.symmetry import make_symmetry

    return [
        name
        for name, scenario in sorted(catalog().items())
        if make_symmetry(Engine(System(scenario)))[0] is not None
    ]


@pytest.mark.parametrize("name", _symmetric())
def test_coded_bfs_under_symmetry_is_the_key_bfs(monkeypatch, name):
    """Under the symmetry alone, the coded BFS (``Symmetry.canon_code``) numbers the same
    canonical states as the key BFS (``Symmetry.canon``), with the same counterexamples; also
    when it goes on over keys early."""
    from simulator.explorers import bfs as bfs_module

    expected = _unreduced(name, False, symmetry=True)
    assert expected is not None
    assert _unreduced(name, True, symmetry=True) == expected
    monkeypatch.setattr(bfs_module, "ADAPT_AFTER", 3)
    monkeypatch.setattr(bfs_module, "PAIRS_PER_STATE", -1.0)
    assert _unreduced(name, True, symmetry=True) == expected


@pytest.mark.parametrize("name", _symmetric())
def test_canon_code_is_canon_encoded(name):
    """``canon_code(encode(key)) == encode(canon(key))`` on the first reachable states."""
    from simulator.symmetry import make_symmetry

    engine = Engine(System(catalog()[name]))
    sym, _ = make_symmetry(engine)
    assert sym is not None
    start = engine.initial()
    seen = {start}
    queue = deque([start])
    visited = 0
    while queue and visited < STATES:
        key = queue.popleft()
        visited += 1
        assert sym.canon_code(engine.encode(key)) == engine.encode(sym.canon(key))
        for _, nxt in engine.successors(key):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)


@pytest.mark.parametrize("switch", ["never", "early", "adaptive"])
@pytest.mark.parametrize("name", sorted(catalog()))
def test_coded_bfs_is_the_key_bfs(monkeypatch, name, switch):
    """The unreduced BFS over coded states (``_bfs_coded``) numbers the same states in the same
    order as the BFS over keys: same counts, depth, cut-off, and the same first violation of
    each property with the same message and schedule (labels found again from parent indices);
    also when it goes on over keys (``_resume_over_keys``) after a few states, and as tuned."""
    from simulator.explorers import bfs as bfs_module

    expected = _unreduced(name, False)
    if switch == "never":
        monkeypatch.setattr(bfs_module, "PAIRS_PER_STATE", float("inf"))
    elif switch == "early":
        monkeypatch.setattr(bfs_module, "ADAPT_AFTER", 3)
        monkeypatch.setattr(bfs_module, "PAIRS_PER_STATE", -1.0)
    assert _unreduced(name, True) == expected
