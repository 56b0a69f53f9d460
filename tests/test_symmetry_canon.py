"""The symmetry reduction's canonical form (``simulator/symmetry.py``) is a true canonical form:
every renaming of a reachable state has the same canonical key, and that key is a renaming of the
state. The reduction tests compare verdicts and counts; this checks the property they rest on
directly, state by state, on scenarios whose states tie (requests not yet arrived, equal clients)
and whose states do not."""

from __future__ import annotations

import itertools

import pytest

from catalog import catalog
from catalog.parse import parse_scenario
from simulator.reductions import plan
from simulator.system import System


def _reject(n: int, crashes: int) -> str:
    return (
        'name = "reject-canon"\ndescription = "canon"\nprofile = "vercel-today"\n'
        f"[bounds]\nmax_depth = 80\nmax_ticks = 1\nmax_crashes = {crashes}\n"
        + '\n[[requests]]\nstrategy = "reject"\nkey = "a"\nworkflow = "w"\narrive = [0, 1]\n'
        * n
    )


def _cases():
    yield "supersede-aba", catalog()["supersede-aba"]
    yield "reject-3", parse_scenario(_reject(3, 1), "<reject-canon>")


@pytest.mark.parametrize(("name", "scenario"), list(_cases()), ids=["supersede-aba", "reject-3"])
def test_canon_is_constant_on_orbits(name, scenario):
    p = plan(System(scenario), frozenset({"symmetry"}))
    assert p.applied == ("symmetry",), p.notes
    engine = p.engine
    sym = p.canon.__self__
    images = [
        tuple(image)
        for image in itertools.product(*[range(1, engine.n + 1)] * engine.n)
        if sorted(image) == list(range(1, engine.n + 1))
    ]
    group = [image for image in images if _respects(image, sym.groups)]
    assert len(group) == sym.size
    frontier = [engine.initial()]
    seen = set(frontier)
    checked = 0
    while frontier and checked < 4000:
        key = frontier.pop()
        checked += 1
        canon = sym.canon(key)
        orbit = set()
        for image in group:
            k = sym._perm(image)
            renamed = key if k < 0 else sym.rename(k, key)
            orbit.add(renamed)
            assert sym.canon(renamed) == canon, f"{name}: canon differs inside an orbit"
        assert canon in orbit, f"{name}: canon is not a renaming of the state"
        for _label, nxt in engine.successors(key):
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    assert checked > 100


def _respects(image: tuple[int, ...], groups: list[list[int]]) -> bool:
    moved = {i + 1 for i, j in enumerate(image) if j != i + 1}
    for members in groups:
        if {image[i - 1] for i in members} != set(members):
            return False
        moved -= set(members)
    return not moved
