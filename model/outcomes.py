"""Typed values for what processes produce: a finished process's outcome (``Done``), the answers a
request's caller sees, and the workflow result a run returns.

Consumers (properties, symmetry, the key reduction, the story, the matrix, the Hypothesis
explorer) read these by type and field (``isinstance(answer, DuplicateOf)``, ``answer.owner``),
never by decoding a tag (``value[0] == "duplicate-of"``).

Each type is a *tagged tuple on the wire*: an instance is the tuple it replaced (``DuplicateOf(2)
== ("duplicate-of", 2)``, same hash, same JSON, rendered the same by ``model.ops.describe``). So a
run output read back from a real backend (a plain tuple) still compares equal to the model's, state
counts and fingerprints stay what they were, and trace files keep their text. Constructors normalise
what they are given (a plain tagged tuple of a known tag becomes its type, recursively through
``Adopted``), so a value cannot be typed in one place and plain in another: a property that tests
``isinstance`` cannot miss an answer because someone built it as a bare tuple. ``typed(value)``
does the same for values that arrive from outside (a backend, a trace).
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

_BY_TAG: dict[str, type[Tagged]] = {}


class TaggedTuple(tuple):
    """A typed value that is, on the wire, the tuple ``(TAG, *FIELDS)``: its fields are read by
    name, it is built with exactly its fields, it pickles through ``__new__`` and it renders as
    the plain tuple. ``Tagged`` (outcomes and answers) and ``simulator.process.Phase`` (process
    locals) are the two families built on it."""

    __slots__ = ()
    TAG: ClassVar[str] = ""
    FIELDS: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for position, name in enumerate(cls.FIELDS, start=1):
            setattr(cls, name, property(lambda self, i=position: self[i], doc=f"field {name}"))

    def __new__(cls, *values: Any) -> TaggedTuple:
        if len(values) != len(cls.FIELDS):
            raise TypeError(f"{cls.__name__} takes {cls.FIELDS}, got {values!r}")
        return tuple.__new__(cls, (cls.TAG, *cls.normalise(values)))

    @classmethod
    def normalise(cls, values: tuple[Any, ...]) -> tuple[Any, ...]:
        return values

    def __getnewargs__(self) -> tuple[Any, ...]:  # pickle (Dask) rebuilds through __new__
        return tuple(self[1:])

    # rendered exactly as the tuple it replaced: trace files and reports keep their text
    __repr__ = tuple.__repr__


class Tagged(TaggedTuple):
    """Base of the outcome and answer types. Subclasses set a ``TAG`` unique among them, which
    ``typed`` uses to turn a plain tuple back into its type."""

    __slots__ = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.TAG or cls.TAG in _BY_TAG:
            raise TypeError(f"{cls.__name__}: TAG must be set and unique, got {cls.TAG!r}")
        _BY_TAG[cls.TAG] = cls


class OwnerEnded(tuple):
    """The error reason of a duplicate whose adopted owner ended without a result:
    ``("owner-<status>", owner run id)`` on the wire."""

    __slots__ = ()
    PREFIX: ClassVar[str] = "owner-"

    def __new__(cls, status: str, run: int) -> OwnerEnded:
        return tuple.__new__(cls, (cls.PREFIX + status, run))

    @property
    def status(self) -> str:
        return self[0][len(self.PREFIX) :]

    @property
    def run(self) -> int:
        return self[1]

    def __getnewargs__(self) -> tuple[Any, ...]:
        return (self.status, self.run)

    __repr__ = tuple.__repr__


def typed(value: Any) -> Any:
    """``value`` with a plain tagged tuple of a known tag turned into its type (recursively for
    ``Adopted``); anything else unchanged."""
    if type(value) is tuple and value and type(value[0]) is str:
        cls = _BY_TAG.get(value[0])
        if cls is not None and len(value) == len(cls.FIELDS) + 1:
            return cls(*value[1:])
        if len(value) == 2 and value[0].startswith(OwnerEnded.PREFIX) and type(value[1]) is int:
            return OwnerEnded(value[0][len(OwnerEnded.PREFIX) :], value[1])
    return value


# -- the workflow result --------------------------------------------------------------------------


class WorkResult(Tagged):
    """What a run that did the work returns: which workflow, for which key, on behalf of which
    request. ``result-matches-owner`` compares it with what duplicates were handed."""

    TAG = "result"
    FIELDS = ("workflow", "key", "request")


# -- what a request's caller sees (the value of ``Succeeded``) ----------------------------------


class RunStarted(Tagged):
    """The request was admitted: a run of its own does the work (or will)."""

    TAG = "started"
    FIELDS = ("run",)


class DuplicateOf(Tagged):
    """A duplicate handed the owner's run id (reject)."""

    TAG = "duplicate-of"
    FIELDS = ("owner",)


class ForwardedTo(Tagged):
    """A duplicate forwarded its payload to the owner's run."""

    TAG = "forwarded-to"
    FIELDS = ("owner",)


class Adopted(Tagged):
    """A duplicate handed the owner's result (possibly itself adopted: nested)."""

    TAG = "adopted"
    FIELDS = ("output",)

    @classmethod
    def normalise(cls, values: tuple[Any, ...]) -> tuple[Any, ...]:
        return (typed(values[0]),)

    def owner_result(self) -> Any:
        """Unwrap ``Adopted(Adopted(... WorkResult))`` to what the owner returned."""
        output: Any = self
        while isinstance(output, Adopted):
            output = output.output
        return output


class Dropped(Tagged):
    """The system swallowed the duplicate: success, and no run (Inngest)."""

    TAG = "dropped"
    FIELDS = ()


class Rejected(Tagged):
    """The system refused the duplicate with an error the strategy turns into an answer."""

    TAG = "rejected"
    FIELDS = ("error",)


class Ended(Tagged):
    """The run the request was waiting for ended without a result (its status)."""

    TAG = "ended"
    FIELDS = ("status",)


class Superseded(Tagged):
    """The request's run was cancelled by a newer request (supersede)."""

    TAG = "superseded"
    FIELDS = ()


class Delivered(Tagged):
    """The request's payload was delivered to a run's hook."""

    TAG = "delivered"
    FIELDS = ("payload",)


# -- how a process ends -------------------------------------------------------------------------


class Succeeded(Tagged):
    """The process ended normally with ``value`` (a request: what its caller is answered)."""

    TAG = "ok"
    FIELDS = ("value",)

    @classmethod
    def normalise(cls, values: tuple[Any, ...]) -> tuple[Any, ...]:
        return (typed(values[0]),)


class Failed(Tagged):
    """The process ended with error ``name`` (and a detail); a request: its caller sees the error."""

    TAG = "error"
    FIELDS = ("name", "detail")


class Done(NamedTuple):
    """The process has finished with ``outcome`` (``Succeeded`` or ``Failed``)."""

    outcome: Succeeded | Failed

    @property
    def failed(self) -> bool:
        return isinstance(self.outcome, Failed)


def ok(value: Any = None) -> Done:
    return Done(Succeeded(value))


def error(name: str, detail: Any = None) -> Done:
    return Done(Failed(name, detail))


__all__ = [
    "Adopted",
    "Delivered",
    "Done",
    "Dropped",
    "DuplicateOf",
    "Ended",
    "Failed",
    "ForwardedTo",
    "OwnerEnded",
    "Rejected",
    "RunStarted",
    "Succeeded",
    "Superseded",
    "Tagged",
    "TaggedTuple",
    "WorkResult",
    "error",
    "ok",
    "typed",
]
