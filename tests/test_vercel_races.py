"""The seed's named races, replayed step by step on the model (in addition to the BFS-minimal
counterexamples pinned in test_catalog.py, which are often a different, shorter path)."""

from __future__ import annotations

from dataclasses import replace

from catalog import catalog
from model import ops as O
from properties import PROPERTIES
from simulator.explorers import check
from simulator.system import System


def replay(name, labels):
    system = System(catalog()[name])
    state, steps = system.replay(labels)
    return system, state, steps


def test_supersede_aba_third_arrival_claims_between_cancel_and_reclaim():
    labels = [
        "arrive req1",
        "req1",
        "r1",
        "r1",  # r1 owns cart:1
        "arrive req2",
        "req2",
        "r2",
        "r2",
        "r2",  # r2 conflicts and cancels r1
        "arrive req3",
        "req3",
        "r3",
        "r3",  # r3 claims the freed token before r2 re-claims
        "r2",
        "r2",  # r2's re-claim conflicts with r3, and r2 cancels r3
    ]
    system, state, steps = replay("supersede-aba", labels)
    assert steps[12].result == O.HookCreated()  # r3 owns it
    assert steps[13].result == O.HookConflict(3)
    assert steps[14].op == O.CancelRun(3, by=2)
    message = PROPERTIES["newest-wins"].check(system, state)
    assert message == "r2 (for req2) cancelled r3 (for req3), which belongs to a newer request"


def test_signal_owner_completes_mid_forward_hook_not_found():
    labels = [
        "arrive req1",
        "req1",
        "r1",
        "r1",  # r1 owns doc:1
        "arrive req2",
        "req2",
        "r2",
        "r2",  # r2 conflicts with r1
        "r2",
        "r2",  # r2 sees r1 running, resumeHook step 1: getByToken -> r1
        "r1",
        "r1",
        "r1",  # r1 works, finds its hook empty, completes (token released)
        "r2",
        "r2",  # resumeHook step 2 reads r1; step 3 appends: HookNotFound
    ]
    system, state, steps = replay("signal-forward-race", labels)
    assert steps[9].result == O.HookInfo(1, "h1")
    assert steps[14].op == O.DeliverPayload(1, "h1", "edit-b")
    assert steps[14].result == O.HOOK_NOT_FOUND
    state, _ = system.step(state, "r2")  # the unhandled error fails the duplicate run
    message = PROPERTIES["no-lost-signal"].check(system, state)
    assert message == (
        "r2 (for req2) failed on an unhandled HookNotFoundError: payload 'edit-b' is lost"
    )


def test_signal_delivered_after_last_drain_is_never_consumed():
    labels = [
        "arrive req1",
        "req1",
        "r1",
        "r1",
        "r1",  # r1 owns doc:1 and works
        "arrive req2",
        "req2",
        "r2",
        "r2",  # r2 conflicts
        "r2",
        "r2",
        "r2",
        "r2",  # r2 forwards: owner running, lookup, read, append -> ok
        "r2",  # r2 returns forwarded-to r1
    ]
    system, state, steps = replay("signal-forward-race", labels)
    assert steps[12].result == O.Ok()  # delivered into r1's inbox
    # r1 drains the payload if it polls now; if it had polled before the append, it completes
    # with the payload still in the inbox. Schedule that order instead:
    labels_lost = labels[:5] + ["r1"] + labels[5:] + ["r1"]
    system, state, steps = replay("signal-forward-race", labels_lost)
    assert steps[5].op == O.PollPayload(1, "h1") and steps[5].result == O.Ok(None)
    assert steps[-1].op == O.CompleteRun(1, ("result", "doc", "doc:1", 1))
    assert PROPERTIES["no-lost-signal"].check(system, state) == (
        "payload 'edit-b' of req2 was delivered to r1, which ended without consuming it"
    )


def test_resume_or_start_route_can_exhaust_its_retries():
    result = check(catalog()["stranded-waiter"], "bfs")
    failed = next(v for v in result.violations if v.property == "no-failed-request")
    assert failed.message == "req1 failed: HookNotFoundError resume retries exhausted"
    lookups = [s for s in failed.steps if s.op == O.GetHookByToken("chat:1")]
    assert len(lookups) == 6  # the first resume and 5 retries, all before r1 registered its hook


def test_entity_pattern_is_not_free():
    """The entity scenario holds for what it lists; the matrix's other columns are real costs."""
    scenario = catalog()["entity-pattern"]
    everything = replace(scenario, properties=("no-wasted-run", "no-failed-request"))
    result = check(everything, "bfs")
    assert result.properties == {"no-wasted-run": "violated", "no-failed-request": "violated"}
