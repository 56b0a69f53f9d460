"""The world operations in SQL, shared by the ``sqlite`` and ``postgres`` reference backends.

How the P0 promises are kept (the point of the reference backends):

* every operation is ONE transaction (sqlite: ``BEGIN IMMEDIATE`` for writes; postgres:
  ``SERIALIZABLE``, retried on serialization failures), so the model's atomic step is the
  database's atomic step: keyed admission, hook claim and key memory are written together;
* the key memory has ``key`` as its primary key and live hooks have a UNIQUE ``token`` (disposed
  hooks are deleted), so even a buggy isolation level could not admit two live owners: a
  concurrent duplicate fails on the constraint and its retry reads the winner;
* run ids come from a counter row updated inside the admitting transaction (not a sequence), so
  they are gap-free and in commit order, as the model numbers runs; the same row carries the
  logical clock and the order of the ghost logs (deliveries, consumptions, effects, cancels);
* a terminal transition deletes the run's hooks in the same transaction (``atomic_release``),
  and retention is judged against the stored clock when a start looks the key up.

Subclasses provide the connection, the transaction loop and the dialect's DDL.
"""

from __future__ import annotations

from typing import Any, ClassVar

from backends.protocol import Backend, BackendError, Session, decode, encode
from model import ops as O
from model.state import (
    CANCELLED,
    COMPLETED,
    FAILED,
    PENDING,
    RUNNING,
    TERMINAL,
    Effect,
    Hook,
    KeyEntry,
    Run,
    WorldState,
)

TABLES = (
    "meta",
    "runs",
    "hooks",
    "inbox",
    "keys",
    "delivered",
    "consumed",
    "effects",
    "cancels",
    "records",
)

# portable DDL: INTEGER/TEXT, ON CONFLICT; sqlite and postgres both accept it
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (id INTEGER PRIMARY KEY CHECK (id = 1), "
    "clock INTEGER NOT NULL, next_run INTEGER NOT NULL, next_seq INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, workflow TEXT NOT NULL, "
    "status TEXT NOT NULL, request INTEGER NOT NULL, key TEXT, output TEXT NOT NULL, "
    "ended_at INTEGER, attributes TEXT NOT NULL, started_at INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS hooks (run_id INTEGER NOT NULL, hook_id TEXT NOT NULL, "
    "token TEXT NOT NULL {token_unique}, PRIMARY KEY (run_id, hook_id))",
    "CREATE TABLE IF NOT EXISTS inbox (seq INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, "
    "hook_id TEXT NOT NULL, payload TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS keys (key TEXT NOT NULL {key_unique}, run_id INTEGER NOT NULL, "
    "claimed_at INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS delivered (seq INTEGER PRIMARY KEY, payload TEXT NOT NULL, "
    "run_id INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS consumed (seq INTEGER PRIMARY KEY, payload TEXT NOT NULL, "
    "run_id INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS effects (seq INTEGER PRIMARY KEY, key TEXT NOT NULL, "
    "request INTEGER NOT NULL, run_id INTEGER NOT NULL, tick INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS cancels (seq INTEGER PRIMARY KEY, by_run INTEGER NOT NULL, "
    "run_id INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY, run_id INTEGER NOT NULL)",
    "INSERT INTO meta (id, clock, next_run, next_seq) VALUES (1, 0, 1, 1) ON CONFLICT DO NOTHING",
)

_RUN_COLS = "id, workflow, status, request, key, output, ended_at, attributes, started_at"


def schema(unique: bool = True) -> tuple[str, ...]:
    """The DDL; ``unique=False`` leaves out the constraints (only the broken variant does)."""
    fill = {
        "token_unique": "UNIQUE" if unique else "",
        "key_unique": "PRIMARY KEY" if unique else "",
    }
    return tuple(stmt.format(**fill) if "{" in stmt else stmt for stmt in SCHEMA)


class Tx:
    """A cursor inside one transaction, with ``?`` placeholders on every dialect."""

    def __init__(self, cursor: Any, placeholder: str) -> None:
        self.cur = cursor
        self.ph = placeholder

    def _sql(self, sql: str) -> str:
        return sql if self.ph == "?" else sql.replace("?", self.ph)

    def exec(self, sql: str, *args: Any) -> None:
        self.cur.execute(self._sql(sql), args)

    def all(self, sql: str, *args: Any) -> list[tuple]:
        self.cur.execute(self._sql(sql), args)
        return list(self.cur.fetchall())

    def one(self, sql: str, *args: Any) -> tuple | None:
        self.cur.execute(self._sql(sql), args)
        return self.cur.fetchone()


class SqlSession(Session):
    """The operations as SQL. ``_tx(fn, write)`` runs ``fn(tx)`` in one transaction (subclass)."""

    def __init__(self, backend: SqlBackend) -> None:
        self.backend = backend

    def _tx(self, fn, write: bool) -> Any:  # pragma: no cover - each dialect implements it
        raise NotImplementedError

    def _fault(self, name: str) -> None:
        """Between the writes and the commit: where the fault harness kills or drops us."""
        hook = self.backend.fault_point
        if hook is not None:
            hook(self, name)

    @property
    def opts(self) -> dict[str, Any]:
        return self.backend.options

    # -- shared helpers (inside a transaction) ---------------------------------------------------

    @staticmethod
    def _clock(t: Tx) -> int:
        return t.one("SELECT clock FROM meta WHERE id = 1")[0]

    @staticmethod
    def _seq(t: Tx) -> int:
        (seq,) = t.one("SELECT next_seq FROM meta WHERE id = 1")
        t.exec("UPDATE meta SET next_seq = next_seq + 1 WHERE id = 1")
        return seq

    @staticmethod
    def _new_run(t: Tx, workflow: str, request: int, key: str | None, attributes) -> int:
        clock, run_id = t.one("SELECT clock, next_run FROM meta WHERE id = 1")
        t.exec("UPDATE meta SET next_run = next_run + 1 WHERE id = 1")
        t.exec(
            f"INSERT INTO runs ({_RUN_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            run_id,
            workflow,
            PENDING,
            request,
            key,
            encode(None),
            None,
            encode(tuple(sorted(attributes))),
            clock,
        )
        return run_id

    @staticmethod
    def _run(t: Tx, run_id: int) -> tuple | None:
        return t.one(
            "SELECT id, workflow, status, output, request, ended_at FROM runs WHERE id = ?", run_id
        )

    @staticmethod
    def _drop_hooks(t: Tx, run_id: int) -> None:
        t.exec("DELETE FROM inbox WHERE run_id = ?", run_id)
        t.exec("DELETE FROM hooks WHERE run_id = ?", run_id)

    @staticmethod
    def _hook(t: Tx, run_id: int, hook_id: str) -> tuple | None:
        return t.one("SELECT token FROM hooks WHERE run_id = ? AND hook_id = ?", run_id, hook_id)

    # -- runs ----------------------------------------------------------------------------------

    def create_run(self, op: O.CreateRun) -> Any:
        def fn(t: Tx):
            run_id = self._new_run(t, op.workflow, op.request, None, op.attributes)
            self._fault("create_run")
            return O.Ok(run_id)

        return self._tx(fn, True)

    def start_run(self, op: O.StartRun) -> Any:
        def fn(t: Tx):
            run = self._run(t, op.run_id)
            if run is None:
                return O.RUN_NOT_FOUND
            if run[2] != PENDING:
                # the profile's answer for a run already running / already ended
                profile = self.backend.profile
                return profile.START_RUNNING if run[2] == RUNNING else profile.START_ENDED
            t.exec("UPDATE runs SET status = ? WHERE id = ?", RUNNING, op.run_id)
            self._fault("start_run")
            return O.Ok()

        return self._tx(fn, True)

    def _end(self, run_id: int, status: str, output: Any, by: int = 0) -> Any:
        def fn(t: Tx):
            run = self._run(t, run_id)
            if run is None:
                return O.RUN_NOT_FOUND
            if run[2] in TERMINAL:
                if status == CANCELLED and run[2] == CANCELLED:
                    return O.Ok()  # re-cancelling a cancelled run is accepted
                return O.ENTITY_CONFLICT
            t.exec(
                "UPDATE runs SET status = ?, output = ?, ended_at = ? WHERE id = ?",
                status,
                encode(output),
                self._clock(t),
                run_id,
            )
            if self.opts["atomic_release"]:
                self._drop_hooks(t, run_id)
            if by:
                t.exec(
                    "INSERT INTO cancels (seq, by_run, run_id) VALUES (?, ?, ?)",
                    self._seq(t),
                    by,
                    run_id,
                )
            self._fault("end_run")
            return O.Ok()

        return self._tx(fn, True)

    def complete_run(self, op: O.CompleteRun) -> Any:
        return self._end(op.run_id, COMPLETED, op.output)

    def fail_run(self, op: O.FailRun) -> Any:
        return self._end(op.run_id, FAILED, op.error)

    def cancel_run(self, op: O.CancelRun) -> Any:
        return self._end(op.run_id, CANCELLED, None, op.by)

    def get_run(self, op: O.GetRun) -> Any:
        def fn(t: Tx):
            run = self._run(t, op.run_id)
            if run is None:
                return O.RUN_NOT_FOUND
            return O.RunInfo(run[0], run[1], run[2], decode(run[3]), run[4])

        return self._tx(fn, False)

    def list_runs(self, op: O.ListRuns) -> Any:
        profile = self.backend.profile
        if op.attribute is not None and profile.name != "vercel-attribute-lookup":
            raise BackendError(f"{profile.name}: runs.list filters by workflowName and status only")

        def fn(t: Tx):
            rows = t.all(
                "SELECT id, status, attributes, ended_at FROM runs WHERE workflow = ? ORDER BY id",
                op.workflow,
            )
            clock = self._clock(t)
            ids = []
            for run_id, status, attributes, ended_at in rows:
                if op.status is not None and status != op.status:
                    continue
                if op.attribute is not None:
                    if tuple(op.attribute) not in decode(attributes):
                        continue
                    if ended_at is not None and clock >= ended_at + self.opts["retention"]:
                        continue  # attributes are queryable for ``retention`` ticks after the end
                ids.append(run_id)
            return O.RunList(tuple(ids))

        return self._tx(fn, False)

    def keyed_start(self, op: O.KeyedStart) -> Any:
        if self.backend.profile.name != "vercel-keyed-start":
            raise BackendError(f"{self.backend.profile.name}: no keyed start")
        return self._tx(lambda t: self._keyed_start(t, op), True)

    def _keyed_start(self, t: Tx, op: O.KeyedStart) -> Any:
        clock = self._clock(t)
        entry = t.one("SELECT run_id, claimed_at FROM keys WHERE key = ?", op.key)
        if entry is not None:
            owner = self._run(t, entry[0])
            if self._reserved(owner, entry[1], clock):
                if self.opts["duplicate"] == "conflict-error":
                    return O.Error("HookConflictError", owner[0])
                return O.Existing(owner[0], owner[2], decode(owner[3]))
        holder = t.one("SELECT run_id FROM hooks WHERE token = ?", op.key)
        if holder is not None:
            # free in key memory, but a live hook (claimed by a body) holds the token
            return O.Error("HookConflictError", holder[0])
        run_id = self._new_run(t, op.workflow, op.request, op.key, op.attributes)
        t.exec("INSERT INTO hooks (run_id, hook_id, token) VALUES (?, ?, ?)", run_id, "h1", op.key)
        if entry is None:
            t.exec(
                "INSERT INTO keys (key, run_id, claimed_at) VALUES (?, ?, ?)", op.key, run_id, clock
            )
        else:  # the expired entry is taken over in the same transaction
            t.exec(
                "UPDATE keys SET run_id = ?, claimed_at = ? WHERE key = ?", run_id, clock, op.key
            )
        self._fault("keyed_start")
        return O.Started(run_id)

    def _reserved(self, owner: tuple | None, claimed_at: int, clock: int) -> bool:
        if owner is None or owner[2] not in TERMINAL:
            return True
        start = claimed_at if self.opts["retention_from"] == "claim" else owner[5]
        return clock < start + self.opts["retention"]

    # -- hooks ---------------------------------------------------------------------------------

    def claim_hook(self, op: O.ClaimHook) -> Any:
        def fn(t: Tx):
            run = self._run(t, op.run_id)
            if run is None:
                return O.RUN_NOT_FOUND
            if run[2] in TERMINAL:
                return O.ENTITY_CONFLICT
            if self._hook(t, op.run_id, op.hook_id) is not None:
                return O.ENTITY_CONFLICT  # replayed claim of our own hook
            holder = t.one("SELECT run_id FROM hooks WHERE token = ?", op.token)
            if holder is not None:
                return O.HookConflict(holder[0])
            t.exec(
                "INSERT INTO hooks (run_id, hook_id, token) VALUES (?, ?, ?)",
                op.run_id,
                op.hook_id,
                op.token,
            )
            self._fault("claim_hook")
            return O.HookCreated()

        return self._tx(fn, True)

    def deliver_payload(self, op: O.DeliverPayload) -> Any:
        payload = encode(op.payload)

        def fn(t: Tx):
            if self._hook(t, op.run_id, op.hook_id) is None:
                return O.HOOK_NOT_FOUND
            seq = self._seq(t)
            t.exec(
                "INSERT INTO inbox (seq, run_id, hook_id, payload) VALUES (?, ?, ?, ?)",
                seq,
                op.run_id,
                op.hook_id,
                payload,
            )
            t.exec(
                "INSERT INTO delivered (seq, payload, run_id) VALUES (?, ?, ?)",
                seq,
                payload,
                op.run_id,
            )
            self._fault("deliver_payload")
            return O.Ok()

        return self._tx(fn, True)

    def _take(self, op: Any, missing: Any) -> Any:
        def fn(t: Tx):
            if self._hook(t, op.run_id, op.hook_id) is None:
                return missing
            row = t.one(
                "SELECT seq, payload FROM inbox WHERE run_id = ? AND hook_id = ? "
                "ORDER BY seq LIMIT 1",
                op.run_id,
                op.hook_id,
            )
            if row is None:
                return O.Ok(None)
            t.exec("DELETE FROM inbox WHERE seq = ?", row[0])
            t.exec(
                "INSERT INTO consumed (seq, payload, run_id) VALUES (?, ?, ?)",
                self._seq(t),
                row[1],
                op.run_id,
            )
            self._fault("take_payload")
            return O.Payload(decode(row[1]))

        return self._tx(fn, True)

    def poll_payload(self, op: O.PollPayload) -> Any:
        return self._take(op, O.Ok(None))

    def consume_payload(self, op: O.ConsumePayload) -> Any:
        return self._take(op, O.HOOK_NOT_FOUND)

    def dispose_hook(self, op: O.DisposeHook) -> Any:
        def fn(t: Tx):
            if self._hook(t, op.run_id, op.hook_id) is None:
                return O.HOOK_NOT_FOUND
            t.exec("DELETE FROM inbox WHERE run_id = ? AND hook_id = ?", op.run_id, op.hook_id)
            t.exec("DELETE FROM hooks WHERE run_id = ? AND hook_id = ?", op.run_id, op.hook_id)
            self._fault("dispose_hook")
            return O.Ok()

        return self._tx(fn, True)

    def release_hooks(self, op: O.ReleaseHooks) -> Any:
        def fn(t: Tx):
            self._drop_hooks(t, op.run_id)
            return O.Ok()

        return self._tx(fn, True)

    def get_hook_by_token(self, op: O.GetHookByToken) -> Any:
        def fn(t: Tx):
            row = t.one("SELECT run_id, hook_id FROM hooks WHERE token = ?", op.token)
            return O.HOOK_NOT_FOUND if row is None else O.HookInfo(row[0], row[1])

        return self._tx(fn, False)

    # -- application side ----------------------------------------------------------------------

    def perform_effect(self, op: O.PerformEffect) -> Any:
        def fn(t: Tx):
            run = self._run(t, op.run_id)
            request = run[4] if run is not None else 0
            t.exec(
                "INSERT INTO effects (seq, key, request, run_id, tick) VALUES (?, ?, ?, ?, ?)",
                self._seq(t),
                op.key,
                request,
                op.run_id,
                self._clock(t),
            )
            return O.Ok()

        return self._tx(fn, True)

    def app_record_get(self, op: O.AppRecordGet) -> Any:
        def fn(t: Tx):
            row = t.one("SELECT run_id FROM records WHERE key = ?", op.key)
            return O.Ok(None if row is None else row[0])

        return self._tx(fn, False)

    def app_record_put(self, op: O.AppRecordPut) -> Any:
        def fn(t: Tx):
            row = t.one("SELECT run_id FROM records WHERE key = ?", op.key)
            if row is not None:
                return O.Ok(row[0])  # the unique constraint keeps the first writer
            t.exec("INSERT INTO records (key, run_id) VALUES (?, ?)", op.key, op.run_id)
            return O.Ok(op.run_id)

        return self._tx(fn, True)

    def advance_clock(self, op: O.AdvanceClock) -> Any:
        def fn(t: Tx):
            t.exec("UPDATE meta SET clock = clock + 1 WHERE id = 1")
            return O.Ok(self._clock(t))

        return self._tx(fn, True)

    # -- reading the whole store -----------------------------------------------------------------

    def snapshot(self) -> WorldState:
        return self._tx(read_world, False)


def read_world(t: Tx) -> WorldState:
    clock = t.one("SELECT clock FROM meta WHERE id = 1")[0]
    runs = tuple(
        Run(
            id=r[0],
            workflow=r[1],
            status=r[2],
            request=r[3],
            key=r[4],
            output=decode(r[5]),
            ended_at=r[6],
            attributes=decode(r[7]),
            started_at=r[8],
        )
        for r in t.all(f"SELECT {_RUN_COLS} FROM runs ORDER BY id")
    )
    inbox: dict[tuple[int, str], list[Any]] = {}
    for run_id, hook_id, payload in t.all(
        "SELECT run_id, hook_id, payload FROM inbox ORDER BY seq"
    ):
        inbox.setdefault((run_id, hook_id), []).append(decode(payload))
    hooks = tuple(
        sorted(
            Hook(token, run_id, hook_id, tuple(inbox.get((run_id, hook_id), ())))
            for run_id, hook_id, token in t.all("SELECT run_id, hook_id, token FROM hooks")
        )
    )
    keys = tuple(
        sorted(
            KeyEntry(k, run_id, claimed_at)
            for k, run_id, claimed_at in t.all("SELECT key, run_id, claimed_at FROM keys")
        )
    )
    return WorldState(
        clock=clock,
        runs=runs,
        hooks=hooks,
        keys=keys,
        effects=tuple(
            Effect(*row)
            for row in t.all("SELECT key, request, run_id, tick FROM effects ORDER BY seq")
        ),
        delivered=tuple(
            (decode(p), r) for p, r in t.all("SELECT payload, run_id FROM delivered ORDER BY seq")
        ),
        consumed=tuple(
            (decode(p), r) for p, r in t.all("SELECT payload, run_id FROM consumed ORDER BY seq")
        ),
        cancels=tuple(
            tuple(row) for row in t.all("SELECT by_run, run_id FROM cancels ORDER BY seq")
        ),
        records=tuple(sorted(tuple(row) for row in t.all("SELECT key, run_id FROM records"))),
    )


class SqlBackend(Backend):
    """Shared by the SQL backends: schema creation and reset through a session's transaction."""

    UNIQUE: ClassVar[bool] = True  # the broken variant turns the constraints off
    FAULT_POINTS = True

    def _create_schema(self, t: Tx) -> None:
        for stmt in schema(self.UNIQUE):
            t.exec(stmt)

    def _truncate(self, t: Tx) -> None:
        for table in TABLES:
            t.exec(f"DELETE FROM {table}")
        t.exec("INSERT INTO meta (id, clock, next_run, next_seq) VALUES (1, 0, 1, 1)")
