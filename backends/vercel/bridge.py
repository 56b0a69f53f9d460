"""The Node bridge: one ``bridge/world_bridge.mjs`` process per World instance, spoken to in JSON
lines over stdio (a call, its fault point, its answer or the World's thrown class), and the checks
that Node and the World packages are there before any process starts."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from backends.protocol import BackendError, BackendUnavailable

# backends/vercel/bridge.py -> the checkout's bridge/ (two levels up from this package)
BRIDGE_DIR = Path(__file__).resolve().parents[2] / "bridge"
BRIDGE = BRIDGE_DIR / "world_bridge.mjs"
# how long one World call may take before the session gives up (BackendUnavailable)
CALL_SECONDS = 60.0


class WorldError(Exception):
    """A class the World threw: ``name`` is the class name (community Worlds' HTTP statuses
    mapped to the current class names by the bridge's adapter). ``adapter`` = the exception is of
    the adapter's own making (a TypeError, a schema error on our input, "is not a function"):
    never the World's answer, see ``AdapterCallError``."""

    def __init__(self, name: str, message: str, adapter: bool = False, call: str = "") -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message
        self.adapter = adapter
        self.call = call


class AdapterCallError(BackendError):
    """The adapter called the World in a way its generation does not take: exit 2 naming the
    call and the World's message, never recorded as the World's answer."""


def find_node() -> str:
    node = shutil.which("node")
    if node is None:
        raise BackendUnavailable(
            "vercel: node is not on PATH (Node >= 20 is needed; run: bash scripts/test.sh)"
        )
    return node


def check_bridge_installed(package: str | None = None) -> None:
    if not (BRIDGE_DIR / "world_bridge.mjs").is_file():
        # an installed wheel carries the Python packages only, not bridge/ and its npm lockfile
        raise BackendUnavailable(
            f"vercel: the Node bridge is not at {BRIDGE_DIR}: the Vercel backends run from a "
            "source checkout (git clone, then bash scripts/test.sh)"
        )
    # a World named with --package may live elsewhere; the default ones are installed here
    if package is None and not (BRIDGE_DIR / "node_modules" / "@workflow" / "world").is_dir():
        raise BackendUnavailable(
            f"vercel: {BRIDGE_DIR / 'node_modules'} is missing the World packages "
            "(run: bash scripts/test.sh, or: cd bridge && npm install)"
        )


class Bridge:
    """One ``world_bridge.mjs`` process: one World instance."""

    def __init__(self, argv: list[str], log: Path | None) -> None:
        self.log = open(log, "ab") if log is not None else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(
                argv,
                cwd=BRIDGE_DIR,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.log,
            )
        except OSError as exc:
            raise BackendUnavailable(f"vercel: cannot start node: {exc}") from None
        self.buffer = b""
        self.next_id = 0
        first = self._read_line(CALL_SECONDS)
        if first is None:
            self.kill()
            raise BackendUnavailable("vercel: the World bridge exited before it was ready")
        if "fatal" in first:
            self.kill()
            raise BackendUnavailable(f"vercel: {first['fatal']}")
        self.info = first

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def _read_line(self, timeout: float) -> dict[str, Any] | None:
        """The next JSON line, or None at EOF; ``BackendUnavailable`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()  # type: ignore[union-attr]
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise BackendUnavailable(f"vercel: the World did not answer within {timeout}s")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return json.loads(line)

    def _send(self, message: dict[str, Any]) -> None:
        try:
            self.proc.stdin.write(json.dumps(message).encode() + b"\n")  # type: ignore[union-attr]
            self.proc.stdin.flush()  # type: ignore[union-attr]
        except (BrokenPipeError, ValueError, OSError):
            raise BackendUnavailable("vercel: the World bridge is gone") from None

    def call(
        self, method: str, *args: Any, on_point=None, when: str = "after", match: str | None = None
    ) -> Any:
        """One World call; ``on_point()`` runs at the bridge's fault point (armed when given),
        ``when`` = "after" (its first durable write) or "before" (it); ``match="terminal"``
        pauses at the write that makes the run terminal instead of the first one."""
        if not self.alive:
            raise BackendUnavailable("vercel: the World bridge is gone")
        self.next_id += 1
        rid = self.next_id
        arm = when if on_point is not None else False
        message: dict[str, Any] = {"id": rid, "call": method, "args": list(args), "arm": arm}
        if match is not None and on_point is not None:
            message["match"] = match
        self._send(message)
        while True:
            reply = self._read_line(CALL_SECONDS)
            if reply is None:
                raise BackendUnavailable(f"vercel: the World bridge died during {method}")
            if reply.get("id") != rid:
                continue
            if "point" in reply:
                on_point()
                self._send({"id": rid, "go": True})
                continue
            if "error" in reply:
                err = reply["error"]
                raise WorldError(
                    err.get("name") or "Error",
                    err.get("message") or "",
                    bool(err.get("adapter")),
                    method,
                )
            return reply["ok"]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._close_pipes()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()  # type: ignore[union-attr]
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._close_pipes()

    def _close_pipes(self) -> None:
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass
        if self.log is not subprocess.DEVNULL:
            self.log.close()
            self.log = subprocess.DEVNULL
