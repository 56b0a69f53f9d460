"""The v5 World (hook minimum retention, RunExpiredError), upstream's atomic start, P1's stale
reads, the replayed crashes and the owner failures, op by op."""

from __future__ import annotations

from catalog.parse import parse_scenario
from model import ops as O
from model.profiles import make_profile
from model.state import COMPLETED
from properties import PROPERTIES
from simulator.explorers import HOLDS, VIOLATED, check
from simulator.system import System


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


def claimed(profile):
    """r1 created, started and holding token k (claimed at tick 0)."""
    w, rs = apply_all(
        profile, profile.initial(), O.CreateRun("wf", 1), O.StartRun(1), O.ClaimHook(1, "h1", "k")
    )
    assert rs[-1] == O.HookCreated()
    return w


# -- v5: retention ------------------------------------------------------------------------------


def test_without_retention_the_token_is_free_when_the_run_ends():
    p = make_profile("vercel-v5")
    w, _ = apply_all(p, claimed(p), O.CompleteRun(1, "out"), O.CreateRun("wf", 2), O.StartRun(2))
    w, rs = apply_all(p, w, O.ClaimHook(2, "h1", "k"))
    assert rs == [O.HookCreated()]


def test_a_retained_hook_conflicts_and_is_readable_but_not_resumable():
    p = make_profile("vercel-v5", min_retention=3)
    w, _ = apply_all(p, claimed(p), O.CompleteRun(1, "out"), O.CreateRun("wf", 2), O.StartRun(2))
    w, rs = apply_all(
        p, w, O.ClaimHook(2, "h1", "k"), O.GetHookByToken("k"), O.DeliverPayload(1, "h1", "p")
    )
    assert rs == [O.HookConflict(1), O.HookInfo(1, "h1"), O.Error("RunExpiredError")]


def test_retention_counts_from_create_hook_and_an_active_run_keeps_its_hook():
    p = make_profile("vercel-v5", min_retention=1)
    w = ticks(p, claimed(p), 3)  # past the deadline (t=1), but r1 still runs
    w, rs = apply_all(p, w, O.CreateRun("wf", 2), O.StartRun(2), O.ClaimHook(2, "h1", "k"))
    assert rs[-1] == O.HookConflict(1)
    w, rs = apply_all(p, w, O.CompleteRun(1, "out"))  # ends after its window: released at once
    assert w.hook_by_token("k") is None


def test_dispose_frees_a_retained_token_at_once():
    p = make_profile("vercel-v5", min_retention=5)
    w, rs = apply_all(p, claimed(p), O.DisposeHook(1, "h1"), O.CreateRun("wf", 2), O.StartRun(2))
    w, rs = apply_all(p, w, O.ClaimHook(2, "h1", "k"))
    assert rs == [O.HookCreated()]


def test_a_cancelled_owner_keeps_its_retained_token_so_supersede_cannot_reclaim():
    p = make_profile("vercel-v5", min_retention=5)
    w, _ = apply_all(p, claimed(p), O.CreateRun("wf", 2), O.StartRun(2))
    w, rs = apply_all(p, w, O.CancelRun(1, by=2), O.ClaimHook(2, "h1", "k"))
    assert rs == [O.Ok(), O.HookConflict(1)]


def test_lapsed_rows():
    for lapsed, row_stays, free in (
        ("deleted", False, True),
        ("kept", True, True),
        ("blocking", True, False),
    ):
        p = make_profile("vercel-v5", min_retention=1, lapsed_rows=lapsed)
        w, _ = apply_all(p, claimed(p), O.CompleteRun(1, "out"))
        later = p.after_time(w)
        assert (later.hook_by_token("k") is not None) == row_stays, lapsed
        assert p.token_free(later, "k") == free, lapsed


def test_v5_closes_the_v4_release_gap():
    # atomic_release = false: the run ended, its hook row is still there; v5 replaces it
    p = make_profile("vercel-v5", atomic_release=False)
    w, _ = apply_all(p, claimed(p), O.CompleteRun(1, "out"), O.CreateRun("wf", 2), O.StartRun(2))
    assert w.hook_by_token("k") is not None
    w, rs = apply_all(p, w, O.ClaimHook(2, "h1", "k"))
    assert rs == [O.HookCreated()] and w.hook_by_token("k").run_id == 2


# -- upstream's atomic start against the seed's P0 -------------------------------------------------


def test_atomic_start_answers_a_duplicate_with_the_owner_id_only():
    up = make_profile("vercel-atomic-start")
    w, rs = apply_all(up, up.initial(), O.KeyedStart("wf", 1, "k"), O.KeyedStart("wf", 2, "k"))
    assert rs == [O.Started(1), O.Error("HookConflictError", 1)]
    assert len(w.runs) == 1 and w.hook_by_token("k").run_id == 1
    # resumeHook works before the run executes: early payloads are buffered in order
    w, rs = apply_all(up, w, O.DeliverPayload(1, "h1", "a"), O.DeliverPayload(1, "h1", "b"))
    assert w.hook_by_token("k").inbox == ("a", "b")


def test_where_the_contracts_differ_an_owner_that_outlives_its_window():
    # admitted at t=0, window 1, the owner runs until t=2: upstream counts from admission
    # (createHook) and frees the token when the run ends; P0 counts from the run's end
    up = make_profile("vercel-atomic-start", min_retention=1)
    p0 = make_profile("vercel-keyed-start", retention=1)
    answers = []
    for p in (up, p0):
        w, _ = apply_all(p, p.initial(), O.KeyedStart("wf", 1, "k"), O.StartRun(1))
        w = ticks(p, w, 2)
        w, rs = apply_all(p, w, O.CompleteRun(1, "out"), O.KeyedStart("wf", 2, "k"))
        answers.append(rs[-1])
    assert answers == [O.Started(2), O.Existing(1, COMPLETED, "out")]


# -- P1 on the analytics API ------------------------------------------------------------------------


def test_analytics_lag_hides_a_just_completed_run():
    for lag, seen in ((0, (1,)), (1, ())):
        p = make_profile("vercel-attribute-lookup", analytics_lag=lag)
        w, _ = apply_all(
            p,
            p.initial(),
            O.CreateRun("wf", 1, (("idempotency", "k"),)),
            O.StartRun(1),
            O.CompleteRun(1, "out"),
        )
        _, rs = apply_all(p, w, O.ListRuns("wf", COMPLETED, ("idempotency", "k")))
        assert rs == [O.RunList(seen)], lag
        _, rs = apply_all(p, p.tick(w), O.ListRuns("wf", COMPLETED, ("idempotency", "k")))
        assert rs == [O.RunList((1,))], lag


# -- replayed crashes and failing owners -----------------------------------------------------------

ONE = """
name = "one"
profile = "{profile}"
properties = {properties}
[bounds]
max_depth = 40
max_crashes = {crashes}
[[requests]]
strategy = "{strategy}"
key = "k"
payload = "p"
{options}
"""


def one(strategy, profile="vercel-today", crashes=0, properties=("no-silent-loss",), options=""):
    text = ONE.format(
        profile=profile,
        strategy=strategy,
        crashes=crashes,
        properties=list(properties).__repr__().replace("'", '"'),
        options=options,
    )
    return parse_scenario(text)


def test_a_crash_is_offered_only_inside_an_effect_step():
    # crashes elsewhere replay to the very state they crashed in (a stutter), so none is drawn
    system = System(one("resume-or-start", crashes=1))
    seen, frontier, crashed_in = {system.initial()}, [system.initial()], set()
    while frontier:
        state = frontier.pop()
        for label, nxt in system.successors(state):
            if label.startswith("crash"):
                slot = system.slot_of(label.split()[1])
                crashed_in.add(type(state.procs[slot][1]).__name__)
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    assert crashed_in == {"PerformEffect"}


def test_owners_fail_before_or_after_their_effect_for_every_strategy():
    # one request, its run fails as asked: the effect ran (after) or not (before), on any
    # strategy and profile, and no-silent-loss catches the fire-and-forget callers
    cases = (
        ("reject", "vercel-today", True),  # start() answers at once: nobody hears of it
        ("adopt", "vercel-v5", False),  # the caller awaits the run and gets the failure
        ("keyed-adopt", "vercel-atomic-start", True),
        ("keyed-forward", "vercel-keyed-start", True),
        ("app-record", "vercel-today", False),
        ("keyed-execute", "dbos", False),
    )
    for strategy, profile, silent in cases:
        for ends, effects in (("failed-before-effect", 0), ("failed-after-effect", 1)):
            scenario = one(strategy, profile, options=f'options = {{ ends = "{ends}" }}')
            system = System(scenario)
            state = system.initial()
            while system.actions(state):  # one request: any schedule reaches the same end
                state, _ = system.step(state, system.actions(state)[0])
            assert state.world.runs[0].status == "failed", (strategy, ends)
            assert len(state.world.effects) == effects, (strategy, ends)
            message = PROPERTIES["no-silent-loss"].check(system, state)
            assert (message is not None) == (silent and effects == 0), (strategy, ends, message)


def test_new_properties_are_registered_with_evidence():
    for name in ("no-silent-loss", "tokens-eventually-freed", "no-retained-row-outlives-window"):
        assert PROPERTIES[name].evidence is not None
    system = System(one("reject"))
    assert PROPERTIES["no-lost-signal"].evidence_in(system) is None  # reject sends no payload
    assert PROPERTIES["tokens-eventually-freed"].evidence_in(system) is None


def test_verdicts_of_the_new_semantics():
    assert (
        check(
            one(
                "keyed-adopt", "vercel-keyed-start", crashes=1, properties=("at-most-once-effect",)
            ),
            "bfs",
        ).verdict
        == VIOLATED
    )
    assert (
        check(one("resume-or-start", crashes=1, properties=("no-stranded-run",)), "bfs").verdict
        == HOLDS
    )
