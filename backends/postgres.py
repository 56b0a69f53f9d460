"""``postgres``: the reference backend on a real PostgreSQL server (psycopg 3).

Every operation is one ``SERIALIZABLE`` transaction; a serialization failure, a deadlock or a
unique violation (a concurrent duplicate that lost the race on the key's primary key or the
token's UNIQUE index) rolls back and retries, and the retry reads the winner. The SQL is
``backends/sql.py``; the tables live in the schema ``idemrace`` of the database the URL names.

Without a URL the backend starts its own throwaway server (``backends/pgserver.py``: initdb into
a temporary directory, a free loopback port) and stops it on ``close``; with ``url`` it uses that
server, and ``reset`` empties the ``idemrace`` schema's tables there (restart is then not offered:
the server is not ours to restart).
"""

from __future__ import annotations

import random
import time
import weakref
from typing import Any

from backends.protocol import BackendError, BackendUnavailable
from backends.sql import SqlBackend, SqlSession, Tx

SCHEMA_NAME = "idemrace"
RETRYABLE = ("40001", "40P01", "23505")  # serialization failure, deadlock, unique violation


def _psycopg():
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        raise BackendError(
            "postgres: psycopg is not installed (pip install 'psycopg[binary]')"
        ) from None
    return psycopg


class PostgresSession(SqlSession):
    def __init__(self, backend: PostgresBackend) -> None:
        super().__init__(backend)
        self.conn: Any = None
        self._rng = random.Random(id(self))  # jitter only: not part of any verdict

    def _connect(self):
        if self.conn is None or self.conn.closed:
            self.conn = self.backend.connect()
        return self.conn

    def _tx(self, fn, write: bool) -> Any:
        psycopg = _psycopg()
        delay = 0.001
        while True:
            try:
                conn = self._connect()
                with conn.cursor() as cur:
                    result = fn(Tx(cur, "%s"))
                conn.commit()
                return result
            except psycopg.errors.Error as exc:
                if getattr(exc, "sqlstate", None) in RETRYABLE:
                    self.conn.rollback()
                    time.sleep(delay * (1 + self._rng.random()))
                    delay = min(delay * 2, 0.05)
                    continue
                if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
                    # connection lost (server restart, terminated backend, closed socket): the
                    # caller cannot know whether a commit in flight took effect
                    self._discard()
                    raise BackendUnavailable(
                        f"postgres: {str(exc).strip().splitlines()[0]}"
                    ) from None
                if self.conn is not None and not self.conn.closed:
                    self.conn.rollback()
                raise

    def _discard(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
        self.conn = None

    def close(self) -> None:
        self._discard()


class PostgresBackend(SqlBackend):
    name = "postgres"
    FAULTS = ("kill", "drop", "restart")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.server = None
        self._admin = None
        self._sessions: weakref.WeakSet[PostgresSession] = weakref.WeakSet()
        if self.url is not None:
            self.FAULTS = ("kill", "drop")  # not our server: no restart

    def start(self) -> None:
        psycopg = _psycopg()
        if self.url is None:
            from backends.pgserver import ThrowawayServer

            self.server = ThrowawayServer.launch()
            self.url = self.server.url
        try:
            with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
                # two starters racing on CREATE ... IF NOT EXISTS can still collide: retry once
                for attempt in range(2):
                    try:
                        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA_NAME}")
                        conn.execute(f"SET search_path TO {SCHEMA_NAME}")
                        with conn.transaction():
                            t = Tx(conn.cursor(), "%s")
                            self._create_schema(t)
                        break
                    except psycopg.errors.UniqueViolation:
                        if attempt:
                            raise
        except psycopg.OperationalError as exc:
            self.close()
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BackendUnavailable(f"postgres: cannot connect: {reason}") from None

    def connect(self):
        psycopg = _psycopg()
        try:
            conn = psycopg.connect(self.url, connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise BackendUnavailable(f"postgres: cannot connect: {str(exc).strip()}") from None
        conn.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
        conn.execute(f"SET search_path TO {SCHEMA_NAME}")
        conn.commit()
        return conn

    def reset(self) -> None:
        assert self.profile is not None, "configure() first"
        # one kept connection: differential replay resets before every schedule
        conn = self._admin
        if conn is None or conn.closed or conn.broken:
            conn = self._admin = self.connect()
        try:
            with conn.cursor() as cur:
                self._truncate(Tx(cur, "%s"))
            conn.commit()
        except _psycopg().OperationalError as exc:
            self._admin = None
            raise BackendUnavailable(f"postgres: {str(exc).strip()}") from None

    def session(self) -> PostgresSession:
        session = PostgresSession(self)
        self._sessions.add(session)
        return session

    def restart(self) -> None:
        if self.server is None:
            raise BackendError("postgres: restart needs the throwaway server (no --url)")
        self.server.restart()
        # every open connection died with the old server process: reconnect on next use
        for session in list(self._sessions):
            session._discard()

    def drop(self, session: SqlSession) -> None:
        """Fault: the server terminates the session's backend process mid-transaction."""
        assert isinstance(session, PostgresSession) and session.conn is not None
        pid = session.conn.info.backend_pid
        psycopg = _psycopg()
        with psycopg.connect(self.url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

    def client_spec(self) -> dict[str, Any]:
        return {"class": f"{type(self).__module__}:{type(self).__name__}", "url": self.url}

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        for session in list(self._sessions):
            session.close()
        if self.server is not None:
            self.server.stop()
            self.server = None
