"""Owners that fail: the request option ``ends``, for every strategy on every profile.

``ends = "failed-before-effect"`` makes the run fail where it would do its duplicate-sensitive
work (the step throws before charging the card); ``"failed-after-effect"`` lets the effect happen
and fails the run at its next step. ``"completed"`` (the default) leaves the body alone. The
failure wraps any strategy's body at its ``PerformEffect`` (``failing``, called by
``simulator.system`` when it creates a body), so a strategy needs no code for it; the peers'
``keyed-execute`` body implements ``ends`` itself (its stored error is what DBOS re-raises) and is
left as it is.

The failed run's output is ``("ApplicationError", workflow, key)``; it names no request or run,
so the reductions' renamings have nothing to reach in it.
"""

from __future__ import annotations

from typing import Any

from model import ops as O
from model.outcomes import Ended
from model.state import CANCELLED
from simulator.process import Finished, Program, error, ok, phase
from simulator.scenario import Request

ENDS = ("completed", "failed-after-effect", "failed-before-effect")
APPLICATION_ERROR = "ApplicationError"

OwnerFailing = phase("owner-fail", "reason", outputs=("reason",))
EffectThenFail = phase("effect-then-fail")


class FailingOwner(Program):
    """``inner`` with its effect step turned into a failure (before or after the effect)."""

    def __init__(self, inner: Program, request: Request, run_id: int, ends: str) -> None:
        self.inner = inner
        self.run_id = run_id
        self.before = ends == "failed-before-effect"
        self.reason = (APPLICATION_ERROR, request.workflow, request.key)

    def start(self):
        return self._filter(self.inner.start())

    def on_result(self, local, result):
        kind = type(local)
        if kind is OwnerFailing:
            if type(result) is O.Ok:
                return Finished(), error("failed", local.reason)
            return Finished(), ok(Ended(CANCELLED))  # cancelled under us
        if kind is EffectThenFail:
            return OwnerFailing(self.reason), O.FailRun(self.run_id, self.reason)
        return self._filter(self.inner.on_result(local, result))

    def _filter(self, step: tuple[Any, Any]) -> tuple[Any, Any]:
        if type(step[1]) is not O.PerformEffect:
            return step
        if self.before:
            return OwnerFailing(self.reason), O.FailRun(self.run_id, self.reason)
        return EffectThenFail(), step[1]


def failing(program: Program, request: Request, run_id: int) -> Program:
    """``program`` as the request's ``ends`` option says it ends."""
    ends = request.option("ends", "completed")
    if ends == "completed" or hasattr(program, "ends"):  # keyed-execute handles it itself
        return program
    return FailingOwner(program, request, run_id, ends)


__all__ = ["ENDS", "FailingOwner", "failing"]
