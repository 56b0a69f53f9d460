"""Hypothesis as an explorer, over whatever the catalog holds: every race is found within the ``ci``
profile and shrunk to at most twice the BFS-minimal length (BFS computed here, hunting the expected
property); nothing is found where the catalog expects ``holds``; counterexamples are ordinary
traces (replay, ``--trace-out``); a seed gives the same result byte for byte."""

from __future__ import annotations

import dataclasses
import json
from functools import cache

import pytest

from catalog import catalog
from idemrace.cli import main
from idemrace.commands.common import EXIT_NO_COUNTEREXAMPLE
from properties import PROPERTIES
from simulator.explorers import SearchOptions, check
from simulator.explorers.base import Budget, PropertyBook
from simulator.explorers.hypothesis_explorer import PROFILES, kind_of
from simulator.explorers.shrink import COMPLETING_BUDGET, completing, shrink
from simulator.explorers.walks import random_walk
from simulator.system import System

RACES = sorted(n for n, s in catalog().items() if s.expected_property)
HOLDS = sorted(n for n, s in catalog().items() if s.expect == "holds")


@pytest.fixture(autouse=True)
def _ci_profile(monkeypatch):
    # a developer's IDEMRACE_HYPOTHESIS_* settings must not change what the tests check
    for name in ("IDEMRACE_HYPOTHESIS_PROFILE", "IDEMRACE_HYPOTHESIS_DATABASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("IDEMRACE_HYPOTHESIS_TARGET", raising=False)


@cache
def bfs_minimal(name: str) -> int | None:
    """Length of BFS's shortest counterexample to the expected property, or None when BFS runs
    out of the scenario's state budget first (the scenarios that recommend Hypothesis)."""
    scenario = catalog()[name]
    hunt = dataclasses.replace(scenario, properties=(scenario.expected_property,))
    result = check(hunt, "bfs")
    return len(result.violations[0].steps) if result.violations else None


@pytest.mark.parametrize("name", RACES)
def test_finds_and_shrinks_every_catalog_race(name):
    scenario = catalog()[name]
    prop = scenario.expected_property
    result = check(scenario, SearchOptions("hypothesis", seed=0, hypothesis_profile="ci"))
    assert result.properties[prop] == "violated", result.properties
    assert result.verdict == "violated" and result.matches
    violation = next(v for v in result.violations if v.property == prop)
    # an ordinary counterexample: the schedule replays to the same steps and the same failure
    system = System(scenario)
    state, steps = system.replay(violation.schedule)
    assert [s.label for s in steps] == violation.schedule == [s.label for s in violation.steps]
    again = PROPERTIES[prop].check(system, state)
    if again is None and PROPERTIES[prop].settle is not None:
        again = PROPERTIES[prop].settle(system, state)
    assert again == violation.message
    shortest = bfs_minimal(name)
    if shortest is None:
        assert scenario.explorer != "bfs", f"{name}: BFS found nothing, yet recommends BFS"
    else:
        assert len(violation.steps) <= 2 * shortest, (len(violation.steps), shortest)


@pytest.mark.parametrize("name", HOLDS)
def test_finds_nothing_where_the_catalog_holds(name):
    result = check(catalog()[name], SearchOptions("hypothesis", seed=0, hypothesis_profile="ci"))
    assert result.violations == []
    assert result.verdict == "unknown"  # a sample never proves 'holds'
    assert result.stats.schedules >= PROFILES["ci"].max_examples


def test_same_seed_same_result():
    scenario = catalog()["signal-forward-race"]
    first = check(scenario, SearchOptions("hypothesis", seed=4))
    again = check(scenario, SearchOptions("hypothesis", seed=4))
    assert first.violations[0].schedule == again.violations[0].schedule
    assert (first.stats.states, first.stats.transitions, first.stats.schedules) == (
        again.stats.states,
        again.stats.transitions,
        again.stats.schedules,
    )
    other = check(scenario, SearchOptions("hypothesis", seed=5))
    assert other.violations[0].schedule != first.violations[0].schedule  # the seed matters
    assert len(other.violations[0].schedule) <= 2 * bfs_minimal(scenario.name)


def test_pinned_shrunk_trace():
    # computed by the explorer (seed 0, ci profile): a change means the search or the model
    # changed, and the new trace must be read again. It reads: req2's run r1 owns the hook; req1's
    # run r2 conflicts, looks the owner up (running) and forwards; r1 drains its hook and
    # completes in between, so the append fails with HookNotFoundError and 'edit-a' is lost
    # (16 steps, BFS's shortest is 13)
    result = check(catalog()["signal-forward-race"], SearchOptions("hypothesis", seed=0))
    assert result.violations[0].schedule == PINNED_SIGNAL_FORWARD


PINNED_SIGNAL_FORWARD = [
    "arrive req2",
    "arrive req1",
    "req2",
    "r1",
    "r1",
    "r1",
    "req1",
    "r2",
    "r2",
    "r2",
    "r2",
    "r2",
    "r1",
    "r1",
    "r2",
    "r2",
]


def test_hypothesis_shrinking_then_tighten_in_dev_profile():
    # the dev profile keeps Hypothesis's shrink phase on (capped): the same minimal length
    result = check(catalog()["non-atomic-admission"], SearchOptions("hypothesis", seed=0, hypothesis_profile="dev"))
    assert len(result.violations[0].schedule) == bfs_minimal("non-atomic-admission")


def test_tighten_deletes_what_does_not_matter():
    # a raw random-walk counterexample (not minimized) carries many steps that do not matter
    scenario = catalog()["crowd-reject-crashes"]
    system = System(scenario)
    prop = PROPERTIES[scenario.expected_property]
    book = PropertyBook(system, (prop.name,))
    random_walk(system, book, Budget(scenario.bounds.max_depth, 10_000), seed=WALK_SEED, walks=200)
    long = book.found[prop.name][1]
    replay = completing(scenario.bounds.max_depth)
    short = shrink(system, long, prop, replay, COMPLETING_BUDGET)
    assert (len(long), len(short)) == (PINNED_WALK_LENGTH, bfs_minimal(scenario.name))
    state, _ = system.replay(short)
    assert prop.check(system, state) is not None


# The raw walk, computed by random_walk(seed=WALK_SEED). Seed 0 again since crashes replay the
# durable log (issue 15): a crash no longer restarts the body's path (which step deletion could not
# drop, so seed 0 once tightened to 19 steps and seed 5 was used), and seed 0's walk tightens to
# BFS's 6.
WALK_SEED = 0
PINNED_WALK_LENGTH = 16


def test_kinds_of_action():
    system = System(catalog()["crowd-stranded-waiters"])
    assert [
        kind_of(system, a)
        for a in ("req1", "r2", "arrive req3", "tick", "crash r1", "req2 lost", "release r1")
    ] == ["process", "process", "arrive", "tick", "fault", "fault", "world"]


def test_cli_trace_out_and_replay(tmp_path, capsys):
    code = main(
        [
            "check",
            "temporal-allow-duplicate",
            "--explorer",
            "hypothesis",
            "--seed",
            "1",
            "--trace-out",
            str(tmp_path),
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)  # nothing but the JSON on stdout
    assert code == 0 and out["results"][0]["explorer"] == "hypothesis"
    (trace,) = tmp_path.glob("*.trace.json")
    assert main(["replay", str(trace)]) == 0
    assert capsys.readouterr().out.startswith("reproduced: at-most-once-effect")


def test_cli_is_byte_identical_across_runs(capsys):
    # supersede-aba expects the deeper ABA race since issue 15; its two-request sibling keeps
    # the newest-wins race this test always drew
    args = ["check", "supersede-older-cancels-newer", "--explorer", "hypothesis", "--seed", "2"]
    args.append("--json")
    assert main([*args, "--stable"]) == 0
    first = capsys.readouterr().out
    assert main([*args, "--stable"]) == 0
    assert capsys.readouterr().out == first


def test_cli_max_examples(capsys):
    code = main(
        ["check", "keyed-start-safe", "--explorer", "hypothesis", "--max-examples", "7", "--json"]
    )
    result = json.loads(capsys.readouterr().out)["results"][0]
    # unknown on a 'holds' scenario: no counterexample found, but a sampling explorer never proves it
    assert code == EXIT_NO_COUNTEREXAMPLE
    assert result["verdict"] == "unknown" and result["violations"] == []
    assert result["bounds"]["max_examples"] == 7
    assert result["stats"]["schedules"] == 7


def test_cli_uses_the_scenarios_recommended_explorer(capsys):
    big = sorted(n for n, s in catalog().items() if s.explorer == "hypothesis")
    assert len(big) >= 2
    code = main(["check", *big, "--json"])
    results = json.loads(capsys.readouterr().out)["results"]
    assert code == 0
    assert [r["explorer"] for r in results] == ["hypothesis"] * len(big)
    assert all(r["verdict"] == "violated" for r in results)


def test_unknown_profile_is_a_one_line_error(monkeypatch, capsys):
    monkeypatch.setenv("IDEMRACE_HYPOTHESIS_PROFILE", "fast")
    code = main(["check", "flat-namespace", "--explorer", "hypothesis"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0
    assert "IDEMRACE_HYPOTHESIS_PROFILE='fast' is not a profile; allowed: ci, dev, deep" in err
