"""The proposed Vercel designs: P0 keyed start and P1 attribute lookup, option by option."""

from __future__ import annotations

import pytest

from model import ops as O
from model.profiles import make_profile
from model.state import COMPLETED


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


def completed_owner(profile):
    w, rs = apply_all(
        profile,
        profile.initial(),
        O.KeyedStart("wf", 1, "k"),
        O.StartRun(1),
        O.CompleteRun(1, "out"),
    )
    assert rs[0] == O.Started(1)
    return w


def test_keyed_start_is_atomic_and_claims_the_token():
    p = make_profile("vercel-keyed-start")
    w, rs = apply_all(p, p.initial(), O.KeyedStart("wf", 1, "k"), O.KeyedStart("wf", 2, "k"))
    assert rs == [O.Started(1), O.Existing(1, "pending", None)]
    assert len(w.runs) == 1
    assert w.hook_by_token("k").run_id == 1  # a duplicate can resumeHook(key) the owner


def test_duplicate_after_completion_gets_the_stored_result_within_retention():
    p = make_profile("vercel-keyed-start", retention=2)
    w = completed_owner(p)
    w = ticks(p, w, 1)
    w, rs = apply_all(p, w, O.KeyedStart("wf", 2, "k"))
    assert rs == [O.Existing(1, COMPLETED, "out")]


def test_retention_from_end_frees_the_key_after_the_window():
    p = make_profile("vercel-keyed-start", retention=2)
    w = completed_owner(p)  # ended at tick 0
    w = ticks(p, w, 2)
    w, rs = apply_all(p, w, O.KeyedStart("wf", 2, "k"))
    assert rs == [O.Started(2)]


def test_retention_from_end_never_frees_a_running_owner():
    p = make_profile("vercel-keyed-start", retention=1)
    w, _ = apply_all(p, p.initial(), O.KeyedStart("wf", 1, "k"), O.StartRun(1))
    w = ticks(p, w, 5)
    assert p.apply(w, O.KeyedStart("wf", 2, "k"))[1] == O.Existing(1, "running", None)


def test_retention_from_claim_counts_from_admission():
    """v5 beta experimental_minRetention: free once the run ended AND retention passed since the
    claim. An owner that ran longer than the retention frees the key at its end."""
    p = make_profile("vercel-keyed-start", retention=2, retention_from="claim")
    w, _ = apply_all(p, p.initial(), O.KeyedStart("wf", 1, "k"), O.StartRun(1))
    w = ticks(p, w, 3)
    assert p.apply(w, O.KeyedStart("wf", 2, "k"))[1] == O.Existing(1, "running", None)
    w, _ = apply_all(p, w, O.CompleteRun(1, "out"))
    assert p.apply(w, O.KeyedStart("wf", 2, "k"))[1] == O.Started(2)
    end_based = make_profile("vercel-keyed-start", retention=2)
    w2, _ = apply_all(end_based, end_based.initial(), O.KeyedStart("wf", 1, "k"), O.StartRun(1))
    w2 = ticks(end_based, w2, 3)
    w2, _ = apply_all(end_based, w2, O.CompleteRun(1, "out"))
    assert end_based.apply(w2, O.KeyedStart("wf", 2, "k"))[1] == O.Existing(1, COMPLETED, "out")


def test_duplicate_as_conflict_error():
    p = make_profile("vercel-keyed-start", duplicate="conflict-error")
    _w, rs = apply_all(p, p.initial(), O.KeyedStart("wf", 1, "k"), O.KeyedStart("wf", 2, "k"))
    assert rs[1] == O.Error("HookConflictError", 1)


def test_keyed_start_respects_a_token_claimed_by_a_body():
    p = make_profile("vercel-keyed-start")
    _w, rs = apply_all(
        p,
        p.initial(),
        O.CreateRun("wf", 1),
        O.StartRun(1),
        O.ClaimHook(1, "h1", "k"),
        O.KeyedStart("wf", 2, "k"),
    )
    assert rs[-1] == O.Error("HookConflictError", 1)


@pytest.mark.parametrize(
    "bad", [{"retention": -1}, {"retention_from": "start"}, {"duplicate": "x"}]
)
def test_keyed_start_rejects_bad_options(bad):
    with pytest.raises(ValueError):
        make_profile("vercel-keyed-start", **bad)


def test_attribute_filter_and_retention():
    p = make_profile("vercel-attribute-lookup", retention=2)
    attr = ("idempotency", "k")
    w, rs = apply_all(
        p,
        p.initial(),
        O.CreateRun("wf", 1, (attr,)),
        O.CreateRun("wf", 2),
        O.CreateRun("other", 3, (attr,)),
        O.StartRun(1),
        O.CompleteRun(1, "out"),
        O.ListRuns("wf", COMPLETED, attr),
        O.ListRuns("wf", None, attr),
        O.ListRuns("wf"),
    )
    assert rs[-3:] == [O.RunList((1,)), O.RunList((1,)), O.RunList((1, 2))]
    w = ticks(p, w, 1)
    assert p.apply(w, O.ListRuns("wf", COMPLETED, attr))[1] == O.RunList((1,))
    w = ticks(p, w, 1)  # two ticks after the end: the attribute memory is gone
    assert p.apply(w, O.ListRuns("wf", COMPLETED, attr))[1] == O.RunList(())
    assert p.apply(w, O.ListRuns("wf", COMPLETED))[1] == O.RunList((1,))  # the run itself is not


def test_poll_payload_never_blocks():
    p = make_profile("vercel-today")
    _w, rs = apply_all(
        p,
        p.initial(),
        O.CreateRun("wf", 1),
        O.StartRun(1),
        O.ClaimHook(1, "h", "k"),
        O.PollPayload(1, "h"),
        O.DeliverPayload(1, "h", "x"),
        O.PollPayload(1, "h"),
        O.CompleteRun(1),
        O.PollPayload(1, "h"),
    )
    assert rs[3] == O.Ok(None) and rs[5] == O.Payload("x") and rs[7] == O.Ok(None)


def test_cancel_attribution_is_recorded_for_live_runs_only():
    p = make_profile("vercel-today")
    w, _ = apply_all(
        p,
        p.initial(),
        O.CreateRun("wf", 1),
        O.CreateRun("wf", 2),
        O.CancelRun(1, by=2),
        O.CancelRun(1, by=2),
    )
    assert w.cancels == ((2, 1),)
