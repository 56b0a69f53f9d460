"""The peers' world semantics (Temporal, Inngest, DBOS), option by option, on the pure model.

Each test names the documented outcome it checks (shared/reference/semantics.md)."""

from __future__ import annotations

import pytest

from catalog.parse import parse_scenario
from model import ops as O
from model.profiles import make_profile
from model.state import CANCELLED, COMPLETED, FAILED, PENDING, RUNNING
from simulator.scenario import ScenarioError


def apply_all(profile, world, *ops):
    results = []
    for op in ops:
        world, result = profile.apply(world, op)
        results.append(result)
    return world, results


def ticks(profile, world, n):
    for _ in range(n):
        world = profile.tick(world)
    return world


def start(workflow="wf", request=1, key="k", request_id=None):
    return O.KeyedStart(workflow, request, key, (), request_id or f"req{request}")


def owner(profile, end=None):
    """One run admitted for req1 under key ``k`` and started; ``end`` closes it."""
    w, rs = apply_all(profile, profile.initial(), start(), O.StartRun(1))
    assert rs == [O.Started(1), O.Ok()]
    if end is not None:
        w, rs = apply_all(profile, w, end)
        assert rs == [O.Ok()]
    return w


ALREADY = "WorkflowExecutionAlreadyStarted"

# ---------------------------------------------------------------------------------------------
# Temporal


def test_temporal_defaults_are_fail_and_allow_duplicate():
    p = make_profile("temporal")
    assert p.options["conflict_policy"] == "fail"
    assert p.options["reuse_policy"] == "allow-duplicate"


def test_temporal_request_id_dedupe_comes_first_even_after_close():
    # conflict policy fail and reuse reject-duplicate would both refuse a start with a new request
    # id; the resent start with the creating request's id gets its run, started=true
    p = make_profile("temporal", reuse_policy="reject-duplicate", retention=3)
    w = owner(p)
    w, rs = apply_all(p, w, start(request_id="req1"), start(request=2))
    assert rs == [O.Started(1), O.Error(ALREADY, 1)]
    w, _ = apply_all(p, w, O.CompleteRun(1, "out"))
    w, rs = apply_all(p, w, start(request_id="req1"), start(request=2))
    assert rs == [O.Started(1), O.Error(ALREADY, 1)]
    assert len(w.runs) == 1


@pytest.mark.parametrize("conflict", ["fail", "use-existing", "terminate-existing"])
def test_temporal_request_id_dedupe_precedes_every_conflict_policy(conflict):
    p = make_profile("temporal", conflict_policy=conflict)
    w = owner(p)
    w, rs = apply_all(p, w, start(request_id="req1"))
    assert rs == [O.Started(1)]
    assert [r.status for r in w.runs] == [RUNNING]  # terminate-existing did not terminate it


def test_temporal_conflict_fail():
    p = make_profile("temporal", conflict_policy="fail")
    w, rs = apply_all(p, owner(p), start(request=2))
    assert rs == [O.Error(ALREADY, 1)]
    assert len(w.runs) == 1


def test_temporal_conflict_use_existing_returns_the_running_run():
    p = make_profile("temporal", conflict_policy="use-existing")
    w, rs = apply_all(p, p.initial(), start(), start(request=2))
    assert rs == [O.Started(1), O.Existing(1, PENDING, None)]
    assert len(w.runs) == 1


def test_temporal_conflict_terminate_existing_is_one_atomic_step():
    p = make_profile("temporal", conflict_policy="terminate-existing")
    w, rs = apply_all(p, owner(p), start(request=2))
    assert rs == [O.Started(2)]
    old, new = w.runs
    assert (old.status, old.output, old.ended_at) == (CANCELLED, "terminated", 0)
    assert (new.status, new.request) == (PENDING, 2)
    assert w.cancels == ((2, 1),)  # the new run terminated the old one (ghost for newest-wins)
    assert w.key_entry("k").run_id == 2


def test_temporal_terminate_existing_retry_terminates_the_newer_run():
    """Request ids are checked on the current run only: a start resent after someone else's
    start terminated its run finds a different current run and terminates that one."""
    p = make_profile("temporal", conflict_policy="terminate-existing")
    w, rs = apply_all(p, p.initial(), start(), start(request=2), start(request_id="req1"))
    assert rs == [O.Started(1), O.Started(2), O.Started(3)]
    assert [r.status for r in w.runs] == [CANCELLED, CANCELLED, PENDING]
    assert w.cancels == ((2, 1), (3, 2))
    assert w.runs[2].request == 1


@pytest.mark.parametrize(
    ("reuse", "end", "expected"),
    [
        ("allow-duplicate", O.CompleteRun(1, "out"), O.Started(2)),
        ("allow-duplicate", O.FailRun(1, "boom"), O.Started(2)),
        ("allow-duplicate-failed-only", O.CompleteRun(1, "out"), O.Error(ALREADY, 1)),
        ("allow-duplicate-failed-only", O.FailRun(1, "boom"), O.Started(2)),
        ("allow-duplicate-failed-only", O.CancelRun(1), O.Started(2)),
        ("reject-duplicate", O.CompleteRun(1, "out"), O.Error(ALREADY, 1)),
        ("reject-duplicate", O.FailRun(1, "boom"), O.Error(ALREADY, 1)),
    ],
)
def test_temporal_reuse_policy_against_the_closed_run(reuse, end, expected):
    p = make_profile("temporal", reuse_policy=reuse)
    _, rs = apply_all(p, owner(p, end), start(request=2))
    assert rs == [expected]


def test_temporal_failed_only_counts_a_terminated_run_as_retryable():
    p = make_profile(
        "temporal", conflict_policy="terminate-existing", reuse_policy="allow-duplicate-failed-only"
    )
    w, rs = apply_all(p, owner(p), start(request=2), O.StartRun(2), O.CompleteRun(2, "out"))
    assert rs[0] == O.Started(2)
    # the latest run (r2) completed: failed-only refuses, although r1 was terminated
    w, rs = apply_all(p, w, start(request=3))
    assert rs == [O.Error(ALREADY, 2)]


def test_temporal_reuse_is_judged_against_the_latest_run_only():
    p = make_profile("temporal", reuse_policy="allow-duplicate-failed-only")
    w = owner(p, O.FailRun(1, "boom"))
    w, rs = apply_all(p, w, start(request=2), O.StartRun(2), O.CompleteRun(2, "out"))
    assert rs[0] == O.Started(2)
    w, rs = apply_all(p, w, start(request=3))
    assert rs == [O.Error(ALREADY, 2)]


def test_temporal_retention_forgets_the_closed_run_and_its_request_ids():
    p = make_profile("temporal", reuse_policy="reject-duplicate", retention=2)
    w = owner(p, O.CompleteRun(1, "out"))  # closed at tick 0
    w1 = ticks(p, w, 1)
    _, rs = apply_all(p, w1, start(request=2), start(request_id="req1"))
    assert rs == [O.Error(ALREADY, 1), O.Started(1)]  # still within retention
    w2 = ticks(p, w, 2)
    w2, rs = apply_all(p, w2, start(request_id="req1"))
    assert rs == [O.Started(2)]  # deleted: even the creating request's resend starts anew
    assert w2.runs[1].request == 1


def test_temporal_retention_does_not_apply_to_an_open_run():
    p = make_profile("temporal", retention=0)
    w = ticks(p, owner(p), 5)
    _, rs = apply_all(p, w, start(request=2))
    assert rs == [O.Error(ALREADY, 1)]


def test_temporal_workflow_type_is_not_part_of_the_key():
    p = make_profile("temporal", conflict_policy="use-existing")
    _, rs = apply_all(p, owner(p), start(workflow="email", request=2))
    assert rs == [O.Existing(1, RUNNING, None)]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"conflict_policy": "terminate-existing", "reuse_policy": "reject-duplicate"},
            "option 'reuse_policy' = 'reject-duplicate' cannot be combined with option "
            "'conflict_policy' = 'terminate-existing' (Temporal rejects this combination)",
        ),
        (
            {"conflict_policy": "use-existing", "reuse_policy": "terminate-if-running"},
            "option 'reuse_policy' = 'terminate-if-running' (deprecated) cannot be combined with "
            "option 'conflict_policy' = 'use-existing'; use conflict_policy = "
            "'terminate-existing' instead",
        ),
        (
            {"reuse_policy": "terminate-if-running"},
            "option 'reuse_policy' = 'terminate-if-running' (deprecated) cannot be combined with "
            "option 'conflict_policy' = 'fail'; use conflict_policy = 'terminate-existing' instead",
        ),
    ],
)
def test_temporal_invalid_combinations_are_rejected_at_load(options, message):
    with pytest.raises(ValueError) as exc:
        make_profile("temporal", **options)
    assert str(exc.value) == message
    body = "\n".join(f'{k} = "{v}"' for k, v in options.items())
    text = (
        'name = "bad"\nprofile = "temporal"\n[profile_options]\n' + body + "\n"
        '[[requests]]\nstrategy = "keyed-adopt"\nkey = "k"\n'
    )
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(text, "bad.toml")
    assert str(exc.value) == f"bad.toml: profile_options: {message}"
    assert "\n" not in str(exc.value)


# ---------------------------------------------------------------------------------------------
# Inngest


def test_inngest_duplicate_within_the_window_is_dropped():
    p = make_profile("inngest", window=2)
    w, rs = apply_all(p, p.initial(), start(), start(request=2), start(request_id="req1"))
    assert rs == [O.Started(1), O.Dropped(), O.Dropped()]
    assert len(w.runs) == 1


def test_inngest_window_counts_from_first_admission_not_from_completion():
    p = make_profile("inngest", window=2)
    w = owner(p)
    w = ticks(p, w, 1)
    w, _ = apply_all(p, w, O.CompleteRun(1, "out"))  # ends at tick 1
    _, rs = apply_all(p, w, start(request=2))
    assert rs == [O.Dropped()]
    w = ticks(p, w, 1)  # tick 2 = admission + window: expired, though it ended only 1 tick ago
    _, rs = apply_all(p, w, start(request=2))
    assert rs == [O.Started(2)]


def test_inngest_completion_turns_the_entry_into_a_tombstone_with_the_same_expiry():
    p = make_profile("inngest", window=3)
    w = owner(p)
    assert w.keys[0] == (w.keys[0].key, 1, 0, 3, None)
    w = ticks(p, w, 1)
    w, _ = apply_all(p, w, O.CompleteRun(1, "out"))
    entry = w.keys[0]
    assert (entry.run_id, entry.claimed_at, entry.expires_at) == (0, 0, 3)
    _, rs = apply_all(p, w, start(request=2))
    assert rs == [O.Dropped()]  # no result reuse: nothing of "out" comes back


def test_inngest_long_run_loses_its_dedupe_while_still_running():
    p = make_profile("inngest", window=1)
    w = ticks(p, owner(p), 1)
    w, rs = apply_all(p, w, start(request=2))
    assert rs == [O.Started(2)]
    assert [r.status for r in w.runs] == [RUNNING, PENDING]  # two live runs for one event id


def test_inngest_key_includes_the_function():
    p = make_profile("inngest", window=2)
    _, rs = apply_all(p, owner(p), start(workflow="other", request=2))
    assert rs == [O.Started(2)]


# ---------------------------------------------------------------------------------------------
# DBOS


def test_dbos_duplicate_gets_the_running_workflow_then_its_stored_result():
    p = make_profile("dbos")
    w, rs = apply_all(p, owner(p), start(request=2))
    assert rs == [O.Existing(1, RUNNING, None)]
    w, _ = apply_all(p, w, O.CompleteRun(1, "out"))
    w = ticks(p, w, 50)  # no expiry
    w, rs = apply_all(p, w, start(request=3))
    assert rs == [O.Existing(1, COMPLETED, "out")]
    assert len(w.runs) == 1


def test_dbos_duplicate_of_a_failed_workflow_gets_the_stored_error():
    p = make_profile("dbos")
    w = owner(p, O.FailRun(1, ("ApplicationError", "wf", "k", 1)))
    _, rs = apply_all(p, w, start(request=2))
    assert rs == [O.Existing(1, FAILED, ("ApplicationError", "wf", "k", 1))]


def test_dbos_different_workflow_under_the_same_id_conflicts():
    p = make_profile("dbos")
    w, rs = apply_all(p, owner(p), start(workflow="refund", request=2))
    assert rs == [O.Error("DBOSConflictingWorkflowError", 1)]
    assert len(w.runs) == 1


@pytest.mark.parametrize("end", [None, O.CompleteRun(1, "out")])
def test_dbos_reject_policy_raises_for_any_existing_row(end):
    p = make_profile("dbos", reuse_policy="reject")
    w = owner(p, end)
    _, rs = apply_all(p, w, start(request=2), start(workflow="refund", request=3))
    assert rs == [O.Error("DBOSWorkflowIDInUseError", 1)] * 2


def test_peer_profile_options_are_validated():
    with pytest.raises(ValueError, match="option 'reuse_policy' is 'forever'; allowed:"):
        make_profile("dbos", reuse_policy="forever")
    with pytest.raises(ValueError, match="option 'window' must be an integer"):
        make_profile("inngest", window="24h")
    with pytest.raises(ValueError, match="profile 'temporal' has no option 'window'"):
        make_profile("temporal", window=2)
