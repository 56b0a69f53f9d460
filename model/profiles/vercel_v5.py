"""``vercel-v5``: the Vercel Workflow v5 World (``@workflow/world`` 5.0.0-beta.37,
``@workflow/world-local`` 5.0.0-beta.46, runtime ``@workflow/core`` / ``workflow`` 5.0.0-beta.55).

Client code is v4's (``start()`` always creates a run, the body claims its key as a hook token,
``resumeHook`` is lookup, read, append), so every ``vercel-v4`` strategy runs here. What the World
does differently, read from world-local 5.0.0-beta.46 ``dist/storage/events-storage.js`` and the
``workflow`` 5.0.0-beta.55 docs (``docs/foundations/idempotency.mdx``,
``docs/api-reference/workflow/create-hook.mdx``):

* ``hook_received`` on an ended run whose hook row is still stored (retained, or not yet deleted
  by the end's second write) throws ``RunExpiredError`` ("Workflow run ... is already in a
  terminal state", checked before the append and again before the promote), not
  ``HookNotFoundError``: a forward that loses the race to the owner's end sees this error. The
  hook row is looked up first, though (world-local ``events-storage.js``, "Hook-related event
  validation"; world-postgres ``storage.js`` likewise): once the end has deleted it, the answer is
  ``HookNotFoundError``, as on v4.
* Replaying one's own claim answers ``EntityConflictError`` (the claim's ``owned`` branch), as v4.
* **Hook minimum retention** (``createHook({ token, experimental_minRetention })``, vercel/workflow
  PRs #2865, #2866, #3276; ``hook_created.eventData.tokenRetentionUntil``, capability
  ``hookRetention.active``): option ``min_retention`` (ticks; 0 = none) stands for every
  ``createHook`` of the scenario passing it. The window is measured from ``createHook`` (the
  claim); the token is free only once the run has ended *and* the deadline has passed
  (``isHookTokenClaimReleasable``: owner terminal and ``tokenRetentionUntil <= now``); an active
  run keeps its hook past the deadline ("The Hook remains active until the workflow ends, even if
  the configured time passes first"); ``dispose()`` frees it at once ("``using`` auto-disposes
  the Hook at scope exit, which releases the token immediately"), so supersede, which cancels
  the owner and re-claims, does not combine with retention ("canceling the old run does not make
  its token available early"); a retained hook stays readable (``getHookByToken``) but cannot be
  resumed (the ``RunExpiredError`` above).
* The release gap of v4 (``atomic_release = false``: the run ends, its hooks are deleted in a
  second write) cannot block a successor: a claim finding a claim whose owner is terminal and past
  retention replaces it under the token's claim lock (issue #2778). Option ``stale_claims``:
  ``replaced`` (that, world-local 5.0.0-beta.46) or ``conflict`` (world-postgres 5.0.0-beta.29,
  which has neither retention nor #2778: its ``hook_created`` conflicts on any row holding the
  token, ``dist/storage.js`` ``getHookByToken`` then ``hook_conflict``, so its release gap blocks
  a successor as v4's does).
* The claim lock itself (``withHookTokenClaimLock``, 350 retries 100 ms apart) can fail with
  ``WorkflowWorldError: Could not acquire Hook token claim lock``. It fails before anything is
  written and the runtime retries the invocation, which the replayed log makes invisible, so the
  model draws no step for it; a backend that surfaces it must be judged as an answer that may or
  may not have claimed (``UNCERTAIN``): the caller has to treat it as unknown and retry.

What happens to a lapsed retained row (``lapsed_rows``):

* ``deleted`` (world-local: cleaned up when its deadline passes, ``storage/run-retention.js``);
* ``kept``: never deleted, but a claim replaces it (the review of PR #3276 found world-postgres
  never deletes a lapsed retained row: storage leaks, ``no-retained-row-outlives-window``);
* ``blocking``: never deleted and a claim still conflicts on it (a World whose claim checks only
  that a row exists): the token is never freed (``tokens-eventually-freed``).

Deadlines are ticks; retention is evaluated where it matters (a claim, the clock's tick).
"""

from __future__ import annotations

from typing import Any, ClassVar

from model import ops as O
from model.profiles.base import MatrixRow, Option
from model.profiles.vercel_today import VercelToday
from model.state import TERMINAL, Hook, WorldState

RUN_EXPIRED = O.Error("RunExpiredError")
CLAIM_LOCK = "WorkflowWorldError"


class VercelV5(VercelToday):
    name = "vercel-v5"
    description = "v5 World: RunExpiredError on ended runs, hook minimum retention from createHook"
    FAMILIES = frozenset({"vercel-v4"})
    SYMMETRIC = False  # not audited for the reductions
    MATRIX_ROWS = (
        MatrixRow(
            "Vercel v5 (hook min retention)",
            (("min_retention", 2),),
            ("adopt", "reject", "inspect", "signal", "supersede", "resume-or-start"),
            rank=42,
        ),
        # the two ways a World can get lapsed rows wrong, each its own row so the token-liveness
        # columns show violated where the catalog says so (a row's cells come from scenarios with
        # the row's own options)
        MatrixRow(
            "Vercel v5, lapsed rows kept (world-postgres)",
            (("min_retention", 2), ("lapsed_rows", "kept")),
            ("adopt", "reject", "inspect", "signal", "supersede", "resume-or-start"),
            rank=43,
        ),
        MatrixRow(
            "Vercel v5, lapsed rows block claims",
            (("min_retention", 2), ("lapsed_rows", "blocking")),
            ("adopt", "reject", "inspect", "signal", "supersede", "resume-or-start"),
            rank=44,
        ),
    )
    OPTIONS = {
        **VercelToday.OPTIONS,
        "min_retention": Option(
            0, kind=int, doc="experimental_minRetention of every createHook, in ticks (0: none)"
        ),
        "lapsed_rows": Option(
            "deleted",
            choices=("deleted", "kept", "blocking"),
            doc="a retained hook past its deadline is deleted, kept (leaks), or kept and blocking",
        ),
        "stale_claims": Option(
            "replaced",
            choices=("replaced", "conflict"),
            doc="a claim finding the still-stored hook of an ended run (not retained) replaces it "
            "(world-local 5, issue #2778) or conflicts on it (world-postgres 5.0.0-beta.29)",
        ),
    }
    # answers a backend may give that mean "this may or may not have happened" (issue 17)
    UNCERTAIN: ClassVar[dict[type, tuple[str, ...]]] = {O.ClaimHook: (CLAIM_LOCK,)}

    # -- retention -----------------------------------------------------------------------------

    def retained(self, world: WorldState, hook: Hook) -> bool:
        """Does ``hook``, whose run has ended, still hold its token at ``world.clock``?"""
        if hook.retain_until is None:
            return False
        if world.clock < hook.retain_until:
            return True
        return self.options["lapsed_rows"] == "blocking"

    def releasable(self, world: WorldState, hook: Hook) -> bool:
        """May a new claimant take ``hook``'s token (world-local ``isHookTokenClaimReleasable``)?"""
        run = world.run(hook.run_id)
        if run is None:
            return True
        if run.status not in TERMINAL or self.options["stale_claims"] == "conflict":
            return False
        return not self.retained(world, hook)

    def deadline(self, world: WorldState) -> int | None:
        minimum = self.options["min_retention"]
        return world.clock + minimum if minimum else None

    def _drop_hooks(self, world: WorldState, run_id: int) -> WorldState:
        """The run has ended: release its hooks except those still within retention."""
        keep = tuple(
            h
            for h in world.hooks
            if h.run_id != run_id or (h.retain_until is not None and self._kept(world, h))
        )
        return world if len(keep) == len(world.hooks) else world._replace(hooks=keep)

    def _kept(self, world: WorldState, hook: Hook) -> bool:
        """Is the row of an ended run's hook still stored at ``world.clock``?"""
        return world.clock < hook.retain_until or self.options["lapsed_rows"] != "deleted"

    def tick(self, world: WorldState) -> WorldState:
        world = world._replace(clock=world.clock + 1)
        if self.options["lapsed_rows"] != "deleted" or not world.hooks:
            return world
        keep = tuple(
            h
            for h in world.hooks
            if h.retain_until is None
            or world.clock < h.retain_until
            or world.runs[h.run_id - 1].status not in TERMINAL
        )
        return world if len(keep) == len(world.hooks) else world._replace(hooks=keep)

    def environment(self, world: WorldState) -> tuple[Any, ...]:
        if self.options["atomic_release"] or not world.hooks:
            return ()
        ended = sorted(
            {
                h.run_id
                for h in world.hooks
                if world.runs[h.run_id - 1].status in TERMINAL and h.retain_until is None
            }
        )
        return tuple(O.ReleaseHooks(run_id) for run_id in ended)

    # -- what the liveness properties ask (``properties/liveness.py``) -------------------------

    def after_time(self, world: WorldState) -> WorldState:
        """``world`` once every retention deadline has passed and nothing else happened (fair
        scheduling: in a final state only the clock still moves)."""
        deadlines = [h.retain_until for h in world.hooks if h.retain_until is not None]
        while deadlines and world.clock < max(deadlines):
            world = self.tick(world)
        return world

    def token_free(self, world: WorldState, token: str) -> bool:
        holder = world.hook_by_token(token)
        return holder is None or self.releasable(world, holder)

    # -- handlers ------------------------------------------------------------------------------

    def claim_hook(self, world: WorldState, op: O.ClaimHook):
        run = world.run(op.run_id)
        if run is None:
            return world, O.RUN_NOT_FOUND
        if run.status in TERMINAL:
            return world, O.ENTITY_CONFLICT
        if world.hook_of(op.run_id, op.hook_id) is not None:
            return world, O.ENTITY_CONFLICT  # replayed claim of our own hook ("owned")
        holder = world.hook_by_token(op.token)
        if holder is not None:
            if not self.releasable(world, holder):
                return world, O.HookConflict(holder.run_id)
            world = world._replace(hooks=tuple(h for h in world.hooks if h is not holder))
        hook = Hook(op.token, op.run_id, op.hook_id, (), self.deadline(world))
        return world.with_hooks((*world.hooks, hook)), O.HookCreated()

    def deliver_payload(self, world: WorldState, op: O.DeliverPayload):
        # both v5 Worlds look the hook row up first (HookNotFoundError once the end has deleted
        # it) and only then check the run (RunExpiredError): an ended run's hook that is still
        # stored (retained, or not yet released under atomic_release = false) is readable, not
        # resumable
        run = world.run(op.run_id)
        if (
            run is not None
            and run.status in TERMINAL
            and world.hook_of(op.run_id, op.hook_id) is not None
        ):
            return world, RUN_EXPIRED
        return super().deliver_payload(world, op)
