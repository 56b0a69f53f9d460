"""``dbos``: the real DBOS library (PyPI ``dbos`` 3.x) behind the ``dbos`` profile.

What is real here and what is not:

* **Admission is DBOS's own.** A keyed start is ``with SetWorkflowID(key): DBOS.start_workflow(
  body, request, nonce)`` (with ``workflow_id_reuse_policy="reject"`` under the profile's reject
  policy), the exact call an application makes. The answer is read back from what DBOS stored:
  the start is ``Started`` only when the stored arguments carry this call's nonce (a fresh
  per-call token, so a retried request is told apart from the one that created the workflow);
  otherwise it is ``Existing`` with the status from ``handle.get_status()`` and, once the
  workflow ended, the output from ``handle.get_result()``, or the stored error DBOS re-raises
  from it. ``DBOSConflictingWorkflowError`` and ``DBOSWorkflowIDInUseError`` come from DBOS;
  any other ``DBOSException`` is answered as ``Error(<its class name>)`` too (a discrepancy).
  Only a database error makes an operation unanswered (``BackendUnavailable``); a body that
  does not take its control message within ``WAIT_SECONDS`` answers ``Error(NO_BODY)``, so
  neither can pass as a lost response. (DBOS itself blocks and retries while its database is
  unreachable, ``_sys_db.db_retry``: a database lost mid-validation stalls it.)
* **The workflow body is a real DBOS workflow** that does what the model's client tells it,
  through DBOS messages (``DBOS.send`` / ``DBOS.recv``, durable): ``start`` (the model's
  ``StartRun``: the body records the phase ``running`` as a DBOS event and acknowledges with
  another), ``complete`` (returns the output) and ``fail`` (raises ``ModelFailure`` carrying the
  error). Who wins two concurrent ends is decided by the body, one message at a time: before it
  returns or raises it records the tag of the message it took as the DBOS event ``ended-by``. An
  end is ``Ok`` only if DBOS then stores that end (status, output or error) and ``ended-by``
  names this call's message; two clients may send equal outputs. A message to an ended
  workflow is never consumed: the caller sees the stored end and answers
  ``EntityConflictError``, like the model.
* **Stored errors.** A duplicate of a failed workflow answers the error ``handle.get_result()``
  *raises* (a ``ModelFailure`` DBOS deserialized from its row). If DBOS returned instead of
  raising, the answer is a value no model output equals, so the differential reports it.
* **Status.** DBOS's open statuses are ``PENDING`` and ``ENQUEUED`` (recovery re-enqueues a
  workflow on DBOS's internal queue: ``_recovery._recover_workflow``); the body's ``phase``
  event tells the model's ``pending`` (created, not yet started by its client) from
  ``running``. ``SUCCESS``/``ERROR``/``CANCELLED`` are ``completed``/``failed``/``cancelled``;
  any other status is answered as ``dbos:<STATUS>``, which no model status equals.
* **Cancel** is ``DBOS.cancel_workflow`` (a conditional update that leaves ended workflows
  alone); it answers ``Ok`` if the workflow is then cancelled, ``EntityConflictError`` otherwise.
* **Python-side, documented:** the integer run ids (a map from DBOS workflow id to 1, 2, ...
  in order of first sight, per ``reset`` and per process), the logical clock (the ``dbos``
  profile has no retention: DBOS keeps a workflow until it is deleted, so a tick changes nothing
  DBOS stores) and the application's effect log (``perform_effect`` answers ``Ok()``: it is
  ghost state the property checks read in the model, not something DBOS stores; that answer
  cannot fail). ``snapshot`` is not offered (``SNAPSHOT = False``): the differential compares
  every answer, not the final world, and the fault harness (which observes the store through
  ``snapshot``) has nothing to observe, so ``FAULTS`` is empty: faults are "not applicable"
  in ``idemrace validate``. The DBOS faults that are injected for real live in
  ``tests/test_backend_dbos.py``: a client process SIGKILLed inside the admission transaction
  (before its commit) or right after it, and that client's executor restarted (DBOS recovers
  its pending workflow on launch).
* **A fresh world** (``reset``) is a new id prefix in the same system database: workflow ids are
  ``<tag>-<epoch>/<key>``, so no key of an earlier world (or of another validation on the same
  database) can collide. The open bodies of the old world are told to stop (message
  ``abandon``) so their threads end.
* **Other processes** (``client_spec``, ``python -m backends.dbos_app``): a client process has
  its own DBOS instance on the same system database with its own executor id, joined to the
  parent's world: truly concurrent admissions, one per DBOS instance. Each backend instance has
  its own executor id (``idemrace-<tag>``), because DBOS recovers the pending workflows of its
  executor id on launch and the default (``local``) would make one validation re-run another's.

The system database is SQLite in a temporary directory by default (``workdir`` to keep it), or
the PostgreSQL database ``url`` names (``postgresql://...``). DBOS is one instance per process:
only one ``DbosBackend`` can be started at a time.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, ClassVar

from backends.protocol import (
    Backend,
    BackendError,
    BackendUnavailable,
    Session,
    UnsupportedOps,
    decode,
    encode,
)
from model import ops as O
from model.profiles.dbos import CONFLICTING, IN_USE
from model.state import CANCELLED, COMPLETED, FAILED, PENDING, RUNNING, WorldState

CONTROL_TOPIC = "idemrace-control"
PHASE_EVENT = "phase"
ENDED_BY_EVENT = "ended-by"
# DBOS's statuses of a workflow that has not ended: PENDING (executing, or waiting in its body)
# and ENQUEUED, which recovery passes through: ``_recovery._recover_workflow`` re-enqueues a
# recovered workflow on DBOS's internal queue, and a queue worker dequeues it to PENDING again.
# The model's run is open (pending or running, by the body's phase event) in both
OPEN = ("PENDING", "ENQUEUED")
# the workflow's body did not take a control message in time (no DBOS executor runs it)
NO_BODY = "dbos: the workflow body did not answer"
# a duplicate whose handle did not re-raise the stored error (answers never equal the model's)
NOT_RERAISED = "dbos: get_result returned instead of re-raising the stored error"
# how long an operation waits for the body before it answers NO_BODY
WAIT_SECONDS = 30.0
POLL_SECONDS = 0.02

_ACTIVE: list[DbosBackend] = []  # DBOS is a process-wide singleton
_ACTIVE_LOCK = threading.Lock()
_FUNCTIONS: dict[str, Any] = {}  # workflow name -> registered DBOS workflow function
_FUNCTIONS_LOCK = threading.Lock()


class ModelFailure(Exception):
    """The error a body fails with: ``args[0]`` is the model's error value, ``encode``d."""


def _body(request: int, nonce: str) -> Any:
    """The workflow body every model workflow name runs (registered under that name).

    It waits for control messages, one at a time, in DBOS's durable order."""
    from dbos import DBOS

    started = False
    while True:
        message = DBOS.recv(CONTROL_TOPIC, timeout_seconds=3600)
        if message is None:
            continue  # an hour without news: keep waiting (reset sends ``abandon``)
        kind, tag, value = message
        if kind == "start":
            answer = "conflict" if started else "ok"
            if not started:
                started = True
                DBOS.set_event(PHASE_EVENT, RUNNING)
            DBOS.set_event(f"ack:{tag}", answer)
        elif kind == "complete":
            # which end message the body took, so the sender can tell its own end from an
            # equal output another client sent (an event, stored by DBOS before the output)
            DBOS.set_event(ENDED_BY_EVENT, tag)
            return value  # already ``encode``d by the sender
        elif kind == "fail":
            DBOS.set_event(ENDED_BY_EVENT, tag)
            raise ModelFailure(value)
        elif kind == "abandon":
            return encode(("abandoned",))


def workflow_function(name: str) -> Any:
    """The DBOS workflow registered under the model's workflow name (registered on first use:
    DBOS tells workflows apart by this name, which is what ``DBOSConflictingWorkflowError``
    compares). DBOS wants functions registered before launch; registered later, a workflow
    recovered through DBOS's internal queue can only run in a process that has used its name
    (``client_main`` registers its names first)."""
    with _FUNCTIONS_LOCK:
        fn = _FUNCTIONS.get(name)
        if fn is None:
            from dbos import DBOS

            def body(request: int, nonce: str) -> Any:
                return _body(request, nonce)

            body.__name__ = body.__qualname__ = f"idemrace_{name}"
            fn = DBOS.workflow(name=name)(body)
            _FUNCTIONS[name] = fn
        return fn


class DbosSession(UnsupportedOps, Session):
    def __init__(self, backend: DbosBackend) -> None:
        self.backend = backend

    def apply(self, op: Any) -> Any:
        try:
            return super().apply(op)
        except (BackendError, BackendUnavailable):
            raise
        except Exception as exc:
            # the system database failing under DBOS (server gone, file locked): the caller
            # does not know whether the op took effect, which is what BackendUnavailable means
            if _is_database_error(exc):
                raise BackendUnavailable(
                    f"dbos: {type(op).__name__} failed: {type(exc).__name__}: "
                    f"{str(exc).splitlines()[0] if str(exc) else ''}"
                ) from None
            raise

    # -- admission ----------------------------------------------------------------------------

    def keyed_start(self, op: O.KeyedStart) -> Any:
        from dbos import DBOS, SetWorkflowID
        from dbos._error import DBOSConflictingWorkflowError, DBOSWorkflowIDInUseError

        b = self.backend
        wfid = b.workflow_id(op.key)
        nonce = uuid.uuid4().hex
        reject = b.options["reuse_policy"] == "reject"
        fn = workflow_function(op.workflow)
        try:
            with SetWorkflowID(wfid, workflow_id_reuse_policy="reject" if reject else None):
                handle = DBOS.start_workflow(fn, op.request, nonce)
        except DBOSConflictingWorkflowError:
            return O.Error(CONFLICTING, b.run_id(wfid))
        except DBOSWorkflowIDInUseError:
            return O.Error(IN_USE, b.run_id(wfid))
        except Exception as exc:
            if _is_database_error(exc):  # the system database went away: no answer
                raise BackendUnavailable(
                    f"dbos: start failed: {type(exc).__name__}: {str(exc).splitlines()[0]}"
                ) from None
            from dbos._error import DBOSException

            if isinstance(exc, DBOSException):
                # any other refusal is DBOS's answer too, under its own class name: the model
                # never gives it, so it is reported as a discrepancy (never an unanswered op,
                # which a linearizability check would accept whatever happened)
                return O.Error(type(exc).__name__, b.run_id(wfid))
            raise
        status = handle.get_status()
        args = tuple(status.input["args"]) if status.input else ()
        if len(args) == 2 and args[1] == nonce:
            return O.Started(b.run_id(wfid))
        # a duplicate: what the caller holding this handle learns
        model_status = self._status(wfid, status.status)
        output = None
        if model_status in (COMPLETED, FAILED):
            output = self._result(handle, model_status)
        return O.Existing(b.run_id(wfid), model_status, output)

    @staticmethod
    def _result(handle: Any, model_status: str) -> Any:
        """The stored output, or the stored error DBOS re-raises from ``get_result``.

        Only a raised ``ModelFailure`` counts as the stored error: a failed workflow whose
        ``get_result`` returns, or a completed one whose ``get_result`` raises, answers a value
        no model output equals, so the comparison fails instead of this method guessing."""
        try:
            value = handle.get_result()
        except ModelFailure as failure:
            if model_status != FAILED:
                return ("dbos: get_result raised for a completed workflow", failure.args[0])
            return decode(failure.args[0])
        if model_status == FAILED:
            return (NOT_RERAISED, value)
        return decode(value)

    def _status(self, wfid: str, dbos_status: str) -> str:
        from dbos import DBOS

        if dbos_status == "SUCCESS":
            return COMPLETED
        if dbos_status == "ERROR":
            return FAILED
        if dbos_status == "CANCELLED":
            return CANCELLED
        if dbos_status in OPEN:
            events = DBOS.get_all_events(wfid)
            return RUNNING if events.get(PHASE_EVENT) == RUNNING else PENDING
        # a status the model has no name for (MAX_RECOVERY_ATTEMPTS_EXCEEDED, DELAYED): answered
        # as is, so the comparison with the model fails and reports it, rather than exit 2
        return f"dbos:{dbos_status}"

    # -- the body's control messages -----------------------------------------------------------

    def start_run(self, op: O.StartRun) -> Any:
        from dbos import DBOS

        wfid = self.backend.known(op.run_id)
        if wfid is None:
            return O.RUN_NOT_FOUND
        tag = uuid.uuid4().hex
        DBOS.send(wfid, ("start", tag, None), CONTROL_TOPIC)
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            events = DBOS.get_all_events(wfid)
            answer = events.get(f"ack:{tag}")
            if answer is not None:
                return O.Ok() if answer == "ok" else O.ENTITY_CONFLICT
            if DBOS.get_workflow_status(wfid).status not in OPEN:
                return O.ENTITY_CONFLICT  # ended before the body read the message
            time.sleep(POLL_SECONDS)
        # the body never took the message: not a lost response (the database answered all
        # along) but a workflow that does not run, which the model has no room for. Answered
        # as an error no model result equals, so the check fails instead of accepting it
        return O.Error(NO_BODY, f"start: no answer within {WAIT_SECONDS}s")

    def complete_run(self, op: O.CompleteRun) -> Any:
        return self._end(op.run_id, "complete", op.output, "SUCCESS")

    def fail_run(self, op: O.FailRun) -> Any:
        return self._end(op.run_id, "fail", op.error, "ERROR")

    def _end(self, run_id: int, kind: str, value: Any, status_wanted: str) -> Any:
        from dbos import DBOS

        wfid = self.backend.known(run_id)
        if wfid is None:
            return O.RUN_NOT_FOUND
        text = encode(value)
        tag = uuid.uuid4().hex
        if DBOS.get_workflow_status(wfid).status in OPEN:
            DBOS.send(wfid, (kind, tag, text), CONTROL_TOPIC)
        status = self._wait_ended(wfid)
        if status is None:
            return O.Error(NO_BODY, f"{kind}: not ended within {WAIT_SECONDS}s")
        # ours only if the body took this very message (its ``ended-by`` event names our tag)
        # and DBOS stored the end it asked for: two clients may send equal outputs
        if status.status == status_wanted:
            stored = status.output if status_wanted == "SUCCESS" else _error_text(status.error)
            if stored == text and DBOS.get_all_events(wfid).get(ENDED_BY_EVENT) == tag:
                return O.Ok()
        return O.ENTITY_CONFLICT

    @staticmethod
    def _wait_ended(wfid: str) -> Any | None:
        from dbos import DBOS

        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            status = DBOS.get_workflow_status(wfid)
            if status is not None and status.status not in OPEN:
                return status
            time.sleep(POLL_SECONDS)
        return None

    def cancel_run(self, op: O.CancelRun) -> Any:
        from dbos import DBOS

        wfid = self.backend.known(op.run_id)
        if wfid is None:
            return O.RUN_NOT_FOUND
        DBOS.cancel_workflow(wfid)
        if DBOS.get_workflow_status(wfid).status == "CANCELLED":
            # wake the body so it sees the cancellation and its thread ends
            DBOS.send(wfid, ("abandon", "", None), CONTROL_TOPIC)
            return O.Ok()
        return O.ENTITY_CONFLICT

    # -- reads ---------------------------------------------------------------------------------

    def get_run(self, op: O.GetRun) -> Any:
        from dbos import DBOS

        wfid = self.backend.known(op.run_id)
        status = None if wfid is None else DBOS.get_workflow_status(wfid)
        if wfid is None or status is None:
            return O.RUN_NOT_FOUND
        return self._info(op.run_id, wfid, status)

    def _info(self, run_id: int, wfid: str, status: Any) -> O.RunInfo:
        model_status = self._status(wfid, status.status)
        output = None
        if model_status == COMPLETED:
            output = decode(status.output)
        elif model_status == FAILED:
            output = decode(_error_text(status.error))
        request = status.input["args"][0] if status.input else None
        return O.RunInfo(run_id, status.name, model_status, output, request)

    def list_runs(self, op: O.ListRuns) -> Any:
        from dbos import DBOS

        b = self.backend
        found = DBOS.list_workflows(name=op.workflow, workflow_id_prefix=b.prefix)
        ids = []
        for status in found:
            if op.status is None or self._status(status.workflow_id, status.status) == op.status:
                ids.append(b.run_id(status.workflow_id))
        return O.RunList(tuple(sorted(ids)))

    # -- Python-side (documented in the module docstring) --------------------------------------

    def perform_effect(self, op: O.PerformEffect) -> Any:
        return O.Ok()

    def advance_clock(self, op: O.AdvanceClock) -> Any:
        return O.Ok(self.backend.tick())

    def snapshot(self) -> WorldState:
        raise BackendError("dbos: the whole world cannot be read back (SNAPSHOT = False)")


class _ExpectedNoise(logging.Filter):
    """Drop DBOS's log lines for what the validation does on purpose: bodies that fail with
    ``ModelFailure`` (the model's ``FailRun``) and bodies of cancelled workflows. Anything else
    DBOS logs still shows."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and type(exc).__name__ in (
            "ModelFailure",
            "DBOSAwaitedWorkflowCancelledError",
            "DBOSWorkflowCancelledError",
        ):
            return False
        message = record.getMessage()
        return not any(
            text in message
            for text in ("is no longer owned by this execution", "was cancelled during execution")
        )


_NOISE_FILTER = _ExpectedNoise()


def _is_database_error(exc: BaseException) -> bool:
    import sqlalchemy.exc

    return isinstance(exc, sqlalchemy.exc.DBAPIError | sqlalchemy.exc.OperationalError)


class _LaunchNoise(logging.Filter):
    """While ``DBOS.launch`` runs: drop DBOS's own report (with traceback) of a database it
    cannot reach; ``start`` turns the exception into one line instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (
            message.startswith("DBOS failed to launch")
            or message.startswith("Could not connect to postgres database")
        )


_LAUNCH_FILTER = _LaunchNoise()


def _error_text(error: Any) -> str | None:
    if isinstance(error, ModelFailure) and error.args:
        return error.args[0]
    return None if error is None else repr(error)


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
            from dbos import DBOS
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
            config: dict[str, Any] = {
                "name": "idemrace",
                "system_database_url": database,
                "log_level": "WARNING",
                # the body wakes on a message by polling; DBOS's default (1 s)
                # would make every control message cost a second
                "notification_listener_polling_interval_sec": 0.005,
            }
            # DBOS recovers the pending workflows of its executor id on launch; the default
            # ("local") would make a second validation on the same database (or a client
            # process) re-run this one's bodies. One executor id per backend instance; a
            # restart of this instance (same id) is what recovers them.
            config["executor_id"] = self.executor_id
            dbos_logger = logging.getLogger("dbos")
            dbos_logger.addFilter(_LAUNCH_FILTER)
            try:
                DBOS(config=config)  # type: ignore[arg-type]
                DBOS.launch()
                if _NOISE_FILTER not in dbos_logger.filters:
                    dbos_logger.addFilter(_NOISE_FILTER)
            except Exception as exc:  # unreachable database, bad URL
                DBOS.destroy(destroy_registry=False)
                first = str(exc).splitlines()[0] if str(exc) else ""
                raise BackendUnavailable(
                    f"dbos: cannot launch on {database}: {type(exc).__name__}: {first}"
                ) from None
            finally:
                dbos_logger.removeFilter(_LAUNCH_FILTER)
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


# -- a client in its own process ------------------------------------------------------------------

KILL_POINTS = ("before-commit", "after-commit")


def _install_kill(point: str) -> threading.local:
    """SIGKILL this process inside the next keyed start's admission, where ``point`` says: in
    DBOS's ``init_workflow`` transaction after its INSERTs, before the commit reaches the
    database (SQLAlchemy's ``commit`` event fires before the DBAPI commit), or right after that
    commit, before ``start_workflow`` returns (DBOS's own debug trigger point
    ``DEBUG_TRIGGER_INITWF_COMMIT`` in ``SystemDatabase.init_workflow``)."""
    import os
    import signal

    import sqlalchemy as sa
    from dbos._dbos import _get_dbos_instance
    from dbos._debug_trigger import DebugAction, DebugTriggers

    armed = threading.local()

    def die(*_: Any) -> None:
        if getattr(armed, "on", False):
            os.kill(os.getpid(), signal.SIGKILL)

    if point == "before-commit":
        sa.event.listen(_get_dbos_instance()._sys_db.engine, "commit", die)
    else:
        DebugTriggers.set_debug_trigger(
            DebugTriggers.DEBUG_TRIGGER_INITWF_COMMIT, DebugAction(callback=die)
        )
    return armed


def client_main(argv: list[str]) -> int:
    """``python -m backends.dbos_app SPEC``: one DBOS instance in this process on the system
    database of SPEC's ``backend`` (a ``client_spec``), joining its world. Prints ``ready``
    once launched, waits for a line on stdin (so several processes start their operations
    together), performs ``ops`` (a base64 pickle of model ops), then prints the history records
    ``(op, result, call_ns, return_ns)`` as one base64 pickle line. With ``kill`` set
    (``KILL_POINTS``), the first keyed start kills the process there: no records are printed,
    the caller knows which op was in flight."""
    import base64
    import json
    import os
    import pickle
    import sys

    from backends import from_spec
    from model.profiles import make_profile

    spec = json.loads(argv[0])
    backend = from_spec(spec["backend"])
    backend.configure(make_profile(spec["profile"], **spec["options"]))
    ops = pickle.loads(base64.b64decode(spec["ops"]))
    # registered before launch, as DBOS wants: the launch's recovery (and DBOS's internal queue,
    # which recovered workflows go through) can only run the bodies of registered functions
    for op in ops:
        if type(op) is O.KeyedStart:
            workflow_function(op.workflow)
    backend.start()
    armed = _install_kill(spec["kill"]) if spec.get("kill") else None
    session = backend.session()
    print("ready", flush=True)
    sys.stdin.readline()
    records = []
    for op in ops:
        if armed is not None and type(op) is O.KeyedStart:
            armed.on = True
        call = time.monotonic_ns()
        try:
            result = session.apply(op)
        except BackendUnavailable:
            records.append((op, None, call, None))
            continue
        records.append((op, result, call, time.monotonic_ns()))
    print(base64.b64encode(pickle.dumps(records)).decode(), flush=True)
    backend.close()
    # the bodies of workflows this process admitted wait in DBOS's executor threads for control
    # messages that never come (the caller only checks admission); the interpreter would join
    # them at exit forever. They stay PENDING under this process's executor id, as after a crash
    os._exit(0)


if __name__ == "__main__":
    import sys

    from backends.dbos_app import client_main as _main  # the module, not a second __main__ copy

    sys.exit(_main(sys.argv[1:]))
