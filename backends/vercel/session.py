"""The session: one method per world operation, each the World's own event or read (the mapping
is in the package docstring, ``backends/vercel/__init__.py``), with the model's values encoded
for the World and decoded back; and ``Paused``, an op held inside its World write."""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Any

from backends.protocol import (
    BackendError,
    BackendUnavailable,
    Session,
    StoreUnreadable,
    decode,
    encode,
)
from backends.vercel.bridge import CALL_SECONDS, Bridge, WorldError
from backends.vercel.sidecar import Sidecar, tick_of
from model import ops as O
from model.state import COMPLETED, FAILED, TERMINAL, Effect, Hook, Run, WorldState

if TYPE_CHECKING:  # the backend module imports this one
    from backends.vercel.backend import VercelBackend

DEPLOYMENT = "idemrace"
ATTRIBUTES = "idemraceAttributes"


def _b(value: Any) -> dict[str, str]:
    return {"$bytes": encode(value)}


def _unb(value: Any) -> Any:
    if isinstance(value, dict) and "$bytes" in value:
        return decode(value["$bytes"])
    return value


def _ms(value: Any) -> int | None:
    """A World timestamp ({"$date": ISO}) in epoch milliseconds."""
    if not isinstance(value, dict) or "$date" not in value:
        return None
    from datetime import datetime

    text = value["$date"].replace("Z", "+00:00")
    return round(datetime.fromisoformat(text).timestamp() * 1000)


CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ulid() -> str:
    """A ulid: 48 bits of milliseconds, 80 random bits, Crockford base32."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in range(25, -1, -1))


def hook_correlation(wrun: str, hook_id: str) -> str:
    return f"hook_{wrun.removeprefix('wrun_')}_{hook_id.encode().hex()}"


def parse_correlation(corr: str) -> tuple[str, str] | None:
    parts = corr.split("_")
    if len(parts) != 3 or parts[0] != "hook":
        return None
    try:
        return f"wrun_{parts[1]}", bytes.fromhex(parts[2]).decode()
    except ValueError:
        return None


class VercelSession(Session):
    def __init__(self, backend: VercelBackend) -> None:
        self.backend = backend
        self.bridge: Bridge | None = None
        # (when, callback, match) for the next World write
        self._arm: tuple[str, Any, str | None] | None = None
        self.plain = False  # a spare session finishing a held terminal event: no holding there

    def apply(self, op: Any) -> Any:
        try:
            return super().apply(op)
        except WorldError as err:
            if err.adapter:
                raise self.backend.adapter_error(err) from None
            # a class the World threw where the model has an answer: answered as that error,
            # so the validation compares it
            return O.Error(err.name)

    # -- plumbing ------------------------------------------------------------------------------

    def _bridge(self) -> Bridge:
        if self.bridge is None or not self.bridge.alive:
            if self.bridge is not None:
                self.bridge.kill()
            self.bridge = self.backend.spawn()
        return self.bridge

    def call(self, method: str, *args: Any, write: bool = False) -> Any:
        point = None
        when = "after"
        match = None
        if write and self._arm is not None:
            (when, point, match), self._arm = self._arm, None
        elif write and self.backend.fault_point is not None:

            def point() -> None:
                hook = self.backend.fault_point
                if hook is not None:
                    hook(self, method)

        bridge = self._bridge()
        try:
            return bridge.call(method, *args, on_point=point, when=when, match=match)
        except WorldError as err:
            if err.adapter:
                raise self.backend.adapter_error(err) from None
            raise
        except BackendUnavailable:
            bridge.kill()
            self.bridge = None
            raise

    def event(self, wrun: str | None, data: dict[str, Any]) -> Any:
        return self.call("events.create", wrun, data, write=True)

    @property
    def side(self) -> Sidecar:
        return self.backend.sidecar

    def _wrun(self, n: int) -> str | None:
        return self.side.wrun(n) if isinstance(n, int) and n > 0 else None

    def _id(self, wrun: str) -> int:
        return self.side.run_id(wrun)

    # -- runs ----------------------------------------------------------------------------------

    def create_run(self, op: O.CreateRun) -> Any:
        # The run id is the client's, as the runtime's start() does (the World accepts a
        # client-provided ulid): numbered here, before the call, so run numbers follow the order
        # of the calls, a valid admission order even for a run whose creator never hears back
        wrun = f"wrun_{new_ulid()}"
        n = self.side.run_id(wrun)
        data: dict[str, Any] = {
            "deploymentId": DEPLOYMENT,
            "workflowName": op.workflow,
            "input": _b(op.request),
        }
        if op.attributes:
            data["executionContext"] = {ATTRIBUTES: [list(a) for a in op.attributes]}
        try:
            res = self.event(wrun, {"eventType": "run_created", "eventData": data})
        except WorldError as err:
            return O.Error(err.name)
        if res["run"]["runId"] != wrun:
            raise BackendError(f"vercel: the World created {res['run']['runId']}, not {wrun}")
        return O.Ok(n)

    def _run_event(self, run_id: int, data: dict[str, Any]) -> Any:
        wrun = self._wrun(run_id)
        if wrun is None:
            return O.RUN_NOT_FOUND
        try:
            self.event(wrun, data)
        except WorldError as err:
            return O.Error(err.name)
        return O.Ok()

    def _end(self, op: Any, data: dict[str, Any]) -> Any:
        """A terminal event. Under ``atomic_release = false`` a run with live hooks ends in two
        steps, as in the World: the call is held after its first write (the run's terminal
        state) and finishes, deleting the hooks, at the model's ``ReleaseHooks`` step."""
        wrun = self._wrun(op.run_id)
        if wrun is None:
            return O.RUN_NOT_FOUND
        if (
            not self.plain
            and not self.backend.options.get("atomic_release", True)
            and not self.backend.holding(op.run_id)  # a second end of a held run: as it comes
        ):
            page = self.call(
                "hooks.list", {"runId": wrun, "resolveData": "none", "pagination": {"limit": 1}}
            )
            if page["data"]:
                return self.backend.hold_end(op)
        return self._run_event(op.run_id, data)

    def start_run(self, op: O.StartRun) -> Any:
        return self._run_event(op.run_id, {"eventType": "run_started"})

    def complete_run(self, op: O.CompleteRun) -> Any:
        return self._end(op, {"eventType": "run_completed", "eventData": {"output": _b(op.output)}})

    def fail_run(self, op: O.FailRun) -> Any:
        return self._end(op, {"eventType": "run_failed", "eventData": {"error": encode(op.error)}})

    def cancel_run(self, op: O.CancelRun) -> Any:
        wrun = self._wrun(op.run_id)
        if wrun is None:
            return O.RUN_NOT_FOUND
        # ghost (the model's cancel log): did this cancel end a run that was still open? The
        # World answers a re-cancel and a first cancel alike, so look before
        was_open = False
        if op.by:
            try:
                was_open = (
                    self.call("runs.get", wrun, {"resolveData": "none"})["status"] not in TERMINAL
                )
            except WorldError:
                was_open = False
        result = self._end(op._replace(by=0), {"eventType": "run_cancelled"})
        if was_open and result == O.Ok():
            with self.side.tx() as c:
                c.execute("INSERT INTO cancels (by, run) VALUES (?, ?)", (op.by, op.run_id))
        return result

    def _info(self, run: dict[str, Any]) -> O.RunInfo:
        status = run["status"]
        output = None
        if status == COMPLETED:
            output = _unb(run.get("output"))
        elif status == FAILED:
            # 4.x stores {message}; the 5.0 betas store the raw value
            error = run.get("error")
            output = decode(error.get("message", "None") if isinstance(error, dict) else error)
        return O.RunInfo(
            self._id(run["runId"]), run["workflowName"], status, output, _unb(run.get("input"))
        )

    def get_run(self, op: O.GetRun) -> Any:
        wrun = self._wrun(op.run_id)
        if wrun is None:
            return O.RUN_NOT_FOUND
        try:
            run = self.call("runs.get", wrun, {"resolveData": "all"})
        except WorldError as err:
            return O.Error(err.name)
        return self._info(run)

    def await_run(self, op: O.AwaitRun) -> Any:
        return self.get_run(O.GetRun(op.run_id))

    def _all_runs(self, **filters: Any) -> list[dict[str, Any]]:
        runs: list[dict[str, Any]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {
                **filters,
                "resolveData": "all",
                "pagination": {
                    "limit": 1000,
                    "sortOrder": "asc",
                    **({"cursor": cursor} if cursor else {}),
                },
            }
            page = self.call("runs.list", params)
            runs.extend(page["data"])
            cursor = page.get("cursor")
            if not page.get("hasMore") or not cursor:
                return runs

    def list_runs(self, op: O.ListRuns) -> Any:
        if op.attribute is not None:
            raise BackendError("vercel: runs.list filters by workflowName and status only")
        filters: dict[str, Any] = {"workflowName": op.workflow}
        if op.status is not None:
            filters["status"] = op.status
        # runs first seen here are numbered in the World's creation order (ulid order)
        runs = sorted(self._all_runs(**filters), key=lambda r: r["runId"])
        return O.RunList(tuple(sorted(self._id(r["runId"]) for r in runs)))

    def keyed_start(self, op: O.KeyedStart) -> Any:
        raise BackendError("vercel: v4 has no keyed start (vercel-today only)")

    # -- hooks ---------------------------------------------------------------------------------

    def claim_hook(self, op: O.ClaimHook) -> Any:
        wrun = self._wrun(op.run_id)
        if wrun is None:
            return O.RUN_NOT_FOUND
        data = {
            "eventType": "hook_created",
            "correlationId": hook_correlation(wrun, op.hook_id),
            "eventData": {"token": op.token},
        }
        try:
            res = self.event(wrun, data)
        except WorldError as err:
            return O.Error(err.name)
        event = res.get("event") or {}
        if event.get("eventType") == "hook_conflict":
            owner = (event.get("eventData") or {}).get("conflictingRunId")
            return O.HookConflict(self._id(owner) if owner else 0)
        return O.HookCreated()

    def deliver_payload(self, op: O.DeliverPayload) -> Any:
        wrun = self._wrun(op.run_id)
        if wrun is None:
            return O.HOOK_NOT_FOUND
        data = {
            "eventType": "hook_received",
            "correlationId": hook_correlation(wrun, op.hook_id),
            "eventData": {"payload": _b(op.payload)},
        }
        try:
            self.event(wrun, data)
        except WorldError as err:
            return O.Error(err.name)
        return O.Ok()

    def _delivered(self, wrun: str, corr: str) -> list[Any]:
        # v5 requires the runId (the bridge drops it for the generations that do not take it)
        page = self.call(
            "events.listByCorrelationId",
            {
                "correlationId": corr,
                "runId": wrun,
                "resolveData": "all",
                "pagination": {"limit": 1000},
            },
        )
        return [
            _unb(e["eventData"]["payload"])
            for e in page["data"]
            if e["eventType"] == "hook_received"
        ]

    def _live(self, wrun: str, corr: str) -> bool:
        # hooks.list, not hooks.get: world-postgres 4.3.7's hooks.get of a missing hook throws a
        # TypeError (dist/storage.js createHooksStorage.get reads ``value.metadata`` of no row)
        page = self.call(
            "hooks.list", {"runId": wrun, "resolveData": "none", "pagination": {"limit": 1000}}
        )
        return any(h["hookId"] == corr for h in page["data"])

    def _poll(self, run_id: int, hook_id: str) -> tuple[bool, Any]:
        """(hook live, Payload or Ok(None))."""
        wrun = self._wrun(run_id)
        if wrun is None:
            return False, O.Ok(None)
        corr = hook_correlation(wrun, hook_id)
        delivered = self._delivered(wrun, corr)  # append-only: read before the liveness check
        if not self._live(wrun, corr):
            return False, O.Ok(None)
        with self.side.tx() as c:
            (taken,) = c.execute("SELECT COUNT(*) FROM consumed WHERE corr = ?", (corr,)).fetchone()
            if taken >= len(delivered):
                return True, O.Ok(None)
            payload = delivered[taken]
            c.execute(
                "INSERT INTO consumed (corr, run, payload) VALUES (?, ?, ?)",
                (corr, run_id, encode(payload)),
            )
        return True, O.Payload(payload)

    def poll_payload(self, op: O.PollPayload) -> Any:
        return self._poll(op.run_id, op.hook_id)[1]

    def consume_payload(self, op: O.ConsumePayload) -> Any:
        live, result = self._poll(op.run_id, op.hook_id)
        # fired only when the model's inbox is non-empty or the hook is gone
        return O.HOOK_NOT_FOUND if not live else result

    def dispose_hook(self, op: O.DisposeHook) -> Any:
        wrun = self._wrun(op.run_id)
        if wrun is None:
            return O.HOOK_NOT_FOUND
        data = {"eventType": "hook_disposed", "correlationId": hook_correlation(wrun, op.hook_id)}
        try:
            self.event(wrun, data)
        except WorldError as err:
            return O.Error(err.name)
        return O.Ok()

    def release_hooks(self, op: O.ReleaseHooks) -> Any:
        # the second write of a terminal event held under atomic_release = false (see _end);
        # otherwise the World's terminal event released the hooks already
        self.backend.finish_end(op.run_id)
        return O.Ok()

    def get_hook_by_token(self, op: O.GetHookByToken) -> Any:
        try:
            hook = self.call("hooks.getByToken", op.token)
        except WorldError as err:
            return O.Error(err.name)
        parsed = parse_correlation(hook["hookId"])
        hook_id = parsed[1] if parsed else hook["hookId"]
        return O.HookInfo(self._id(hook["runId"]), hook_id)

    # -- application side (Python-side, see the package docstring) -----------------------------

    def perform_effect(self, op: O.PerformEffect) -> Any:
        request = 0
        wrun = self._wrun(op.run_id)
        if wrun is not None:
            try:
                request = _unb(self.call("runs.get", wrun, {"resolveData": "all"}).get("input"))
            except WorldError:
                request = 0
        with self.side.tx() as c:
            (clock,) = c.execute("SELECT COALESCE(MAX(k), 0) FROM ticks").fetchone()
            c.execute(
                "INSERT INTO effects (key, request, run, tick) VALUES (?, ?, ?, ?)",
                (op.key, request, op.run_id, clock),
            )
        return O.Ok()

    def app_record_get(self, op: O.AppRecordGet) -> Any:
        row = self.side.tx
        with row() as c:
            found = c.execute("SELECT run FROM records WHERE key = ?", (op.key,)).fetchone()
        return O.Ok(None if found is None else found[0])

    def app_record_put(self, op: O.AppRecordPut) -> Any:
        with self.side.tx() as c:
            c.execute("INSERT OR IGNORE INTO records (key, run) VALUES (?, ?)", (op.key, op.run_id))
            (run,) = c.execute("SELECT run FROM records WHERE key = ?", (op.key,)).fetchone()
        return O.Ok(run)

    def advance_clock(self, op: O.AdvanceClock) -> Any:
        # World timestamps are milliseconds: keep every tick 2 ms clear of any operation, so a
        # timestamp is unambiguously before or after it (ticks happen when no op is in flight)
        time.sleep(0.003)
        ms = int(time.time() * 1000)
        with self.side.tx() as c:
            (clock,) = c.execute("SELECT COALESCE(MAX(k), 0) FROM ticks").fetchone()
            c.execute("INSERT INTO ticks (k, ms) VALUES (?, ?)", (clock + 1, ms))
        time.sleep(0.003)
        return O.Ok(clock + 1)

    # -- the whole world -----------------------------------------------------------------------

    def snapshot(self) -> WorldState:
        try:
            return self._read_world()
        except WorldError as exc:
            # world-postgres's runs.list throws a ZodError on a row a race left half-written
            # (race-reports/backends/vercel-run-started-resurrects): the World cannot read its
            # own store back, which is a discrepancy, not an unreachable backend
            said = " ".join(str(exc).split())  # a ZodError's message is a JSON list of issues
            said = said if len(said) <= 240 else said[:237] + "..."
            raise StoreUnreadable(f"the World's own read throws {said}") from None

    def _read_world(self) -> WorldState:
        ticks = self.side.tick_times()
        raw = sorted(self._all_runs(), key=lambda r: r["runId"])
        by_id = {self._id(r["runId"]): r for r in raw}
        runs = []
        for n in sorted(by_id):
            r = by_id[n]
            info = self._info(r)
            attrs = ((r.get("executionContext") or {}).get(ATTRIBUTES)) or []
            ended = tick_of(_ms(r.get("completedAt")), ticks) if r["status"] in TERMINAL else None
            runs.append(
                Run(
                    id=n,
                    workflow=info.workflow,
                    status=info.status,
                    request=info.request,
                    output=info.output,
                    ended_at=ended,
                    attributes=tuple(sorted(tuple(a) for a in attrs)),
                    started_at=tick_of(_ms(r.get("createdAt")), ticks),
                )
            )
        # deliveries: every hook_received event, in World order
        deliveries: list[tuple[int, str, str, Any, int]] = []
        for r in raw:
            page = self.call(
                "events.list",
                {"runId": r["runId"], "resolveData": "all", "pagination": {"limit": 1000}},
            )
            for e in page["data"]:
                if e["eventType"] == "hook_received":
                    deliveries.append(
                        (
                            _ms(e["createdAt"]) or 0,
                            e["eventId"],
                            e["correlationId"],
                            _unb(e["eventData"]["payload"]),
                            self._id(r["runId"]),
                        )
                    )
        deliveries = _in_world_order(deliveries)
        conn = self.side._conn()
        consumed_rows = conn.execute(
            "SELECT corr, run, payload FROM consumed ORDER BY seq"
        ).fetchall()
        taken: dict[str, int] = {}
        for corr, _run, _payload in consumed_rows:
            taken[corr] = taken.get(corr, 0) + 1
        hooks = []
        page = self.call("hooks.list", {"resolveData": "all", "pagination": {"limit": 1000}})
        for h in page["data"]:
            parsed = parse_correlation(h["hookId"])
            hook_id = parsed[1] if parsed else h["hookId"]
            inbox = [d[3] for d in deliveries if d[2] == h["hookId"]][taken.get(h["hookId"], 0) :]
            hooks.append(Hook(h["token"], self._id(h["runId"]), hook_id, tuple(inbox)))
        effects = tuple(
            Effect(k, req, run, tick)
            for k, req, run, tick in conn.execute(
                "SELECT key, request, run, tick FROM effects ORDER BY seq"
            )
        )
        return WorldState(
            clock=len(ticks),
            runs=tuple(runs),
            hooks=tuple(sorted(hooks)),
            keys=(),
            effects=effects,
            delivered=tuple((d[3], d[4]) for d in deliveries),
            consumed=tuple((decode(p), run) for _c, run, p in consumed_rows),
            cancels=tuple(conn.execute("SELECT by, run FROM cancels ORDER BY seq").fetchall()),
            records=tuple(sorted(conn.execute("SELECT key, run FROM records").fetchall())),
        )

    def close(self) -> None:
        if self.bridge is not None:
            self.bridge.close()
            self.bridge = None
        self.backend._forget(self)


def _in_world_order(deliveries: list[tuple[int, str, str, Any, int]]) -> list:
    """Deliveries ``(createdAt ms, eventId, correlationId, payload, run)`` as one log: across
    hooks by time (ms, then event id), but each hook's own deliveries in the order the World lists
    them (``events.list``, the order its polls and ``listByCorrelationId`` give). On the 5.0 betas
    an event id is a per-run slot whose ``createdAt`` need not follow slot order (world-local
    5.0.0-beta.46: slots 3, 4, 5 stamped ...009, ...012, ...009), so a sort by time alone
    reordered one hook's inbox and the read-back looked like a FIFO violation: our false red."""
    by_time = sorted(range(len(deliveries)), key=lambda i: (deliveries[i][0], deliveries[i][1]))
    queues: dict[str, list[int]] = {}
    for i, d in enumerate(deliveries):  # listing order, per hook
        queues.setdefault(d[2], []).append(i)
    taken = {corr: 0 for corr in queues}
    ordered = []
    for i in by_time:  # each slot a hook holds in time order gets that hook's next delivery
        corr = deliveries[i][2]
        ordered.append(deliveries[queues[corr][taken[corr]]])
        taken[corr] += 1
    return ordered


class Paused:
    """One op in a thread of its own, held inside its World write (``when`` = "before" or
    "after" its first durable write) until ``release()``: how a repro forces an interleaving of
    real World calls. ``call``/``ret`` are ``time.monotonic_ns`` stamps for a history."""

    def __init__(
        self, session: VercelSession, op: Any, when: str = "before", match: str | None = None
    ) -> None:
        self.op = op
        self.reached = threading.Event()
        self._go = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self.ret: int | None = None
        session._arm = (when, self._hold, match)
        self.call = time.monotonic_ns()
        self.thread = threading.Thread(target=self._run, args=(session,), daemon=True)
        self.thread.start()
        deadline = time.monotonic() + CALL_SECONDS
        while not self.reached.is_set() and self.thread.is_alive():
            if time.monotonic() > deadline:
                raise BackendError(f"vercel: {O.describe(op)} never reached its World write")
            self.reached.wait(0.01)

    def _hold(self) -> None:
        self.reached.set()
        self._go.wait(CALL_SECONDS)

    def _run(self, session: VercelSession) -> None:
        try:
            self.result = session.apply(self.op)
        except BaseException as exc:  # re-raised by release()
            self.error = exc
        self.ret = time.monotonic_ns()

    def release(self) -> Any:
        self._go.set()
        self.thread.join(CALL_SECONDS)
        if self.error is not None:
            raise self.error
        return self.result
