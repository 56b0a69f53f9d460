"""A client in its own process (``python -m backends.dbos.client SPEC``): its own DBOS instance on
the parent's system database, joined to its world, performing a list of ops and printing the
history records; and the kill points (``KILL_POINTS``) the DBOS fault tests SIGKILL it at."""

from __future__ import annotations

import threading
import time
from typing import Any

from backends.dbos.app import workflow_function
from backends.protocol import BackendUnavailable
from model import ops as O

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
    """``python -m backends.dbos.client SPEC``: one DBOS instance in this process on the system
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

    from backends.dbos.client import client_main as _main  # the module, not a second __main__ copy

    sys.exit(_main(sys.argv[1:]))
