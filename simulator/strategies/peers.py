"""Strategies for the peers (Temporal, Inngest, DBOS) beyond ``keyed-reject``/``keyed-adopt``.

``keyed-execute`` is the way the peers' own docs show a request handler using a workflow id as
its idempotency key: start under the key and wait for the outcome, letting errors propagate to
the caller (Temporal's ``execute_workflow``; DBOS's ``with SetWorkflowID(key):
DBOS.start_workflow(...).get_result()``; Inngest's ``send`` then waiting for the function run).

* ``Started(run)``: wait for our run and answer with its result (request option ``wait =
  false``: answer ``("started", run)`` at once, a background job the caller does not wait for);
* ``Existing(run, status, output)``: a duplicate; an ended run's stored result comes back at
  once (DBOS), an open one is waited for; the answer is tagged ``("adopted", output)`` so
  ``result-matches-owner`` can check whose result it is;
* ``Dropped``: Inngest swallowed the duplicate; the caller sees success and no result;
* any error (``WorkflowExecutionAlreadyStarted``, ``DBOSConflictingWorkflowError``,
  ``DBOSWorkflowIDInUseError``...) is raised to the caller: the request fails.

A run that failed answers with its stored error, re-raised to everyone who waits on it or, in
DBOS, starts it again (``("error", <error name>, <stored error>)``); a terminated run (Temporal
``terminate-existing``) answers ``WorkflowTerminated``.

The body can be told how the run ends (request option ``ends``) so scenarios can reach the
policies that look at a failed run (DBOS's stored error, Temporal's allow-duplicate-failed-only):
``completed`` (default), ``failed-after-effect`` (the effect ran, then a later step failed) or
``failed-before-effect``.
"""

from __future__ import annotations

from typing import Any

from model import ops as O
from model.outcomes import Adopted, Dropped, RunStarted
from model.profiles.base import Option
from model.profiles.temporal import TERMINATED
from model.state import CANCELLED, COMPLETED, FAILED, TERMINAL
from simulator.process import Done, Finished, Program, error, ok, phase
from simulator.scenario import Request
from simulator.strategies.base import StrategySpec, register
from simulator.strategies.keyed import AdmittedBody
from simulator.strategies.vercel_today import Starting

# the peers' own start-and-wait APIs: the profiles of Temporal, Inngest and DBOS declare it
PEERS = frozenset({"peer-start"})
EXECUTE_OPS = frozenset(
    {O.KeyedStart, O.AwaitRun, O.StartRun, O.PerformEffect, O.CompleteRun, O.FailRun, O.GetRun}
)
APPLICATION_ERROR = "ApplicationError"
# waiting for a run's outcome: ``own`` says whether it is the run this request started
AwaitingOutcome = phase("await", "run", "own", run_ids=("run",))


def run_answer(own: bool, run_id: int, status: str, output: Any) -> Done:
    """What a caller waiting on run ``run_id`` (its own, or an existing one) ends with."""
    if status == COMPLETED:
        return ok(output if own else Adopted(output))
    if status == FAILED:
        # the stored error is re-raised as it was stored (name first)
        if isinstance(output, tuple) and output and isinstance(output[0], str):
            return error(output[0], output)
        return error("WorkflowFailed", output)
    if status == CANCELLED:
        return error("WorkflowTerminated" if output == TERMINATED else "WorkflowCancelled", run_id)
    raise AssertionError(f"run r{run_id} is not terminal: {status}")


class ExecuteClient(Program):
    """Start under the key, then wait for the run's outcome; errors propagate to the caller."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.wait = request.option("wait", True)

    def start(self):
        r = self.request
        return Starting(), O.KeyedStart(r.workflow, r.index, r.key, (), f"req{r.index}")

    def on_result(self, local, result):
        phase = type(local)
        kind = type(result)
        if phase is Starting:
            if kind is O.Started:
                if not self.wait:  # fire and forget: the caller only learns the run was admitted
                    return Finished(), ok(RunStarted(result.run_id))
                return AwaitingOutcome(result.run_id, True), O.AwaitRun(result.run_id)
            if kind is O.Existing:
                if result.status in TERMINAL:
                    return Finished(), run_answer(
                        False, result.run_id, result.status, result.output
                    )
                return AwaitingOutcome(result.run_id, False), O.AwaitRun(result.run_id)
            if kind is O.Dropped:
                return Finished(), ok(Dropped())
            if kind is O.Error:
                return Finished(), error(result.name, result.detail)
            return self.unexpected(local, result)
        if phase is AwaitingOutcome and kind is O.RunInfo:
            return Finished(), run_answer(local.own, result.run_id, result.status, result.output)
        return self.unexpected(local, result)


class ExecuteBody(AdmittedBody):
    """An admitted run: does the effect once and completes, or fails as ``ends`` says. The stored
    error names the workflow, key and request like a result does."""

    def __init__(self, request: Request, run_id: int) -> None:
        super().__init__(request, run_id)
        self.ends = request.option("ends", "completed")

    def stored_error(self) -> tuple[Any, ...]:
        return (APPLICATION_ERROR, self.request.workflow, self.key, self.request.index)

    def own(self):
        if self.ends == "failed-before-effect":
            return self.fail(self.stored_error())
        return super().own()

    def after_work(self):
        if self.ends == "failed-after-effect":
            return self.fail(self.stored_error())
        return super().after_work()


register(
    StrategySpec(
        name="keyed-execute",
        description="start under the key and wait for the run's outcome; errors reach the caller",
        needs=PEERS,
        ops=EXECUTE_OPS,
        client=ExecuteClient,
        body=ExecuteBody,
        options={
            "ends": Option(
                "completed",
                choices=("completed", "failed-after-effect", "failed-before-effect"),
                doc="how the run this request starts ends",
            ),
            "wait": Option(
                True,
                kind=bool,
                doc="wait for a run this request started (false: answer once it is admitted)",
            ),
        },
    )
)
