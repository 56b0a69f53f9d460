"""BFS's compact visited-state stores (``SearchOptions.storage``): fingerprints find the same
states, counts and counterexamples as full states (no collision at these sizes), report their
bytes and omission probability; bitstate never says holds."""

from __future__ import annotations

import pytest

from catalog import catalog
from simulator.explorers import SearchOptions, check


def _summary(result):
    return (
        result.verdict,
        result.properties,
        [(v.property, v.schedule) for v in result.violations],
        result.stats.states,
        result.stats.transitions,
        result.stats.max_depth,
    )


@pytest.mark.parametrize("name", ["stranded-waiter", "keyed-start-safe", "flat-namespace-prefixed"])
@pytest.mark.parametrize("reductions", [frozenset(), None], ids=["none", "default"])
def test_fingerprints_find_what_full_states_find(name, reductions):
    scenario = catalog()[name]
    full = check(scenario, SearchOptions("bfs", reductions=reductions))
    compact = check(scenario, SearchOptions("bfs", reductions=reductions, storage="fingerprint"))
    assert _summary(compact) == _summary(full)
    assert full.stats.storage is None
    assert "omission probability" in compact.stats.storage


def test_fingerprints_respect_the_state_budget():
    scenario = catalog()["stranded-waiter"]
    full = check(scenario, SearchOptions("bfs", max_states=500))
    compact = check(scenario, SearchOptions("bfs", max_states=500, storage="fingerprint"))
    assert _summary(compact) == _summary(full)
    assert compact.cut_off == full.cut_off


def test_bitstate_never_says_holds():
    scenario = catalog()["keyed-start-safe"]
    assert check(scenario, "bfs").verdict == "holds"
    result = check(scenario, SearchOptions("bfs", storage="bitstate"))
    assert result.verdict == "unknown"
    assert result.cut_off.startswith("bitstate: no violation within")
    assert "coverage estimate" in result.cut_off


def test_unknown_storage_is_a_one_line_error():
    with pytest.raises(ValueError, match="unknown storage 'disk'"):
        SearchOptions("bfs", storage="disk")
