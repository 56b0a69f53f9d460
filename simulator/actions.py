"""Actions: what a schedule step does, as a typed value.

A schedule is a list of action labels (strings: they are what trace files save and ``replay``
reads, so their text is the trace format). Code that needs to know what a label means reads it
through ``parse_action`` instead of matching prefixes:

* ``req2`` / ``r1``: ``PROCESS``, the process takes its next step;
* ``arrive req2``: ``ARRIVE``, request 2 arrives;
* ``tick``: ``TICK``, the clock advances;
* ``crash r1``: ``CRASH``, the body of run 1 crashes and restarts;
* ``req1 lost``: ``LOST``, request 1's start call is performed but its response is lost;
* anything else (``release r1``, another step the profile offers): ``WORLD``, a world-internal
  step; ``run`` is the run it names when it names one (``release r<k>``).
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple


class ActionKind(StrEnum):
    PROCESS = "process"
    ARRIVE = "arrive"
    TICK = "tick"
    CRASH = "crash"
    LOST = "lost"
    WORLD = "world"


class Action(NamedTuple):
    kind: ActionKind
    label: str
    # the process slot name the action is about (``req2``, ``r1``), or None (tick, world steps
    # that name no run)
    actor: str | None = None

    @property
    def request(self) -> int | None:
        """The 1-based request index of a ``req<k>`` actor."""
        actor = self.actor
        if actor and actor.startswith("req") and actor[3:].isdigit():
            return int(actor[3:])
        return None

    @property
    def run(self) -> int | None:
        """The run id of an ``r<k>`` actor."""
        actor = self.actor
        if actor and actor.startswith("r") and actor[1:].isdigit():
            return int(actor[1:])
        return None


def _is_slot(name: str) -> bool:
    return (name.startswith("req") and name[3:].isdigit()) or (
        name.startswith("r") and name[1:].isdigit()
    )


@lru_cache(maxsize=4096)
def parse_action(label: str) -> Action:
    if label == "tick":
        return Action(ActionKind.TICK, label)
    if _is_slot(label):
        return Action(ActionKind.PROCESS, label, label)
    head, _, tail = label.partition(" ")
    if head == "arrive" and _is_slot(tail):
        return Action(ActionKind.ARRIVE, label, tail)
    if head == "crash" and _is_slot(tail):
        return Action(ActionKind.CRASH, label, tail)
    if tail == "lost" and _is_slot(head):
        return Action(ActionKind.LOST, label, head)
    if head == "release" and _is_slot(tail):
        return Action(ActionKind.WORLD, label, tail)
    return Action(ActionKind.WORLD, label)


__all__ = ["Action", "ActionKind", "parse_action"]
