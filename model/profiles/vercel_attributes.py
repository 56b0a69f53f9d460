"""``vercel-attribute-lookup``: the seed's P1, ``runs.list`` filtered by run attribute.

Everything else is v4 today (start always creates a run, the body claims the key as a hook
token, the token is released at the terminal state). Runs carry attributes (seeded at start in
``CreateRun``); ``ListRuns(workflow, status, (name, value))`` filters by one of them. A run's
attributes stay queryable for ``retention`` ticks after it ends (the memory is retention-bounded,
like the runs themselves), so the pattern's post-completion memory has the same window.

P1 as it can exist: storage's ``ListWorkflowRunsParams`` filters only ``workflowName``, ``status``
and pagination (``@workflow/world`` 5.0.0-beta.37); only the optional analytics API,
``world.analytics.runs.list({ attributes })`` (at most 8 pairs, latest write wins; vercel/workflow
PR #1933, open), filters by attribute, and "analytics ingestion may lag canonical storage" (neither
world-local nor world-postgres implements ``analytics``). ``analytics_lag`` bounds that lag: an
attribute query sees a run's status as of ``analytics_lag`` ticks ago (a run that completed at t
is listed as completed from t + lag on). A lag widens the just-completed window: with lag 0,
querying after the claim (``lookup = "after-claim"``) closes it; with lag >= 1 a run that
completed a tick ago is still invisible to the query that holds the token, and the work runs
again.
"""

from __future__ import annotations

from model import ops as O
from model.profiles.base import MatrixRow, Option, V4World
from model.state import RUNNING, WorldState


class VercelAttributeLookup(V4World):
    name = "vercel-attribute-lookup"
    description = "P1: runs.list filters by attribute; attributes kept for a retention window"
    FAMILIES = frozenset({"vercel-v4", "vercel-attributes"})
    MATRIX_ROWS = (
        MatrixRow(
            "Vercel P1 attribute lookup", (("retention", 2),), ("attribute-lookup",), rank=60
        ),
        # P1 as it can exist: on the analytics API, whose ingestion lags canonical storage
        MatrixRow(
            "Vercel P1 on analytics (lag 1)",
            (("analytics_lag", 1), ("retention", 2)),
            ("attribute-lookup",),
            rank=61,
        ),
    )
    OPTIONS = {
        **V4World.OPTIONS,
        "retention": Option(
            2, kind=int, doc="ticks a run's attributes stay queryable after it ends"
        ),
        "analytics_lag": Option(
            0, kind=int, doc="ticks the analytics index lags canonical storage (stale reads)"
        ),
    }

    def list_runs(self, world: WorldState, op: O.ListRuns):
        if op.attribute is None:
            return super().list_runs(world, op)
        retention = self.options["retention"]
        lag = self.options["analytics_lag"]
        ids = tuple(
            r.id
            for r in world.runs
            if r.workflow == op.workflow
            and (op.status is None or self._status_seen(world, r, lag) == op.status)
            and op.attribute in r.attributes
            and (r.ended_at is None or world.clock < r.ended_at + retention)
        )
        return world, O.RunList(ids)

    @staticmethod
    def _status_seen(world: WorldState, run, lag: int) -> str:
        """The status the lagging index shows: an end younger than ``lag`` ticks is not in yet
        (the run still reads as running)."""
        if lag and run.ended_at is not None and world.clock < run.ended_at + lag:
            return RUNNING
        return run.status
