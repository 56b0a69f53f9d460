"""The backends: ``VercelBackend`` (lifecycle, the sessions and their bridges, World package
resolution, held terminal events under ``atomic_release = false``, faults, ``client_spec``) and
its two stores, ``VercelLocalBackend`` (a data directory) and ``VercelPostgresBackend`` (a
throwaway PostgreSQL server or a given database, the World's schema made by its own CLI)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import weakref
from pathlib import Path
from typing import Any, ClassVar

from backends.protocol import (
    Backend,
    BackendError,
    BackendUnavailable,
    Session,
    with_profile_option,
)
from backends.vercel.bridge import BRIDGE, BRIDGE_DIR, Bridge, check_bridge_installed, find_node
from backends.vercel.session import Paused, VercelSession
from backends.vercel.sidecar import Sidecar
from model import ops as O


class VercelBackend(Backend):
    """Shared by the two World packages; subclasses say how a bridge reaches the store."""

    KIND: ClassVar[str] = "local"
    TAKES_PACKAGE = True
    PROFILES: ClassVar[dict[str, tuple[str, ...]]] = {"vercel-today": ("atomic_release",)}
    CONCURRENT_PROFILES: ClassVar[tuple[tuple[str, dict[str, Any]], ...]] = (("vercel-today", {}),)
    OPS = None  # the whole v4 vocabulary
    SNAPSHOT = True
    FAULT_POINTS = True
    FAULTS: ClassVar[tuple[str, ...]] = ("kill", "restart")

    def __init__(self, *, sidecar: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(self.workdir, str):  # from client_spec (JSON)
            self.workdir = Path(self.workdir)
        if self.package is not None and (
            self.package.startswith((".", "/")) or Path(self.package).is_dir()
        ):
            # a path to a World package: the bridge runs in bridge/, so make it absolute here
            self.package = str(Path(self.package).resolve())
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.dir: Path | None = None
        self._sidecar_path = Path(sidecar) if sidecar else None
        self.sidecar: Sidecar = None  # type: ignore[assignment]
        self._sessions: weakref.WeakSet[VercelSession] = weakref.WeakSet()
        self._lock = threading.Lock()
        # terminal events held between their two writes (atomic_release = false), and the
        # spare sessions that run them
        self._held: dict[int, tuple[Paused, VercelSession]] = {}
        self._spares: list[VercelSession] = []
        self._started = False
        self.node = ""

    # -- atomic_release -----------------------------------------------------------------------
    #
    # The World ends a run and deletes its hooks in two writes of one events.create call (see the
    # package docstring): that is the model's ``atomic_release = false``, with the release written
    # by the same call right after. The differential replays every vercel-today catalog scenario
    # that way (``adapt_scenario``), holding the call between its two writes until the model's
    # ``ReleaseHooks`` step. ``true`` is honoured too, as the whole call being one op: a single
    # caller cannot tell, and the concurrent and fault validations run under it because the
    # linearizability checker cannot place the world's own release steps; there the gap between
    # the two writes shows up as a discrepancy, which is the finding.

    def adapt_scenario(self, scenario: Any) -> Any:
        if scenario.profile_name != "vercel-today":
            return scenario
        if dict(scenario.profile_options).get("atomic_release", True) is False:
            return scenario
        return with_profile_option(scenario, "atomic_release", False)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        if self._started:
            return
        self.node = find_node()
        check_bridge_installed(self.package)
        base = self.workdir
        if base is None:
            self._tmp = tempfile.TemporaryDirectory(prefix=f"idemrace-{self.name}-")
            base = Path(self._tmp.name)
        base.mkdir(parents=True, exist_ok=True)
        self.dir = base
        self._start_store()
        self.sidecar = Sidecar(self._sidecar_path or base / "sidecar.sqlite")
        # one bridge proves the package loads and the store answers (a clear one-line error)
        probe = self.spawn()
        probe.close()
        self._started = True

    def _start_store(self) -> None:
        """Bring up what the bridges connect to (a server, a schema)."""

    def bridge_argv(self) -> list[str]:
        raise NotImplementedError

    def spawn(self) -> Bridge:
        assert self.dir is not None
        return Bridge(self.bridge_argv(), self.dir / "bridge.log")

    def session(self) -> Session:
        self.start()
        session = VercelSession(self)
        # the World process starts now, not inside the first operation: a concurrent history
        # must not carry a second of Node start-up in its first operations' intervals
        session._bridge()
        with self._lock:
            self._sessions.add(session)
        return session

    def hold_end(self, op: Any) -> Any:
        """Run a terminal event on a spare session, held after its first write; ``Ok`` once the
        run's terminal state is written (``finish_end`` lets the call delete the hooks)."""
        with self._lock:
            spare = self._spares.pop() if self._spares else None
        if spare is None:
            spare = self.session()  # registered: reset and restart reach its bridge too
            assert isinstance(spare, VercelSession)
            spare.plain = True
        paused = Paused(spare, op, "after")
        if not paused.reached.is_set():  # refused before any write: the World's answer
            result = paused.release()
            self._spares.append(spare)
            return result
        with self._lock:
            self._held[op.run_id] = (paused, spare)
        return O.Ok()

    def holding(self, run_id: int) -> bool:
        with self._lock:
            return run_id in self._held

    def finish_end(self, run_id: int) -> None:
        with self._lock:
            entry = self._held.pop(run_id, None)
        if entry is None:
            return
        paused, spare = entry
        result = paused.release()
        with self._lock:
            self._spares.append(spare)
        if result != O.Ok():
            raise BackendError(
                f"{self.name}: a held terminal event of run {run_id} answered {result}"
            )

    def _finish_all(self) -> None:
        with self._lock:
            held = list(self._held)
        for run_id in held:
            self.finish_end(run_id)

    def _forget(self, session: VercelSession) -> None:
        with self._lock:
            self._sessions.discard(session)

    def reset(self) -> None:
        assert self.profile is not None, "configure() first"
        self.start()
        self._finish_all()
        self._clear_store()
        self.sidecar.clear()

    def _clear_store(self) -> None:
        raise NotImplementedError

    def restart(self) -> None:
        """Fault: every World process is stopped (killed) and comes back on its next call."""
        with self._lock:
            sessions = list(self._sessions)
        for session in sessions:
            if session.bridge is not None:
                session.bridge.proc.send_signal(signal.SIGKILL)

    def client_spec(self) -> dict[str, Any]:
        assert self.dir is not None
        return {
            "class": f"{type(self).__module__}:{type(self).__name__}",
            "workdir": str(self.dir),
            "sidecar": str(self.sidecar.path),
            "package": self.package,
            "url": self.url,
            "attach": True,
        }

    def close(self) -> None:
        try:
            self._finish_all()
        except (BackendError, BackendUnavailable):
            pass  # closing anyway
        with self._lock:
            sessions = list(self._sessions) + self._spares
            self._spares = []
        for session in sessions:
            session.close()
        self._stop_store()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        self._started = False

    def _stop_store(self) -> None:
        pass


class VercelLocalBackend(VercelBackend):
    """``@workflow/world-local`` (JSON files in a data directory)."""

    name = "vercel-local"
    KIND = "local"

    def __init__(self, *, attach: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.url is not None:
            raise BackendError("vercel-local: no --url (the World is a data directory)")

    @property
    def data_dir(self) -> Path:
        assert self.dir is not None
        return self.dir / "world-data"

    def bridge_argv(self) -> list[str]:
        argv = [self.node, str(BRIDGE), "--kind", "local", "--data-dir", str(self.data_dir)]
        if self.package is not None:
            argv += ["--package", self.package]
        return argv

    def _clear_store(self) -> None:
        with self._lock:
            sessions = [s for s in self._sessions if s.bridge is not None and s.bridge.alive]
        if not sessions:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            return
        # every live instance empties the directory and drops its own caches
        for session in sessions:
            session.call("world.clear")


TRUNCATE = (
    "TRUNCATE workflow.workflow_runs, workflow.workflow_events, workflow.workflow_hooks, "
    "workflow.workflow_steps, workflow.workflow_waits, workflow.workflow_stream_chunks"
)


class VercelPostgresBackend(VercelBackend):
    """``@workflow/world-postgres`` (PostgreSQL through drizzle; its job queue is never started).

    Without ``url``: a throwaway server (``backends.pgserver``), the World's schema created with
    its own CLI. With ``url``: that database, schema created if missing (the CLI's migrations are
    idempotent), and every ``reset`` TRUNCATEs the World's tables there: point it at a database
    you can spare. The restart fault needs the throwaway server."""

    name = "vercel-postgres"
    KIND = "postgres"

    def __init__(self, *, attach: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.server = None
        self.attach = attach
        if self.url is not None and not attach:
            self.FAULTS = ("kill",)  # not our server: no restart

    def _start_store(self) -> None:
        if self.url is None:
            from backends.pgserver import ThrowawayServer

            self.server = ThrowawayServer.launch()
            self.url = self.server.url
        if not self.attach:
            self._create_schema()

    def _create_schema(self) -> None:
        """The World's own migrations (``world-postgres/dist/cli.js``), once per database."""
        cli = BRIDGE_DIR / "node_modules" / "@workflow" / "world-postgres" / "dist" / "cli.js"
        if self.package is not None and not cli.exists():
            return
        env = {**os.environ, "WORKFLOW_POSTGRES_URL": self.url or ""}
        try:
            proc = subprocess.run(
                [self.node, str(cli)],
                cwd=BRIDGE_DIR,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
        except subprocess.TimeoutExpired:
            raise BackendUnavailable("vercel-postgres: the schema setup timed out") from None
        if proc.returncode != 0:
            # the root cause (ECONNREFUSED, authentication failed, ...) is the innermost "Error:"
            lines = [ln.strip() for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
            errors = [ln for ln in lines if "Error:" in ln or ln.startswith("❌")]
            reason = errors[-1] if errors else (lines[-1] if lines else f"exit {proc.returncode}")
            raise BackendUnavailable(
                f"vercel-postgres: schema setup failed on {self._safe_url()}: {reason}"
            )

    def _safe_url(self) -> str:
        import re

        return re.sub(r"//[^@/]*@", "//[redacted]@", self.url or "")

    def bridge_argv(self) -> list[str]:
        argv = [self.node, str(BRIDGE), "--kind", "postgres", "--url", self.url or ""]
        if self.package is not None:
            argv += ["--package", self.package]
        return argv

    def _clear_store(self) -> None:
        import psycopg

        try:
            with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
                conn.execute(TRUNCATE)
        except psycopg.Error as exc:
            raise BackendUnavailable(
                f"vercel-postgres: cannot empty the World's tables: {str(exc).strip()}"
            ) from None

    def restart(self) -> None:
        if self.server is None:
            raise BackendError("vercel-postgres: restart needs the throwaway server (no --url)")
        super().restart()
        self.server.restart()

    def client_spec(self) -> dict[str, Any]:
        spec = super().client_spec()
        return spec

    def _stop_store(self) -> None:
        if self.server is not None and not self.attach:
            self.server.stop()
            self.server = None
            self.url = None
