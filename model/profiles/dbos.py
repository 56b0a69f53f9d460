"""``dbos``: DBOS durable workflows (Python ``dbos`` 3.x), the workflow id as primary key.

Facts (``shared/reference/semantics.md``, section DBOS):

* The key is the workflow id, the primary key of ``workflow_status``; the workflow function is
  not part of it. Admission is one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``: atomic.
* A duplicate start gets a handle to the existing workflow (``Existing(run, status, output)``):
  while it runs the caller can wait on it; once it ended, the stored result comes back, and a
  stored error (``output`` of a ``failed`` run) is re-raised to the caller. The duplicate's
  arguments are ignored silently.
* The same id with a different workflow function raises ``DBOSConflictingWorkflowError``.
* ``reuse_policy = "reject"`` (``SetWorkflowID(id, workflow_id_reuse_policy="reject")``) raises
  ``DBOSWorkflowIDInUseError`` for any existing row, running or finished, whatever its function;
  ``"return-existing"`` is the default.
* No expiry: the row lives until ``DBOS.delete_workflow`` (not modelled), so the memory never
  ends within any bound.
"""

from __future__ import annotations

from model import ops as O
from model.profiles.base import MatrixRow, Option, V4World
from model.state import KeyEntry, WorldState

CONFLICTING = "DBOSConflictingWorkflowError"
IN_USE = "DBOSWorkflowIDInUseError"


class Dbos(V4World):
    name = "dbos"
    description = "DBOS: workflow id as primary key, duplicates get the stored result or error"
    FAMILIES = frozenset({"keyed-start", "peer-start"})
    MATRIX_ROWS = (MatrixRow("DBOS", (), ("keyed-adopt", "keyed-execute"), rank=30),)
    OPTIONS = {
        **V4World.OPTIONS,
        "reuse_policy": Option(
            "return-existing",
            choices=("return-existing", "reject"),
            doc="a start with an existing id gets that workflow, or DBOSWorkflowIDInUseError",
        ),
    }
    HANDLERS = {**V4World.HANDLERS, O.KeyedStart: "keyed_start"}

    def keyed_start(self, world: WorldState, op: O.KeyedStart):
        entry = world.key_entry(op.key)
        if entry is not None:
            row = world.runs[entry.run_id - 1]
            if self.options["reuse_policy"] == "reject":
                return world, O.Error(IN_USE, row.id)
            if row.workflow != op.workflow:
                return world, O.Error(CONFLICTING, row.id)
            return world, O.Existing(row.id, row.status, row.output)
        world, run = self.new_run(world, op)
        return world.with_key(KeyEntry(op.key, run.id, world.clock)), O.Started(run.id)
