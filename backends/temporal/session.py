"""The session: one client connection and one method per world op, each a real Temporal call (a
start, an update to the body, a cancel, a describe), answered from what Temporal stored."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import TYPE_CHECKING, Any

from backends.protocol import BackendUnavailable, Session, UnsupportedOps, encode
from backends.temporal.scenarios import CONFLICT_POLICIES, REUSE_POLICIES
from backends.temporal.workflow import closed, outcome, phase_of
from model import ops as O
from model.profiles.temporal import ALREADY_STARTED
from model.state import CANCELLED, COMPLETED, FAILED, WorldState

if TYPE_CHECKING:  # the backend module imports this one
    from backends.temporal.backend import TemporalBackend

WAIT_SECONDS = 30.0  # one operation against the server (or the body) before BackendUnavailable
REQUEST = "request"
REQUEST_ID = "request_id"  # the request id the start carried (the model's key memory keeps it)


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
        return O.Existing(rid, await phase_of(desc), None)

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
        status, stored = await outcome(handle)
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
                if closed(desc):
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
            if not closed(await handle.describe()):
                raise self.backend.rpc_failure("cancel", exc) from None
        status, _ = await outcome(handle)
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
            await outcome(handle)  # execute_workflow's wait: until Temporal closed the run
        desc = await handle.describe()
        memo = await desc.memo()
        if closed(desc):
            status, output = await outcome(handle)
        else:
            status, output = await phase_of(desc), None
        return O.RunInfo(run_id, desc.workflow_type, status, output, memo.get(REQUEST))

    def _handle(self, client: Any, run_id: int) -> Any:
        ref = self.backend.known(run_id)
        if ref is None:
            return None
        wfid, trid = ref
        return client.get_workflow_handle(wfid, run_id=trid)

    # -- Python-side (documented in the package docstring) -----------------------------------

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
            if closed(desc):
                status, output = await outcome(handle)
                ended = b.ticks_before(desc.close_time)
            else:
                status, output, ended = await phase_of(desc), None, None
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
