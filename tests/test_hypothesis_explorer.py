"""Hypothesis as an explorer: it finds every catalog race within the ci profile, shrinks it to at
most twice the BFS-minimal length, and finds nothing where the catalog expects ``holds``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from idemrace.cli import main
from idemrace.loader import catalog
from simulator.explorers import check

GOLDEN = json.loads((Path(__file__).parent / "golden" / "catalog.json").read_text())
VIOLATED = sorted(n for n, s in catalog().items() if s.expected_property)
HOLDS = sorted(n for n, s in catalog().items() if s.expect == "holds")


@pytest.mark.parametrize("name", VIOLATED)
def test_finds_and_shrinks_every_catalog_race(name):
    scenario = catalog()[name]
    result = check(scenario, "hypothesis", seed=0)
    assert result.properties[scenario.expected_property] == "violated", result.properties
    violation = next(v for v in result.violations if v.property == scenario.expected_property)
    bfs_minimal = len(GOLDEN[name]["trace"])  # pinned BFS-minimal counterexample
    assert len(violation.steps) <= 2 * bfs_minimal, (len(violation.steps), bfs_minimal)
    assert result.verdict == "violated" and result.matches


@pytest.mark.parametrize("name", HOLDS)
def test_finds_nothing_where_the_catalog_holds(name):
    result = check(catalog()[name], "hypothesis", seed=0, max_examples=100)
    assert result.violations == []
    assert result.verdict == "unknown"  # a sample never proves 'holds'


def test_same_seed_same_shrunk_trace():
    scenario = catalog()["signal-forward-race"]
    first = check(scenario, "hypothesis", seed=4)
    again = check(scenario, "hypothesis", seed=4)
    assert first.violations[0].schedule == again.violations[0].schedule


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
    assert code == 0
    (trace,) = tmp_path.glob("*.trace.json")
    capsys.readouterr()
    assert main(["replay", str(trace)]) == 0
    assert capsys.readouterr().out.startswith("reproduced: at-most-once-effect")


def test_unknown_profile_is_a_one_line_error(monkeypatch, capsys):
    monkeypatch.setenv("IDEMRACE_HYPOTHESIS_PROFILE", "fast")
    code = main(["check", "flat-namespace", "--explorer", "hypothesis"])
    assert code == 2
    assert "IDEMRACE_HYPOTHESIS_PROFILE='fast' is not a profile; allowed: ci, dev, deep" in (
        capsys.readouterr().err
    )
