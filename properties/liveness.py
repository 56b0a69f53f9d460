"""Liveness of tokens: a token is eventually freed, and no retained row outlives its window.

Both are checked on final states (nothing but the clock can move) under fair scheduling: time
keeps passing, so the check looks at the world once every retention deadline has passed
(``Profile.after_time``) and asks the profile whether the token can be claimed then
(``Profile.token_free``). In a bounded search that is the whole of the liveness argument: a
final state is where every fair path ends up, and past the deadlines nothing else happens.

Why: hook minimum retention (vercel/workflow PRs #2865, #2866, #3276) keeps an ended run's token
unavailable until its deadline; the review of PR #3276 found world-postgres never deletes a lapsed
retained row (``vercel-v5``'s ``lapsed_rows = "kept"``); a World whose claim then still conflicts
on it would never free the token (``"blocking"``).
"""

from __future__ import annotations

from model.state import TERMINAL
from properties import evidence as E
from properties.base import FINAL, register


def _ended_hooks(world):
    return [h for h in world.hooks if world.runs[h.run_id - 1].status in TERMINAL]


@register(
    "tokens-eventually-freed",
    FINAL,
    "Under fair scheduling, a token whose run has ended and whose retention has passed becomes "
    "claimable again.",
    evidence=E.token_outlives_run,
    symmetric=True,  # audited: hooks of one token at a time, run ids only as identities
    logs=(),
)
def tokens_eventually_freed(system, state) -> str | None:
    ended = _ended_hooks(state.world)
    if not ended:
        return None
    profile = system.profile
    later = profile.after_time(state.world)
    for hook in ended:
        if not profile.token_free(later, hook.token):
            run = later.runs[hook.run_id - 1]
            return (
                f"token {hook.token!r} of r{hook.run_id} ({run.status}, retained until "
                f"t={hook.retain_until}) is never freed: at t={later.clock} a claim still conflicts"
            )
    return None


@register(
    "no-retained-row-outlives-window",
    FINAL,
    "No retained hook row of an ended run is still stored for good once its retention window has "
    "passed (storage does not leak).",
    evidence=E.token_outlives_run,
    symmetric=True,  # audited: as tokens-eventually-freed
    logs=(),
)
def no_retained_row_outlives_window(system, state) -> str | None:
    if not _ended_hooks(state.world):
        return None
    later = system.profile.after_time(state.world)
    for hook in _ended_hooks(later):
        if hook.retain_until is None or later.clock >= hook.retain_until:
            return (
                f"the row of token {hook.token!r} (r{hook.run_id}, window until "
                f"t={hook.retain_until}) is still stored at t={later.clock} and nothing deletes it"
            )
    return None
