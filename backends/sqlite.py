"""``sqlite``: the embedded reference backend (stdlib ``sqlite3``, one database file).

Writes run under ``BEGIN IMMEDIATE`` (the database's write lock is taken before the first read,
so a check and the insert it guards can never interleave with another writer's), reads under a
deferred ``BEGIN`` (a consistent WAL snapshot). ``synchronous=FULL`` makes every acknowledged
commit durable, which is what the restart fault checks. The SQL itself is ``backends/sql.py``.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
import weakref
from pathlib import Path
from typing import Any

from backends.protocol import BackendUnavailable
from backends.sql import SqlBackend, SqlSession, Tx

BUSY_TIMEOUT_MS = 30_000


def _memory_tmp() -> Path | None:
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else None


class SqliteSession(SqlSession):
    def __init__(self, backend: SqliteBackend) -> None:
        super().__init__(backend)
        self.conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self.conn is None:
            self.conn = self.backend.connect()
        return self.conn

    def _tx(self, fn, write: bool) -> Any:
        conn = self._connect()
        delay = 0.001
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    result = fn(Tx(conn.cursor(), "?"))
                    conn.execute("COMMIT")
                    return result
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as exc:
                # busy/locked past the timeout (rare with WAL): back off and try again
                if "locked" in str(exc) or "busy" in str(exc):
                    time.sleep(delay)
                    delay = min(delay * 2, 0.05)
                    continue
                self.conn = None
                raise BackendUnavailable(f"sqlite: {exc}") from None
            except sqlite3.ProgrammingError as exc:
                # the connection was closed under us (the drop fault): the caller does not know
                # whether the operation committed; the next operation reconnects
                self.conn = None
                raise BackendUnavailable(f"sqlite: {exc}") from None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class SqliteBackend(SqlBackend):
    name = "sqlite"
    FAULTS = ("kill", "drop", "restart")

    def __init__(self, *, path: str | Path | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._tmp: tempfile.TemporaryDirectory | None = None
        if path is None and self.url is not None:
            path = self.url.removeprefix("sqlite:///").removeprefix("sqlite://")
        self.path = Path(path) if path is not None else None
        self._sessions: weakref.WeakSet[SqliteSession] = weakref.WeakSet()

    def start(self) -> None:
        if self.path is None:
            # a throwaway store lives in memory-backed /dev/shm where there is one: the same
            # commits and fsyncs (synchronous=FULL), without a disk's latency on every one of
            # the differential's thousands of transactions (ten times faster on a loaded disk)
            where = self.workdir if self.workdir is not None else _memory_tmp()
            self._tmp = tempfile.TemporaryDirectory(prefix="idemrace-sqlite-", dir=where)
            self.path = Path(self._tmp.name) / "world.sqlite"
        try:
            conn = self.connect()
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("BEGIN IMMEDIATE")
            self._create_schema(Tx(conn.cursor(), "?"))
            conn.execute("COMMIT")
            conn.close()
        except sqlite3.Error as exc:
            raise BackendUnavailable(f"sqlite: cannot open {self.path}: {exc}") from None

    def connect(self) -> sqlite3.Connection:
        assert self.path is not None, "start() first"
        # autocommit mode: transactions are the explicit BEGIN/COMMIT of the session
        conn = sqlite3.connect(
            self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def reset(self) -> None:
        assert self.profile is not None, "configure() first"
        conn = self.connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            self._truncate(Tx(conn.cursor(), "?"))
            conn.execute("COMMIT")
        finally:
            conn.close()

    def session(self) -> SqliteSession:
        session = SqliteSession(self)
        self._sessions.add(session)
        return session

    def restart(self) -> None:
        """SQLite has no server: its restart closes every open connection (an open transaction
        is lost) and opens the file again; sessions reconnect on their next operation."""
        for session in list(self._sessions):
            if session.conn is not None:
                session.conn.close()
                session.conn = None

    def drop(self, session: SqlSession) -> None:
        """Fault: the session's connection goes away mid-transaction (uncommitted work is lost)."""
        assert isinstance(session, SqliteSession) and session.conn is not None
        session.conn.close()

    def client_spec(self) -> dict[str, Any]:
        return {"class": f"{type(self).__module__}:{type(self).__name__}", "path": str(self.path)}

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
