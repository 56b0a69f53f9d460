"""``TemporalBackend``: the run ids, the logical clock, the event loop every temporalio call runs
on, the lifecycle (dev server or ``url``, a worker per world), ``client_spec`` and the faults."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, ClassVar

from backends.protocol import Backend, BackendError, BackendUnavailable, Session
from backends.temporal.scenarios import (
    DAY_TICKS,
    REUSE_POLICIES,
    VALID_COMBINATIONS,
    policy_scenarios,
    with_day_retention,
)
from backends.temporal.server import (
    NAMESPACE,
    free_port,
    spawn_dev_server,
    stop_dev_server,
    wait_until_up,
)
from backends.temporal.session import WAIT_SECONDS, TemporalSession
from backends.temporal.workflow import start_worker, stop_worker


class TemporalBackend(Backend):
    name = "temporal"
    PROFILES: ClassVar[dict[str, tuple[str, ...]]] = {
        "temporal": ("conflict_policy", "reuse_policy", "retention")
    }
    # Every valid combination, each its own concurrent history (``CONCURRENT_ALL``); the first
    # is also the faults' profile: use-existing + allow-duplicate, whose answers carry the most
    # (Existing names the run and its phase) and whose closed ids are admitted again.
    CONCURRENT_PROFILES: ClassVar[tuple[tuple[str, dict[str, Any]], ...]] = tuple(
        ("temporal", {"conflict_policy": c, "reuse_policy": r, "retention": DAY_TICKS})
        for c, r in (
            ("use-existing", "allow-duplicate"),
            *(
                combo
                for combo in VALID_COMBINATIONS
                if combo != ("use-existing", "allow-duplicate")
            ),
        )
    )
    CONCURRENT_ALL = True  # the concurrent mode runs under every one of them
    OPS: ClassVar[frozenset[str] | None] = frozenset(
        {
            "keyed_start",
            "start_run",
            "complete_run",
            "fail_run",
            "cancel_run",
            "get_run",
            "await_run",
            "perform_effect",
            "advance_clock",
        }
    )
    SNAPSHOT = False
    # kill: a client in another process SIGKILLed between the server's answer to its start and
    # its own; restart: the dev server this backend started, over its SQLite file (not --url)
    FAULTS: ClassVar[tuple[str, ...]] = ("kill", "restart")
    FAULT_POINTS = True  # keyed starts call ``fault_point`` between the server's answer and ours

    def __init__(self, *, world: str | None = None, **kwargs: Any) -> None:
        """``world`` is for a client in another process (``client_spec``): the world tag and
        epoch of the world it joins; such a client runs no worker of its own."""
        super().__init__(**kwargs)
        if self.url is not None:
            self.FAULTS = ("kill",)  # not our server: nothing to restart
        self.lock = threading.Lock()
        self.ids: dict[tuple[str, str], int] = {}
        self.refs: dict[int, tuple[str, str]] = {}
        self.clock = 0
        self.tick_times: list[float] = []
        self.epoch = 0
        self.world_tag = uuid.uuid4().hex[:8]
        self.joined = world is not None
        if world is not None:
            tag, _, epoch = world.partition(":")
            self.world_tag, self.epoch = tag, int(epoch)
        # run integers from Temporal's run ids (the same in every process) once a client in
        # another process joins this world; 1, 2, ... in order of first sight otherwise
        self.global_ids = self.joined
        self.target: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: subprocess.Popen[bytes] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._runtime: Any = None
        self._worker_client: Any = None
        self._worker: Any = None
        self._worker_task: asyncio.Future[Any] | None = None
        self._started = False

    # -- names and ids -----------------------------------------------------------------------

    @property
    def prefix(self) -> str:
        return f"{self.world_tag}-{self.epoch}/"

    @property
    def task_queue(self) -> str:
        return f"idemrace-{self.world_tag}-{self.epoch}"

    def workflow_id(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def run_id(self, wfid: str, temporal_run_id: str) -> int:
        """The integer for a Temporal run: the next one the first time it is seen."""
        with self.lock:
            rid = self.ids.get((wfid, temporal_run_id))
            if rid is None:
                if self.global_ids:
                    rid = uuid.UUID(temporal_run_id).int
                else:
                    rid = len(self.ids) + 1
                self.ids[(wfid, temporal_run_id)] = rid
                self.refs[rid] = (wfid, temporal_run_id)
            return rid

    def client_spec(self) -> dict[str, Any]:
        """A client in another process (the kill fault): the same server, this world. From now
        on until the next ``reset`` run integers are Temporal's run ids as integers, so both
        processes name every run alike (the history's renaming needs nothing else)."""
        assert self.target is not None, "start() first"
        with self.lock:
            if self.ids and not self.global_ids:
                raise BackendError("temporal: client_spec() after runs were numbered; reset first")
            self.global_ids = True
        return {"class": "temporal", "url": self.target, "world": f"{self.world_tag}:{self.epoch}"}

    def known(self, run_id: int) -> tuple[str, str] | None:
        with self.lock:
            return self.refs.get(run_id)

    def tick(self) -> int:
        with self.lock:
            self.clock += 1
            # when it passed, to place Temporal's start and close times between ticks (the
            # harness ticks at barriers, with no operation in flight)
            self.tick_times.append(time.time())
            return self.clock

    def ticks_before(self, when: Any) -> int:
        """How many ticks had passed at ``when`` (a Temporal timestamp, the same machine's clock)."""
        stamp = when.timestamp()
        with self.lock:
            return sum(1 for t in self.tick_times if t < stamp)

    # -- scenarios ---------------------------------------------------------------------------

    def adapt_scenario(self, scenario: Any) -> Any:
        """A closed run is never deleted within a validation on the real server (a day of
        retention): a scenario whose runs could expire within its bounds is replayed with
        ``retention = DAY_TICKS``, renamed; the others as they are."""
        if scenario.profile_name != "temporal":
            return scenario
        return with_day_retention(scenario)

    def extra_scenarios(self) -> list[Any]:
        """Every valid conflict x reuse combination, also those the catalog does not use."""
        return policy_scenarios()

    def configure(self, profile: Any) -> None:
        super().configure(profile)
        # Temporal rejects these itself; the profile already refuses to be built with them
        if profile.options["reuse_policy"] not in REUSE_POLICIES:
            raise BackendError(f"temporal: reuse policy {profile.options['reuse_policy']!r}")

    # -- the event loop everything temporalio runs on -----------------------------------------

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = WAIT_SECONDS) -> Any:
        assert self._loop is not None, "start() first"
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise BackendUnavailable(
                f"temporal: no answer from {self.target} within {timeout:.0f}s"
            ) from None

    def rpc_failure(self, what: str, exc: BaseException) -> Exception:
        from temporalio.service import RPCError, RPCStatusCode

        if isinstance(exc, RPCError) and exc.status in (
            RPCStatusCode.UNAVAILABLE,
            RPCStatusCode.DEADLINE_EXCEEDED,
            RPCStatusCode.CANCELLED,
        ):
            return BackendUnavailable(f"temporal: {what}: {exc}")
        return BackendError(f"temporal: {what}: {type(exc).__name__}: {exc}")

    async def connect(self) -> Any:
        from temporalio.client import Client

        return await Client.connect(self.target, namespace=NAMESPACE, runtime=self._runtime)

    def _start_loop(self) -> None:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def main() -> None:
            asyncio.set_event_loop(loop)
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=main, name="temporal-loop", daemon=True)
        self._thread.start()
        ready.wait()
        self._loop = loop

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._started:
            return
        try:
            from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
        except ImportError:
            raise BackendUnavailable(
                "temporal: the temporalio package is not installed (pip install '.[real]')"
            ) from None
        # the SDK core logs a warning for every workflow task of a run terminated under it
        # (terminate-existing does that on purpose); errors still show
        self._runtime = Runtime(
            telemetry=TelemetryConfig(
                logging=LoggingConfig(
                    filter=TelemetryFilter(core_level="ERROR", other_level="ERROR")
                ),
                metrics=None,
            )
        )
        logging.getLogger("temporalio").setLevel(logging.ERROR)
        self._start_loop()
        try:
            if self.url is None:
                self._start_server()
            else:
                self.target = self.url.removeprefix("temporal://")
                self._worker_client = self.call(self._connect_once(10.0), timeout=15.0)
        except BaseException:
            self._shutdown()
            raise
        self._started = True

    async def _connect_once(self, timeout: float) -> Any:
        try:
            return await asyncio.wait_for(self.connect(), timeout)
        except Exception as exc:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise BackendUnavailable(
                f"temporal: cannot reach a server at {self.target}: {detail}"
            ) from None

    def _start_server(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="idemrace-temporal-")
        self.target = f"127.0.0.1:{free_port()}"
        self._worker_client = self._launch_server()

    def _launch_server(self) -> Any:
        """Run the dev server on ``target`` over its SQLite file (kept across ``restart``); a
        client of it once it answers."""
        assert self._tmp is not None and self.target is not None
        base = Path(self._tmp.name)
        self._server = spawn_dev_server(base, self.target.rpartition(":")[2])
        return wait_until_up(
            self._server,
            base / "server.log",
            lambda: self.call(self._connect_once(5.0), timeout=10.0),
        )

    def _stop_server(self) -> None:
        if self._server is None:
            return
        stop_dev_server(self._server)
        self._server = None

    def restart(self) -> None:
        """Fault: stop the dev server and start it again on the same port and SQLite file. The
        worker and every client keep their connections' addresses and reconnect by themselves."""
        if self.url is not None or self._tmp is None:
            raise BackendError("temporal: restart is only for the server this backend started")
        self._stop_server()
        self._launch_server()

    def reset(self) -> None:
        assert self.profile is not None, "configure() first"
        self.start()
        self.call(self._stop_worker())
        with self.lock:
            self.epoch += 1
            self.ids.clear()
            self.refs.clear()
            self.clock = 0
            self.tick_times.clear()
            self.global_ids = self.joined
        self.call(self._start_worker())

    async def _start_worker(self) -> None:
        self._worker, self._worker_task = await start_worker(self._worker_client, self.task_queue)

    async def _stop_worker(self) -> None:
        worker, task = self._worker, self._worker_task
        self._worker = self._worker_task = None
        await stop_worker(worker, task)

    def session(self) -> Session:
        self.start()
        return TemporalSession(self)

    def close(self) -> None:
        if self._loop is not None and self._started:
            with contextlib.suppress(Exception):
                self.call(self._stop_worker(), timeout=30)
        self._shutdown()
        self._started = False

    def _shutdown(self) -> None:
        self._stop_server()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(10)
            self._loop = None
            self._thread = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
