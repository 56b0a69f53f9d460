"""The mutants: each the sqlite reference (``backends/sqlite.py``, SQL in ``backends/sql.py``)
with one behaviour changed, named after what it gets wrong. ``MUTANTS`` lists them with the
promise each one breaks; every class is a ``Backend`` that ``idemrace validate`` loads as
``tests.mutants.zoo:<Name>``.

The races are the plain ones, with no sleep widening their windows: a check in one transaction,
the write it guards in the next. Catching them is the harness's job (bursts), not the mutant's.
"""

from __future__ import annotations

from typing import Any, ClassVar

from backends.protocol import BackendError, decode, encode
from backends.sql import Tx, schema
from backends.sqlite import SqliteBackend, SqliteSession
from model import ops as O
from model.state import CANCELLED, TERMINAL


class Mutant(SqliteBackend):
    """A sqlite reference whose sessions are ``SESSION``; ``PROMISE`` is what it breaks."""

    SESSION: ClassVar[type[SqliteSession]] = SqliteSession
    PROMISE: ClassVar[str] = ""

    def session(self) -> SqliteSession:
        session = self.SESSION(self)
        self._sessions.add(session)
        return session


def _keyed_lookup(s: SqliteSession, t: Tx, op: O.KeyedStart) -> Any:
    """The reference keyed start's checks: the answer when the key is taken, else None."""
    clock = s._clock(t)
    entry = t.one("SELECT run_id, claimed_at FROM keys WHERE key = ?", op.key)
    if entry is not None:
        owner = s._run(t, entry[0])
        if s._reserved(owner, entry[1], clock):
            if s.opts["duplicate"] == "conflict-error":
                return O.Error("HookConflictError", owner[0])
            return O.Existing(owner[0], owner[2], decode(owner[3]))
    holder = t.one("SELECT run_id FROM hooks WHERE token = ?", op.key)
    if holder is not None:
        return O.Error("HookConflictError", holder[0])
    return None


def _need_keyed(s: SqliteSession) -> None:
    if s.backend.profile.name != "vercel-keyed-start":
        raise BackendError(f"{s.backend.profile.name}: no keyed start")


def _end_writes(
    s: SqliteSession, t: Tx, run_id: int, status: str, output: Any, by: int, release: bool
) -> None:
    """The reference end's writes: status, output and end tick, the release, the cancel log."""
    t.exec(
        "UPDATE runs SET status = ?, output = ?, ended_at = ? WHERE id = ?",
        status,
        encode(output),
        s._clock(t),
        run_id,
    )
    if release:
        s._drop_hooks(t, run_id)
    if by:
        t.exec("INSERT INTO cancels (seq, by_run, run_id) VALUES (?, ?, ?)", s._seq(t), by, run_id)


def _ended(run: tuple | None, status: str) -> Any:
    """The reference end's answer for a missing or already ended run, else None."""
    if run is None:
        return O.RUN_NOT_FOUND
    if run[2] in TERMINAL:
        return O.Ok() if status == CANCELLED and run[2] == CANCELLED else O.ENTITY_CONFLICT
    return None


# -- uniqueness ------------------------------------------------------------------------------------


class ClaimRaceSession(SqliteSession):
    def keyed_start(self, op: O.KeyedStart) -> Any:
        _need_keyed(self)
        found = self._tx(lambda t: _keyed_lookup(self, t, op), False)
        if found is not None:
            return found

        def admit(t: Tx) -> Any:  # no second look: the key was free a moment ago
            entry = t.one("SELECT run_id FROM keys WHERE key = ?", op.key)
            run_id = self._new_run(t, op.workflow, op.request, op.key, op.attributes)
            t.exec(
                "INSERT INTO hooks (run_id, hook_id, token) VALUES (?, ?, ?)", run_id, "h1", op.key
            )
            clock = self._clock(t)
            if entry is None:
                t.exec(
                    "INSERT INTO keys (key, run_id, claimed_at) VALUES (?, ?, ?)",
                    op.key,
                    run_id,
                    clock,
                )
            else:
                t.exec(
                    "UPDATE keys SET run_id = ?, claimed_at = ? WHERE key = ?",
                    run_id,
                    clock,
                    op.key,
                )
            self._fault("keyed_start")
            return O.Started(run_id)

        return self._tx(admit, True)


class ClaimRace(Mutant):
    """Keyed start checks the key in one transaction and admits in the next (check-then-insert),
    and the schema has no unique key memory or token to stop the second admission."""

    name = "claim-race"
    PROMISE = "uniqueness: one admission per key"
    SESSION = ClaimRaceSession
    UNIQUE = False


class TokenRaceSession(SqliteSession):
    def claim_hook(self, op: O.ClaimHook) -> Any:
        def check(t: Tx) -> Any:
            run = self._run(t, op.run_id)
            if run is None:
                return O.RUN_NOT_FOUND
            if run[2] in TERMINAL:
                return O.ENTITY_CONFLICT
            if self._hook(t, op.run_id, op.hook_id) is not None:
                return O.ENTITY_CONFLICT
            holder = t.one("SELECT run_id FROM hooks WHERE token = ?", op.token)
            return None if holder is None else O.HookConflict(holder[0])

        found = self._tx(check, False)
        if found is not None:
            return found

        def insert(t: Tx) -> Any:
            t.exec(
                "INSERT INTO hooks (run_id, hook_id, token) VALUES (?, ?, ?)",
                op.run_id,
                op.hook_id,
                op.token,
            )
            self._fault("claim_hook")
            return O.HookCreated()

        return self._tx(insert, True)


class TokenRace(Mutant):
    """A hook claim checks the token in one transaction and inserts in the next, with no UNIQUE
    on live tokens: two runs can both own one token (the v4 admission race)."""

    name = "token-race"
    PROMISE = "uniqueness: one live hook per token"
    SESSION = TokenRaceSession
    UNIQUE = False


class EndRaceSession(SqliteSession):
    def _end(self, run_id: int, status: str, output: Any, by: int = 0) -> Any:
        answer = _ended(self._tx(lambda t: self._run(t, run_id), False), status)
        if answer is not None:
            return answer

        def write(t: Tx) -> Any:  # the status read above is trusted
            _end_writes(self, t, run_id, status, output, by, self.opts["atomic_release"])
            self._fault("end_run")
            return O.Ok()

        return self._tx(write, True)


class EndRace(Mutant):
    """Complete / fail / cancel read the run's status in one transaction and write the end in
    the next: two concurrent ends are both acknowledged, the later overwriting the earlier."""

    name = "end-race"
    PROMISE = "uniqueness: a run ends once"
    SESSION = EndRaceSession


class DoubleTakeSession(SqliteSession):
    def _take(self, op: Any, missing: Any) -> Any:
        def look(t: Tx) -> Any:
            if self._hook(t, op.run_id, op.hook_id) is None:
                return None, missing
            row = t.one(
                "SELECT seq, payload FROM inbox WHERE run_id = ? AND hook_id = ? "
                "ORDER BY seq LIMIT 1",
                op.run_id,
                op.hook_id,
            )
            return row, O.Ok(None)

        row, otherwise = self._tx(look, False)
        if row is None:
            return otherwise

        def take(t: Tx) -> Any:  # deletes the row it saw, whether or not it is still there
            t.exec("DELETE FROM inbox WHERE seq = ?", row[0])
            t.exec(
                "INSERT INTO consumed (seq, payload, run_id) VALUES (?, ?, ?)",
                self._seq(t),
                row[1],
                op.run_id,
            )
            self._fault("take_payload")
            return O.Payload(decode(row[1]))

        return self._tx(take, True)


class DoubleTake(Mutant):
    """Polling reads the inbox's head in one transaction and deletes it in the next: two
    pollers both take the same payload."""

    name = "double-take"
    PROMISE = "read consistency: a payload is taken once"
    SESSION = DoubleTakeSession


# -- release, retention and key memory -------------------------------------------------------------


class CancelKeepsHooksSession(SqliteSession):
    def _end(self, run_id: int, status: str, output: Any, by: int = 0) -> Any:
        def fn(t: Tx) -> Any:
            answer = _ended(self._run(t, run_id), status)
            if answer is not None:
                return answer
            # the release lives in the completion path only: a cancelled run keeps its hooks
            release = self.opts["atomic_release"] and status != CANCELLED
            _end_writes(self, t, run_id, status, output, by, release)
            self._fault("end_run")
            return O.Ok()

        return self._tx(fn, True)


class CancelKeepsHooks(Mutant):
    """A cancelled run's hooks are not released (completion and failure do release them): its
    token stays held, so the key is never admitted again."""

    name = "cancel-keeps-hooks"
    PROMISE = "release: an ended run's hooks go with it"
    SESSION = CancelKeepsHooksSession


class RetentionOffByOneSession(SqliteSession):
    def _reserved(self, owner: tuple | None, claimed_at: int, clock: int) -> bool:
        if owner is None or owner[2] not in TERMINAL:
            return True
        start = claimed_at if self.opts["retention_from"] == "claim" else owner[5]
        return clock <= start + self.opts["retention"]  # one tick too long


class RetentionOffByOne(Mutant):
    """Retention judged with ``<=``: a key stays reserved one tick past its window."""

    name = "retention-off-by-one"
    PROMISE = "retention: a key is free once its window has passed"
    SESSION = RetentionOffByOneSession


class KeyForgottenAtEndSession(SqliteSession):
    def _end(self, run_id: int, status: str, output: Any, by: int = 0) -> Any:
        def fn(t: Tx) -> Any:
            answer = _ended(self._run(t, run_id), status)
            if answer is not None:
                return answer
            _end_writes(self, t, run_id, status, output, by, self.opts["atomic_release"])
            # the key memory treated as an index of live runs: dropped when the run ends
            t.exec("DELETE FROM keys WHERE run_id = ?", run_id)
            self._fault("end_run")
            return O.Ok()

        return self._tx(fn, True)


class KeyForgottenAtEnd(Mutant):
    """The key memory is deleted when its run ends, so a duplicate start inside the retention
    window is admitted as a new run instead of seeing the ended one."""

    name = "key-forgotten-at-end"
    PROMISE = "key memory: an ended run's key is remembered for the retention window"
    SESSION = KeyForgottenAtEndSession


# -- honouring the declared options ----------------------------------------------------------------


def _ignoring(option: str, value: Any) -> type[SqliteSession]:
    class Session(SqliteSession):
        @property
        def opts(self) -> dict[str, Any]:
            return {**self.backend.options, option: value}

    Session.__name__ = f"Ignores_{option}"
    return Session


class IgnoresDuplicate(Mutant):
    """Declares ``duplicate`` but always answers a duplicate with the existing run, never with
    ``HookConflictError(owner)``."""

    name = "ignores-duplicate"
    PROMISE = "declared options: duplicate = conflict-error"
    SESSION = _ignoring("duplicate", "existing")


class IgnoresRetentionFrom(Mutant):
    """Declares ``retention_from`` but always counts the window from the run's end."""

    name = "ignores-retention-from"
    PROMISE = "declared options: retention_from = claim"
    SESSION = _ignoring("retention_from", "end")


class ReleasesAnyway(Mutant):
    """Declares ``atomic_release`` but releases the hooks with the end even when it is false
    (where the release is a step of its own, ``ReleaseHooks``)."""

    name = "releases-anyway"
    PROMISE = "declared options: atomic_release = false"
    SESSION = _ignoring("atomic_release", True)


# -- key identity ----------------------------------------------------------------------------------


class CaseInsensitiveKeys(Mutant):
    """Keys and hook tokens compared case-insensitively (``COLLATE NOCASE``, as a MySQL schema's
    default collation would): ``K1`` finds ``k1``'s run."""

    name = "case-insensitive-keys"
    PROMISE = "key identity: keys differing in case are different keys"

    def _create_schema(self, t: Tx) -> None:
        for stmt in schema(self.UNIQUE):
            stmt = stmt.replace("key TEXT NOT NULL", "key TEXT NOT NULL COLLATE NOCASE")
            stmt = stmt.replace("token TEXT NOT NULL", "token TEXT NOT NULL COLLATE NOCASE")
            t.exec(stmt)


class TrimmedKeysSession(SqliteSession):
    # keys and tokens "cleaned up" like a form field: surrounding blanks dropped
    def keyed_start(self, op: O.KeyedStart) -> Any:
        return super().keyed_start(op._replace(key=op.key.strip()))

    def claim_hook(self, op: O.ClaimHook) -> Any:
        return super().claim_hook(op._replace(token=op.token.strip()))

    def get_hook_by_token(self, op: O.GetHookByToken) -> Any:
        return super().get_hook_by_token(op._replace(token=op.token.strip()))


class TrimmedKeys(Mutant):
    """Keys and tokens are stripped of surrounding blanks before use: ``"k1 "`` is ``k1``."""

    name = "trimmed-keys"
    PROMISE = "key identity: a trailing blank makes another key"
    SESSION = TrimmedKeysSession


# -- atomicity of multi-write steps ----------------------------------------------------------------


class SplitAdmissionSession(SqliteSession):
    def keyed_start(self, op: O.KeyedStart) -> Any:
        _need_keyed(self)

        def admit(t: Tx) -> Any:
            found = _keyed_lookup(self, t, op)
            if found is not None:
                return found
            entry = t.one("SELECT run_id FROM keys WHERE key = ?", op.key)
            run_id = self._new_run(t, op.workflow, op.request, op.key, op.attributes)
            t.exec(
                "INSERT INTO hooks (run_id, hook_id, token) VALUES (?, ?, ?)", run_id, "h1", op.key
            )
            self._fault("keyed_start")
            return ("admitted", run_id, entry is None, self._clock(t))

        out = self._tx(admit, True)
        if type(out) is not tuple:
            return out
        _, run_id, fresh, clock = out

        def remember(t: Tx) -> Any:  # the key memory in a second transaction
            if fresh:
                t.exec(
                    "INSERT INTO keys (key, run_id, claimed_at) VALUES (?, ?, ?)",
                    op.key,
                    run_id,
                    clock,
                )
            else:
                t.exec(
                    "UPDATE keys SET run_id = ?, claimed_at = ? WHERE key = ?",
                    run_id,
                    clock,
                    op.key,
                )
            self._fault("keyed_start_key")
            return O.Started(run_id)

        return self._tx(remember, True)


class SplitAdmission(Mutant):
    """Keyed start commits the run and its hook, then records the key memory in a second
    transaction: a failure between the two leaves a run the key does not name."""

    name = "split-admission"
    PROMISE = "atomicity: an admission's writes are one step"
    SESSION = SplitAdmissionSession


# -- durability of acknowledged writes -------------------------------------------------------------


class WriteBehindSession(SqliteSession):
    def __init__(self, backend: SqliteBackend) -> None:
        super().__init__(backend)
        self.queued: list[tuple[int, str, str]] = []

    def deliver_payload(self, op: O.DeliverPayload) -> Any:
        self._flush()
        if self._tx(lambda t: self._hook(t, op.run_id, op.hook_id), False) is None:
            return O.HOOK_NOT_FOUND
        # acknowledged now, written with this connection's next statement (a batching
        # optimisation): a restart in between loses it
        self.queued.append((op.run_id, op.hook_id, encode(op.payload)))
        return O.Ok()

    def _flush(self) -> None:
        items, self.queued = self.queued, []
        if not items:
            return

        def fn(t: Tx) -> None:
            for run_id, hook_id, payload in items:
                seq = self._seq(t)
                t.exec(
                    "INSERT INTO inbox (seq, run_id, hook_id, payload) VALUES (?, ?, ?, ?)",
                    seq,
                    run_id,
                    hook_id,
                    payload,
                )
                t.exec(
                    "INSERT INTO delivered (seq, payload, run_id) VALUES (?, ?, ?)",
                    seq,
                    payload,
                    run_id,
                )

        self._tx(fn, True)

    def apply(self, op: Any) -> Any:
        if type(op) is not O.DeliverPayload:
            self._flush()
        return super().apply(op)

    def snapshot(self):
        self._flush()
        return super().snapshot()

    def close(self) -> None:
        if self.conn is not None:
            self._flush()
        super().close()


class WriteBehind(Mutant):
    """A delivery is acknowledged when queued on the connection and written with its next
    statement: acknowledged payloads are lost when the store restarts in between."""

    name = "write-behind"
    PROMISE = "durability: an acknowledged write survives a restart"
    SESSION = WriteBehindSession

    def restart(self) -> None:
        for session in list(self._sessions):
            if isinstance(session, WriteBehindSession):
                session.queued = []  # the process's memory does not survive it
        super().restart()


# -- read consistency ------------------------------------------------------------------------------


class StaleRunCacheSession(SqliteSession):
    def __init__(self, backend: SqliteBackend) -> None:
        super().__init__(backend)
        self.cache: dict[int, Any] = {}

    def get_run(self, op: O.GetRun) -> Any:
        if op.run_id in self.cache:
            return self.cache[op.run_id]
        result = super().get_run(op)
        if type(result) is O.RunInfo:
            self.cache[op.run_id] = result
        return result

    def _forget(self, run_id: int, result: Any) -> Any:
        if result == O.Ok():
            self.cache.pop(run_id, None)  # kept coherent with this connection's own writes only
        return result

    def start_run(self, op: O.StartRun) -> Any:
        return self._forget(op.run_id, super().start_run(op))

    def _end(self, run_id: int, status: str, output: Any, by: int = 0) -> Any:
        return self._forget(run_id, super()._end(run_id, status, output, by))


class StaleRunCache(Mutant):
    """Each connection caches the runs it has read and refreshes an entry only on its own
    successful writes: another client's completion is never seen."""

    name = "stale-run-cache"
    PROMISE = "read consistency: a read sees every acknowledged write"
    SESSION = StaleRunCacheSession


MUTANTS: dict[str, type[Mutant]] = {
    cls.__name__: cls
    for cls in (
        ClaimRace,
        TokenRace,
        EndRace,
        DoubleTake,
        CancelKeepsHooks,
        RetentionOffByOne,
        KeyForgottenAtEnd,
        IgnoresDuplicate,
        IgnoresRetentionFrom,
        ReleasesAnyway,
        CaseInsensitiveKeys,
        TrimmedKeys,
        SplitAdmission,
        WriteBehind,
        StaleRunCache,
    )
}
