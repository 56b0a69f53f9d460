"""Throwaway servers on loopback for the community Worlds, like ``backends.pgserver`` for
PostgreSQL: Debian's ``redis-server`` for ``@workflow-worlds/redis``, and for
``@workflow-worlds/mongodb`` the MongoDB wire-protocol server ``nx-27017`` (PyPI, over SQLite),
because a real ``mongod`` cannot be had offline here (``mongodb-memory-server`` downloads one).

What nx-27017 cannot do, and what that leaves unchecked: it cannot hold BSON binary inside an
update (``Object of type bytes is not JSON serializable``), so the bridge stores the World's byte
values as ``{idemraceBytes: text}`` documents (``--values json``): the World's own handling of
byte arrays is not exercised on MongoDB. It is one process over SQLite, so "concurrent" clients
are serialised by the server: a race that needs MongoDB's own concurrency between a read and a
write inside one command cannot show; races between a World's separate commands (read, then
write) still can. Unique indexes are enforced (the World's token index is what its claim relies
on)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from backends.protocol import BackendUnavailable

BRIDGE_DIR = Path(__file__).resolve().parents[2] / "bridge"
NX_BIN = BRIDGE_DIR / "runtime" / "nx-27017" / "bin" / "nx-27017"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, what: str, log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
            raise BackendUnavailable(f"{what} exited at start: {tail[0] if tail else proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise BackendUnavailable(f"{what} did not listen on 127.0.0.1:{port} within {seconds}s")


class _Server:
    what = "server"

    def __init__(self) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix=f"idemrace-{self.what}-")
        self.dir = Path(self.tmp.name)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def argv(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        log = self.dir / "server.log"
        with open(log, "ab") as out:
            try:
                self.proc = subprocess.Popen(
                    self.argv(), cwd=self.dir, stdout=out, stderr=subprocess.STDOUT
                )
            except OSError as exc:
                raise BackendUnavailable(f"{self.what}: cannot start: {exc}") from None
        _wait_port(self.port, self.proc, self.what, log)

    def restart(self) -> None:
        """Fault: the server killed (SIGKILL) and started again over the same files."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.start()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.tmp.cleanup()


class RedisServer(_Server):
    """``redis-server`` on loopback, every write fsynced to its append-only file (so a restart
    keeps what was acknowledged, as a durable deployment does)."""

    what = "redis-server"

    def argv(self) -> list[str]:
        exe = shutil.which("redis-server") or "/usr/bin/redis-server"
        return [
            exe, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
            "--save", "", "--appendonly", "yes", "--appendfsync", "always",
            "--protected-mode", "yes", "--daemonize", "no",
        ]  # fmt: skip

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @classmethod
    def launch(cls) -> RedisServer:
        if shutil.which("redis-server") is None and not Path("/usr/bin/redis-server").exists():
            raise BackendUnavailable(
                "vercel-redis: redis-server is not installed (Debian package redis-server; run: "
                "bash scripts/test.sh)"
            )
        server = cls()
        server.start()
        return server


class NxMongoServer(_Server):
    """``nx-27017`` (a MongoDB wire-protocol server over SQLite, PyPI) on loopback."""

    what = "nx-27017"

    def argv(self) -> list[str]:
        return [
            str(NX_BIN), "--data-dir", str(self.dir / "data"), "--host", "127.0.0.1",
            "-p", str(self.port), "--log-file", str(self.dir / "nx.log"),
            "--pid-file", str(self.dir / "nx.pid"),
        ]  # fmt: skip

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/idemrace"

    @classmethod
    def launch(cls) -> NxMongoServer:
        if not NX_BIN.is_file():
            raise BackendUnavailable(
                f"vercel-mongodb: the MongoDB wire server nx-27017 is not installed at {NX_BIN} "
                "(run: bash scripts/test.sh)"
            )
        server = cls()
        (server.dir / "data").mkdir()
        server.start()
        return server
