"""The fast searches agree with the plain one on scenarios nobody wrote: catalog scenarios with
their bounds, requests and keys varied by Hypothesis.

The catalog tests (``tests/test_engine.py``, ``tests/test_storage.py``) pin the coded BFS, its
switch to keys and the fingerprint store on the 62 scenarios we wrote. A crash or a lost response
where a scenario has none, a third request on a key, clock ticks, a request moved to another key:
each changes which of the engine's paths a search takes (rests off the plain path, vectors that
grow, the adaptive switch at another state, signatures that tie under the symmetry). Here each
drawn variant is searched four ways, which must number the same states and find the same first
counterexamples: over keys (``_bfs``, the reference), over coded states never switching, over
coded states switching to keys at a drawn state, and with fingerprints (``_bfs_compact``); under
the symmetry too, where it applies. ``-m slow`` draws ten times as many.
"""

from __future__ import annotations

from dataclasses import replace
from unittest import mock

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from catalog import catalog
from model.profiles.base import ModelError
from simulator.explorers import bfs as bfs_module
from simulator.scenario import Scenario, ScenarioError
from simulator.system import System
from tests.test_engine import search_outcome

CAP = 1_500  # states a search: enough to reach crashes, lost responses and the switch
NAMES = sorted(catalog())


@st.composite
def variants(draw: st.DrawFn) -> Scenario:
    scenario = catalog()[draw(st.sampled_from(NAMES))]
    requests = list(scenario.requests)
    if len(requests) < 4 and draw(st.booleans()):
        # one more request like a drawn one (a third contender on its key, say)
        twin = requests[draw(st.integers(0, len(requests) - 1))]
        requests.append(replace(twin, index=len(requests) + 1))
    if draw(st.booleans()):
        # a drawn request on another key: one of the scenario's, or a fresh one
        i = draw(st.integers(0, len(requests) - 1))
        keys = sorted({r.key for r in requests} | {"fresh"})
        requests[i] = replace(requests[i], key=draw(st.sampled_from(keys)))
    bounds = replace(
        scenario.bounds,
        max_crashes=draw(st.integers(0, 1)),
        max_lost_responses=draw(st.integers(0, 1)),
        max_ticks=draw(st.integers(0, 2)),
    )
    # without properties a search runs to its cap or the end, not to its last counterexample
    properties = scenario.properties if draw(st.booleans()) else ()
    return replace(
        scenario,
        name=f"{scenario.name}~",
        requests=tuple(requests),
        bounds=bounds,
        properties=properties,
    )


def _search(scenario: Scenario, how: str, symmetry: bool, switch_at: int = 0):
    """(states, transitions, depth, cut-off, first violations) of one BFS of ``scenario``."""

    def run(system, book, budget, engine, canon):
        if how == "keys":
            return bfs_module._bfs(system, book, budget, None, engine, canon, None)
        if how == "fingerprint":
            return bfs_module._bfs_compact(
                system, book, budget, None, engine, canon, None, "fingerprint"
            )
        # never switch, or switch to keys after ``switch_at`` expanded states
        after, ratio = (switch_at, -1.0) if how == "switch" else (bfs_module.ADAPT_AFTER, 1e18)
        with (
            mock.patch.object(bfs_module, "ADAPT_AFTER", after),
            mock.patch.object(bfs_module, "PAIRS_PER_STATE", ratio),
        ):
            return bfs_module._bfs_coded(system, book, budget, None, engine, canon)

    return search_outcome(scenario, run, symmetry, CAP)


def _bucket(states: int) -> str:
    return "cap" if states >= CAP else f"<{10 ** len(str(states))}"


def _agree(scenario: Scenario, switch_at: int) -> None:
    try:
        System(scenario)
    except (ScenarioError, ModelError, ValueError):
        assume(False)  # a variant the model refuses (it says so in one line elsewhere)
    for symmetry in (False, True):
        expected = _search(scenario, "keys", symmetry)
        if expected is None:
            continue
        event(f"{'symmetric' if symmetry else 'unreduced'} states: {_bucket(expected[0])}")
        for how in ("coded", "switch"):
            got = _search(scenario, how, symmetry, switch_at)
            assert got == expected, (how, "symmetry" if symmetry else "unreduced")
        if not symmetry:
            # fingerprints: the same states and verdicts (a collision among 1,500 64-bit
            # fingerprints has probability below 1e-13)
            assert _search(scenario, "fingerprint", False) == expected


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(variants(), st.integers(1, 300))
def test_fast_searches_agree_on_variants(scenario, switch_at):
    _agree(scenario, switch_at)


@pytest.mark.slow
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(variants(), st.integers(1, 300))
def test_fast_searches_agree_on_many_variants(scenario, switch_at):
    _agree(scenario, switch_at)
