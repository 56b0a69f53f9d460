"""The DBOS application: the workflow body every model workflow name runs (moved only by the
client's durable control messages), its registration under the model's names, and DBOS's launch
on a system database with the log filters for what the validation does on purpose."""

from __future__ import annotations

import logging
import threading
from typing import Any

from backends.protocol import BackendUnavailable, encode
from model.state import RUNNING

CONTROL_TOPIC = "idemrace-control"
PHASE_EVENT = "phase"
ENDED_BY_EVENT = "ended-by"
# DBOS's statuses of a workflow that has not ended: PENDING (executing, or waiting in its body)
# and ENQUEUED, which recovery passes through: ``_recovery._recover_workflow`` re-enqueues a
# recovered workflow on DBOS's internal queue, and a queue worker dequeues it to PENDING again.
# The model's run is open (pending or running, by the body's phase event) in both
OPEN = ("PENDING", "ENQUEUED")

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


def launch(database: str, executor_id: str) -> None:
    """DBOS launched on the system database ``database`` as ``executor_id``; a database it
    cannot reach (or a bad URL) is one line of ``BackendUnavailable``."""
    from dbos import DBOS

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
    config["executor_id"] = executor_id
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
