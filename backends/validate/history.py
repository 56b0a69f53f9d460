"""Concurrent histories: what clients did, when, and what came back.

An ``Operation`` is one call: the client, the key it concerns (``None`` for the clock, which
concerns every key), the op, the result, and the invocation and response times (``time.
monotonic_ns``, the same clock in every process on one machine). ``ret is None`` marks an
operation whose outcome the caller never learned (its client was killed, its connection dropped,
the server restarted under it): it may or may not have taken effect.

``Observe`` is a pseudo-operation the fault harness appends after everything else: it reads the
whole store, and its "result" is the part of the snapshot that belongs to its key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

UNKNOWN_RESULT = None  # the result of an operation that has no response


class Observe(NamedTuple):
    """Read the store's state of ``key`` (runs, hooks, key memory, deliveries, consumptions)."""

    key: str


class Operation(NamedTuple):
    index: int
    client: int  # -1: the harness (clock ticks, observations)
    key: str | None  # None: concerns every key (the logical clock)
    op: Any
    result: Any
    call: int
    ret: int | None  # None: no response (pending forever)

    @property
    def pending(self) -> bool:
        return self.ret is None


def workflow_of(key: str) -> str:
    """Concurrent workloads give each key its own workflow name, so ``runs.list`` is per key
    too and the history partitions cleanly by key."""
    return f"wf-{key}"


@dataclass(frozen=True)
class Raised:
    """The answer of an operation the backend failed with an exception it does not map to a
    model result (a driver's ``IntegrityError``, a bug in its code): the op and the message are
    recorded as the op's result, which no model result equals (a dataclass, not a tuple: it can
    never compare equal to an ``Error`` of the same fields), so the validations report a
    discrepancy naming them rather than ending the run without a verdict."""

    name: str
    message: str


def answer(session: Any, op: Any) -> Any:
    """``session.apply(op)``; an exception the backend does not map becomes ``Raised``.

    ``BackendUnavailable`` (no response) and ``BackendError`` (the harness asked for something
    the backend refuses: bad configuration, an op it does not perform) pass through."""
    from backends.protocol import BackendError, BackendUnavailable

    try:
        return session.apply(op)
    except (BackendUnavailable, BackendError):
        raise
    except Exception as exc:
        # raised by an interrupt unwinding inside the backend's client (a driver that turns the
        # KeyboardInterrupt into its own error keeps it as the context): the run is stopping,
        # and recording it as the store's answer would blame the store for our Ctrl-C
        cause = exc.__cause__ or exc.__context__
        while cause is not None:
            if isinstance(cause, KeyboardInterrupt):
                raise cause from None
            cause = cause.__cause__ or cause.__context__
        return Raised(type(exc).__name__, " ".join(str(exc).split())[:200])
