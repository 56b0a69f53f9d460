"""Environment faults: body crashes (the durable log replays; only an effect whose step was not
recorded runs again) and lost start responses (retry)."""

from __future__ import annotations

from catalog.parse import parse_scenario
from model import ops as O
from model.ops import describe
from simulator.explorers import HOLDS, VIOLATED, check

ONE_REJECT = """
name = "faults"
profile = "{profile}"
properties = ["at-most-once-effect", "single-owner"]
[bounds]
max_depth = 30
max_crashes = {crashes}
max_lost_responses = {lost}
[[requests]]
strategy = "{strategy}"
key = "k"
"""


def scenario(profile="vercel-today", strategy="reject", crashes=0, lost=0):
    return parse_scenario(
        ONE_REJECT.format(profile=profile, strategy=strategy, crashes=crashes, lost=lost)
    )


def test_without_faults_one_request_does_the_work_once():
    result = check(scenario(), "bfs")
    assert result.verdict == HOLDS


def test_a_crash_after_the_effect_repeats_it():
    result = check(scenario(crashes=1), "bfs")
    assert result.properties["at-most-once-effect"] == VIOLATED
    (violation,) = [v for v in result.violations if v.property == "at-most-once-effect"]
    labels = [s.label for s in violation.steps]
    assert "crash r1" in labels
    assert labels.index("crash r1") > labels.index("r1")
    assert "request req1 (twice)" in violation.message
    # the crash lands between the effect and its step's completion record: the replayed body is
    # back on the same step (completed steps return their recorded results: no second StartRun
    # or ClaimHook), and runs it again
    rows = [(s.label, describe(s.op), describe(s.result)) for s in violation.steps]
    crash = rows.index(
        ("crash r1", "Crash('r1')", "StepCrashed(PerformEffect('k', 1), Ok(None))")
    )
    assert rows[crash + 1] == ("r1", "PerformEffect('k', 1)", "Ok(None)")
    assert [r[1] for r in rows].count("StartRun(1)") == 1
    assert [r[1] for r in rows].count("ClaimHook(1, 'h1', 'k')") == 1


def test_a_crash_after_the_step_is_recorded_does_not_repeat_it():
    # once the effect's step is recorded the replay reaches the body's exact state: no crash is
    # offered there (a stutter), so no schedule repeats the effect after its record
    from simulator.system import System

    system = System(scenario(crashes=1))
    state = system.initial()
    for label in ("arrive req1", "req1", "r1", "r1"):
        state, _ = system.step(state, label)
    assert "crash r1" in system.actions(state)  # r1 is about to perform its effect
    state, _ = system.step(state, "r1")  # effect done and recorded
    assert "crash r1" not in system.actions(state)


def test_a_lost_start_response_makes_v4_create_a_second_run():
    result = check(scenario(lost=1), "bfs")
    assert result.properties["at-most-once-effect"] == VIOLATED
    violation = result.violations[0]
    lost = [s for s in violation.steps if s.label == "req1 lost"]
    assert lost and lost[0].result == O.LostResponse(O.Ok(1))


def test_keyed_start_absorbs_a_lost_response():
    result = check(scenario("vercel-keyed-start", "keyed-adopt", lost=1), "bfs")
    assert result.verdict == HOLDS
    assert (
        result.stats.states
        > check(scenario("vercel-keyed-start", "keyed-adopt"), "bfs").stats.states
    )
