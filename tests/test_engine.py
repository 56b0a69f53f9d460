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


@pytest.mark.parametrize("storage", ["full", "fingerprint"])
@pytest.mark.parametrize(
    "name", ["supersede-aba", "crowd-keyed-start-crashes", "reject-retry-after-completion"]
)
def test_memos_that_start_over_when_full_change_nothing_but_speed(monkeypatch, name, storage):
    """The (world, procs)- and token-keyed memos are emptied at ``MEMO_CAP`` entries
    (``forget_if_full``): with a cap of a few entries, so every memo starts over again and again
    during the search, the verdicts, counts and counterexamples are those of the uncapped search."""
    import simulator.engine as engine_module
    from idemrace import check
    from simulator.explorers.base import SearchOptions

    def run():
        result = check(catalog()[name], SearchOptions("bfs", storage=storage))
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
