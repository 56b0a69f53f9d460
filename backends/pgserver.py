"""A throwaway PostgreSQL server on loopback (Debian ``postgresql`` package binaries).

``initdb`` into a temporary directory, ``pg_ctl start`` on a free port bound to 127.0.0.1 only,
trust authentication (nothing listens beyond loopback), ``pg_ctl stop`` at the end. PostgreSQL
refuses to run as root: when we are root, the server runs as the unprivileged user
``idemrace-pg`` (created with ``useradd`` if missing) through ``runuser``.

``pg_ctl`` detaches the server from us, so nothing stops it when we die: from the moment its
folder exists, ``stop`` is registered to run at exit (``backends.lifetime``), and the CLI turns
SIGTERM and Ctrl-C into an orderly exit, so a CI timeout leaves no server and no folder behind.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from backends import lifetime
from backends.protocol import BackendUnavailable

PG_USER = "idemrace-pg"


def find_bin(name: str) -> str | None:
    """``initdb``/``pg_ctl``: on PATH or under /usr/lib/postgresql/<version>/bin (newest)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return candidates[-1] if candidates else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrowawayServer:
    def __init__(self) -> None:
        self.initdb = find_bin("initdb")
        self.pg_ctl = find_bin("pg_ctl")
        if self.initdb is None or self.pg_ctl is None:
            raise BackendUnavailable(
                "postgres: initdb/pg_ctl not found (install the Debian package 'postgresql', "
                "or pass --url postgresql://...)"
            )
        self.root = os.geteuid() == 0
        self.base = Path(tempfile.mkdtemp(prefix="idemrace-pg-"))
        self._at_exit = lifetime.on_exit(self.stop)
        self.data = self.base / "data"
        self.port = 0
        self.log = self.base / "server.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str) -> None:
        cmd = list(argv)
        if self.root:
            cmd = ["runuser", "-u", PG_USER, "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise BackendUnavailable(f"postgres: {Path(argv[0]).name} failed: {tail[0]}")

    @classmethod
    def launch(cls) -> ThrowawayServer:
        """A started server; one that fails to start is stopped (its directory removed) first."""
        server = cls()
        try:
            server.start()
        except BaseException:
            server.stop()
            raise
        return server

    def start(self) -> None:
        if self.root:
            self._ensure_user()
            shutil.chown(self.base, PG_USER, PG_USER)
        # fsync stays on: the restart fault checks that acknowledged commits survive
        self._run(self.initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        self.port = free_port()
        self._start()

    def _start(self) -> None:
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.base} -c max_connections=100"
        self._run(self.pg_ctl, "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w", "start")

    def restart(self) -> None:
        """Stop (fast: open transactions are aborted, clients disconnected) and start again."""
        self._run(self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop")
        self._start()

    def stop(self) -> None:
        if self.data.exists() and (self.data / "postmaster.pid").exists():
            try:
                self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
            except BackendUnavailable:
                pass  # already gone; the directory is removed below regardless
        shutil.rmtree(self.base, ignore_errors=True)
        lifetime.forget(self._at_exit)

    @staticmethod
    def _ensure_user() -> None:
        probe = subprocess.run(["id", "-u", PG_USER], capture_output=True)
        if probe.returncode == 0:
            return
        made = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
            capture_output=True,
            text=True,
        )
        if made.returncode != 0 and subprocess.run(["id", "-u", PG_USER]).returncode != 0:
            raise BackendUnavailable(
                f"postgres: cannot create user {PG_USER}: {made.stderr.strip()}"
            )
