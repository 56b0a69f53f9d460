"""``ForgetfulEngine``: atomic keyed admission while a run is live, no memory after it ends.

A duplicate that arrives while the owner runs gets the owner (``Existing``); once the owner has
ended, the key is free again and the next start creates a new run.
"""

from __future__ import annotations

from model import ops as O
from model.profiles.base import MatrixRow, V4World
from model.state import TERMINAL, WorldState


class ForgetfulEngine(V4World):
    name = "forgetful-engine"
    description = "keyed start, atomic while a run is live; the key is forgotten when it ends"
    FAMILIES = frozenset({"keyed-start"})
    MATRIX_ROWS = (MatrixRow("Forgetful engine", (), ("keyed-adopt",), rank=90),)
    HANDLERS = {**V4World.HANDLERS, O.KeyedStart: "keyed_start"}

    def keyed_start(self, world: WorldState, op: O.KeyedStart):
        for run in world.runs:
            if run.key == op.key and run.status not in TERMINAL:
                return world, O.Existing(run.id, run.status, run.output)
        world, run = self.new_run(world, op)
        return world, O.Started(run.id)
