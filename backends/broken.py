"""``broken``: a deliberately wrong sqlite backend, to prove the harness can fail.

Its keyed start is the classic check-then-insert: one transaction looks the key up, a second one
admits the run and claims the key, and nothing in the schema stops two admissions (no primary key
on the key memory, no UNIQUE on live tokens). Run one client at a time and it is indistinguishable
from ``sqlite`` (differential replay passes: each step is applied alone); run clients at once and
two of them both see the key free and both get ``Started``. ``RACE_WINDOW`` seconds between the
check and the insert make that window wide enough to hit in a short test, as a slow network hop
between a lookup and a write would in production.
"""

from __future__ import annotations

import time
from typing import Any

from backends.protocol import decode
from backends.sql import Tx
from backends.sqlite import SqliteBackend, SqliteSession
from model import ops as O


class BrokenSession(SqliteSession):
    def keyed_start(self, op: O.KeyedStart) -> Any:
        def check(t: Tx):
            clock = self._clock(t)
            entry = t.one("SELECT run_id, claimed_at FROM keys WHERE key = ?", op.key)
            if entry is not None:
                owner = self._run(t, entry[0])
                if self._reserved(owner, entry[1], clock):
                    return O.Existing(owner[0], owner[2], decode(owner[3]))
            return None

        found = self._tx(check, False)
        if found is not None:
            return found
        time.sleep(self.backend.RACE_WINDOW)

        def admit(t: Tx):
            run_id = self._new_run(t, op.workflow, op.request, op.key, op.attributes)
            t.exec(
                "INSERT INTO hooks (run_id, hook_id, token) VALUES (?, ?, ?)", run_id, "h1", op.key
            )
            t.exec("DELETE FROM keys WHERE key = ?", op.key)
            t.exec(
                "INSERT INTO keys (key, run_id, claimed_at) VALUES (?, ?, ?)",
                op.key,
                run_id,
                self._clock(t),
            )
            self._fault("keyed_start")
            return O.Started(run_id)

        return self._tx(admit, True)


class BrokenBackend(SqliteBackend):
    name = "broken"
    UNIQUE = False
    RACE_WINDOW = 0.02

    def session(self) -> BrokenSession:
        session = BrokenSession(self)
        self._sessions.add(session)
        return session
