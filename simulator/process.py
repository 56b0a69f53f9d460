"""Processes: strategies as pure state machines.

A ``Program`` is the code of one process (a client request, a route handler, a workflow body). It
never holds state: ``start()`` returns the initial local state and the first thing the process
wants to do, ``on_result(local, result)`` the next local state and the next thing. "The next thing"
is either a world op (one atomic step of the real system) or ``Done(outcome)`` (``model.outcomes``).

A local state is a ``Phase``: a small typed value naming where the code is and what it holds
(``Awaiting(run=3)``), declared next to the strategy that uses it. Phases are hashable tuples on
the wire (``Awaiting(3) == ("await", 3)``), so the simulator keeps them inside the system state and
dedupes on them exactly as before; consumers outside the strategy (the key reduction renumbering
run ids, the symmetry renaming requests) read what a phase declares (``RUN_IDS``, ``OUTPUTS``),
never its position.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any, ClassVar

from model.outcomes import Done, TaggedTuple, error, ok


class Phase(TaggedTuple):
    """Base of process local states: ``(TAG, *FIELDS)``. ``RUN_IDS`` names the fields that hold a
    run id, ``OUTPUTS`` those that hold a run output or error reason (which may hold run ids)."""

    __slots__ = ()
    RUN_IDS: ClassVar[tuple[str, ...]] = ()
    OUTPUTS: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.TAG:
            raise TypeError(f"phase {cls.__name__} needs a TAG")
        unknown = set(cls.RUN_IDS + cls.OUTPUTS) - set(cls.FIELDS)
        if unknown:
            raise TypeError(f"phase {cls.__name__}: RUN_IDS/OUTPUTS name no field: {unknown}")

    def __reduce__(self):
        # phases made by ``phase()`` have no importable class name: pickle (Dask workers) finds
        # the class again by its module and shape
        return (_rebuild, (type(self).__module__, self.TAG, self.FIELDS, tuple(self[1:])))

    def renumber(self, run_id: Callable[[int], int], output: Callable[[Any], Any]) -> Phase:
        """This phase with its run ids mapped by ``run_id`` and its outputs by ``output``."""
        if not (self.RUN_IDS or self.OUTPUTS):
            return self
        values = list(self[1:])
        for i, name in enumerate(self.FIELDS):
            if name in self.RUN_IDS:
                values[i] = run_id(values[i])
            elif name in self.OUTPUTS:
                values[i] = output(values[i])
        return type(self)(*values)


_PHASES: dict[tuple[str, str, tuple[str, ...]], type[Phase]] = {}


def phase(tag: str, *fields: str, run_ids: tuple[str, ...] = (), outputs: tuple[str, ...] = ()):
    """A ``Phase`` subclass in one line: ``Awaiting = phase("await", "run", run_ids=("run",))``.
    Within one module, a (tag, fields) shape names one phase."""
    module = sys._getframe(1).f_globals.get("__name__", __name__)
    key = (module, tag, tuple(fields))
    if key in _PHASES:
        raise TypeError(f"{module}: phase {tag!r} with fields {fields} is declared twice")
    name = "".join(part.capitalize() for part in tag.replace("-", " ").split()) + "Phase"
    cls = type(
        name,
        (Phase,),
        {
            "__slots__": (),
            "__module__": module,
            "TAG": tag,
            "FIELDS": tuple(fields),
            "RUN_IDS": tuple(run_ids),
            "OUTPUTS": tuple(outputs),
        },
    )
    _PHASES[key] = cls
    return cls


def _rebuild(module: str, tag: str, fields: tuple[str, ...], values: tuple[Any, ...]) -> Phase:
    importlib.import_module(module)
    return _PHASES[(module, tag, fields)](*values)


# phases every program can end in
Finished = phase("done")
Crashed = phase("crashed")


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
        return Crashed(), error(f"unhandled {name}", local[0] if local else None)


__all__ = ["Crashed", "Done", "Finished", "Phase", "Program", "error", "ok", "phase"]
