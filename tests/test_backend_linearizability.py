"""The linearizability checker on hand-made histories: it passes what it must, fails what it
must, renames run ids per key, treats unanswered calls as maybe-happened, and says unknown (never
a pass) when its budget runs out."""

from __future__ import annotations

from backends.validate import CONFORMANT, UNKNOWN, Report
from backends.validate.history import Observe, Operation
from backends.validate.linearizability import (
    LINEARIZABLE,
    NOT_LINEARIZABLE,
    check_history,
    global_id_check,
)
from model import ops as O
from model.profiles import make_profile
from model.state import Hook, KeyEntry, Run, WorldState

PROFILE = make_profile("vercel-keyed-start", retention=1)


def op(i, client, key, what, result, call, ret):
    return Operation(i, client, key, what, result, call, ret)


def start(key, request):
    return O.KeyedStart(f"wf-{key}", request, key)


def test_sequential_history_is_linearizable():
    h = [
        op(1, 0, "a", start("a", 1), O.Started(1), 0, 10),
        op(2, 1, "a", start("a", 2), O.Existing(1, "pending", None), 20, 30),
        op(3, 0, "a", O.CompleteRun(1, "x"), O.Ok(), 40, 50),
        op(4, 1, "a", start("a", 3), O.Existing(1, "completed", "x"), 60, 70),
    ]
    v = check_history(PROFILE, h)
    assert v.verdict == LINEARIZABLE
    assert [(r.key, r.operations, r.verdict) for r in v.partitions] == [("a", 4, LINEARIZABLE)]


def test_overlapping_calls_may_take_effect_in_either_order():
    # the later-invoked start won: fine, the two overlap in time
    h = [
        op(1, 0, "a", start("a", 1), O.Existing(1, "pending", None), 0, 30),
        op(2, 1, "a", start("a", 2), O.Started(1), 5, 20),
    ]
    assert check_history(PROFILE, h).verdict == LINEARIZABLE


def test_two_admissions_of_one_key_are_not_linearizable():
    h = [
        op(1, 0, "a", start("a", 1), O.Started(1), 0, 30),
        op(2, 1, "a", start("a", 2), O.Started(2), 5, 20),
        op(3, 2, "b", start("b", 3), O.Started(3), 0, 10),
    ]
    v = check_history(PROFILE, h)
    assert v.verdict == NOT_LINEARIZABLE
    assert v.failing is not None and v.failing.key == "a"
    assert [r.verdict for r in v.partitions] == [NOT_LINEARIZABLE, LINEARIZABLE]


def test_real_time_order_is_respected():
    # the second start begins after the first answered Started: it must see the key taken
    h = [
        op(1, 0, "a", start("a", 1), O.Started(1), 0, 10),
        op(2, 1, "a", start("a", 2), O.Started(2), 20, 30),
    ]
    assert check_history(PROFILE, h).verdict == NOT_LINEARIZABLE


def test_run_ids_are_renamed_per_key_and_checked_across_keys():
    # keys a and b interleave on the backend's global counter: a got 2 and 3, b got 1
    h = [
        op(1, 0, "b", start("b", 1), O.Started(1), 0, 10),
        op(2, 1, "a", start("a", 2), O.Started(2), 20, 30),
        op(3, 1, "a", O.CompleteRun(2, "x"), O.Ok(), 40, 50),
        op(4, -1, None, O.AdvanceClock(), O.Ok(1), 60, 61),
        op(5, 1, "a", start("a", 3), O.Started(3), 70, 80),
        op(6, 0, "a", O.GetRun(2), O.RunInfo(2, "wf-a", "completed", "x", 2), 90, 95),
        op(7, 0, "a", O.ListRuns("wf-a"), O.RunList((2, 3)), 96, 99),
    ]
    assert check_history(PROFILE, h).verdict == LINEARIZABLE
    # the same id handed out under two keys is caught by the global check
    bad = [*h, op(8, 2, "b", start("b", 9), O.Started(3), 100, 110)]
    v = check_history(PROFILE, bad)
    assert v.verdict == NOT_LINEARIZABLE
    assert global_id_check(bad) == (
        "run id 3 admitted twice: by client 1 (KeyedStart('wf-a', 3, 'a', (), None)) and "
        "client 2 (KeyedStart('wf-b', 9, 'b', (), None))"
    )


def test_an_unanswered_call_may_have_happened_or_not():
    seen = [
        op(1, 0, "a", start("a", 1), None, 0, None),
        op(2, 1, "a", O.GetHookByToken("a"), O.HookInfo(1, "h1"), 10, 20),
    ]
    assert check_history(PROFILE, seen).verdict == LINEARIZABLE
    unseen = [
        op(1, 0, "a", start("a", 1), None, 0, None),
        op(2, 1, "a", O.GetHookByToken("a"), O.HOOK_NOT_FOUND, 10, 20),
    ]
    assert check_history(PROFILE, unseen).verdict == LINEARIZABLE


def _observed(runs, hooks, keys, clock=0):
    return WorldState(clock=clock, runs=runs, hooks=hooks, keys=keys)


def test_the_observed_final_state_must_be_one_the_model_allows():
    run = Run(4, "wf-a", "pending", 1, key="a")
    good = _observed((run,), (Hook("a", 4, "h1"),), (KeyEntry("a", 4, 0),))
    h = [
        op(1, 0, "a", start("a", 1), None, 0, None),  # unanswered, but it did happen
        op(2, -1, "a", Observe("a"), good, 100, 110),
    ]
    assert check_history(PROFILE, h).verdict == LINEARIZABLE
    # a run without its key entry is no state the model reaches (admission is atomic)
    torn = _observed((run,), (), ())
    h[1] = op(2, -1, "a", Observe("a"), torn, 100, 110)
    assert check_history(PROFILE, h).verdict == NOT_LINEARIZABLE
    # an acknowledged admission missing from the store
    h = [
        op(1, 0, "a", start("a", 1), O.Started(4), 0, 10),
        op(2, -1, "a", Observe("a"), _observed((), (), ()), 100, 110),
    ]
    assert check_history(PROFILE, h).verdict == NOT_LINEARIZABLE


def test_shortest_failing_prefix_drops_the_irrelevant_tail():
    h = [
        op(1, 0, "a", start("a", 1), O.Started(1), 0, 10),
        op(2, 1, "a", start("a", 2), O.Started(2), 20, 30),
    ]
    h += [
        op(
            3 + i,
            0,
            "a",
            O.GetRun(1),
            O.RunInfo(1, "wf-a", "pending", None, 1),
            40 + 10 * i,
            45 + 10 * i,
        )
        for i in range(20)
    ]
    v = check_history(PROFILE, h)
    assert v.verdict == NOT_LINEARIZABLE
    assert [o.index for o in v.failing.ops] == [1, 2]


def test_exhausted_budget_is_unknown_never_a_pass():
    # 600 overlapping reads: the search needs more than one budget check's worth of steps
    h = [
        op(i, i % 10, "a", O.GetHookByToken("a"), O.HOOK_NOT_FOUND, i, 10_000 + i)
        for i in range(1, 601)
    ]
    assert check_history(PROFILE, h, budget=None).verdict == LINEARIZABLE
    v = check_history(PROFILE, h, budget=0.0)
    assert v.verdict == UNKNOWN
    report = Report("x", {"concurrent": {"verdict": UNKNOWN}})
    assert report.verdict == UNKNOWN != CONFORMANT
