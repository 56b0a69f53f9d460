"""The SQLite sidecar: what the World does not store, in one file next to the data that every process
of one backend shares (run numbers, consumption cursors and log, the logical clock and its
wall-clock ticks, the app's effect log and record table, the ghost cancel log)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

SIDECAR_SCHEMA = """
CREATE TABLE IF NOT EXISTS ids (n INTEGER PRIMARY KEY, wrun TEXT UNIQUE NOT NULL);
CREATE TABLE IF NOT EXISTS consumed (seq INTEGER PRIMARY KEY AUTOINCREMENT, corr TEXT NOT NULL,
    run INTEGER NOT NULL, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS effects (seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL,
    request INTEGER NOT NULL, run INTEGER NOT NULL, tick INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY, run INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS cancels (seq INTEGER PRIMARY KEY AUTOINCREMENT, by INTEGER NOT NULL,
    run INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS ticks (k INTEGER PRIMARY KEY, ms INTEGER NOT NULL);
"""


class Sidecar:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.local = threading.local()
        with self._conn() as conn:
            conn.executescript(SIDECAR_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            self.local.conn = conn
        return conn

    def tx(self) -> _Tx:
        return _Tx(self._conn())

    def clear(self) -> None:
        with self.tx() as c:
            for table in ("ids", "consumed", "effects", "records", "cancels", "ticks"):
                c.execute(f"DELETE FROM {table}")
            c.execute("DELETE FROM sqlite_sequence")

    def run_id(self, wrun: str) -> int:
        conn = self._conn()
        row = conn.execute("SELECT n FROM ids WHERE wrun = ?", (wrun,)).fetchone()
        if row is not None:
            return row[0]
        with self.tx() as c:  # gap-free: an ignored INSERT would still use up an AUTOINCREMENT
            row = c.execute("SELECT n FROM ids WHERE wrun = ?", (wrun,)).fetchone()
            if row is not None:
                return row[0]
            (n,) = c.execute("SELECT COALESCE(MAX(n), 0) + 1 FROM ids").fetchone()
            c.execute("INSERT INTO ids (n, wrun) VALUES (?, ?)", (n, wrun))
            return n

    def wrun(self, n: int) -> str | None:
        row = self._conn().execute("SELECT wrun FROM ids WHERE n = ?", (n,)).fetchone()
        return None if row is None else row[0]

    def clock(self) -> int:
        row = self._conn().execute("SELECT COALESCE(MAX(k), 0) FROM ticks").fetchone()
        return row[0]

    def tick_times(self) -> list[int]:
        return [r[0] for r in self._conn().execute("SELECT ms FROM ticks ORDER BY k")]


class _Tx:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``: one writer at a time across processes."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, kind, exc, tb) -> None:
        self.conn.execute("COMMIT" if kind is None else "ROLLBACK")


def tick_of(ms: int | None, ticks: list[int]) -> int:
    """The logical clock at World time ``ms``: the ticks that happened before it."""
    if ms is None:
        return 0
    return sum(1 for t in ticks if t < ms)
