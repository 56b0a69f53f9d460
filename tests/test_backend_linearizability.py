"""The linearizability checker on hand-made histories: it passes what it must, fails what it
must, renames run ids per key, treats unanswered calls as maybe-happened, and says unknown (never
a pass) when its budget runs out."""

from __future__ import annotations

from backends.validate import CONFORMANT, UNKNOWN, Report
from backends.validate.history import Observe, Operation
from backends.validate.linearizability import (
    LINEARIZABLE,
    NOT_LINEARIZABLE,
    Checker,
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


def _hard(key: str, base: int = 0) -> list[Operation]:
    """A linearizable partition the search needs more than one budget check's worth of steps
    for, and that no op-at-its-deadline order linearizes: 600 overlapping reads of a token,
    alternately before and after a start (as long as all of them) took it."""
    reads = [
        op(
            base + i,
            i % 10,
            key,
            O.GetHookByToken(key),
            O.HOOK_NOT_FOUND if i % 2 else O.HookInfo(7, "h1"),
            i,
            10_000 + i,
        )
        for i in range(1, 601)
    ]
    return [op(base, 10, key, start(key, 1), O.Started(7), 0, 20_000), *reads]


def test_exhausted_budget_is_unknown_never_a_pass():
    h = _hard("a")
    v = check_history(PROFILE, h, budget=None)
    assert v.verdict == LINEARIZABLE and v.partitions[0].explored > 512
    v = check_history(PROFILE, h, budget=0.0)
    assert v.verdict == UNKNOWN
    report = Report("x", {"concurrent": {"verdict": UNKNOWN}})
    assert report.verdict == UNKNOWN != CONFORMANT


def test_a_partition_no_search_decides_cannot_hold_up_a_refutation(monkeypatch):
    """Partitions are searched in two passes: a first one capped at ``FIRST_PASS_SECONDS`` each,
    then, unless one was refuted (the verdict is decided), the undecided ones again with the
    rest of the budget. With no first-pass time at all, a partition that needs more than one
    budget check's worth of steps is undecided in the first pass."""
    import backends.validate.linearizability as lin

    def refuted(key):
        return [
            op(1, 0, key, start(key, 1), O.Started(1), 0, 10),
            op(2, 1, key, start(key, 2), O.Started(2), 20, 30),
        ]

    slow = _hard("b", base=10)
    monkeypatch.setattr(lin, "FIRST_PASS_SECONDS", 0.0)
    # alone, the second pass decides it
    v = check_history(PROFILE, slow, budget=None)
    assert [(r.key, r.verdict) for r in v.partitions] == [("b", LINEARIZABLE)]
    assert v.partitions[0].explored > 512  # both passes' steps
    # refuted before or after it, the history is decided without it
    for history in (refuted("a") + slow, slow + refuted("c")):
        v = check_history(PROFILE, history, budget=None)
        assert v.verdict == NOT_LINEARIZABLE
        verdicts = {r.key: r.verdict for r in v.partitions}
        assert verdicts["b"] == UNKNOWN and v.failing is not None
        assert verdicts[v.failing.key] == NOT_LINEARIZABLE


# -- shrinking to a minimal core -----------------------------------------------------------------


def _double_admission_buried_in_noise():
    """Two admissions of key a (the second is the bug), with unrelated work on the same key
    before, between and after them: a prefix cut cannot drop what comes before the culprit."""
    h = [op(1, 0, "a", start("a", 1), O.Started(1), 0, 10)]
    h += [
        op(2 + i, 1, "a", O.GetRun(1), O.RunInfo(1, "wf-a", "pending", None, 1), 20 + 10 * i, 25 + 10 * i)
        for i in range(6)
    ]  # fmt: skip
    h += [
        op(8, 2, "a", O.GetHookByToken("a"), O.HookInfo(1, "h1"), 90, 95),
        op(9, 3, "a", start("a", 2), O.Started(2), 100, 110),
        op(10, 0, "a", O.GetRun(2), O.RunInfo(2, "wf-a", "pending", None, 1), 120, 125),
    ]
    return h


def test_a_failing_history_shrinks_to_a_minimal_core_with_the_culprit_marked():
    v = check_history(PROFILE, _double_admission_buried_in_noise())
    assert v.verdict == NOT_LINEARIZABLE
    core = v.core
    assert [o.index for o in core.ops] == [1, 9]
    assert core.culprit == 9
    assert core.of == v.failing.operations
    # beside each op: what the model answered (in the backend's ids), and what it allows instead
    assert core.model[1] == O.Started(1)
    assert type(core.model[9]) is O.Existing and core.model[9].run_id == 1
    assert [type(a) for a in core.allowed] == [O.Existing]


def test_the_core_is_minimal_and_still_fails():
    from backends.validate.linearizability import Checker

    v = check_history(PROFILE, _double_admission_buried_in_noise())
    checker = Checker(PROFILE)
    ops = v.core.ops
    assert checker.check("a", ops).verdict == NOT_LINEARIZABLE
    for drop in ops:
        rest = [o for o in ops if o is not drop]
        assert checker.check("a", rest).verdict == LINEARIZABLE


def test_shrinking_is_deterministic():
    a = check_history(PROFILE, _double_admission_buried_in_noise()).core
    b = check_history(PROFILE, list(reversed(_double_admission_buried_in_noise()))).core
    assert [o.index for o in a.ops] == [o.index for o in b.ops] and a.culprit == b.culprit


def test_a_dropped_admission_stays_possible_so_no_core_blames_an_answer_it_explained():
    # the bug is 3's answer (run 1 was completed by 4, so 3 must see "completed"). Dropping 1
    # (and 4, which names the run 1 told) outright would leave 3's Existing(1) without any
    # admission and make {3} a false core (its answer wrong for a reason the backend never
    # had); dropped ops are searched as unanswered instead, so 1 and 4 stay
    h = [
        op(1, 0, "a", start("a", 1), O.Started(1), 0, 10),
        op(2, 1, "a", start("a", 2), O.Existing(1, "pending", None), 20, 30),
        op(4, 0, "a", O.CompleteRun(1, "x"), O.Ok(), 40, 50),
        op(3, 1, "a", start("a", 3), O.Existing(1, "pending", None), 60, 70),
    ]
    v = check_history(PROFILE, h)
    assert v.verdict == NOT_LINEARIZABLE
    assert v.core.culprit == 3
    assert {o.index for o in v.core.ops} == {1, 3, 4}


def test_an_unmapped_exception_is_the_culprit_with_the_models_answer_beside_it():
    from backends.validate.history import Raised

    h = [
        op(1, 0, "a", start("a", 1), O.Started(1), 0, 10),
        op(2, 1, "a", start("a", 2), Raised("IntegrityError", "UNIQUE constraint failed"), 20, 30),
    ]
    v = check_history(PROFILE, h)
    assert v.verdict == NOT_LINEARIZABLE
    assert v.core.culprit == 2
    assert v.core.model[2] == O.Existing(1, "pending", None)


def test_an_observation_the_model_cannot_reach_is_shown_as_a_state_diff():
    # an acknowledged admission of run 4 missing from the store after a fault
    h = [
        op(1, 0, "a", start("a", 1), O.Started(4), 0, 10),
        op(2, -1, "a", Observe("a"), _observed((), (), ()), 100, 110),
    ]
    v = check_history(PROFILE, h)
    assert v.core.culprit == 2
    diff = v.core.observed_diff
    assert diff[0].startswith("run 4: model Run(4, 'wf-a', 'pending', 1, 'a', ")
    assert diff[0].endswith("backend absent")
    assert any(line.startswith("key 'a': model KeyEntry('a', 4, ") for line in diff)


def _claim_lock_history():
    """r1's claim answers the claim lock's error although it did claim (r2 then meets r1)."""
    lock = O.Error("WorkflowWorldError", "Could not acquire Hook token claim lock")
    return [
        op(1, 0, "k", O.CreateRun("wf", 1), O.Ok(1), 0, 10),
        op(2, 0, "k", O.StartRun(1), O.Ok(), 20, 30),
        op(3, 0, "k", O.ClaimHook(1, "h1", "k"), lock, 40, 50),
        op(4, 1, "k", O.CreateRun("wf", 2), O.Ok(2), 60, 70),
        op(5, 1, "k", O.StartRun(2), O.Ok(), 80, 90),
        op(6, 1, "k", O.ClaimHook(2, "h1", "k"), O.HookConflict(1), 100, 110),
    ]


def test_an_answer_the_profile_calls_uncertain_is_no_answer():
    # vercel-v5 declares the claim lock's error uncertain: the claim may have happened, so r2
    # meeting r1 is explained; a profile without that declaration blames the World for it
    history = _claim_lock_history()
    assert check_history(make_profile("vercel-v5"), history).verdict == LINEARIZABLE
    assert check_history(make_profile("vercel-today"), history).verdict == NOT_LINEARIZABLE


def test_a_core_never_drops_ops_others_depend_on_nor_mistakes_cancel_by_0_for_a_run():
    """The world-local double terminal in a concurrent history (issue 17's audit): a run ends
    twice (fail, then cancel, both Ok). Before, ``CancelRun.by = 0`` counted as naming run 0, so
    every shrink step dropped the cancel with the run it "named", and dropping the creator of
    run 35 dropped the claim a conflict named: the core failed by construction and blamed a
    claim the backend answered right. The core is the creator, the fail and the cancel."""
    v4 = make_profile("vercel-today", atomic_release=True)
    h = [
        op(1, 2, "b", O.CreateRun("wf-b", 2), O.Ok(35), 0, 10),
        op(2, 0, "b", O.CreateRun("wf-b", 1), O.Ok(34), 1, 11),
        op(3, 2, "b", O.StartRun(35), O.Ok(), 20, 30),
        op(4, 2, "b", O.ClaimHook(35, "h1", "b"), O.HookCreated(), 40, 50),
        op(5, 0, "b", O.StartRun(34), O.Ok(), 41, 51),
        op(6, 0, "b", O.ClaimHook(34, "h1", "b"), O.HookConflict(35), 60, 70),
        op(7, 0, "b", O.GetRun(35), O.RunInfo(35, "wf-b", "running", None, 2), 80, 90),
        op(8, 2, "b", O.FailRun(35, "err"), O.Ok(), 100, 110),
        op(9, 0, "b", O.CancelRun(35, 0), O.Ok(), 101, 120),
    ]
    v = check_history(v4, h)
    assert v.verdict == NOT_LINEARIZABLE
    assert v.core.culprit == 9
    assert [o.index for o in v.core.ops] == [1, 8, 9]
    assert O.Error("EntityConflictError") in v.core.allowed


def _burst(reads: list[int], swap_last: bool = False) -> list[Operation]:
    """A keyed start, 10 overlapping deliveries to its hook, then 10 sequential polls that read
    the payloads back in the order ``reads`` (the inbox order the store chose); with
    ``swap_last`` the last two polls read in an order no inbox allows (a delivery read twice)."""
    h = [op(1, 0, "a", start("a", 1), O.Started(1), 0, 10)]
    for k in range(10):  # all overlap: any inbox order is allowed
        h.append(op(2 + k, k, "a", O.DeliverPayload(1, "h1", f"p{k}"), O.Ok(), 100 + k, 200 + k))
    for position, k in enumerate(reads):
        if swap_last and position == 9:
            k = reads[0]
        call = 300 + 20 * position
        h.append(
            op(12 + position, k, "a", O.PollPayload(1, "h1"), O.Payload(f"p{k}"), call, call + 10)
        )
    return h


def test_a_burst_of_deliveries_is_ordered_by_its_readers():
    """Trying deliveries in call order searched 840,000 steps over 5 s without a verdict on a
    burst like this (10! inbox orders); ordered by when each payload is read back, the search
    finds the inbox at once. The step count is the search's own (no clock involved)."""
    reads = [7, 2, 9, 0, 5, 3, 8, 1, 6, 4]
    v = check_history(PROFILE, _burst(reads), budget=None)
    assert v.verdict == LINEARIZABLE
    (partition,) = v.partitions
    assert partition.explored < 100
    # reading one delivery twice is refuted, and cheaply: the reads order the deliveries
    # (a FIFO inbox), so the 10! delivery orders are not all tried
    refuted = Checker(PROFILE).check("a", _burst(reads, swap_last=True))
    assert refuted.verdict == NOT_LINEARIZABLE
    assert refuted.explored < 10_000


# -- clock ticks taken in runs (``_merge_ticks``) -------------------------------------------------


def _tick(i, clock, call, ret=None):
    return op(i, -1, None, O.AdvanceClock(), O.Ok(clock), call, call + 1 if ret is None else ret)


def test_only_ticks_nothing_else_can_come_between_are_taken_as_one_step():
    from backends.validate.linearizability import _merge_ticks, _Ticks

    ticks = [_tick(1, 1, 10), _tick(2, 2, 20), _tick(3, 3, 30)]
    merged = _merge_ticks(tuple(ticks), free=None)
    assert [type(o.op) for o in merged] == [_Ticks]
    assert merged[0].op.count == 3 and merged[0].result == (O.Ok(1), O.Ok(2), O.Ok(3))
    # an op overlapping the second tick splits the run: it may take effect on either side of it
    overlapping = op(9, 0, "a", start("a", 1), O.Started(1), 19, 25)
    merged = _merge_ticks((*ticks, overlapping), free=None)
    assert [o.index for o in merged] == [1, 2, 3, 9]
    # an op with no response stays open to the end: no tick after its call is merged
    pending = op(9, 0, "a", start("a", 1), None, 15, None)
    assert [o.index for o in _merge_ticks((*ticks, pending), free=None)] == [1, 2, 3, 9]
    # the op whose answer is not compared stays alone
    assert [type(o.op) for o in _merge_ticks(tuple(ticks), free=2)] == [O.AdvanceClock] * 3


def test_a_wrong_answer_inside_a_run_of_ticks_is_still_caught():
    h = [op(1, 0, "a", start("a", 1), O.Started(1), 0, 5)]
    good = [*h, _tick(2, 1, 10), _tick(3, 2, 20), _tick(4, 3, 30)]
    assert check_history(PROFILE, good).verdict == LINEARIZABLE
    bad = [*h, _tick(2, 1, 10), _tick(3, 3, 20), _tick(4, 3, 30)]
    assert check_history(PROFILE, bad).verdict == NOT_LINEARIZABLE


# per partition: merged ticks decide each in milliseconds; one tick at a time, a refuted
# partition of a thread-recorded history once took over a minute on a loaded CI machine
PARTITION_BUDGET = 10.0


def _verdicts(history, merged: bool) -> list[str]:
    import time

    from backends.validate.linearizability import partitions

    checker = Checker(PROFILE)
    return [
        checker._search(tuple(ops), time.monotonic() + PARTITION_BUDGET, explain=not merged)[0]
        for ops in partitions(history).values()
    ]


def _recorded(profile, make, ops: int) -> tuple[list[Operation], list[Operation]]:
    """A history recorded from the backend ``make()`` builds (4 clients on 3 keys, seed 3), and
    the same history with a tenth of the answers dropped (seeded): unanswered calls."""
    import random

    from backends.validate.workload import run_concurrent

    backend = make()
    backend.start()
    try:
        history = run_concurrent(backend, profile, clients=4, ops=ops, keys=3, seed=3)
    finally:
        backend.close()
    rng = random.Random(7)
    dropped = [
        o._replace(result=None, ret=None) if o.key and rng.random() < 0.1 else o for o in history
    ]
    return history, dropped


def test_taking_ticks_in_runs_never_changes_a_verdict():
    """Every partition of real histories (the reference backend's, a planted retention bug's,
    and both with a tenth of the answers dropped, so unanswered calls straddle ticks) gets the
    same verdict with ticks merged as one tick at a time. The histories are recorded from
    threads, so each run's differ, and a refuted partition of some of them takes the search
    longer than its budget (one tick at a time far more often: what merging is for): a
    partition one side leaves undecided is not compared."""

    from backends import make_backend
    from tests.mutants.zoo import MUTANTS

    compared = set()
    for make in (lambda: make_backend("memory"), lambda: MUTANTS["RetentionOffByOne"]()):
        for h in _recorded(PROFILE, make, ops=300):
            merged, one_by_one = _verdicts(h, merged=True), _verdicts(h, merged=False)
            for a, b in zip(merged, one_by_one, strict=True):
                if UNKNOWN not in (a, b):
                    assert a == b
                    compared.add(a)
    # the comparison saw both verdicts (else it could not tell a merge that refutes too much)
    assert compared == {LINEARIZABLE, NOT_LINEARIZABLE}, compared


def test_every_deadline_lies_within_its_ops_interval():
    """The fast path linearizes ops in deadline order, which respects real time only because
    each deadline lies within its own op's interval: a delivery whose payload a poll called
    before it (and still running) read back is clamped to its own call, not the poll's."""
    from backends.validate.linearizability import _deadlines

    deliver = op(2, 1, "a", O.DeliverPayload(7, "h1", "p"), O.Ok(), 10, 20)
    poll = op(3, 2, "a", O.PollPayload(7, "h1"), O.Payload("p"), 3, 30)
    late_reader = op(4, 3, "a", O.PollPayload(7, "h1"), O.Payload("q"), 40, 50)
    unanswered = op(5, 4, "a", O.GetRun(7), None, 45, None)
    # read back only after it returned: its own return
    early = op(6, 5, "a", O.DeliverPayload(7, "h1", "q"), O.Ok(), 32, 35)
    first = op(1, 0, "a", start("a", 1), O.Started(7), 0, 5)
    ops = (first, deliver, poll, late_reader, unanswered, early)
    deadlines = _deadlines(ops)
    assert deadlines == [5, 10, 30, 50, 45, 35]
    for o, d in zip(ops, deadlines, strict=True):
        assert o.call <= d <= (float("inf") if o.ret is None else o.ret)


# -- the step's inlined common cases ---------------------------------------------------------------


def _reference_step(checker: Checker, state, o):
    """``Checker.step`` as the spec reads: ``Profile.apply`` on the renamed op, then ``unify``."""
    from backends.validate.linearizability import translate_op, unify

    world, mapping = state
    world2, result = checker.profile.apply(world, translate_op(o.op, mapping))
    if o.ret is None:
        return world2, mapping
    new_mapping = unify(o.op, result, o.result, mapping)
    return None if new_mapping is None else (world2, new_mapping)


def test_the_inlined_step_is_apply_then_unify():
    """On every partition of recorded histories (the reference backend's, planted bugs refuted
    in every key, and a tenth of the answers dropped), from every state the deadline order
    reaches, every op steps to the same state (or to None) as ``apply`` then ``unify`` do:
    ops that do not apply there, answers that do not match, ids bound and unbound."""

    from backends import make_backend
    from backends.validate.linearizability import _NOT_APPLIED, _deadlines, partitions
    from tests.mutants.zoo import MUTANTS

    conflict = make_profile("vercel-keyed-start", retention=1, duplicate="conflict-error")
    cases = [
        (PROFILE, lambda: make_backend("memory")),
        (PROFILE, lambda: MUTANTS["ClaimRace"]()),
        (conflict, lambda: MUTANTS["IgnoresDuplicate"]()),
    ]
    outcomes = set()
    for profile, make in cases:
        history, dropped = _recorded(profile, make, ops=200)
        checker = Checker(profile)
        for h in (history, dropped):
            for ops in partitions(h).values():
                deadlines = _deadlines(tuple(ops))
                order = sorted(range(len(ops)), key=deadlines.__getitem__)
                state = (profile.initial(), ())
                for i in order:
                    for o in ops:
                        if type(o.op) in _NOT_APPLIED:
                            continue
                        got = checker.step(state, o)
                        assert got == _reference_step(checker, state, o), o
                        outcomes.add(got is None)
                    state = checker.step(state, ops[i])
                    if state is None:
                        break
    assert outcomes == {True, False}


def test_an_id_the_renaming_has_not_bound_names_no_model_run():
    """Backend id 2 is unbound while model run 2 exists (bound to backend 9): the op is about a
    run the model does not know, whatever its own numbering."""
    world = PROFILE.initial()
    for request, key in ((1, "a"), (2, "b")):
        world, _ = PROFILE.apply(world, start(key, request))
    checker = Checker(PROFILE)
    state = (world, (5, 9))
    for what, answer in ((O.GetRun(2), O.RUN_NOT_FOUND), (O.GetRun(9), O.RUN_NOT_FOUND)):
        o = op(1, 0, "a", what, answer, 0, 1)
        assert (checker.step(state, o) is None) == (what.run_id == 9)
        assert checker.step(state, o) == _reference_step(checker, state, o)
    cancel = op(1, 0, "a", O.CancelRun(2, 0), O.RUN_NOT_FOUND, 0, 1)  # two id fields, by = 0
    assert checker.step(state, cancel) == _reference_step(checker, state, cancel) == state


def test_a_run_of_ticks_steps_as_its_ticks_one_at_a_time():
    """Where ``Profile.tick`` moves the clock alone, a run of ticks is checked against the
    clocks that follow (remembered per clock and count): the same state, or None, as ticking
    one at a time, for right answers and for one wrong answer anywhere in the run."""
    from backends.validate.linearizability import _merged

    fast, slow = Checker(PROFILE), Checker(PROFILE)
    assert fast._clock_only_ticks
    slow._clock_only_ticks = False
    world, _ = PROFILE.apply(PROFILE.initial(), start("a", 1))
    for clock in range(3):
        state = (world._replace(clock=clock), (7,))
        for count in (2, 3, 5):
            answers = [clock + k for k in range(1, count + 1)]
            wrong = [[*answers[:i], answers[i] + 1, *answers[i + 1 :]] for i in range(count)]
            for clocks in (answers, *wrong, answers):  # the right ones again: remembered
                run = _merged([_tick(10 * k, c, 10 * k) for k, c in enumerate(clocks, 1)])
                got = fast.step(state, run)
                assert got == slow.step(state, run)
                assert (got is None) == (clocks != answers)
    assert not Checker(make_profile("vercel-v5"))._clock_only_ticks  # its tick does more


def test_the_step_memo_changes_no_verdict_and_no_step_count():
    """The search's step memo (by the identity of the state a step starts from, starting over
    when full) gives every partition of recorded histories (the reference backend's and planted
    bugs', refuted ones among them, and with a tenth of the answers dropped) the same verdict
    in the same number of steps as stepping every time, with room for every step and with room
    for a handful (so it starts over mid-search)."""
    import time

    from backends import make_backend
    from backends.validate.linearizability import partitions
    from tests.mutants.zoo import MUTANTS

    conflict = make_profile("vercel-keyed-start", retention=1, duplicate="conflict-error")
    cases = [
        (PROFILE, lambda: make_backend("memory")),
        (PROFILE, lambda: MUTANTS["ClaimRace"]()),
        (PROFILE, lambda: MUTANTS["RetentionOffByOne"]()),
        (conflict, lambda: MUTANTS["IgnoresDuplicate"]()),
    ]
    verdicts = set()
    searched = 0
    for profile, make in cases:
        history, dropped = _recorded(profile, make, ops=200)
        checkers = [Checker(profile) for _ in range(3)]
        checkers[1].step_memo_entries = 0
        checkers[2].step_memo_entries = 8
        for h in (history, dropped):
            for ops in partitions(h).values():
                results = [
                    c._search(tuple(ops), time.monotonic() + PARTITION_BUDGET, explain=False)[:2]
                    for c in checkers
                ]
                if any(verdict == UNKNOWN for verdict, _ in results):
                    continue
                assert results[0] == results[1] == results[2]
                verdicts.add(results[0][0])
                searched += results[0][1] > len(ops)  # it backtracked
    assert verdicts == {LINEARIZABLE, NOT_LINEARIZABLE} and searched


def test_a_step_memo_given_up_mid_search_changes_no_verdict_and_no_step_count(monkeypatch):
    """A search that finds too few steps in its memo stops memoizing (``MEMO_MIN_HITS``); given
    up at its first look, after its first window, or kept, the memo leaves the verdict and the
    step count of long searches (over 512 steps: where the memo is looked at) as they are."""
    import backends.validate.linearizability as lin

    # 14 overlapping deliveries read back in reverse, the last one twice: refuted by a search
    # over delivery orders of some 900 steps, changing the world on the way
    deliveries = [
        op(2 + k, k, "a", O.DeliverPayload(1, "h1", f"p{k}"), O.Ok(), 100 + k, 200 + k)
        for k in range(14)
    ]
    polls = [
        op(16 + i, k, "a", O.PollPayload(1, "h1"), O.Payload(f"p{k}"), 300 + 20 * i, 310 + 20 * i)
        for i, k in enumerate([*range(13, 0, -1), 13])
    ]
    cases = [
        ("a", _hard("a")),
        ("a", [op(1, 0, "a", start("a", 1), O.Started(1), 0, 10), *deliveries, *polls]),
        ("a", _hard("a")[:300]),
    ]
    longest = 0
    for key, ops in cases:
        results = []
        for window, min_hits in ((lin.MEMO_WINDOW, lin.MEMO_MIN_HITS), (1, 10**9), (512, 10**9)):
            monkeypatch.setattr(lin, "MEMO_WINDOW", window)
            monkeypatch.setattr(lin, "MEMO_MIN_HITS", min_hits)
            result = Checker(PROFILE).check(key, ops)
            results.append((result.verdict, result.explored))
        no_memo = Checker(PROFILE)
        no_memo.step_memo_entries = 0
        result = no_memo.check(key, ops)
        results.append((result.verdict, result.explored))
        assert len(set(results)) == 1, results
        longest = max(longest, results[0][1])
    assert longest > 512
