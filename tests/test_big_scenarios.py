"""The shapes issue 20 asks about, exhausted under the default reductions, with pinned counts.

Reject and supersede on one key (5 requests) and on two keys with 3 requests each, under the
default reductions (symmetry, private steps, history, and for two keys split by key); supersede
with 3 requests on one key and on each of two keys, and with 4 on one key, with a crash and a
lost response. Reject on one key with 5 requests has over 900k states unreduced (symmetry alone:
38,769 orbits); supersede on one key with 5 requests was not exhausted in 25 minutes before the
history reduction dropped the arrival order and cut ``effects`` to a set (12 s now). They are
marked ``slow`` (``pytest -m slow``); supersede with 4 requests, a crash and a lost response
(minutes, 3 GB) is ``huge``. Re-pin by reading the new figure off the failure, after an intended
change to the model.
"""

from __future__ import annotations

import dataclasses

import pytest

from catalog.parse import parse_scenario
from simulator.explorers import SearchOptions, check


def _scenario(strategy: str, keys: tuple[str, ...]):
    requests = "".join(
        f'\n[[requests]]\nstrategy = "{strategy}"\nkey = "{key}"\nworkflow = "w"\n' for key in keys
    )
    name = f"{strategy}-{'-'.join(keys)}"
    return parse_scenario(
        f'name = "{name}"\ndescription = "issue 20"\nprofile = "vercel-today"\n'
        "[bounds]\nmax_depth = 120\nmax_states = 5000000\n" + requests,
        f"<{name}>",
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("strategy", "keys", "storage", "reductions", "states"),
    [
        # 9,516 before the history reduction cut effects to a set
        ("reject", ("a",) * 5, "full", ("symmetry", "private", "history"), 4_882),
        (
            "reject",
            ("a", "a", "a", "b", "b", "b"),
            "full",
            ("symmetry", "key", "split", "private", "history"),
            268,
        ),
        (
            "supersede",
            ("a", "a", "a", "b", "b", "b"),
            "full",
            ("symmetry", "key", "split", "private", "history"),
            # 23,504 keeping every history; 12,380 dropping only cancels once its readers were
            # violated; now the arrival order too, and effects cut to a set
            1_552,
        ),
        # 3,057,925 keeping every history, 565,621 dropping cancels only
        ("supersede", ("a",) * 4, "full", ("symmetry", "private", "history"), 12_747),
        # not exhausted in 25 minutes (98 million orbits) dropping cancels only
        ("supersede", ("a",) * 5, "fingerprint", ("symmetry", "private", "history"), 272_866),
    ],
    ids=[
        "reject-one-key-5",
        "reject-two-keys-3x3",
        "supersede-two-keys-3x3",
        "supersede-one-key-4",
        "supersede-one-key-5",
    ],
)
def test_exhausted_with_pinned_counts(strategy, keys, storage, reductions, states):
    result = check(_scenario(strategy, keys), SearchOptions("bfs", storage=storage))
    assert result.exhausted and result.cut_off is None
    assert result.stats.reductions == reductions
    assert result.stats.states == states
    assert result.properties["at-most-once-effect"] == "violated"
    assert result.properties["single-owner"] == "holds"
    if strategy == "supersede":
        assert result.properties["newest-wins"] == "violated"
        assert result.properties["no-reclaim-race"] == "violated"  # three on a key: ABA


def _with_faults(strategy: str, keys: tuple[str, ...], crashes: int, lost: int):
    scenario = _scenario(strategy, keys)
    bounds = dataclasses.replace(scenario.bounds, max_crashes=crashes, max_lost_responses=lost)
    return dataclasses.replace(scenario, bounds=bounds)


def _exhausted_with_a_crash_and_a_lost_response(keys, reductions, states):
    result = check(
        _with_faults("supersede", keys, crashes=1, lost=1),
        SearchOptions("bfs", storage="fingerprint", max_states=200_000_000),
    )
    assert result.exhausted and result.cut_off is None
    assert result.stats.reductions == reductions
    assert result.stats.states == states
    violated = {p for p, v in result.properties.items() if v == "violated"}
    assert violated == {
        "at-most-once-effect",
        "newest-wins",
        "no-failed-request",
        "no-reclaim-race",
    }
    assert result.properties["single-owner"] == "holds"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("keys", "reductions", "states"),
    [
        # 31,753,510 keeping every history (11 minutes, 5 GB); 4,634,770 dropping cancels only
        (("a",) * 3, ("symmetry", "private", "history"), 181_728),
        # 9,269,540 dropping cancels only (286 s, 3.4 GB)
        (
            ("a", "a", "a", "b", "b", "b"),
            ("symmetry", "key", "split", "private", "history"),
            363_456,
        ),
    ],
    ids=["supersede-one-key-3", "supersede-two-keys-3x3"],
)
def test_supersede_with_a_crash_and_a_lost_response(keys, reductions, states):
    """The maintainers' question (issue 20): three supersede requests on one key, or on each of
    two keys, one crash and one lost response allowed (each key searched alone, within the same
    budgets); 64-bit fingerprints. Seconds each here."""
    _exhausted_with_a_crash_and_a_lost_response(keys, reductions, states)


@pytest.mark.huge
def test_supersede_four_on_one_key_with_a_crash_and_a_lost_response():
    """Four supersede requests on one key, one crash and one lost response allowed: 6,729,900
    states, 208 s and 3.2 GB peak RSS here; 64-bit fingerprints."""
    _exhausted_with_a_crash_and_a_lost_response(
        ("a",) * 4, ("symmetry", "private", "history"), 6_729_900
    )
