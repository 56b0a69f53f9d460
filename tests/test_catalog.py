"""Every catalog scenario reaches its expectation under BFS, with pinned state counts and the
pinned minimal counterexample of its expected property.

The pins live in ``tests/golden/catalog.json``. They were computed by the code and reviewed by
hand; a change in any of them is a change in the model's meaning and must be reviewed again. To
re-pin after an intended change: ``IDEMRACE_UPDATE_GOLDEN=1 pytest tests/test_catalog.py``,
then read the diff of the JSON file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from catalog import catalog
from model.ops import describe
from simulator.explorers import SearchOptions, check

GOLDEN = Path(__file__).parent / "golden" / "catalog.json"
UPDATE = os.environ.get("IDEMRACE_UPDATE_GOLDEN") == "1"


def _load() -> dict:
    return json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}


def _observe(scenario) -> dict:
    # no reductions: these pins are the model's meaning (tests/test_reductions.py pins reductions)
    result = check(scenario, SearchOptions("bfs", reductions=frozenset()))
    observed = {
        "verdict": result.verdict,
        "properties": result.properties,
        "states": result.stats.states,
        "transitions": result.stats.transitions,
    }
    prop = scenario.expected_property
    violation = next((v for v in result.violations if v.property == prop), None)
    if violation is not None:  # None: BFS ran out of budget (a scenario for another explorer)
        observed["message"] = violation.message
        observed["trace"] = [
            f"{s.label}: {describe(s.op)} -> {describe(s.result)}" for s in violation.steps
        ]
    return observed, result


@pytest.mark.parametrize("name", sorted(catalog()))
def test_catalog_scenario_matches_expectation_and_pins(name):
    scenario = catalog()[name]
    observed, result = _observe(scenario)
    if scenario.explorer == "bfs":
        assert result.matches, f"{name}: verdict {result.verdict}, expected {scenario.expect}"
    else:  # too big for BFS, which must not contradict it (tests/test_hypothesis_explorer.py)
        assert result.matches or result.verdict == "unknown", f"{name}: {result.verdict}"
    if scenario.expect == "holds":
        assert result.exhausted, f"{name}: 'holds' needs an exhausted search ({result.cut_off})"
    golden = _load()
    if UPDATE:
        golden[name] = observed
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(dict(sorted(golden.items())), indent=1) + "\n")
        return
    assert name in golden, f"{name} is not pinned: run IDEMRACE_UPDATE_GOLDEN=1 pytest {__file__}"
    assert observed == golden[name]


def test_no_stale_pins():
    stale = sorted(set(_load()) - set(catalog()))
    assert not stale, f"pinned scenarios no longer in the catalog: {stale}"
