"""The peers' catalog scenarios (Temporal, Inngest, DBOS): BFS verdicts, distinct-state counts
and minimal counterexamples, pinned; plus what each counterexample must show.

The pins were computed by the code and read by hand against each scenario's ``why``. A change in
any of them is a change in what the model means: review it, then update the literal below.
"""

from __future__ import annotations

import pytest

from catalog import catalog
from idemrace.cli import main
from model import ops as O
from model.ops import describe
from model.state import RUNNING
from properties import PROPERTIES
from simulator.explorers import check
from simulator.process import Done
from simulator.system import System

PINS: dict[str, dict] = {
    # issue 15: owners that fail, and whether anyone is told
    "dbos-owner-fails-reported": {
        "verdict": "holds",
        "states": 32,
        "properties": {"no-silent-loss": "holds", "result-matches-owner": "holds"},
    },
    "inngest-dropped-owner-fails": {
        "verdict": "violated",
        "states": 22,
        "properties": {"no-silent-loss": "violated"},
        "message": "req1 was answered ('started', 1) but no run did the work for key 'order:1' "
        "and no caller was told it failed",
        "trace": [
            "arrive req1: Arrive('req1') -> 0",
            "req1: KeyedStart('order', 1, 'order:1', (), 'req1') -> Started(1)",
            "r1: StartRun(1) -> Ok(None)",
            "r1: FailRun(1, ('ApplicationError', 'order', 'order:1', 1)) -> Ok(None)",
            "arrive req2: Arrive('req2') -> 0",
            "req2: KeyedStart('order', 2, 'order:1', (), 'req2') -> Dropped()",
        ],
    },
    "dbos-different-workflow": {
        "verdict": "violated",
        "states": 34,
        "properties": {
            "no-failed-request": "violated",
            "result-matches-owner": "holds",
            "at-most-once-effect": "holds",
        },
        "message": "req2 failed: DBOSConflictingWorkflowError 1",
        "trace": [
            "arrive req1: Arrive('req1') -> 0",
            "req1: KeyedStart('charge', 1, '123', (), 'req1') -> Started(1)",
            "arrive req2: Arrive('req2') -> 0",
            "req2: KeyedStart('refund', 2, '123', (), 'req2') -> Error('DBOSConflictingWorkflowError', 1)",
        ],
    },
    "dbos-reject-retry": {
        "verdict": "violated",
        "states": 15,
        "properties": {"no-failed-request": "violated", "at-most-once-effect": "holds"},
        "message": "req1 failed: DBOSWorkflowIDInUseError 1",
        "trace": [
            "arrive req1: Arrive('req1') -> 0",
            "req1 lost: KeyedStart('order', 1, 'order:1', (), 'req1') -> LostResponse(Started(1))",
            "req1: KeyedStart('order', 1, 'order:1', (), 'req1') -> Error('DBOSWorkflowIDInUseError', 1)",
        ],
    },
    "dbos-stored-error": {
        "verdict": "violated",
        "states": 30,
        "properties": {
            "no-failed-request": "violated",
            "at-most-once-effect": "holds",
            "result-matches-owner": "holds",
        },
        "message": "req2 failed: ApplicationError ('ApplicationError', 'order', 'order:1', 1)",
        "trace": [
            "arrive req1: Arrive('req1') -> 0",
            "req1: KeyedStart('order', 1, 'order:1', (), 'req1') -> Started(1)",
            "r1: StartRun(1) -> Ok(None)",
            "r1: PerformEffect('order:1', 1) -> Ok(None)",
            "r1: FailRun(1, ('ApplicationError', 'order', 'order:1', 1)) -> Ok(None)",
            "arrive req2: Arrive('req2') -> 0",
            "req2: KeyedStart('order', 2, 'order:1', (), 'req2') -> Existing(1, 'failed', ('ApplicationError', 'order', 'order:1', 1))",
        ],
    },
    "dbos-stored-result": {
        "verdict": "holds",
        "states": 2088,
        "properties": {
            "at-most-once-effect": "holds",
            "result-matches-owner": "holds",
            "no-failed-request": "holds",
            "no-wasted-run": "holds",
        },
    },
    "inngest-long-run": {
        "verdict": "violated",
        "states": 58,  # 74 before the history reduction
        "properties": {
            "at-most-once-effect": "violated",
            "result-matches-owner": "holds",
            "no-failed-request": "holds",
        },
        "message": "effect for key 'evt:1' ran twice, by r1 and r2, for requests req1 (arrived t=0) and req2 (arrived t=1), within the dedupe window of 2 ticks",
        "trace": [
            "arrive req1: Arrive('req1') -> 0",
            "req1: KeyedStart('fn', 1, 'evt:1', (), 'req1') -> Started(1)",
            "r1: StartRun(1) -> Ok(None)",
            "r1: PerformEffect('evt:1', 1) -> Ok(None)",
            "tick: AdvanceClock() -> 1",
            "arrive req2: Arrive('req2') -> 1",
            "req2: KeyedStart('fn', 2, 'evt:1', (), 'req2') -> Started(2)",
            "r2: StartRun(2) -> Ok(None)",
            "r2: PerformEffect('evt:1', 2) -> Ok(None)",
        ],
    },
    "inngest-within-window": {
        "verdict": "holds",
        "states": 1318,
        "properties": {
            "at-most-once-effect": "holds",
            "no-failed-request": "holds",
            "result-matches-owner": "holds",
            "no-wasted-run": "holds",
        },
    },
    "temporal-allow-duplicate": {
        "verdict": "violated",
        "states": 46,  # 55 before the history reduction
        "properties": {
            "at-most-once-effect": "violated",
            "result-matches-owner": "holds",
            "no-failed-request": "holds",
        },
        "message": "effect for key 'order:1' ran twice, by r1 and r2, for requests req1 (arrived t=0) and req2 (arrived t=0), within the dedupe window of 1 ticks",
        "trace": [
            "arrive req1: Arrive('req1') -> 0",
            "req1: KeyedStart('order', 1, 'order:1', (), 'req1') -> Started(1)",
            "r1: StartRun(1) -> Ok(None)",
            "r1: PerformEffect('order:1', 1) -> Ok(None)",
            "r1: CompleteRun(1, ('result', 'order', 'order:1', 1)) -> Ok(None)",
            "arrive req2: Arrive('req2') -> 0",
            "req2: KeyedStart('order', 2, 'order:1', (), 'req2') -> Started(2)",
            "r2: StartRun(2) -> Ok(None)",
            "r2: PerformEffect('order:1', 2) -> Ok(None)",
        ],
    },
    "temporal-duplicate-gets-no-result": {
        "verdict": "violated",
        "states": 152,
        "properties": {
            "no-failed-request": "violated",
            "at-most-once-effect": "holds",
            "result-matches-owner": "holds",
        },
        "message": "req2 failed: WorkflowExecutionAlreadyStarted 1",
        "trace": [
            "arrive req1: Arrive('req1') -> 0",
            "req1: KeyedStart('order', 1, 'order:1', (), 'req1') -> Started(1)",
            "arrive req2: Arrive('req2') -> 0",
            "req2: KeyedStart('order', 2, 'order:1', (), 'req2') -> Error('WorkflowExecutionAlreadyStarted', 1)",
        ],
    },
    "temporal-failed-only-rerun": {
        "verdict": "violated",
        "states": 94,  # 115 before the history reduction
        "properties": {"at-most-once-effect": "violated", "result-matches-owner": "holds"},
        "message": "effect for key 'order:1' ran twice, by r1 and r2, for requests req1 (arrived t=0) and req2 (arrived t=0), within the dedupe window of 1 ticks",
        "trace": [
            "arrive req1: Arrive('req1') -> 0",
            "req1: KeyedStart('order', 1, 'order:1', (), 'req1') -> Started(1)",
            "r1: StartRun(1) -> Ok(None)",
            "r1: PerformEffect('order:1', 1) -> Ok(None)",
            "r1: FailRun(1, ('ApplicationError', 'order', 'order:1', 1)) -> Ok(None)",
            "arrive req2: Arrive('req2') -> 0",
            "req2: KeyedStart('order', 2, 'order:1', (), 'req2') -> Started(2)",
            "r2: StartRun(2) -> Ok(None)",
            "r2: PerformEffect('order:1', 2) -> Ok(None)",
        ],
    },
    "temporal-flat-namespace": {
        "verdict": "violated",
        "states": 38,
        "properties": {"result-matches-owner": "violated", "at-most-once-effect": "holds"},
        "message": "req2 (workflow 'email', key '123') adopted the result of req1's run of workflow 'charge' for key '123'",
        "trace": [
            "arrive req1: Arrive('req1') -> 0",
            "req1: KeyedStart('charge', 1, '123', (), 'req1') -> Started(1)",
            "r1: StartRun(1) -> Ok(None)",
            "r1: PerformEffect('123', 1) -> Ok(None)",
            "arrive req2: Arrive('req2') -> 0",
            "req2: KeyedStart('email', 2, '123', (), 'req2') -> Existing(1, 'running', None)",
            "r1: CompleteRun(1, ('result', 'charge', '123', 1)) -> Ok(None)",
            "req2: AwaitRun(1) -> RunInfo(1, 'charge', 'completed', ('result', 'charge', '123', 1), 1)",
        ],
    },
    "temporal-reject-duplicate": {
        "verdict": "holds",
        "states": 1022,
        "properties": {
            "at-most-once-effect": "holds",
            "single-owner": "holds",
            "result-matches-owner": "holds",
            "no-failed-request": "holds",
            "no-wasted-run": "holds",
        },
    },
    "temporal-request-id-retry": {
        "verdict": "holds",
        "states": 234,
        "properties": {
            "at-most-once-effect": "holds",
            "no-failed-request": "holds",
            "result-matches-owner": "holds",
        },
    },
    "temporal-retry-after-retention": {
        "verdict": "violated",
        "states": 55,  # 63 before the history reduction
        "properties": {"at-most-once-effect": "violated", "no-failed-request": "holds"},
        "message": "effect for key 'order:1' ran twice, by r1 and r2, for request req1 (twice), within the dedupe window of 3 ticks",
        "trace": [
            "arrive req1: Arrive('req1') -> 0",
            "req1 lost: KeyedStart('order', 1, 'order:1', (), 'req1') -> LostResponse(Started(1))",
            "r1: StartRun(1) -> Ok(None)",
            "r1: PerformEffect('order:1', 1) -> Ok(None)",
            "r1: CompleteRun(1, ('result', 'order', 'order:1', 1)) -> Ok(None)",
            "tick: AdvanceClock() -> 1",
            "req1: KeyedStart('order', 1, 'order:1', (), 'req1') -> Started(2)",
            "r2: StartRun(2) -> Ok(None)",
            "r2: PerformEffect('order:1', 2) -> Ok(None)",
        ],
    },
    "temporal-terminate-existing": {
        "verdict": "violated",
        # 363 before the history reduction, 275 before it dropped the arrival order
        "states": 144,
        "properties": {
            "at-most-once-effect": "violated",
            "no-failed-request": "violated",
            "newest-wins": "violated",
            "result-matches-owner": "holds",
        },
        "message": "effect for key 'order:1' ran twice, by r1 and r2, for requests req1 (arrived t=0) and req2 (arrived t=0), within the dedupe window of 0 ticks",
        "trace": [
            "arrive req1: Arrive('req1') -> 0",
            "req1: KeyedStart('order', 1, 'order:1', (), 'req1') -> Started(1)",
            "r1: StartRun(1) -> Ok(None)",
            "r1: PerformEffect('order:1', 1) -> Ok(None)",
            "arrive req2: Arrive('req2') -> 0",
            "req2: KeyedStart('order', 2, 'order:1', (), 'req2') -> Started(2)",
            "r2: StartRun(2) -> Ok(None)",
            "r2: PerformEffect('order:1', 2) -> Ok(None)",
        ],
    },
}


def minimal(name: str, prop: str | None = None):
    scenario = catalog()[name]
    result = check(scenario, "bfs")
    prop = prop or scenario.expected_property
    return result, next(v for v in result.violations if v.property == prop)


def test_every_peer_scenario_is_pinned():
    peers = {n for n in catalog() if n.split("-")[0] in ("temporal", "inngest", "dbos")}
    assert peers == set(PINS)


@pytest.mark.parametrize("name", sorted(PINS))
def test_peer_scenario_verdict_states_and_minimal_counterexample(name):
    scenario = catalog()[name]
    result = check(scenario, "bfs")
    pin = PINS[name]
    assert result.matches and result.exhausted
    assert result.verdict == pin["verdict"]
    assert result.stats.states == pin["states"]
    assert result.properties == pin["properties"]
    prop = scenario.expected_property
    if prop is None:
        assert "trace" not in pin
        return
    violation = next(v for v in result.violations if v.property == prop)
    assert violation.message == pin["message"]
    trace = [f"{s.label}: {describe(s.op)} -> {describe(s.result)}" for s in violation.steps]
    assert trace == pin["trace"]
    # the pinned schedule replays to the same violation
    system = System(scenario)
    state, _ = system.replay(violation.schedule)
    assert PROPERTIES[prop].check(system, state) == violation.message


def test_peer_scenarios_pass_the_cli(capsys):
    assert main(["check", *sorted(PINS)]) == 0
    capsys.readouterr()


def test_inngest_long_run_owner_is_still_running_when_the_duplicate_is_admitted():
    result, violation = minimal("inngest-long-run")
    system = System(result.scenario)
    state, steps = system.replay(violation.schedule)
    admitted = next(s for s in steps if s.actor == "req2")
    assert admitted.result == O.Started(2)
    assert state.world.runs[0].status == RUNNING
    # r1's entry (admitted at tick 0, window 1) expired at tick 1 while r1 ran: the key is r2's now
    assert state.world.keys == (("fn|evt:1", 2, 1, 2, None),)


def test_dbos_retry_of_a_failed_workflow_ends_with_the_stored_error():
    result, violation = minimal("dbos-stored-error")
    system = System(result.scenario)
    state, steps = system.replay(violation.schedule)
    stored = ("ApplicationError", "order", "order:1", 1)
    assert steps[-1].result == O.Existing(1, "failed", stored)
    assert state.procs[1][1] == Done(("error", "ApplicationError", stored))
    assert len(state.world.runs) == 1  # never a new attempt


def test_temporal_terminate_existing_caller_of_the_terminated_run_fails():
    _, violation = minimal("temporal-terminate-existing", "no-failed-request")
    assert violation.message == "req1 failed: WorkflowTerminated 1"
    _, violation = minimal("temporal-terminate-existing", "newest-wins")
    # the request that arrived first reached the server last and terminated the newer one's run
    assert [s.label for s in violation.steps] == ["arrive req1", "arrive req2", "req2", "req1"]


def test_temporal_request_id_retry_answers_the_resend_with_the_closed_run():
    scenario = catalog()["temporal-request-id-retry"]
    system = System(scenario)
    labels = ["arrive req1", "req1 lost", "r1", "r1", "r1", "tick", "tick", "req1", "req1"]
    state, steps = system.replay(labels)
    assert steps[1].result == O.LostResponse(O.Started(1))
    assert steps[7].result == O.Started(1)  # run 1 closed two ticks ago, still started=true
    assert state.procs[0][1] == Done(("ok", ("result", "order", "order:1", 1)))
    assert len(state.world.runs) == 1


def test_invalid_temporal_combination_is_a_one_line_exit_2(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "bad"\nprofile = "temporal"\n[profile_options]\n'
        'conflict_policy = "terminate-existing"\nreuse_policy = "reject-duplicate"\n'
        '[[requests]]\nstrategy = "keyed-execute"\nkey = "k"\n'
    )
    assert main(["check", str(bad)]) == 2
    _, err = capsys.readouterr()
    assert err.count("\n") == 1
    assert "option 'reuse_policy' = 'reject-duplicate' cannot be combined with option " in err
