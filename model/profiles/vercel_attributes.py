"""``vercel-attribute-lookup``: the seed's P1, ``runs.list`` filtered by run attribute.

Everything else is v4 today (start always creates a run, the body claims the key as a hook
token, the token is released at the terminal state). Runs carry attributes (seeded at start in
``CreateRun``); ``ListRuns(workflow, status, (name, value))`` filters by one of them. A run's
attributes stay queryable for ``retention`` ticks after it ends (the memory is retention-bounded,
like the runs themselves), so the pattern's post-completion memory has the same window.
"""

from __future__ import annotations

from model import ops as O
from model.profiles.base import MatrixRow, Option, V4World
from model.state import WorldState


class VercelAttributeLookup(V4World):
    name = "vercel-attribute-lookup"
    description = "P1: runs.list filters by attribute; attributes kept for a retention window"
    FAMILIES = frozenset({"vercel-v4", "vercel-attributes"})
    MATRIX_ROWS = (
        MatrixRow(
            "Vercel P1 attribute lookup", (("retention", 2),), ("attribute-lookup",), rank=60
        ),
    )
    OPTIONS = {
        **V4World.OPTIONS,
        "retention": Option(
            2, kind=int, doc="ticks a run's attributes stay queryable after it ends"
        ),
    }

    def list_runs(self, world: WorldState, op: O.ListRuns):
        if op.attribute is None:
            return super().list_runs(world, op)
        retention = self.options["retention"]
        ids = tuple(
            r.id
            for r in world.runs
            if r.workflow == op.workflow
            and (op.status is None or r.status == op.status)
            and op.attribute in r.attributes
            and (r.ended_at is None or world.clock < r.ended_at + retention)
        )
        return world, O.RunList(ids)
