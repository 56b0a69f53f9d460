"""Strategies for Vercel Workflow v4 as shipped (``vercel-today``).

The route handler calls ``start()`` (one ``run_created`` write) and returns the run id. The body
claims the request's key as a hook token at its first suspension; on a conflict the strategy
decides what the duplicate run does with ``hook.getConflict()``'s owner.
"""

from __future__ import annotations

from typing import Any

from model import ops as O
from model.state import TERMINAL
from simulator.process import Program, ok
from simulator.scenario import Request
from simulator.strategies import StrategySpec, register

HOOK_ID = "h1"


class StartClient(Program):
    """The route handler: ``start(workflow, input)`` and return the new run's id."""

    def __init__(self, request: Request) -> None:
        self.request = request

    def start(self):
        return ("start",), O.CreateRun(self.request.workflow, self.request.index)

    def on_result(self, local, result):
        if type(result) is O.Ok:
            return ("done",), ok(("started", result.value))
        return self.unexpected(local, result)


class KeyedBody(Program):
    """A workflow body that claims ``request.key`` as its hook token, then either owns the key
    (does the duplicate-sensitive work and completes) or handles the conflict.

    Subclasses implement ``on_conflict``; the owner path is shared.
    """

    def __init__(self, request: Request, run_id: int) -> None:
        self.request = request
        self.run_id = run_id
        self.key = request.key

    def start(self):
        return ("start",), O.StartRun(self.run_id)

    def claim(self) -> tuple[Any, Any]:
        return ("claim",), O.ClaimHook(self.run_id, HOOK_ID, self.key)

    def own(self) -> tuple[Any, Any]:
        """We hold the token: do the work once, then return our result."""
        return ("work",), O.PerformEffect(self.key, self.run_id)

    def finish(self, output: Any) -> tuple[Any, Any]:
        return ("complete", output), O.CompleteRun(self.run_id, output)

    def result(self) -> tuple[Any, ...]:
        """What the owner returns: it names workflow, key and request, so a property can tell
        whether a result someone adopted belongs to the right workflow and key."""
        return ("result", self.request.workflow, self.key, self.request.index)

    def on_conflict(self, local, owner: int) -> tuple[Any, Any]:
        raise NotImplementedError

    def on_other(self, local, result) -> tuple[Any, Any]:
        """Phases a subclass adds after a conflict."""
        return self.unexpected(local, result)

    def on_result(self, local, result):
        phase = local[0]
        kind = type(result)
        if phase == "start":
            if kind is O.Ok:
                return self.claim()
            # not pending any more: cancelled before it started, or a restarted body replaying
            return ("recheck",), O.GetRun(self.run_id)
        if phase == "recheck":
            if kind is O.RunInfo and result.status in TERMINAL:
                return ("done",), ok(("ended", result.status))
            return self.claim()
        if phase == "claim":
            if kind is O.HookCreated:
                return self.own()
            if kind is O.HookConflict:
                return self.on_conflict(local, result.owner)
            if result == O.ENTITY_CONFLICT:
                # our own claim replayed after a restart, or the run ended: ask which
                return ("reclaim-check",), O.GetRun(self.run_id)
            return self.unexpected(local, result)
        if phase == "reclaim-check":
            if kind is O.RunInfo and result.status in TERMINAL:
                return ("done",), ok(("ended", result.status))
            return self.own()
        if phase == "work":
            return self.finish(self.result())
        if phase == "complete":
            if kind is O.Ok:
                return ("done",), ok(local[1])
            if result == O.ENTITY_CONFLICT:  # cancelled under us
                return ("done",), ok(("ended", "cancelled"))
            return self.unexpected(local, result)
        return self.on_other(local, result)


class RejectBody(KeyedBody):
    """Documented strategy 1, reject: the duplicate run returns ``conflict.runId`` and ends."""

    def on_conflict(self, local, owner: int):
        return self.finish(("duplicate-of", owner))


register(
    StrategySpec(
        name="reject",
        description="the duplicate run returns the owner's run id and ends",
        profiles=("vercel-today",),
        client=StartClient,
        body=RejectBody,
    )
)
