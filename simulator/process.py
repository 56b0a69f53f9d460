"""Processes: strategies as pure state machines.

A ``Program`` is the code of one process (a client request, a route handler, a workflow body). It
never holds state: ``start()`` returns the initial local state and the first thing the process
wants to do, ``on_result(local, result)`` the next local state and the next thing. "The next thing"
is either a world op (one atomic step of the real system) or ``Done(outcome)``. Locals are small
hashable tuples, so the simulator can keep them inside the system state and dedupe on them.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Done(NamedTuple):
    """The process has finished. ``outcome`` is ``("ok", value)`` or ``("error", name)``; a
    request's outcome is what its caller sees."""

    outcome: tuple[Any, ...]

    @property
    def failed(self) -> bool:
        return self.outcome[0] == "error"


def ok(value: Any = None) -> Done:
    return Done(("ok", value))


def error(name: str, detail: Any = None) -> Done:
    return Done(("error", name, detail))


class Program:
    """Base class for process code. Subclasses implement ``start`` and ``on_result``."""

    def start(self) -> tuple[Any, Any]:
        raise NotImplementedError

    def on_result(self, local: Any, result: Any) -> tuple[Any, Any]:
        raise NotImplementedError

    def unexpected(self, local: Any, result: Any) -> tuple[Any, Done]:
        """A result the strategy's code does not handle: the process ends with that error, which
        is what the real code would do (the exception propagates)."""
        name = getattr(result, "name", type(result).__name__)
        return ("crashed",), error(f"unhandled {name}", local[0] if local else None)
