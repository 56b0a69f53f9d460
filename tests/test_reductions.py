"""Soundness of the state-space reductions (``simulator/reductions.py``), and their pinned counts.

For every catalog scenario and every reduction choice (``symmetry`` alone, ``key`` alone, both,
``private`` alone, ``split`` alone, all four, ``history`` alone, all five: the default):

* when the reduction applies, BFS under it gives the same per-property verdicts and the same
  shortest counterexample length for every violated property as BFS without reductions, DFS
  under it the same verdicts, and it never visits more states;
* symmetry alone is a true canonical form, so BFS and DFS count the same orbits;
* the reduced state counts (BFS and DFS), verdicts and lengths are pinned in
  ``tests/golden/reductions.json``; so is, when the reduction does not apply, the reason why
  (``Plan.notes``): a profile or strategy newly audited changes the pin, and the comparison then
  runs. Re-pin after an intended change: ``IDEMRACE_UPDATE_GOLDEN=1 pytest
  tests/test_reductions.py -m "slow or not slow"``, then read the diff.

The catalog exercises the key reduction on two scenarios only (``flat-namespace-prefixed``, and
``crowd-reject-crashes``, whose space no reduction exhausts within its budget), so a few
multi-key scenarios (``EXTRA``: mixed strategies, crashes, arrival windows, retries after
completion) are checked the same way; on those the key reduction cuts the space 4-90x.

The ``crowd-*`` scenarios are marked ``slow`` (about 30 s for ``crowd-reject-crashes``: its
200,000-state budget searched with and without the key reduction, by BFS and DFS); they run with
``-m slow`` (see ``tests/conftest.py``).
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path

import pytest

from catalog import catalog
from catalog.parse import parse_scenario
from properties import PROPERTIES
from simulator.explorers import CheckResult, SearchOptions, check
from simulator.reductions import plan
from simulator.scenario import Scenario
from simulator.system import System

GOLDEN = Path(__file__).parent / "golden" / "reductions.json"
UPDATE = os.environ.get("IDEMRACE_UPDATE_GOLDEN") == "1"
CHOICES = {
    "symmetry": frozenset({"symmetry"}),
    "key": frozenset({"key"}),
    "both": frozenset({"symmetry", "key"}),
    "private": frozenset({"private"}),
    "split": frozenset({"split"}),
    "all": frozenset({"symmetry", "key", "private", "split"}),
    "history": frozenset({"history"}),
    "default": frozenset({"symmetry", "key", "private", "split", "history"}),
}


def _request(strategy: str, key: str, arrive: tuple[int, int] = (0, 0), extra: str = "") -> str:
    return (
        f'\n[[requests]]\nstrategy = "{strategy}"\nkey = "{key}"\nworkflow = "w"\n'
        f"arrive = [{arrive[0]}, {arrive[1]}]\n{extra}"
    )


def _scenario(name: str, bounds: str, requests: str) -> Scenario:
    text = f'name = "{name}"\ndescription = "reduction soundness"\nprofile = "vercel-today"\n'
    return parse_scenario(text + "[bounds]\nmax_depth = 80\n" + bounds + requests, f"<{name}>")


# multi-key scenarios beyond the catalog's (the key reduction needs two or more key clusters)
EXTRA: dict[str, Scenario] = {
    "two-keys-mixed": _scenario(
        "two-keys-mixed",
        "",
        _request("reject", "a") + _request("reject", "a") + _request("supersede", "b"),
    ),
    "two-keys-adopt-inspect": _scenario(
        "two-keys-adopt-inspect",
        "max_ticks = 1\ndedupe_window = 1\n",
        _request("adopt", "a") + _request("inspect", "a", (0, 1)) + _request("reject", "b"),
    ),
    "two-keys-retry": _scenario(
        "two-keys-retry",
        "max_ticks = 1\ndedupe_window = 1\n",
        _request("reject", "a")
        + _request("reject", "a", (0, 1), "after = 1\n")
        + _request("adopt", "b"),
    ),
    "two-keys-supersede": _scenario(
        "two-keys-supersede",
        "",
        _request("supersede", "a") + _request("supersede", "a") + _request("supersede", "b"),
    ),
    "two-keys-crash": _scenario(
        "two-keys-crash",
        "max_crashes = 1\n",
        _request("reject", "a") + _request("reject", "a") + _request("reject", "b"),
    ),
    # one key (private steps: the key reduction has nothing to split here)
    "one-key-crash-lost": _scenario(
        "one-key-crash-lost",
        "max_crashes = 1\nmax_lost_responses = 1\n",
        _request("reject", "a") + _request("reject", "a") + _request("reject", "a"),
    ),
    "one-key-adopt-inspect": _scenario(
        "one-key-adopt-inspect",
        "max_ticks = 1\ndedupe_window = 1\n",
        _request("adopt", "a") + _request("inspect", "a", (0, 1)) + _request("reject", "a"),
    ),
    "one-key-mixed": _scenario(
        "one-key-mixed",
        "max_crashes = 1\n",
        _request("supersede", "a") + _request("adopt", "a") + _request("inspect", "a"),
    ),
}


def _all() -> dict[str, Scenario]:
    return {**catalog(), **EXTRA}


@cache
def _run(name: str, reductions: frozenset[str], explorer: str) -> CheckResult:
    return check(_all()[name], SearchOptions(explorer, reductions=reductions))


def _lengths(result: CheckResult) -> dict[str, int]:
    return {v.property: len(v.schedule) for v in result.violations}


def _cases():
    for name in sorted(_all()):
        marks = [pytest.mark.slow] if name.startswith("crowd-") else []
        for choice in CHOICES:
            yield pytest.param(name, choice, marks=marks, id=f"{name}-{choice}")


def _load() -> dict:
    return json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}


@pytest.mark.parametrize(("name", "choice"), list(_cases()))
def test_reduction_is_sound_and_pinned(name, choice):
    scenario = _all()[name]
    p = plan(System(scenario), CHOICES[choice])
    observed: dict = {"applied": list(p.applied), "notes": dict(sorted(p.notes.items()))}
    if p.applied:
        applied = frozenset(p.applied)
        base = _run(name, frozenset(), "bfs")
        bfs = _run(name, applied, "bfs")
        dfs = _run(name, applied, "dfs")
        assert bfs.stats.reductions == dfs.stats.reductions == p.applied
        # where the unreduced search ran out of budget (unknown), a reduction may decide the
        # property (split exhausts crowd-reject-crashes one key at a time); every decided
        # verdict of the unreduced search must be kept
        decided = {prop: v for prop, v in base.properties.items() if v != "unknown"}
        for result in (bfs, dfs):
            kept = {prop: result.properties[prop] for prop in decided}
            assert kept == decided, f"{name} under {choice}: verdicts differ"
            if base.exhausted:
                assert result.properties == base.properties, f"{name} under {choice}"
        lengths = {prop: n for prop, n in _lengths(bfs).items() if prop in decided}
        assert lengths == _lengths(base), f"{name} under {choice}: shortest lengths differ"
        assert bfs.stats.states <= base.stats.states
        if p.applied == ("symmetry",):  # a canonical form: the same orbits whatever the order
            assert bfs.stats.states == dfs.stats.states
        system = System(scenario)
        for v in bfs.violations:  # the reported schedules are real and replay to the violation
            state, _ = system.replay(v.schedule)
            prop = PROPERTIES[v.property]
            again = prop.check(system, state)
            if again is None and prop.settle is not None:
                again = prop.settle(system, state)
            assert again is not None, f"{name}: {v.property} does not replay"
        observed.update(
            verdict=bfs.verdict,
            properties=bfs.properties,
            lengths=_lengths(bfs),
            bfs_states=bfs.stats.states,
            dfs_states=dfs.stats.states,
            unreduced_states=base.stats.states,
        )
    golden = _load()
    if UPDATE:
        golden.setdefault(name, {})[choice] = observed
        GOLDEN.write_text(json.dumps(dict(sorted(golden.items())), indent=1) + "\n")
        return
    assert name in golden and choice in golden[name], (
        f"{name}/{choice} is not pinned: run IDEMRACE_UPDATE_GOLDEN=1 pytest {__file__}"
    )
    assert observed == golden[name][choice]


def test_no_stale_pins():
    stale = sorted(set(_load()) - set(_all()))
    assert not stale, f"pinned scenarios that no longer exist: {stale}"


def test_reductions_apply_where_audited():
    """The catalog's reducible scenarios are reduced (a regression that silently turns a
    reduction off would otherwise only show up as slower searches)."""
    cat = catalog()
    assert plan(System(cat["supersede-aba"]), CHOICES["both"]).applied == ("symmetry",)
    assert plan(System(cat["flat-namespace-prefixed"]), CHOICES["both"]).applied == ("key",)
    assert plan(System(EXTRA["two-keys-mixed"]), CHOICES["both"]).applied == ("symmetry", "key")
    assert (
        "not audited"
        in plan(System(cat["temporal-flat-namespace"]), CHOICES["both"]).notes["symmetry"]
    )
