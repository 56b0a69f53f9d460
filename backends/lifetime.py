"""What we start is stopped when we exit, whichever way: the last line of defence for servers.

A throwaway PostgreSQL, a Temporal dev server or a bridge process outlives an interpreter that
exits without its ``close()`` (an exception between start and the ``finally``, a caller that
forgets, a ``sys.exit`` in a callback). Each registers its stop function here when it starts and
forgets it when it stops; ``atexit`` runs what is left, newest first. SIGTERM and SIGINT reach
``atexit`` because the CLI turns them into exceptions in the main thread (``idemrace.signals``);
SIGKILL cannot be helped.
"""

from __future__ import annotations

import atexit
import itertools
import threading
from collections.abc import Callable

_lock = threading.Lock()
_tokens = itertools.count(1)
_stops: dict[int, Callable[[], None]] = {}


def on_exit(stop: Callable[[], None]) -> int:
    """Run ``stop()`` at interpreter exit unless ``forget(token)`` is called first."""
    with _lock:
        token = next(_tokens)
        _stops[token] = stop
    return token


def forget(token: int | None) -> None:
    if token is None:
        return
    with _lock:
        _stops.pop(token, None)


def stop_all() -> None:
    """Stop everything still registered, newest first; one failure does not keep the rest."""
    while True:
        with _lock:
            if not _stops:
                return
            token = max(_stops)
            stop = _stops.pop(token)
        try:
            stop()
        except Exception:  # exiting anyway: the others must still be stopped
            pass


atexit.register(stop_all)
