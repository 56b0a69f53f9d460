"""The session: one method per world op, each the call an application makes (a keyed start, a
control message to the body, a cancel, a status read), answered from what DBOS stored."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from backends.dbos.app import (
    CONTROL_TOPIC,
    ENDED_BY_EVENT,
    OPEN,
    PHASE_EVENT,
    ModelFailure,
    workflow_function,
)
from backends.protocol import (
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

if TYPE_CHECKING:  # the backend module imports this one
    from backends.dbos.backend import DbosBackend

# the workflow's body did not take a control message in time (no DBOS executor runs it)
NO_BODY = "dbos: the workflow body did not answer"
# a duplicate whose handle did not re-raise the stored error (answers never equal the model's)
NOT_RERAISED = "dbos: get_result returned instead of re-raising the stored error"
# how long an operation waits for the body before it answers NO_BODY
WAIT_SECONDS = 30.0
POLL_SECONDS = 0.02


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

    # -- Python-side (documented in the package docstring) -------------------------------------

    def perform_effect(self, op: O.PerformEffect) -> Any:
        return O.Ok()

    def advance_clock(self, op: O.AdvanceClock) -> Any:
        return O.Ok(self.backend.tick())

    def snapshot(self) -> WorldState:
        raise BackendError("dbos: the whole world cannot be read back (SNAPSHOT = False)")


def _is_database_error(exc: BaseException) -> bool:
    import sqlalchemy.exc

    return isinstance(exc, sqlalchemy.exc.DBAPIError | sqlalchemy.exc.OperationalError)


def _error_text(error: Any) -> str | None:
    if isinstance(error, ModelFailure) and error.args:
        return error.args[0]
    return None if error is None else repr(error)
