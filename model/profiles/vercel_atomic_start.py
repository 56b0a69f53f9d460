"""``vercel-atomic-start``: upstream's atomic start, ``start(wf, args, { experimental_hook: { token } })``.

Announced as "Workflow SDK adds idempotent starts" and built in vercel/workflow PRs #3426 (core),
#3449 (world-local) and #3440 (docs), open at the time of writing; none of it is in the 5.0 betas
on the registry here (``workflow`` 5.0.0-beta.55's ``docs/foundations/idempotency.mdx`` still says
"A native API for atomically starting a run and registering a hook is in the works"), so this
profile follows the PRs' description (``shared/reference/frontier.md``):

* the candidate run is queued first, then one ``events.create`` reserves the token and creates the
  run: admission and claim are one step (``KeyedStart``), and the run's hook ``h1`` exists from
  admission on. A queued loser exits before creating a run or running user code: no run, no body;
* a duplicate throws ``HookConflictError{ conflictingRunId }`` (``Error("HookConflictError",
  owner)``): the caller learns the owner's id only, not its status or result (the seed's P0
  returns ``{run, created: false}`` with both, ``vercel-keyed-start``); to reuse a result the
  caller must wait on the run;
* an admission that cannot be confirmed throws ``WorkflowStartError{ runId, stage, queued,
  retryable }``: a lost response (``bounds.max_lost_responses``); the retried start meets its
  own run as the conflicting one;
* ``resumeHook(token)`` works before the run executes (early payloads are buffered in order: the
  hook's inbox), and ``createHook({ token })`` inside the run binds to the already-claimed hook
  (the admitted body never claims again);
* it combines with hook minimum retention (``min_retention``, from admission = ``createHook``;
  both Worlds must advertise ``atomicStartHook`` and ``hookRetention``); without it the token is
  free the moment the run ends, so post-completion memory is none.

Everything else (``RunExpiredError`` on an ended run's hook, retention, lapsed rows) is the v5
World's (``vercel-v5``).
"""

from __future__ import annotations

from model import ops as O
from model.profiles.base import MatrixRow, V4World
from model.profiles.vercel_v5 import VercelV5
from model.state import Hook, WorldState

KEY_HOOK_ID = "h1"
HOOK_CONFLICT = "HookConflictError"


class VercelAtomicStart(VercelV5):
    name = "vercel-atomic-start"
    description = "upstream start({experimental_hook: {token}}): run and hook in one write"
    FAMILIES = frozenset({"keyed-start", "keyed-hook"})
    SYMMETRIC = False
    MATRIX_ROWS = (
        MatrixRow(
            "Vercel upstream atomic start (min retention)",
            (("min_retention", 2),),
            ("keyed-adopt", "keyed-reject", "keyed-forward"),
            rank=52,
        ),
    )
    HANDLERS = {**V4World.HANDLERS, O.KeyedStart: "keyed_start"}

    def keyed_start(self, world: WorldState, op: O.KeyedStart):
        holder = world.hook_by_token(op.key)
        if holder is not None:
            if not self.releasable(world, holder):
                return world, O.Error(HOOK_CONFLICT, holder.run_id)
            world = world._replace(hooks=tuple(h for h in world.hooks if h is not holder))
        world, run = self.new_run(world, op)
        hook = Hook(op.key, run.id, KEY_HOOK_ID, (), self.deadline(world))
        return world.with_hooks((*world.hooks, hook)), O.Started(run.id)
