"""``vercel-keyed-start``: the seed's P0, an atomic keyed ``start(fn, args, {key})``.

One write admits the run, claims the key as the run's hook token (hook ``h1``, so duplicates can
still signal the owner with ``resumeHook(key)``) and records the key in key memory. A duplicate
gets the existing run (``created: false``: ``Existing(run, status, output)``; a completed owner's
output is the reusable result) or, with ``duplicate = "conflict-error"`` (the open PRs' shape), a
``HookConflictError`` naming the owner.

How long the key is remembered (``retention`` ticks):

* ``retention_from = "end"`` (default; the seed's wording): reserved while the run is live and for
  ``retention`` ticks after it ends;
* ``retention_from = "claim"`` (v5 beta ``experimental_minRetention``): free only once the run has
  ended AND ``retention`` ticks have passed since the claim.

Expiry is evaluated when a start looks the key up, so the clock never needs to rewrite the state.
"""

from __future__ import annotations

from model import ops as O
from model.profiles.base import MatrixRow, Option, V4World
from model.state import TERMINAL, Hook, KeyEntry, WorldState

KEY_HOOK_ID = "h1"


def key_reserved(world: WorldState, entry: KeyEntry, retention: int, from_claim: bool) -> bool:
    """Is ``entry`` still holding its key at ``world.clock``?"""
    run = world.run(entry.run_id)
    if run is None or run.status not in TERMINAL:
        return True
    start = entry.claimed_at if from_claim else run.ended_at
    return world.clock < start + retention


class VercelKeyedStart(V4World):
    name = "vercel-keyed-start"
    description = "P0: atomic keyed start returning {run, created}, key kept for a retention window"
    FAMILIES = frozenset({"keyed-start", "keyed-hook"})
    MATRIX_ROWS = (
        MatrixRow(
            "Vercel P0 keyed start",
            (("retention", 2),),
            ("keyed-adopt", "keyed-reject", "keyed-forward"),
            rank=50,
        ),
    )
    OPTIONS = {
        **V4World.OPTIONS,
        "retention": Option(2, kind=int, doc="ticks the key stays reserved (see retention_from)"),
        "retention_from": Option(
            "end", choices=("end", "claim"), doc="count retention from the run's end or the claim"
        ),
        "duplicate": Option(
            "existing",
            choices=("existing", "conflict-error"),
            doc="a duplicate sees {run, created: false} or HookConflictError(owner)",
        ),
    }
    HANDLERS = {**V4World.HANDLERS, O.KeyedStart: "keyed_start"}

    def keyed_start(self, world: WorldState, op: O.KeyedStart):
        entry = world.key_entry(op.key)
        if entry is not None and key_reserved(
            world, entry, self.options["retention"], self.options["retention_from"] == "claim"
        ):
            owner = world.runs[entry.run_id - 1]
            if self.options["duplicate"] == "conflict-error":
                return world, O.Error("HookConflictError", owner.id)
            return world, O.Existing(owner.id, owner.status, owner.output)
        holder = world.hook_by_token(op.key)
        if holder is not None:
            # the key is free in key memory but a live hook (claimed by a body) holds the token
            return world, O.Error("HookConflictError", holder.run_id)
        world, run = self.new_run(world, op)
        world = world.with_hooks(world.hooks + (Hook(op.key, run.id, KEY_HOOK_ID),))
        world = world.with_key(KeyEntry(op.key, run.id, world.clock))
        return world, O.Started(run.id)
