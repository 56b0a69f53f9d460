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
from backends.vercel.bridge import (
    BRIDGE,
    AdapterCallError,
    Bridge,
    WorldError,
    check_bridge_installed,
    find_node,
)
from backends.vercel.session import Paused, VercelSession
from backends.vercel.sidecar import Sidecar
from backends.vercel.worlds import WorldPackage, resolve
from model import ops as O

# the drivers whose writes carry fault points, one per kind (the bridge reports each)
DRIVERS = ("fs", "pg", "ioredis", "mongodb")


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

    def __init__(
        self,
        *,
        sidecar: str | None = None,
        world_info: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
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
        self.world: WorldPackage | None = None
        # the probe bridge's ready line: generation, specVersion, capabilities, fault points
        self.world_info: dict[str, Any] = dict(world_info or {})
        if world_info:  # a client in another process: the driver's probe said which World
            self._choose_profiles()

    # does this kind end a run and release its hooks in one write, as a reader sees it? (the
    # adapter's answer per store and generation: world-local 4.x and world-postgres, every
    # generation: two writes, the run then its hooks; world-local 5: a terminal marker first, and
    # its token reads treat a terminal owner's claim as released, so one; the redis World: one
    # pipeline with the run and its hooks; the mongodb World: replaceOne, then deleteMany)
    ATOMIC_RELEASE: ClassVar[bool] = False
    ATOMIC_RELEASE_V5: ClassVar[bool | None] = None  # None: as ATOMIC_RELEASE

    @property
    def atomic_release(self) -> bool:
        if self.generation == "v5" and self.ATOMIC_RELEASE_V5 is not None:
            return self.ATOMIC_RELEASE_V5
        return self.ATOMIC_RELEASE

    @property
    def generation(self) -> str:
        return str(self.world_info.get("generation", "v4"))

    @property
    def profile_name(self) -> str:
        """The semantics this World is validated against: the 5.0 betas against ``vercel-v5``
        (model/profiles/vercel_v5.py), the rest against ``vercel-today``."""
        return "vercel-v5" if self.generation == "v5" else "vercel-today"

    def _choose_profiles(self) -> None:
        # per World generation, once the probe bridge has said which (instance attributes: the
        # harness reads them after start)
        if self.generation == "v5":
            self.PROFILES = {"vercel-v5": ("atomic_release", "stale_claims")}  # type: ignore[misc]
            self.CONCURRENT_PROFILES = (("vercel-v5", {}),)  # type: ignore[misc]

    def adapter_error(self, err: WorldError) -> AdapterCallError:
        label = self.world.label if self.world else (self.package or "?")
        gen = self.world_info.get("generation", "?")
        return AdapterCallError(
            f"{self.name}: the adapter's call {err.call} is not one {label} takes "
            f"({gen} adapter): {err.name}: {err.message} (an idemrace adapter bug, not the "
            "World's answer)"
        )

    def describe_world(self) -> str:
        """One line: the package, its adapter, and each fault point armed or not applicable."""
        i = self.world_info
        faults = i.get("faults") or {}
        armed = [f"{d} {faults[d]}" for d in DRIVERS if str(faults.get(d, "")).startswith("armed")]
        na = [d for d in DRIVERS if faults.get(d) == "not applicable"]
        label = self.world.label if self.world else "?"
        return (
            f"{self.name}: {label} ({i.get('generation')} adapter, spec version "
            f"{i.get('specVersion')}, Node {i.get('node')}); fault points: "
            f"{'; '.join(armed) or 'none armed'}; not applicable: {', '.join(na) or 'none'}"
        )

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

    @property
    def stale_claims(self) -> str:
        """vercel-v5's ``stale_claims`` for this World: a v5 World that advertises hook retention
        (world-local 5: ``capabilities.hookRetention``) claims through
        ``isHookTokenClaimReleasable``, replacing an ended owner's leftover row; one that does
        not (world-postgres 5.0.0-beta.29 has no ``capabilities``) conflicts on any row holding
        the token."""
        caps = self.world_info.get("capabilities") or {}
        return "replaced" if "hookRetention" in caps else "conflict"

    def adapt_scenario(self, scenario: Any) -> Any:
        self.start()  # the World's generation decides
        if self.profile_name == "vercel-v5" and scenario.profile_name == "vercel-v5":
            return self._with_stale_claims(scenario)  # a v5 catalog scenario
        if scenario.profile_name != "vercel-today":
            return scenario
        if self.profile_name == "vercel-v5":
            # the catalog writes its Vercel scenarios against vercel-today; a v5 World replays
            # them under the v5 semantics (same strategies, family vercel-v4)
            from dataclasses import replace

            scenario = replace(
                scenario, name=f"{scenario.name}@vercel-v5", profile_name="vercel-v5"
            )
            scenario = self._with_stale_claims(scenario)
        if self.atomic_release:
            return scenario
        if dict(scenario.profile_options).get("atomic_release", True) is False:
            return scenario
        return with_profile_option(scenario, "atomic_release", False)

    def _with_stale_claims(self, scenario: Any) -> Any:
        """A vercel-v5 scenario under this World's ``stale_claims`` (the option's default is
        world-local 5's)."""
        if self.stale_claims == "replaced" or "stale_claims" in dict(scenario.profile_options):
            return scenario
        return with_profile_option(scenario, "stale_claims", self.stale_claims)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        if self._started:
            return
        find_node()
        check_bridge_installed()
        self.world = resolve(self.package, self.KIND)
        self.node = self.world.node
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
        self.world_info = dict(probe.info)
        probe.close()
        self._choose_profiles()
        faults = self.world_info.get("faults") or {}
        if self.FAULT_POINTS and not any(str(v).startswith("armed") for v in faults.values()):
            raise BackendUnavailable(f"{self.name}: no fault point could be armed ({faults})")
        if not self.attach_only:
            import sys

            print(self.describe_world(), file=sys.stderr, flush=True)
        self._started = True

    # a client in another process (the kill worker): quiet, the driver said it already
    attach_only = False

    def _start_store(self) -> None:
        """Bring up what the bridges connect to (a server, a schema)."""

    def bridge_argv(self) -> list[str]:
        raise NotImplementedError

    def _package_args(self) -> list[str]:
        assert self.world is not None
        return ["--package", str(self.world.dir)]

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
        paused = Paused(spare, op, "after", "terminal")
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
            "world_info": self.world_info,
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
    ATOMIC_RELEASE_V5 = True

    def __init__(self, *, attach: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.attach_only = attach
        if self.url is not None:
            raise BackendError("vercel-local: no --url (the World is a data directory)")

    @property
    def data_dir(self) -> Path:
        assert self.dir is not None
        return self.dir / "world-data"

    def bridge_argv(self) -> list[str]:
        argv = [self.node, str(BRIDGE), "--kind", "local", "--data-dir", str(self.data_dir)]
        return argv + self._package_args()

    def _clear_store(self) -> None:
        with self._lock:
            sessions = [s for s in self._sessions if s.bridge is not None and s.bridge.alive]
        if not sessions:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            return
        # every live instance empties the directory and drops its own caches
        for session in sessions:
            session.call("world.clear")


class ServerBackend(VercelBackend):
    """A World over a server: a throwaway one on loopback (``launch_server``) or, with ``url``,
    the one given (every ``reset`` empties the World's data there: point it at one you can
    spare; the restart fault needs the throwaway server)."""

    def __init__(self, *, attach: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.server: Any = None
        self.attach = attach
        self.attach_only = attach
        if self.url is not None and not attach:
            self.FAULTS = ("kill",)  # not our server: no restart

    def launch_server(self) -> Any:
        raise NotImplementedError

    def _start_store(self) -> None:
        if self.url is None:
            self.server = self.launch_server()
            self.url = self.server.url

    def _safe_url(self) -> str:
        import re

        return re.sub(r"//[^@/]*@", "//[redacted]@", self.url or "")

    def bridge_argv(self) -> list[str]:
        argv = [self.node, str(BRIDGE), "--kind", self.KIND, "--url", self.url or ""]
        return argv + self._package_args()

    def _clear_store(self) -> None:
        """The World's own reset (``idemrace.reset`` in the bridge: ``clear()`` where the World
        has one, else its own driver empties what the World owns) through one live bridge."""
        with self._lock:
            sessions = [s for s in self._sessions if s.bridge is not None and s.bridge.alive]
        if sessions:
            sessions[0].call("idemrace.reset")
            return
        bridge = self.spawn()
        try:
            bridge.call("idemrace.reset")
        finally:
            bridge.close()

    def restart(self) -> None:
        if self.server is None:
            raise BackendError(f"{self.name}: restart needs the throwaway server (no --url)")
        super().restart()
        self.server.restart()

    def _stop_store(self) -> None:
        if self.server is not None and not self.attach:
            self.server.stop()
            self.server = None
            self.url = None


class VercelPostgresBackend(ServerBackend):
    """``@workflow/world-postgres`` (PostgreSQL through drizzle; its job queue is never started).

    Without ``url``: a throwaway server (``backends.pgserver``). The World's schema is built by
    the validated package's own migration tool (its ``dist/cli.js``, idempotent), and every
    ``reset`` TRUNCATEs the tables of its ``workflow`` schema."""

    name = "vercel-postgres"
    KIND = "postgres"

    def launch_server(self) -> Any:
        from backends.pgserver import ThrowawayServer

        return ThrowawayServer.launch()

    def _start_store(self) -> None:
        super()._start_store()
        if not self.attach:
            self._create_schema()

    def _create_schema(self) -> None:
        """The package's own migrations (``<package>/dist/cli.js``), once per database."""
        assert self.world is not None
        cli = self.world.dir / "dist" / "cli.js"
        if not cli.exists():
            return  # a World without the tool: its schema is the user's to make
        env = {**os.environ, "WORKFLOW_POSTGRES_URL": self.url or ""}
        try:
            proc = subprocess.run(
                [self.node, str(cli)],
                cwd=self.world.dir,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
        except subprocess.TimeoutExpired:
            raise BackendUnavailable("vercel-postgres: the schema setup timed out") from None
        if proc.returncode != 0:
            raise BackendUnavailable(
                f"vercel-postgres: schema setup by {self.world.label} failed on "
                f"{self._safe_url()}: {innermost_line(proc.stderr + proc.stdout, proc.returncode)}"
            )

    def _clear_store(self) -> None:
        import psycopg

        try:
            with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
                tables = [
                    r[0]
                    for r in conn.execute(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'workflow' "
                        "ORDER BY tablename"
                    )
                ]
                if tables:
                    conn.execute(
                        "TRUNCATE " + ", ".join(f'workflow."{t}"' for t in tables)
                    )  # the World's tables, whatever this version has
        except psycopg.Error as exc:
            raise BackendUnavailable(
                f"vercel-postgres: cannot empty the World's tables: {str(exc).strip()}"
            ) from None


class VercelRedisBackend(ServerBackend):
    """``@workflow-worlds/redis`` (community; Redis through ioredis, BullMQ never started) on a
    throwaway ``redis-server`` (``backends.vercel.servers``) or the one at ``url``. The World has
    no ``clear()``: ``reset`` is FLUSHDB through the package's own ioredis."""

    name = "vercel-redis"
    KIND = "redis"
    # one pipeline writes the run's end and deletes its hooks (dist/storage.js runs.update)
    ATOMIC_RELEASE = True

    def launch_server(self) -> Any:
        from backends.vercel.servers import RedisServer

        return RedisServer.launch()


class VercelMongodbBackend(ServerBackend):
    """``@workflow-worlds/mongodb`` (community; the official mongodb driver) on a throwaway
    MongoDB wire-protocol server (``nx-27017``, see ``backends.vercel.servers`` for what it cannot
    store and what that leaves unchecked) or the MongoDB at ``url``. No ``clear()``: ``reset``
    deletes the World's documents through the package's own driver."""

    name = "vercel-mongodb"
    KIND = "mongodb"

    def launch_server(self) -> Any:
        from backends.vercel.servers import NxMongoServer

        return NxMongoServer.launch()

    def bridge_argv(self) -> list[str]:
        argv = super().bridge_argv()
        if self.server is not None or self.json_values:
            argv += ["--values", "json"]  # nx-27017 cannot hold binary in an update
        return argv

    json_values = False

    def client_spec(self) -> dict[str, Any]:
        spec = super().client_spec()
        spec["json_values"] = self.server is not None or self.json_values
        return spec

    def __init__(self, *, json_values: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.json_values = json_values


def innermost_line(output: str, code: int) -> str:
    """The innermost cause in a tool's output (ECONNREFUSED, a missing column, ...): the last
    "Error:"/"cause" line, else the last line."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    errors = [
        ln
        for ln in lines
        if "Error:" in ln or ln.startswith(("❌", "cause:", "error:")) or "ERROR" in ln
    ]
    said = errors[-1] if errors else (lines[-1] if lines else f"exit {code}")
    return said[:300]
