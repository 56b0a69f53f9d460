"""``temporal``: Temporal's workflow-id start semantics (server >= 1.24).

Facts (``shared/reference/semantics.md``, section Temporal):

* The key is (namespace, workflowId); the workflow *type* is not part of it, so two workflow types
  that share an id scheme collide (the seed's gap 5, "same property as Temporal").
* Starts for one id are serialized server-side: the whole decision below is one atomic step
  (admission is atomic with dedupe).
* A start that collides with the current run for its id is decided in this order:

  1. request-id dedupe: if the start's ``request_id`` is the one recorded on the current run, the
     answer is that run with ``started=true`` (``Started(run)``), even if it has since closed;
  2. current run open (pending/running) -> ``conflict_policy``: ``fail`` (the default for Start:
     ``Error("WorkflowExecutionAlreadyStarted", run)``), ``use-existing`` (``Existing(run, ...)``,
     ``started=false``), ``terminate-existing`` (terminate it and start a new run in one
     transaction);
  3. current run closed -> ``reuse_policy``, judged against the latest run only:
     ``allow-duplicate`` (the default), ``allow-duplicate-failed-only`` (only if it failed,
     was terminated or cancelled), ``reject-duplicate``; a refusal is
     ``WorkflowExecutionAlreadyStarted`` too;
  4. closed runs are deleted ``retention`` ticks after they close (the namespace retention): then
     the id is unknown and any start is allowed (the request ids recorded on it are gone too).

* Invalid combinations are rejected when the scenario loads: ``reject-duplicate`` with
  ``terminate-existing``, and the deprecated ``terminate-if-running`` reuse value with any
  conflict policy (the profile always has one: Temporal only accepts the deprecated value when
  the conflict policy is unspecified, and then turns it into ``terminate-existing``).
* No result reuse at start: a duplicate gets a run id (or an error) and can wait on that run.

Modelling choices:

* ``terminate`` is modelled as the terminal status ``cancelled`` with output ``"terminated"``:
  nothing in the model tells the two apart except the output, and every Temporal policy that
  looks at the closed run (failed-only) treats terminated and cancelled alike. The terminating
  start is recorded in the ``cancels`` ghost (new run, terminated run), so ``newest-wins`` can
  tell whether an older request terminated a newer request's run.
* A run terminated while its effect step is in flight still completes that step (Temporal does
  not interrupt an activity a worker already runs; only its result is discarded). This is the
  same over-approximation the v4 model makes for ``cancel``.
* Key memory is one ``KeyEntry`` per id: ``run_id`` = the current (latest) run, ``extra`` = the
  request id that created it. Retention is evaluated when a start looks the id up.
* Temporal's "the target closed meanwhile -> Unavailable, the client retries" case of
  ``terminate-existing`` cannot arise: the model's decision and its writes are one step.
"""

from __future__ import annotations

from model import ops as O
from model.profiles.base import MatrixRow, Option, V4World
from model.state import CANCELLED, FAILED, TERMINAL, KeyEntry, Run, WorldState

ALREADY_STARTED = "WorkflowExecutionAlreadyStarted"
TERMINATED = "terminated"  # the output of a terminated run (status ``cancelled``)
RETRYABLE_STATUSES = frozenset({FAILED, CANCELLED})  # failed, terminated, cancelled (timed out)


class Temporal(V4World):
    name = "temporal"
    description = "Temporal: workflow id, request-id dedupe, conflict and reuse policies, retention"
    FAMILIES = frozenset({"keyed-start", "peer-start"})
    # one matrix row per valid conflict x reuse combination (terminate-existing with
    # reject-duplicate is refused by Temporal, and by ``validate``)
    MATRIX_ROWS = tuple(
        MatrixRow(
            f"Temporal ({conflict}, {reuse})",
            (("conflict_policy", conflict), ("retention", 2), ("reuse_policy", reuse)),
            ("keyed-adopt", "keyed-execute"),
            rank=10,
        )
        for conflict in ("fail", "use-existing", "terminate-existing")
        for reuse in ("allow-duplicate", "allow-duplicate-failed-only", "reject-duplicate")
        if not (conflict == "terminate-existing" and reuse == "reject-duplicate")
    )
    OPTIONS = {
        **V4World.OPTIONS,
        "conflict_policy": Option(
            "fail",
            choices=("fail", "use-existing", "terminate-existing"),
            doc="what a start gets while the current run is open (Temporal's default: fail)",
        ),
        "reuse_policy": Option(
            "allow-duplicate",
            choices=(
                "allow-duplicate",
                "allow-duplicate-failed-only",
                "reject-duplicate",
                "terminate-if-running",
            ),
            doc="whether a start may reuse the id of the closed latest run (default: "
            "allow-duplicate; terminate-if-running is deprecated and always rejected here)",
        ),
        "retention": Option(
            2, kind=int, doc="ticks a closed run (and its request ids) is kept after it closes"
        ),
    }
    HANDLERS = {**V4World.HANDLERS, O.KeyedStart: "keyed_start"}

    def validate(self) -> None:
        conflict = self.options["conflict_policy"]
        reuse = self.options["reuse_policy"]
        if reuse == "reject-duplicate" and conflict == "terminate-existing":
            raise ValueError(
                "option 'reuse_policy' = 'reject-duplicate' cannot be combined with option "
                "'conflict_policy' = 'terminate-existing' (Temporal rejects this combination)"
            )
        if reuse == "terminate-if-running":
            raise ValueError(
                "option 'reuse_policy' = 'terminate-if-running' (deprecated) cannot be combined "
                f"with option 'conflict_policy' = {conflict!r}; use conflict_policy = "
                "'terminate-existing' instead"
            )

    def current(self, world: WorldState, key: str) -> tuple[KeyEntry | None, Run | None]:
        """The id's current run, or (None, None) once its closed run is past retention."""
        entry = world.key_entry(key)
        if entry is None:
            return None, None
        run = world.runs[entry.run_id - 1]
        if run.status in TERMINAL and world.clock >= run.ended_at + self.options["retention"]:
            return None, None  # deleted with its history: the id is free
        return entry, run

    def keyed_start(self, world: WorldState, op: O.KeyedStart):
        entry, run = self.current(world, op.key)
        if entry is None or run is None:
            return self._admit(world, op)
        # 1. a retried start carrying the request id of the start that created the current run
        if op.request_id is not None and entry.extra == op.request_id:
            return world, O.Started(run.id)
        # 2. the current run is open: conflict policy
        if run.status not in TERMINAL:
            policy = self.options["conflict_policy"]
            if policy == "fail":
                return world, O.Error(ALREADY_STARTED, run.id)
            if policy == "use-existing":
                return world, O.Existing(run.id, run.status, run.output)
            # terminate-existing: terminate and start in one transaction
            new_id = len(world.runs) + 1
            world = world.with_run(
                run._replace(status=CANCELLED, output=TERMINATED, ended_at=world.clock)
            )
            world = world._replace(cancels=(*world.cancels, (new_id, run.id)))
            return self._admit(world, op)
        # 3. the latest run is closed: reuse policy
        policy = self.options["reuse_policy"]
        if policy == "allow-duplicate" or (
            policy == "allow-duplicate-failed-only" and run.status in RETRYABLE_STATUSES
        ):
            return self._admit(world, op)
        return world, O.Error(ALREADY_STARTED, run.id)

    @staticmethod
    def _admit(world: WorldState, op: O.KeyedStart):
        world, run = V4World.new_run(world, op)
        world = world.with_key(KeyEntry(op.key, run.id, world.clock, None, op.request_id))
        return world, O.Started(run.id)
