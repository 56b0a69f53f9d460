"""The built-in properties."""

from __future__ import annotations

import itertools

from model.ops import ConsumePayload, describe
from model.outcomes import (
    Adopted,
    Done,
    DuplicateOf,
    Failed,
    ForwardedTo,
    Succeeded,
    Superseded,
    WorkResult,
    typed,
)
from properties import evidence as E
from properties.base import FINAL, INVARIANT, register


@register(
    "single-owner",
    INVARIANT,
    "At every moment at most one live hook holds a given token: the key has one owner.",
    reads=("world",),
    symmetric=True,
    evidence=E.contention,
    logs=(),
)
def single_owner(system, state) -> str | None:
    hooks = state.world.hooks
    for a, b in itertools.pairwise(hooks):  # hooks are sorted by token
        if a.token == b.token:
            return f"token {a.token!r} is held by runs r{a.run_id} and r{b.run_id} at once"
    return None


@register(
    "at-most-once-effect",
    INVARIANT,
    "Among requests for one key that arrive within the dedupe window of each other, the "
    "duplicate-sensitive effect runs at most once (the user's requirement, not the system's memory).",
    reads=("world", "arrivals"),
    symmetric=True,
    evidence=E.duplicates,
    logs=("effects",),
)
def at_most_once_effect(system, state) -> str | None:
    effects = state.world.effects
    if len(effects) < 2:
        return None
    window = system.bounds.dedupe_window
    arrivals = state.arrivals
    # only the newest effect can create a new violation, but a state may be checked cold
    # (replay, reports), so compare every pair; effects are few
    requests = system.requests
    for j in range(1, len(effects)):
        b = effects[j]
        for a in effects[:j]:
            # one effect per (workflow, key): two workflows that share a key do different work
            if (
                a.key != b.key
                or requests[a.request - 1].workflow != requests[b.request - 1].workflow
            ):
                continue
            ta, tb = arrivals[a.request - 1], arrivals[b.request - 1]
            if abs(ta - tb) <= window:
                who = (
                    f"request req{a.request} (twice)"
                    if a.request == b.request
                    else f"requests req{a.request} (arrived t={ta}) and req{b.request} (arrived t={tb})"
                )
                return (
                    f"effect for key {a.key!r} ran twice, by r{a.run_id} and r{b.run_id}, for "
                    f"{who}, within the dedupe window of {window} ticks"
                )
    return None


# -- helpers over the system state ------------------------------------------------------------


def _client_outcomes(system, state):
    """(request index, outcome) for every request whose client process has finished."""
    for i, proc in enumerate(state.procs[: system.n], start=1):
        if proc is not None and type(proc[1]) is Done:
            yield i, proc[1].outcome


def _body_outcomes(system, state):
    """(run id, outcome) for every workflow body that has finished."""
    for run_id, proc in enumerate(state.procs[system.n :], start=1):
        if type(proc[1]) is Done:
            yield run_id, proc[1].outcome


# the errors a signal meets when its target is gone: v4's HookNotFoundError, and v5's
# RunExpiredError for a hook_received on an ended run (a retained hook is not resumable)
SIGNAL_LOST = ("HookNotFoundError", "RunExpiredError")


def _unhandled(outcome) -> bool:
    """An outcome that ends on a HookNotFoundError (v5: RunExpiredError) the code did not handle
    (named anywhere in the error: its name, or the reason a body failed with)."""
    return isinstance(outcome, Failed) and any(name in repr(outcome) for name in SIGNAL_LOST)


def _lost_name(outcome) -> str:
    return next(name for name in SIGNAL_LOST if name in repr(outcome))


# -- the semantics issue's properties ---------------------------------------------------------


@register(
    "no-lost-signal",
    FINAL,
    "Every payload a request sends is consumed by a run, or comes back to the sender as an error "
    "it handles; no request or run ends on an unhandled HookNotFoundError (v5: RunExpiredError).",
    symmetric=True,
    evidence=E.payload_sent,
    # effects only as "which requests' runs did the work"
    logs=("delivered", "consumed"),
    log_fields={"effects": ("request",)},
)
def no_lost_signal(system, state) -> str | None:
    world = state.world
    for run_id, outcome in _body_outcomes(system, state):
        if _unhandled(outcome):
            run = world.runs[run_id - 1]
            return (
                f"r{run_id} (for req{run.request}) failed on an unhandled "
                f"{_lost_name(outcome)}: payload "
                f"{system.requests[run.request - 1].payload!r} is lost"
            )
    for i, outcome in _client_outcomes(system, state):
        if _unhandled(outcome):
            return (
                f"req{i} ended on an unhandled {_lost_name(outcome)}: payload "
                f"{system.requests[i - 1].payload!r} never reached a run"
            )
    consumed = {payload for payload, _ in world.consumed}
    worked_for = {effect.request for effect in world.effects}
    for i, arrived in enumerate(state.arrivals, start=1):
        if arrived is None or not system.spec(i).sends_payload:
            continue
        payload = system.requests[i - 1].payload
        if payload in consumed or i in worked_for:
            continue
        delivered = [run_id for p, run_id in world.delivered if p == payload]
        if delivered:
            return (
                f"payload {payload!r} of req{i} was delivered to r{delivered[-1]}, which ended "
                "without consuming it"
            )
        return f"payload {payload!r} of req{i} never reached a run that consumed it"
    return None


def _newest_settles(system, state) -> str | None:
    world = state.world
    newest_by_key: dict[str, int] = {}
    for request in state.order:
        newest_by_key[system.requests[request - 1].key] = request
    for key, request in newest_by_key.items():
        winners = [e.request for e in world.effects if e.key == key]
        if not winners or winners[-1] != request:
            last = f"req{winners[-1]}'s run" if winners else "no run"
            return f"key {key!r} settled with {last} as owner, not the newest request req{request}"
    return None


@register(
    "newest-wins",
    INVARIANT,
    "Supersede semantics: no run is cancelled on behalf of a request older than the run's own "
    "request, and when everything settles the key's owner is the newest request's run.",
    ghost=("arrival_order",),
    only_for=("supersede",),
    settle=_newest_settles,
    reads=("world", "order"),
    symmetric=True,
    evidence=E.contention,
    logs=("cancels", "effects"),
)
def newest_wins(system, state) -> str | None:
    world = state.world
    if not world.cancels:
        return None
    rank = {request: position for position, request in enumerate(state.order)}
    for by, victim in world.cancels:
        older = world.runs[by - 1].request
        newer = world.runs[victim - 1].request
        if rank.get(older, -1) < rank.get(newer, -1):
            return (
                f"r{by} (for req{older}) cancelled r{victim} (for req{newer}), which belongs to "
                f"a newer request"
            )
    return None


@register(
    "no-stranded-run",
    FINAL,
    "No run ends up waiting forever for a payload that was already consumed or sent elsewhere.",
    symmetric=True,
    evidence=E.payload_sent,
    logs=("delivered", "consumed"),
)
def no_stranded_run(system, state) -> str | None:
    world = state.world
    for run_id, proc in enumerate(state.procs[system.n :], start=1):
        pending = proc[1]
        if type(pending) is not ConsumePayload:
            continue
        if system.profile.enabled(world, pending):
            continue
        run = world.runs[run_id - 1]
        payload = system.requests[run.request - 1].payload
        # stranded = waiting for a payload that was consumed by or sent to another run; a run
        # that waits for payloads nobody sent yet (an entity between requests) is idle, not stuck
        elsewhere = [r for p, r in world.delivered if p == payload and r != run_id]
        if not elsewhere or any(p == payload and r == run_id for p, r in world.consumed):
            continue
        return (
            f"r{run_id} (started for req{run.request}) waits forever on its hook: payload "
            f"{payload!r} went to r{elsewhere[-1]}"
        )
    return None


@register(
    "result-matches-owner",
    INVARIANT,
    "A result a duplicate adopts was returned by a run of the same workflow for the same key.",
    reads=("world", "clients"),
    symmetric=True,
    evidence=E.contention,
    logs=(),
)
def result_matches_owner(system, state) -> str | None:
    def check(who: str, request_index: int, output) -> str | None:
        output = typed(output)
        if not isinstance(output, Adopted):
            return None
        owner = typed(output.owner_result())
        request = system.requests[request_index - 1]
        if not isinstance(owner, WorkResult):
            return None
        workflow, key, owner_request = owner.workflow, owner.key, owner.request
        if (workflow, key) != (request.workflow, request.key):
            return (
                f"{who} (workflow {request.workflow!r}, key {request.key!r}) adopted the result "
                f"of req{owner_request}'s run of workflow {workflow!r} for key {key!r}"
            )
        return None

    for run in state.world.runs:
        if run.status == "completed":
            message = check(f"r{run.id}", run.request, run.output)
            if message:
                return message
    for i, outcome in _client_outcomes(system, state):
        if isinstance(outcome, Succeeded):
            message = check(f"req{i}", i, outcome.value)
            if message:
                return message
    return None


# what a run returns when it was created and executed only to learn it is a duplicate
WASTED = (DuplicateOf, Adopted, ForwardedTo)


@register(
    "no-wasted-run",
    INVARIANT,
    "No run is created and executed only to discover that it is a duplicate (the admission "
    "cost of claiming the key inside the run).",
    reads=("world",),
    symmetric=True,
    evidence=E.duplicates,
    logs=(),
)
def no_wasted_run(system, state) -> str | None:
    wasted = [
        run
        for run in state.world.runs
        if run.status == "completed" and isinstance(typed(run.output), WASTED)
    ]
    if not wasted:
        return None
    run = wasted[0]
    return (
        f"r{run.id} was created and executed for req{run.request} only to end as a duplicate "
        f"({typed(run.output).TAG}); {len(wasted)} wasted run(s) in this state"
    )


@register(
    "no-failed-request",
    INVARIANT,
    "No request ends in an error its caller would see as a failure (e.g. supersede's "
    '"could not claim").',
    reads=("clients",),
    symmetric=True,
    evidence=E.every,
    logs=(),
)
def no_failed_request(system, state) -> str | None:
    for i, outcome in _client_outcomes(system, state):
        if isinstance(outcome, Failed):
            detail = " ".join(
                str(part) for part in (outcome.name, outcome.detail) if part is not None
            )
            return f"req{i} failed: {detail}"
    return None


# answers that carry the work's result (or say the request was cut short on purpose): a caller
# holding one knows whether the work happened
RESULT_ANSWERS = (Adopted, WorkResult, Superseded)


@register(
    "no-silent-loss",
    FINAL,
    'No request is answered success (its run started, "duplicate of X", forwarded, dropped) while '
    "the work for its key is never done and no caller for that key is told of a failure.",
    # audited: reads requests through workflow and key (equal for the requests a renaming
    # swaps) and run ids only in its message; a final property, compares one key's entries only
    symmetric=True,
    evidence=E.failure_possible,
    # effects only as "which (workflow, key) had its work done"
    logs=(),
    log_fields={"effects": ("key", "request")},
)
def no_silent_loss(system, state) -> str | None:
    requests = system.requests
    done = {(requests[e.request - 1].workflow, e.key) for e in state.world.effects}
    outcomes = list(_client_outcomes(system, state))
    told = {
        (requests[i - 1].workflow, requests[i - 1].key)
        for i, outcome in outcomes
        if isinstance(outcome, Failed)
    }
    for i, outcome in outcomes:
        if not isinstance(outcome, Succeeded):
            continue
        answer = typed(outcome.value)
        if isinstance(answer, RESULT_ANSWERS):
            continue
        request = requests[i - 1]
        what = (request.workflow, request.key)
        if what in done or what in told:
            continue
        return (
            f"req{i} was answered {describe(answer)} but no run did the work for key "
            f"{request.key!r} and no caller was told it failed"
        )
    return None


@register(
    "no-reclaim-race",
    INVARIANT,
    "Supersede's re-claim finds the token it freed: no run cancels one owner and then, "
    "re-claiming, meets another run that claimed in between and cancels it too (the ABA shape of "
    "the seed's gap 4).",
    only_for=("supersede",),
    reads=("world",),
    symmetric=True,
    evidence=E.crowd,
    logs=("cancels",),
)
def no_reclaim_race(system, state) -> str | None:
    first: dict[int, int] = {}
    for by, victim in state.world.cancels:
        if by in first and first[by] != victim:
            runs = state.world.runs
            return (
                f"r{by} (for req{runs[by - 1].request}) cancelled r{first[by]} (for "
                f"req{runs[first[by] - 1].request}), and its re-claim met r{victim} (for "
                f"req{runs[victim - 1].request}), which had claimed the freed token in between: "
                f"it cancelled that one too"
            )
        first.setdefault(by, victim)
    return None
