"""The v4 world operations and their documented outcomes (semantics.md, Vercel v4 today)."""

from __future__ import annotations

import pytest

from model import ops as O
from model.profiles import make_profile
from model.profiles.base import ModelError
from model.state import CANCELLED, COMPLETED, FAILED, PENDING, RUNNING


@pytest.fixture
def world():
    return make_profile("vercel-today")


def run(profile, world_state, *ops):
    results = []
    for op in ops:
        world_state, result = profile.apply(world_state, op)
        results.append(result)
    return world_state, results


def test_run_lifecycle(world):
    w, rs = run(
        world, world.initial(), O.CreateRun("wf", 1), O.StartRun(1), O.CompleteRun(1, "out")
    )
    assert rs == [O.Ok(1), O.Ok(), O.Ok()]
    r = w.run(1)
    assert (r.status, r.output, r.request) == (COMPLETED, "out", 1)


def test_start_twice_and_unknown_run(world):
    w, rs = run(
        world, world.initial(), O.CreateRun("wf", 1), O.StartRun(1), O.StartRun(1), O.StartRun(9)
    )
    # run_started on a running run is idempotent in both World packages (model/profiles/
    # vercel_today.py cites the source)
    assert rs[2] == O.Ok()
    assert rs[3] == O.RUN_NOT_FOUND
    assert w.run(1).status == RUNNING


@pytest.mark.parametrize(
    "end, status",
    [(O.CompleteRun(1, "x"), COMPLETED), (O.FailRun(1, "boom"), FAILED)],
)
def test_cancel_after_terminal_is_entity_conflict(world, end, status):
    w, rs = run(world, world.initial(), O.CreateRun("wf", 1), O.StartRun(1), end, O.CancelRun(1))
    assert rs[-1] == O.ENTITY_CONFLICT
    assert w.run(1).status == status


def test_cancel_pending_and_recancel_accepted(world):
    w, rs = run(
        world, world.initial(), O.CreateRun("wf", 1), O.CancelRun(1), O.CancelRun(1), O.StartRun(1)
    )
    # starting an ended run: RunExpiredError, as both World packages throw
    assert rs[1:] == [O.Ok(), O.Ok(), O.Error("RunExpiredError")]
    assert w.run(1).status == CANCELLED


def test_complete_after_cancel_is_entity_conflict(world):
    _, rs = run(world, world.initial(), O.CreateRun("wf", 1), O.CancelRun(1), O.CompleteRun(1, "x"))
    assert rs[-1] == O.ENTITY_CONFLICT


def test_claim_conflict_names_owner_and_replay_is_entity_conflict(world):
    w, rs = run(
        world,
        world.initial(),
        O.CreateRun("wf", 1),
        O.CreateRun("wf", 2),
        O.StartRun(1),
        O.StartRun(2),
        O.ClaimHook(1, "h", "k"),
        O.ClaimHook(2, "h", "k"),
        O.ClaimHook(1, "h", "k"),
    )
    assert rs[4:] == [O.HookCreated(), O.HookConflict(1), O.ENTITY_CONFLICT]
    assert [(h.token, h.run_id) for h in w.hooks] == [("k", 1)]


def test_claim_on_terminal_run_is_entity_conflict(world):
    _, rs = run(
        world, world.initial(), O.CreateRun("wf", 1), O.CancelRun(1), O.ClaimHook(1, "h", "k")
    )
    assert rs[-1] == O.ENTITY_CONFLICT


def test_terminal_transition_releases_tokens_atomically(world):
    w, rs = run(
        world,
        world.initial(),
        O.CreateRun("wf", 1),
        O.StartRun(1),
        O.ClaimHook(1, "h", "k"),
        O.CompleteRun(1, None),
        O.GetHookByToken("k"),
    )
    assert rs[-1] == O.HOOK_NOT_FOUND
    assert w.hooks == ()
    assert world.environment(w) == ()


def test_non_atomic_release_is_a_separate_environment_step():
    world = make_profile("vercel-today", atomic_release=False)
    w, _rs = run(
        world,
        world.initial(),
        O.CreateRun("wf", 1),
        O.StartRun(1),
        O.ClaimHook(1, "h", "k"),
        O.CompleteRun(1, None),
    )
    assert w.hook_by_token("k") is not None  # still held by a completed run
    assert world.environment(w) == (O.ReleaseHooks(1),)
    w, _ = world.apply(w, O.ReleaseHooks(1))
    assert w.hooks == ()


def test_deliver_consume_and_hook_not_found(world):
    w, rs = run(
        world,
        world.initial(),
        O.CreateRun("wf", 1),
        O.StartRun(1),
        O.ClaimHook(1, "h", "k"),
        O.DeliverPayload(1, "h", "p1"),
    )
    assert rs[-1] == O.Ok()
    assert world.enabled(w, O.ConsumePayload(1, "h"))
    w, got = world.apply(w, O.ConsumePayload(1, "h"))
    assert got == O.Payload("p1")
    assert w.consumed == (("p1", 1),) and w.delivered == (("p1", 1),)
    assert not world.enabled(w, O.ConsumePayload(1, "h"))  # blocks on an empty inbox
    w, rs = run(world, w, O.CompleteRun(1, None), O.DeliverPayload(1, "h", "p2"))
    assert rs[-1] == O.HOOK_NOT_FOUND


def test_dispose_twice_is_hook_not_found(world):
    _w, rs = run(
        world,
        world.initial(),
        O.CreateRun("wf", 1),
        O.StartRun(1),
        O.ClaimHook(1, "h", "k"),
        O.DisposeHook(1, "h"),
        O.DisposeHook(1, "h"),
    )
    assert rs[-2:] == [O.Ok(), O.HOOK_NOT_FOUND]


def test_get_run_list_runs_and_await(world):
    w, rs = run(
        world,
        world.initial(),
        O.CreateRun("a", 1),
        O.CreateRun("b", 2),
        O.CreateRun("a", 3),
        O.StartRun(3),
        O.ListRuns("a"),
        O.ListRuns("a", PENDING),
        O.GetRun(2),
        O.GetRun(7),
    )
    assert rs[4] == O.RunList((1, 3))
    assert rs[5] == O.RunList((1,))
    assert rs[6] == O.RunInfo(2, "b", PENDING, None, 2)
    assert rs[7] == O.RUN_NOT_FOUND
    assert not world.enabled(w, O.AwaitRun(1))
    w, _ = world.apply(w, O.FailRun(1, "e"))
    assert world.enabled(w, O.AwaitRun(1))
    assert world.apply(w, O.AwaitRun(1))[1].status == FAILED


def test_attribute_filter_is_not_in_v4(world):
    with pytest.raises(ModelError, match="attribute"):
        world.apply(world.initial(), O.ListRuns("a", None, ("idempotency", "k")))


def test_unsupported_op_names_the_fix(world):
    with pytest.raises(ModelError, match="does not support KeyedStart"):
        world.apply(world.initial(), O.KeyedStart("wf", 1, "k"))


def test_app_record_is_insert_if_absent(world):
    _w, rs = run(
        world,
        world.initial(),
        O.AppRecordGet("k"),
        O.AppRecordPut("k", 1),
        O.AppRecordPut("k", 2),
        O.AppRecordGet("k"),
    )
    assert rs == [O.Ok(None), O.Ok(1), O.Ok(1), O.Ok(1)]


def test_world_state_is_hashable_and_canonical(world):
    a, _ = run(
        world,
        world.initial(),
        O.CreateRun("wf", 1),
        O.CreateRun("wf", 2),
        O.StartRun(1),
        O.StartRun(2),
        O.ClaimHook(2, "h", "b"),
        O.ClaimHook(1, "h", "a"),
    )
    b, _ = run(
        world,
        world.initial(),
        O.CreateRun("wf", 1),
        O.CreateRun("wf", 2),
        O.StartRun(2),
        O.StartRun(1),
        O.ClaimHook(1, "h", "a"),
        O.ClaimHook(2, "h", "b"),
    )
    assert a == b and hash(a) == hash(b)


def test_bad_options_are_rejected():
    with pytest.raises(ValueError, match="no option 'nope'"):
        make_profile("vercel-today", nope=1)
    with pytest.raises(ValueError, match="must be true or false"):
        make_profile("vercel-today", atomic_release="yes")
    with pytest.raises(ValueError, match="unknown profile"):
        make_profile("vercel-tomorrow")
