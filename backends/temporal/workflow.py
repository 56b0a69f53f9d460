"""The real Temporal workflow: ``ModelBody``, one dynamic workflow definition serving every model
workflow name, moved only by the client's updates; the worker that runs it on a world's task
queue; and how a run's phase and end are read back from what Temporal stored."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

from backends.protocol import BackendError, decode
from model.profiles.temporal import TERMINATED
from model.state import CANCELLED, COMPLETED, FAILED, PENDING, RUNNING

PHASE = "phase"
FAILURE_TYPE = "ModelFailure"  # the ApplicationError type of a body told to fail


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


async def start_worker(client: Any, task_queue: str) -> tuple[Any, asyncio.Future[Any]]:
    """A worker running ``ModelBody`` on ``task_queue``, and the task it runs in."""
    from temporalio.worker import Worker

    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[ModelBody],
        # one body per run, waiting on updates: no need for more than a few pollers
        max_concurrent_workflow_task_polls=4,
    )
    task = asyncio.ensure_future(worker.run())
    await asyncio.sleep(0)
    return worker, task


async def stop_worker(worker: Any, task: asyncio.Future[Any] | None) -> None:
    if worker is None:
        return
    # the old world's open runs stay open on the server, untouched: their ids are not reused
    with contextlib.suppress(Exception):
        await asyncio.wait_for(worker.shutdown(), 20)
    if task is not None:
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(task, 5)


def closed(desc: Any) -> bool:
    from temporalio.client import WorkflowExecutionStatus

    return desc.status not in (None, WorkflowExecutionStatus.RUNNING)


async def phase_of(desc: Any) -> str:
    memo = await desc.memo()
    return RUNNING if memo.get(PHASE) == RUNNING else PENDING


async def outcome(handle: Any) -> tuple[str, Any]:
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
