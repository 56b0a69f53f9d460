"""``DbosBackend``: the run ids, the logical clock, the world's id prefix, ``client_spec``, and the
lifecycle of the one DBOS instance a process may have (launch, reset, close)."""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, ClassVar

from backends.dbos.app import CONTROL_TOPIC, OPEN, launch
from backends.dbos.session import POLL_SECONDS, WAIT_SECONDS, DbosSession
from backends.protocol import Backend, BackendError, BackendUnavailable, Session

_ACTIVE: list[DbosBackend] = []  # DBOS is a process-wide singleton
_ACTIVE_LOCK = threading.Lock()


class DbosBackend(Backend):
    name = "dbos"
    PROFILES: ClassVar[dict[str, tuple[str, ...]]] = {"dbos": ("reuse_policy",)}
    # both reuse policies decide admission differently, so the concurrent mode runs each one
    CONCURRENT_PROFILES: ClassVar[tuple[tuple[str, dict[str, Any]], ...]] = (
        ("dbos", {}),
        ("dbos", {"reuse_policy": "reject"}),
    )
    CONCURRENT_ALL = True
    OPS: ClassVar[frozenset[str] | None] = frozenset(
        {
            "keyed_start",
            "start_run",
            "complete_run",
            "fail_run",
            "cancel_run",
            "get_run",
            "await_run",
            "list_runs",
            "perform_effect",
            "advance_clock",
        }
    )
    SNAPSHOT = False

    def __init__(
        self,
        *,
        world: str | None = None,
        executor: str | None = None,
        **kwargs: Any,
    ) -> None:
        """``world`` and ``executor`` are for clients in other processes (``client_spec``): the
        id prefix of the world they join, and a DBOS executor id of their own (DBOS recovers
        the pending workflows of its executor id on launch: a second process launching as
        ``local`` would re-run the first one's workflows)."""
        super().__init__(**kwargs)
        self.lock = threading.Lock()
        self.ids: dict[str, int] = {}
        self.wfids: dict[int, str] = {}
        self.clock = 0
        self.epoch = 0
        self.joined = world
        # earlier processes' worlds in a reused database
        self.world_tag = uuid.uuid4().hex[:8] if world is None else world.split("-")[0]
        self.executor = executor
        self.database: str | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._started = False

    @property
    def prefix(self) -> str:
        if self.joined is not None:
            return self.joined
        return f"{self.world_tag}-{self.epoch}/"

    @property
    def executor_id(self) -> str:
        return self.executor or f"idemrace-{self.world_tag}"

    def client_spec(self) -> dict[str, Any]:
        """A client in another process: its own DBOS instance (DBOS is one per process) on the
        same system database, joining the current world."""
        assert self.database is not None, "start() first"
        return {"class": "dbos", "url": self.database, "world": self.prefix}

    def workflow_id(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def run_id(self, wfid: str) -> int:
        """The integer for a DBOS workflow id: the next one the first time it is seen."""
        with self.lock:
            rid = self.ids.get(wfid)
            if rid is None:
                rid = self.ids[wfid] = len(self.ids) + 1
                self.wfids[rid] = wfid
            return rid

    def known(self, run_id: int) -> str | None:
        with self.lock:
            return self.wfids.get(run_id)

    def tick(self) -> int:
        with self.lock:
            self.clock += 1
            return self.clock

    def start(self) -> None:
        if self._started:
            return
        try:
            import dbos  # noqa: F401  (here only to say so in one line when it is missing)
        except ImportError:
            raise BackendUnavailable(
                "dbos: the dbos package is not installed (pip install '.[real]')"
            ) from None
        with _ACTIVE_LOCK:
            if _ACTIVE:
                raise BackendError("dbos: DBOS is one instance per process; close the other first")
            if self.url is not None:
                if not self.url.startswith(("postgresql://", "postgres://", "sqlite:///")):
                    raise BackendError(
                        f"dbos: url {self.url!r} is neither postgresql://... nor sqlite:///..."
                    )
                database = self.url
            else:
                base = self.workdir
                if base is None:
                    self._tmp = tempfile.TemporaryDirectory(prefix="idemrace-dbos-")
                    base = Path(self._tmp.name)
                base.mkdir(parents=True, exist_ok=True)
                database = f"sqlite:///{base / 'dbos-system.sqlite'}"
            launch(database, self.executor_id)
            self.database = database
            _ACTIVE.append(self)
            self._started = True

    def reset(self) -> None:
        assert self.profile is not None, "configure() first"
        if self.joined is not None:
            raise BackendError("dbos: a client of another process's world cannot reset it")
        self.start()
        self._abandon_open()
        with self.lock:
            self.epoch += 1
            self.ids.clear()
            self.wfids.clear()
            self.clock = 0

    def _abandon_open(self) -> None:
        """Tell the old world's open bodies to return, so their threads end."""
        from dbos import DBOS

        if not self.ids:
            return
        for status in DBOS.list_workflows(
            workflow_id_prefix=self.prefix, status=list(OPEN), load_input=False
        ):
            DBOS.send(status.workflow_id, ("abandon", "", None), CONTROL_TOPIC)

    def session(self) -> Session:
        self.start()
        return DbosSession(self)

    def close(self) -> None:
        if not self._started:
            return
        from dbos import DBOS

        if self.joined is None:  # a client of another process's world leaves its bodies alone
            self._abandon_open()
            # let the bodies return before DBOS (and the SQLite file) goes away
            deadline = time.monotonic() + WAIT_SECONDS
            while time.monotonic() < deadline and any(
                # bodies this process runs; a client process's workflow (pending when that
                # process exited) has no body here to wait for
                status.executor_id == self.executor_id
                for status in DBOS.list_workflows(
                    workflow_id_prefix=self.world_tag, status="PENDING", load_input=False
                )
            ):
                time.sleep(POLL_SECONDS)
        DBOS.destroy(destroy_registry=False)
        with _ACTIVE_LOCK:
            _ACTIVE.remove(self)
        self._started = False
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
