"""``vercel-today``: Vercel Workflow v4 as shipped.

``start()`` always creates a run; the key is claimed later, inside the body, as a hook token; the
token is released when the run reaches a terminal state; nothing is remembered after that.
"""

from __future__ import annotations

from model import ops as O
from model.profiles.base import MatrixRow, V4World


class VercelToday(V4World):
    name = "vercel-today"
    description = "v4: start always creates a run, the body claims the key as a hook token"
    FAMILIES = frozenset({"vercel-v4"})
    SYMMETRIC = True
    MATRIX_ROWS = (
        MatrixRow(
            "Vercel today",
            (),
            ("adopt", "reject", "inspect", "signal", "supersede", "resume-or-start"),
            rank=40,
        ),
        # the application-level patterns people use on v4 today
        MatrixRow("Entity pattern", (), ("entity",), rank=70),
        MatrixRow("App-record pattern", (), ("app-record",), rank=80),
    )

    # ``run_started`` as both World packages implement it (found by the vercel-local and
    # vercel-postgres backends): on a running run it is idempotent, answering the run with no
    # new event (world-local 4.4.1 dist/storage/events-storage.js, "If already running, return
    # the run without inserting a duplicate event"; world-postgres 4.3.7 dist/storage.js, the
    # run_started branch, "This makes run_started idempotent for concurrent invocations"), and
    # on an ended run it throws RunExpiredError "so the runtime knows to exit without retrying"
    # (the terminal-state validation of both), not EntityConflictError.
    START_RUNNING = O.Ok()
    START_ENDED = O.Error("RunExpiredError")
