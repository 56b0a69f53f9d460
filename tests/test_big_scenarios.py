"""The shapes issue 20 asks about, exhausted under the default reductions, with pinned counts.

Reject on one key with 5 requests (over 900k states unreduced; symmetry: 38,769 orbits) and reject
on two keys with 3 requests each (symmetry and key). Both take tens of seconds, so they are
marked ``slow`` (``pytest -m slow``). Re-pin by reading the new figure off the failure, after an
intended change to the model."""

from __future__ import annotations

import pytest

from catalog.parse import parse_scenario
from simulator.explorers import check


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
    ("keys", "reductions", "states"),
    [
        (("a",) * 5, ("symmetry",), 38_769),
        (("a", "a", "a", "b", "b", "b"), ("symmetry", "key"), 130_677),
    ],
    ids=["reject-one-key-5", "reject-two-keys-3x3"],
)
def test_exhausted_with_pinned_counts(keys, reductions, states):
    result = check(_scenario("reject", keys), "bfs")
    assert result.exhausted and result.cut_off is None
    assert result.stats.reductions == reductions
    assert result.stats.states == states
    assert result.properties["at-most-once-effect"] == "violated"
    assert result.properties["single-owner"] == "holds"
