"""The backend protocol: one storage engine behind the model's world operations.

A ``Backend`` is one store (a database file, a PostgreSQL database, the model in memory). It is
configured with the profile whose promises it claims to keep (``configure``), emptied to a fresh
world (``reset``), and handed out as ``Session``s: one per client, each a connection of its own, so
N client threads really run N connections at once.

A ``Session`` has one method per world operation of the model (``model/ops.py``), named after the
op (``KeyedStart`` -> ``keyed_start``), and ``apply(op)`` dispatches on the op's type. Every method
answers with the model's result values (``model.ops`` NamedTuples) so a backend's answer compares
equal to the model's: run ids are the integers 1, 2, ... in admission order (gap-free: the n-th
admitted run is run n), errors are ``Error(<real class name>, detail)``.

Time is logical. ``advance_clock`` moves the store's clock one tick (the model's ``AdvanceClock``
/ ``Profile.tick``); the clock is part of the stored state (a row in the reference backends), runs
record the tick of their admission and of their end, and retention windows are counted in ticks.
That is what lets a backend and the model agree on expiry deterministically: no wall clock is read.

``snapshot()`` reads the whole store back as a ``WorldState`` (ghost state included: the reference
backends keep the delivery, consumption, effect and cancel logs as tables), so the harness can
check that a state a backend reached after faults is one the model allows.

Values (outputs, payloads, errors) are Python literals: they are stored as their ``repr`` and read
back with ``ast.literal_eval`` (``encode``/``decode``), which round-trips exactly for the strings,
integers and tuples strategies use.
"""

from __future__ import annotations

import ast
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from model import ops as O
from model.profiles.base import Profile, V4World
from model.state import WorldState


class BackendError(Exception):
    """Bad backend configuration (unknown profile or option): a one-line message, exit 2."""


class BackendUnavailable(Exception):
    """The store cannot be reached (server down, connection dropped): a one-line message.

    Raised from an operation, it means the caller does not know whether the operation took effect
    (like a lost response); the session reconnects on its next operation."""


class StoreUnreadable(Exception):
    """The store answered, but what it stored cannot be read back as a world: the system's own
    read throws on its own data (a corrupt row). Raised from ``Session.snapshot``, it is a
    discrepancy the validations report (with this one-line message), not an unreachable store."""


# Op type -> Session method name. Every op a backend may be asked to perform is listed here: the
# model's own handler names (one vocabulary for model and backends), plus keyed start and the clock.
OP_METHODS: dict[type, str] = {
    **V4World.HANDLERS,
    O.KeyedStart: "keyed_start",
    O.AdvanceClock: "advance_clock",
}

# profile name -> the options a backend must honour for it (the defaults are the profile's)
SUPPORTED_PROFILES: dict[str, tuple[str, ...]] = {
    "vercel-today": ("atomic_release",),
    "vercel-attribute-lookup": ("atomic_release", "retention"),
    "vercel-keyed-start": ("atomic_release", "retention", "retention_from", "duplicate"),
}


def encode(value: Any) -> str:
    text = repr(value)
    try:
        same = decode(text) == value
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        same = False
    if not same:
        raise BackendError(f"value {text} is not a Python literal a backend can store")
    return text


# CPython 3.11's AST validation keeps its recursion depth in per-interpreter state, so
# ``literal_eval`` from several threads at once can fail with "SystemError: AST constructor
# recursion depth mismatch" (found by the benchmark suite: the sqlite backend's GetRun, read by
# 10 client threads, raised it once in about 20 runs, and the linearizability check then, rightly
# by what it saw, called our own reference backend non-linearizable). One parse at a time.
_PARSE = threading.Lock()


def decode(text: str) -> Any:
    with _PARSE:
        return ast.literal_eval(text)


def with_profile_option(scenario: Any, option: str, value: Any) -> Any:
    """``scenario`` with one profile option set to what a real system can honour, renamed
    ``<name>@<option>=<value>`` so every report says which variant was replayed (for
    ``Backend.adapt_scenario``)."""
    from dataclasses import replace

    options = dict(scenario.profile_options)
    options[option] = value
    shown = str(value).lower() if isinstance(value, bool) else str(value)
    return replace(
        scenario,
        name=f"{scenario.name}@{option}={shown}",
        profile_options=tuple(sorted(options.items())),
    )


class Session(ABC):
    """One client connection. Methods are the world operations; see the module docstring."""

    _dispatch: ClassVar[dict[type, str]] = OP_METHODS

    def apply(self, op: Any) -> Any:
        method = self._dispatch.get(type(op))
        if method is None:
            raise BackendError(f"no backend operation for {type(op).__name__}")
        return getattr(self, method)(op)

    # runs
    @abstractmethod
    def create_run(self, op: O.CreateRun) -> Any: ...
    @abstractmethod
    def start_run(self, op: O.StartRun) -> Any: ...
    @abstractmethod
    def complete_run(self, op: O.CompleteRun) -> Any: ...
    @abstractmethod
    def fail_run(self, op: O.FailRun) -> Any: ...
    @abstractmethod
    def cancel_run(self, op: O.CancelRun) -> Any: ...
    @abstractmethod
    def get_run(self, op: O.GetRun) -> Any: ...
    @abstractmethod
    def list_runs(self, op: O.ListRuns) -> Any: ...
    @abstractmethod
    def keyed_start(self, op: O.KeyedStart) -> Any: ...

    # hooks
    @abstractmethod
    def claim_hook(self, op: O.ClaimHook) -> Any: ...
    @abstractmethod
    def deliver_payload(self, op: O.DeliverPayload) -> Any: ...
    @abstractmethod
    def poll_payload(self, op: O.PollPayload) -> Any: ...
    @abstractmethod
    def dispose_hook(self, op: O.DisposeHook) -> Any: ...
    @abstractmethod
    def release_hooks(self, op: O.ReleaseHooks) -> Any: ...
    @abstractmethod
    def get_hook_by_token(self, op: O.GetHookByToken) -> Any: ...

    # application side (the app's own tables, and the ghost effect log)
    @abstractmethod
    def perform_effect(self, op: O.PerformEffect) -> Any: ...
    @abstractmethod
    def app_record_get(self, op: O.AppRecordGet) -> Any: ...
    @abstractmethod
    def app_record_put(self, op: O.AppRecordPut) -> Any: ...

    # time
    @abstractmethod
    def advance_clock(self, op: O.AdvanceClock) -> Any:
        """One logical tick passes; answers ``Ok(new clock)``."""

    @abstractmethod
    def snapshot(self) -> WorldState:
        """The whole store as a ``WorldState`` (one consistent read)."""

    def close(self) -> None:  # noqa: B027 - optional for sessions with nothing to release
        """Release the connection."""

    # The blocking ops are only issued once the model says they can fire (the harness asks
    # ``Profile.enabled``), so they are the non-blocking reads/takes they then amount to.
    def consume_payload(self, op: O.ConsumePayload) -> Any:
        result = self.poll_payload(O.PollPayload(op.run_id, op.hook_id))
        if result == O.Ok(None):
            # the hook is gone (enabled because there is nothing to wait for) or, against a
            # conforming backend, never: the model only fires ConsumePayload on a non-empty inbox
            return O.HOOK_NOT_FOUND if self._hook_missing(op) else result
        return result

    def _hook_missing(self, op: O.ConsumePayload) -> bool:
        snap = self.snapshot()
        return snap.hook_of(op.run_id, op.hook_id) is None

    def await_run(self, op: O.AwaitRun) -> Any:
        return self.get_run(O.GetRun(op.run_id))


class UnsupportedOps:
    """Mixin for sessions of systems that only have part of the model's vocabulary (Temporal and
    DBOS have keyed starts but no hooks): every op method answers ``BackendError``. The backend
    lists the ops it does perform in ``Backend.OPS``; the harness never sends the others (a
    differential schedule that needs one is skipped and counted, the concurrent workload does not
    draw them)."""

    backend: Backend

    def _unsupported(self, op: Any) -> Any:
        raise BackendError(
            f"{self.backend.name}: operation {type(op).__name__} is not supported "
            f"(supported: {', '.join(sorted(self.backend.OPS or ()))})"
        )

    create_run = start_run = complete_run = fail_run = cancel_run = _unsupported
    get_run = list_runs = keyed_start = claim_hook = deliver_payload = _unsupported
    poll_payload = dispose_hook = release_hooks = get_hook_by_token = _unsupported
    perform_effect = app_record_get = app_record_put = advance_clock = _unsupported


class Backend(ABC):
    """One store. Subclasses set ``name`` and implement ``session``/``reset``; see the module
    docstring. ``url`` names an existing server where the backend has one (postgres), ``workdir``
    is a directory the backend may use for its files, ``package`` names the implementation to load
    where a backend drives third-party code (a Vercel World package)."""

    name: ClassVar[str] = "backend"
    # profile name -> the options this backend honours for it
    PROFILES: ClassVar[dict[str, tuple[str, ...]]] = SUPPORTED_PROFILES
    # the profiles the concurrent and fault validations run under: the first one supported
    # (retention 1 so keys expire at the epoch ticks and admissions are contended again)
    CONCURRENT_PROFILES: ClassVar[tuple[tuple[str, dict[str, Any]], ...]] = (
        ("vercel-keyed-start", {"retention": 1}),
        ("vercel-today", {}),
    )
    # run the concurrent workload under every supported CONCURRENT_PROFILES entry, not just the
    # first (each one a history of its own, checked on its own)
    CONCURRENT_ALL: ClassVar[bool] = False
    # the Session methods (``OP_METHODS`` values) this backend performs; None = all of them
    OPS: ClassVar[frozenset[str] | None] = None
    # does ``Session.snapshot`` return the whole world (runs, keys, hooks and ghost logs)? A
    # backend over a third-party system may only be able to answer operations; then the
    # differential validation compares every answer but not the final state (and says so)
    SNAPSHOT: ClassVar[bool] = True
    # "restart" (the store can be stopped and started again), "kill" (clients in other
    # processes can be killed mid-operation), "drop" (a connection can be dropped mid-transaction)
    FAULTS: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self, *, url: str | None = None, workdir: Path | None = None, package: str | None = None
    ) -> None:
        if package is not None and not self.TAKES_PACKAGE:
            raise BackendError(f"{self.name}: --package is only for backends that load one")
        self.url = url
        self.workdir = workdir
        self.package = package
        self.profile: Profile | None = None

    # does the backend load a named implementation (``package``)?
    TAKES_PACKAGE: ClassVar[bool] = False

    def configure(self, profile: Profile) -> None:
        """Behave like ``profile`` from the next ``reset`` on; ``BackendError`` if unsupported."""
        allowed = self.PROFILES.get(profile.name)
        if allowed is None:
            names = ", ".join(sorted(self.PROFILES))
            raise BackendError(
                f"{self.name}: profile {profile.name!r} unsupported; supported: {names}"
            )
        self.profile = profile

    def supports(self, profile: Profile) -> bool:
        return profile.name in self.PROFILES

    def adapt_scenario(self, scenario: Any) -> Any:
        """The catalog scenario as the differential replays it here, or None to skip it.

        The default replays it unchanged. A backend over a real system whose parameters cannot
        take the scenario's values (Temporal's retention is at least a day of wall clock, never
        a few logical ticks) returns a copy with the option it honours instead, renamed so the
        report says so, rather than faking the system's behaviour."""
        return scenario

    def extra_scenarios(self) -> list[Any]:
        """Scenarios of the backend's own that the differential replays after the catalog's
        (settings of the real system the catalog does not cover); none by default."""
        return []

    def performs(self, op: Any) -> bool:
        """Does this backend perform ``op`` (see ``OPS``)?"""
        return self.OPS is None or OP_METHODS.get(type(op)) in self.OPS

    @property
    def options(self) -> dict[str, Any]:
        assert self.profile is not None, "configure() first"
        return self.profile.options

    def start(self) -> None:  # noqa: B027 - optional: backends without a server start nothing
        """Bring the store up (create files, start or reach the server); ``BackendUnavailable``."""

    @abstractmethod
    def reset(self) -> None:
        """Empty the store: a fresh world (clock 0, no runs) under the configured profile."""

    @abstractmethod
    def session(self) -> Session:
        """A new client connection."""

    def restart(self) -> None:
        """Fault: stop and start the store again (reopen the file, restart the server)."""
        raise BackendError(f"{self.name}: restart is not supported")

    def client_spec(self) -> dict[str, Any]:
        """How a client in another process reaches this store (``backends.load``-able)."""
        raise BackendError(f"{self.name}: clients in other processes are not supported")

    def close(self) -> None:  # noqa: B027 - optional
        """Stop what ``start`` started."""

    # does the backend call ``fault_point`` inside its write transactions?
    FAULT_POINTS: ClassVar[bool] = False
    # fault injection: called by sessions between the statements of a write transaction
    # (the harness sets it to kill the client or drop its connection there)
    fault_point: Callable[[Session, str], None] | None = None
