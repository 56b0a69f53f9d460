"""The Restate server and the SDK endpoint as throwaway processes on loopback.

* ``restate_binary``: the ``restate-server`` binary the npm package ships
  (``backends/restate/server/node_modules/@restatedev/restate-server-<os>-<arch>/bin``, pinned by
  ``backends/restate/server/package-lock.json``; ``scripts/test.sh`` installs it), or
  ``IDEMRACE_RESTATE_SERVER``, or one on ``PATH``.
* ``spawn_server``: ``restate-server --use-random-ports true --listen-mode tcp --bind-ip
  127.0.0.1`` over a base directory of its own, telemetry off (``RESTATE_DISABLE_TELEMETRY``:
  ``disable-telemetry = true`` in ``--dump-config``), JSON logs, from which ``wait_for_ports``
  reads the ports the server chose (the ``server.port`` of ``http-ingress-server`` and
  ``admin-api-server``). The server also asks GitHub for its latest release at start
  (``server/src/main.rs`` spawns ``check_if_latest_version`` unconditionally: no setting turns it
  off); with no route out it fails at once and logs one line, which is all it does.
* ``spawn_endpoint``: ``python -m backends.restate.service`` (the real handlers, on Hypercorn) on a
  free loopback port, in a process of its own so a test can kill it mid-invocation.

Everything is stopped with its process group, and at exit if nobody did (``backends.lifetime``).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from backends import lifetime
from backends.protocol import BackendUnavailable

SERVER_UP_SECONDS = 60.0
HERE = Path(__file__).resolve().parent
PACKAGE_DIR = HERE / "server" / "node_modules" / "@restatedev"
_at_exit: dict[int, int] = {}  # pid -> backends.lifetime token


def restate_binary() -> Path:
    """The server binary; ``BackendUnavailable`` (one line) when there is none."""
    named = os.environ.get("IDEMRACE_RESTATE_SERVER")
    if named:
        path = Path(named)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise BackendUnavailable(f"restate: IDEMRACE_RESTATE_SERVER={named} is not an executable")
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower()
    )
    path = PACKAGE_DIR / f"restate-server-{sys.platform}-{arch}" / "bin" / "restate-server"
    if path.is_file() and os.access(path, os.X_OK):
        return path
    found = shutil.which("restate-server")
    if found:
        return Path(found)
    raise BackendUnavailable(
        "restate: no restate-server binary (install it: cd backends/restate/server && npm install,"
        " or bash scripts/test.sh)"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _register(proc: subprocess.Popen[bytes]) -> None:
    _at_exit[proc.pid] = lifetime.on_exit(lambda: stop_process(proc))


def spawn_server(base: Path, cleanup_interval: str) -> subprocess.Popen[bytes]:
    """The server over ``base`` (its data and ``server.log``)."""
    binary = restate_binary()
    env = {
        **os.environ,
        "RESTATE_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "1",
        # how often a partition purges invocations whose retention ran out (1h by default)
        "RESTATE_WORKER__CLEANUP_INTERVAL": cleanup_interval,
    }
    log = open(base / "server.log", "ab")  # handed to the child, closed below
    try:
        proc = subprocess.Popen(
            [
                str(binary),
                "--no-logo",
                "--base-dir",
                str(base / "data"),
                "--node-name",
                "idemrace",
                "--use-random-ports",
                "true",
                "--listen-mode",
                "tcp",
                "--bind-ip",
                "127.0.0.1",
                "--default-num-partitions",
                "4",
                "--log-format",
                "json",
                "--log-filter",
                "warn,restate_ingress_http=info,restate_admin=info,restate_core=info",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    finally:
        log.close()
    _register(proc)
    return proc


def _ports(log_path: Path, offset: int) -> dict[str, int]:
    found: dict[str, int] = {}
    with open(log_path, "rb") as f:
        f.seek(offset)
        for raw in f:
            if b"server.port" not in raw:
                continue
            with contextlib.suppress(ValueError):
                span = json.loads(raw).get("span", {})
                if "server_name" in span and "server.port" in span:
                    found[span["server_name"]] = int(span["server.port"])
    return found


def wait_for_ports(proc: subprocess.Popen[bytes], log_path: Path, offset: int) -> tuple[int, int]:
    """(ingress port, admin port) once both answer their health checks."""
    deadline = time.monotonic() + SERVER_UP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BackendUnavailable(
                f"restate: the server exited with {proc.returncode}: {_last_error(log_path)}"
            )
        ports = _ports(log_path, offset)
        ingress, admin = ports.get("http-ingress-server"), ports.get("admin-api-server")
        if (
            ingress
            and admin
            and _healthy(f"http://127.0.0.1:{admin}/health")
            and _healthy(f"http://127.0.0.1:{ingress}/restate/health")
        ):
            return ingress, admin
        time.sleep(0.1)
    raise BackendUnavailable(
        f"restate: the server did not come up within {SERVER_UP_SECONDS:.0f}s: "
        f"{_last_error(log_path)}"
    )


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except (OSError, urllib.error.URLError):
        return False


def _last_error(log_path: Path) -> str:
    """The last error the server logged, in one line (or its last line)."""
    try:
        lines = log_path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    for line in reversed(lines):
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if entry.get("level") == "ERROR" and entry.get("target") != "octocrab":
                return str(entry.get("fields", {}).get("message", line))[:300]
    return lines[-1][:300] if lines else "no output"


def spawn_endpoint(port: int, names: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    """The SDK endpoint (``backends.restate.service``) serving ``names`` on loopback ``port``."""
    root = HERE.parent.parent
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "backends.restate.service", "--port", str(port), *names],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(root),
            start_new_session=True,
        )
    _register(proc)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-1:]
            raise BackendUnavailable(
                f"restate: the service endpoint exited with {proc.returncode}"
                f"{': ' + tail[0] if tail else ''}"
            )
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return proc
        time.sleep(0.05)
    stop_process(proc)
    raise BackendUnavailable("restate: the service endpoint did not listen within 30s")


def stop_process(proc: subprocess.Popen[Any], kill: bool = False) -> None:
    """Stop the process's whole group, SIGTERM or SIGKILL first (``lifetime.stop_group``)."""
    lifetime.stop_group(proc, kill)
    lifetime.forget(_at_exit.pop(proc.pid, None))
