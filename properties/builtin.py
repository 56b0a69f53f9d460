"""The built-in properties."""

from __future__ import annotations

import itertools

from properties import INVARIANT, register


@register(
    "single-owner",
    INVARIANT,
    "At every moment at most one live hook holds a given token: the key has one owner.",
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
)
def at_most_once_effect(system, state) -> str | None:
    effects = state.world.effects
    if len(effects) < 2:
        return None
    window = system.bounds.dedupe_window
    arrivals = state.arrivals
    # only the newest effect can create a new violation, but a state may be checked cold
    # (replay, reports), so compare every pair; effects are few
    for j in range(1, len(effects)):
        b = effects[j]
        for a in effects[:j]:
            if a.key != b.key:
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
