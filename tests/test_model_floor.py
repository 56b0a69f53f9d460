"""``benchmarks/model_floor.py``: the steps it times are exactly the distinct process steps the
search computed, and a case it cannot run is one line and exit 2."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import model_floor

from simulator.explorers.base import Budget, PropertyBook
from simulator.explorers.bfs import bfs
from simulator.system import System
from spin import crosscheck


def test_noted_steps_are_the_distinct_steps_of_the_search():
    scenario = crosscheck.scenario("reject", 3)
    system = System(scenario)
    engine = model_floor._RecordingEngine(system)
    book = PropertyBook(system, scenario.properties)
    stats, _, cut_off = bfs(system, book, Budget(80, 10**6), engine=engine, storage="fingerprint")
    assert cut_off is None and stats.states == 2_144
    # the memo never started over at this size: its keys are every step computed, once each
    noted = {(s >> 40, (s >> 16) & 0xFFFFFF, s & 0xFFFF) for s in engine.steps}
    assert noted == set(engine._proc)
    steps = sorted(noted)
    before = dict(engine._proc)
    model_floor._model_alone(engine, steps)  # runs the model on every noted step (no error)
    model_floor._as_engine_does(engine, steps)
    assert engine._proc == before  # each step computed again, to the result the search had


def test_the_floor_runs_end_to_end_without_spin(capsys):
    assert model_floor.main(["reject-2", "--no-spin"]) == 0
    out = capsys.readouterr().out
    assert "reject-2: 92 states" in out and "distinct process steps" in out


def test_a_case_the_cross_check_does_not_cover_is_one_line(capsys):
    assert model_floor.main(["reject-9", "--no-spin"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("model_floor: 'reject-9' is not a cross-check case") and "\n" not in err
