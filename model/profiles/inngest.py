"""``inngest``: Inngest's event-id deduplication.

Facts (``shared/reference/semantics.md``, section Inngest):

* The key is hash(function) + hash(event id): the same event id sent to two different functions
  is two keys (modelled as ``"<workflow>|<key>"`` in key memory).
* Admission is a set-if-absent with an expiry of ``window`` ticks (24 h in Inngest) counted from
  the first admission, not from completion; it is atomic with the start.
* On completion the entry becomes a tombstone with the same expiry (``KeyEntry.run_id = 0``):
  the window does not restart and does not stretch to cover a long run.
* A duplicate within the window is silently dropped: the sender sees success (``Dropped``) and no
  run is created. A retried send whose first attempt was admitted is dropped the same way.
* No result reuse: nothing of the owner's result comes back to a duplicate.
* A run that lasts longer than the window loses its dedupe while still running: a duplicate that
  arrives after the window is admitted next to the live owner.

(The seed's comparison table says Inngest reuses results within the window; the gathered facts
say it does not. The model follows the facts: ``Dropped`` carries nothing.)

The function-level ``idempotency`` rate limit and ``singleton`` are separate features, not
modelled here. Expiry is evaluated when a start looks the key up.
"""

from __future__ import annotations

from typing import Any

from model import ops as O
from model.profiles.base import MatrixRow, Option, V4World
from model.state import KeyEntry, WorldState


def dedupe_key(workflow: str, key: str) -> str:
    """Inngest's key: the function and the event id together."""
    return f"{workflow}|{key}"


class Inngest(V4World):
    name = "inngest"
    description = "Inngest: event-id dedupe window from first admission, duplicates dropped"
    FAMILIES = frozenset({"keyed-start", "peer-start"})
    MATRIX_ROWS = (
        MatrixRow("Inngest", (("window", 2),), ("keyed-adopt", "keyed-execute"), rank=20),
    )
    OPTIONS = {
        **V4World.OPTIONS,
        "window": Option(
            2, kind=int, doc="ticks the key is remembered, counted from the first admission"
        ),
    }
    HANDLERS = {**V4World.HANDLERS, O.KeyedStart: "keyed_start"}

    def keyed_start(self, world: WorldState, op: O.KeyedStart):
        key = dedupe_key(op.workflow, op.key)
        entry = world.key_entry(key)
        if entry is not None and world.clock < entry.expires_at:
            return world, O.Dropped()
        world, run = self.new_run(world, op)
        expires = world.clock + self.options["window"]
        return world.with_key(KeyEntry(key, run.id, world.clock, expires)), O.Started(run.id)

    def _end(self, world: WorldState, run_id: int, status: str, output: Any):
        world2, result = super()._end(world, run_id, status, output)
        if world2 is world:  # nothing ended (already terminal, or no such run)
            return world2, result
        run = world2.runs[run_id - 1]
        if run.key is None:
            return world2, result
        entry = world2.key_entry(dedupe_key(run.workflow, run.key))
        if entry is not None and entry.run_id == run_id:
            world2 = world2.with_key(entry._replace(run_id=0))  # tombstone, same expiry
        return world2, result
