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
import contextlib
import itertools
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def stop_group(proc: subprocess.Popen[Any], kill: bool = False) -> None:
    """Stop the process group ``proc`` leads (started with ``start_new_session``): SIGTERM (or
    SIGKILL), SIGKILL if the leader does not exit within 15 s; then wait until no process of the
    group runs, SIGKILLing what is left after 5 s (a Temporal dev server's helper outlived the
    server's own exit for a moment, and a test saw it still running after the command had
    returned)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    if not _group_gone(proc.pid, 5.0):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        _group_gone(proc.pid, 5.0)


def _group_gone(group: int, seconds: float) -> bool:
    """Has every process of ``group`` exited (zombies count as exited) within ``seconds``?
    Where there is no /proc, nothing is known: taken as gone."""
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    deadline = time.monotonic() + seconds
    while True:
        alive = False
        for entry in proc.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                # "pid (comm) state ppid pgrp ...": comm may hold spaces, so split after ")"
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) == group and fields[0] != "Z":
                alive = True
                break
        if not alive:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
