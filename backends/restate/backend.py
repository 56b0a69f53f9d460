"""``RestateBackend`` and its session: the real server, the real handlers, the model's ops as the
HTTP calls an application makes (see the package docstring for what is real)."""

from __future__ import annotations

import json
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any, ClassVar

from backends.protocol import (
    Backend,
    BackendError,
    BackendUnavailable,
    Session,
    UnsupportedOps,
    decode,
    encode,
)
from backends.restate import service as svc
from backends.restate.server import (
    free_port,
    restate_binary,
    spawn_endpoint,
    spawn_server,
    stop_process,
    wait_for_ports,
)
from model import ops as O
from model.state import COMPLETED, FAILED, PENDING, RUNNING, TERMINAL, WorldState

# a day of wall clock in ticks: the server's default retention, never reached within a validation
DAY_TICKS = 86_400
WAIT_SECONDS = 30.0
POLL_SECONDS = 0.01
# the APIs the backend drives (workflow-call is checked by tests/test_backend_restate.py: its
# first call blocks until the workflow ends, which no model op can wait for)
DRIVEN_APIS = ("idempotency-key", "workflow-send")


class HttpError(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:200]}")
        self.status = status
        self.body = body


class RestateBackend(Backend):
    name = "restate"
    PROFILES: ClassVar[dict[str, tuple[str, ...]]] = {"restate": ("api", "retention")}
    CONCURRENT_PROFILES: ClassVar[tuple[tuple[str, dict[str, Any]], ...]] = tuple(
        ("restate", {"api": api, "retention": DAY_TICKS}) for api in DRIVEN_APIS
    )
    CONCURRENT_ALL = True
    OPS: ClassVar[frozenset[str] | None] = frozenset(
        {
            "keyed_start",
            "start_run",
            "complete_run",
            "fail_run",
            "get_run",
            "await_run",
            "perform_effect",
            "advance_clock",
        }
    )
    SNAPSHOT = False
    # restart: the server this backend started, stopped and started again over its data while
    # a keyed start holds the server's answer (its caller has not seen it)
    FAULTS: ClassVar[tuple[str, ...]] = ("restart",)
    FAULT_POINTS = True

    def __init__(
        self, *, cleanup_interval: str = "1h", retention_seconds: float | None = None, **kwargs: Any
    ) -> None:
        """``cleanup_interval``: the server's ``worker.cleanup-interval`` (its default, 1h);
        ``retention_seconds``: the services' retention (None: the server's default, 1 day)."""
        super().__init__(**kwargs)
        self.cleanup_interval = cleanup_interval
        self.retention_seconds = retention_seconds
        self.lock = threading.RLock()
        self.admissions = threading.Condition(self.lock)
        self.ids: dict[str, int] = {}  # invocation id (of this world's generation) -> run
        self.refs: dict[int, tuple[str, str, int]] = {}  # run -> (invocation, workflow, request)
        # key -> model workflow name -> pool index, per world
        self.services: dict[str, dict[str, int]] = {}
        self.clock = 0
        self.tick_times: list[float] = []
        # run -> [tick of its admission answer, tick of the end answer that ended it]: the
        # logical clock is Python-side, and so are the ticks of what happened (the harness ticks
        # at barriers, with no operation in flight, so the tick an answer came back in is the
        # tick the server acted in; the server's own millisecond stamps can fall a tick early)
        self.stamps: dict[int, list[int | None]] = {}
        self.epoch = 0
        self.world_tag = uuid.uuid4().hex[:8]
        self.ingress: str | None = None
        self.admin: str | None = None
        self.endpoint_port: int | None = None
        self.effects_path: Path | None = None
        self._server: Any = None
        self._endpoint: Any = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._base: Path | None = None
        self._started = False

    # -- names and ids -----------------------------------------------------------------------

    def key_of(self, key: str) -> str:
        return f"{self.world_tag}-{self.epoch}/{key}"

    def header_key(self, key: str) -> str:
        """The ``Idempotency-Key`` header for ``key`` in this world: the world's prefix goes
        after the key's leading blanks, so the header's ends are the key's own and the server
        treats them as it treats an application's (it drops them)."""
        core = key.lstrip(" \t")
        return key[: len(key) - len(core)] + self.key_of(core)

    def service_for(self, workflow: str, key: str) -> int:
        """The Restate service (and workflow) a model workflow name submits ``key`` to: the model
        workflows that share a key each get a service of their own, so Restate's scoping of keys
        by service is what keeps them apart; a workflow name keeps its service for a key. (A
        service per workflow name would need as many services as the workload has keys.)"""
        # keys that a store comparing loosely could confuse share one allocation, so two model
        # workflows never share a service where their keys might meet
        family = key.strip().lower()
        with self.lock:
            per_key = self.services.setdefault(family, {})
            index = per_key.get(workflow)
            if index is None:
                if len(per_key) >= svc.POOL:
                    raise BackendError(
                        f"restate: more than {svc.POOL} workflow names share the key {key!r} "
                        f"(backends/restate/service.py POOL)"
                    )
                index = per_key[workflow] = len(per_key)
            return index

    def admitted(self, invocation: str, workflow: str, request: int) -> int:
        """A new run for an invocation the server just ``Accepted``."""
        with self.admissions:
            rid = len(self.refs) + 1
            self.ids[invocation] = rid
            self.refs[rid] = (invocation, workflow, request)
            self.stamps[rid] = [self.clock, None]
            self.admissions.notify_all()
            return rid

    def run_of(self, invocation: str) -> int | None:
        """The run of an invocation some answer here called ``Accepted``. A concurrent
        duplicate can be answered ``PreviouslyAccepted`` before the admitting client has read
        its own ``Accepted``: wait for it (bounded) rather than call the run unknown."""
        deadline = time.monotonic() + WAIT_SECONDS
        with self.admissions:
            while invocation not in self.ids and time.monotonic() < deadline:
                self.admissions.wait(0.05)
            return self.ids.get(invocation)

    def known(self, run_id: int) -> tuple[str, str, int] | None:
        with self.lock:
            return self.refs.get(run_id)

    def tick(self) -> int:
        with self.lock:
            self.clock += 1
            # when it passed, to place the server's created/completed times between ticks (the
            # harness ticks at barriers, with no operation in flight)
            self.tick_times.append(time.time())
            return self.clock

    def ticks_before(self, stamp: str | None) -> int | None:
        """How many ticks had passed at a ``sys_invocation`` timestamp (same machine's clock)."""
        if stamp is None:
            return None
        from datetime import datetime

        # the stamp is cut to the millisecond: the event happened before its millisecond ended.
        # A tick never falls in the same millisecond after it: ticks come at barriers, after the
        # HTTP answer that followed the event
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() + 0.001
        with self.lock:
            return sum(1 for t in self.tick_times if t < when)

    # -- scenarios ---------------------------------------------------------------------------

    def supports(self, profile: Any) -> bool:
        return super().supports(profile) and profile.options.get("api") in DRIVEN_APIS

    def configure(self, profile: Any) -> None:
        super().configure(profile)
        if profile.options["api"] not in DRIVEN_APIS:
            raise BackendError(
                f"restate: api {profile.options['api']!r} is not driven by this backend "
                f"(driven: {', '.join(DRIVEN_APIS)})"
            )

    def adapt_scenario(self, scenario: Any) -> Any:
        """The server keeps keys for its retention of wall clock (a day by default), never a few
        logical ticks: a scenario whose completed invocations could expire within its bounds is
        replayed with ``retention = DAY_TICKS``, renamed. ``workflow-call`` is not driven."""
        from backends.protocol import with_profile_option

        if scenario.profile_name != "restate":
            return scenario
        options = dict(scenario.profile_options)
        if options.get("api", "idempotency-key") not in DRIVEN_APIS:
            return None
        if options.get("retention", 2) > scenario.bounds.max_ticks:
            return scenario
        return with_profile_option(scenario, "retention", DAY_TICKS)

    # -- HTTP --------------------------------------------------------------------------------

    def http(
        self, method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Any:
        """The JSON answer; ``HttpError`` for an HTTP error status, ``BackendUnavailable`` when
        the server does not answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            url,
            data=data,
            method=method,
            # a handler without input takes no body and no content type
            headers={
                **({} if data is None else {"content-type": "application/json"}),
                "accept": "application/json",
                **(headers or {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=WAIT_SECONDS) as resp:
                text = resp.read().decode()
        except urllib.error.HTTPError as exc:
            raise HttpError(exc.code, exc.read().decode(errors="replace")) from None
        except (OSError, urllib.error.URLError) as exc:
            raise BackendUnavailable(f"restate: {method} {url}: {exc}") from None
        return json.loads(text) if text else None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._started:
            return
        try:
            import restate  # noqa: F401  (here only to say so in one line when it is missing)
        except ImportError:
            raise BackendUnavailable(
                "restate: the restate-sdk package is not installed (pip install '.[real]')"
            ) from None
        restate_binary()  # one line if there is no server binary
        if self.workdir is not None:
            self._base = Path(self.workdir)
            self._base.mkdir(parents=True, exist_ok=True)
        else:
            self._tmp = tempfile.TemporaryDirectory(prefix="idemrace-restate-")
            self._base = Path(self._tmp.name)
        try:
            self._launch_server()
            self.launch_endpoint()
            self.register()
        except BaseException:
            self._shutdown()
            raise
        self._started = True

    def _launch_server(self) -> None:
        assert self._base is not None
        log = self._base / "server.log"
        offset = log.stat().st_size if log.exists() else 0
        self._server = spawn_server(self._base, self.cleanup_interval)
        ingress, admin = wait_for_ports(self._server, log, offset)
        self.ingress = f"http://127.0.0.1:{ingress}"
        self.admin = f"http://127.0.0.1:{admin}"

    def launch_endpoint(self) -> None:
        """Start the SDK endpoint (again, on the same port after ``kill_endpoint``)."""
        assert self._base is not None
        if self.endpoint_port is None:
            self.endpoint_port = free_port()
        self.effects_path = self._base / "effects.log"
        args = []
        if self.retention_seconds is not None:
            args += ["--retention-seconds", str(self.retention_seconds)]
        self._endpoint = spawn_endpoint(
            self.endpoint_port,
            [*args, "--effects", str(self.effects_path)],
            self._base / "endpoint.log",
        )

    def restart(self) -> None:
        """Fault: stop the server and start it again over the same data (new random ports;
        every session reads them from here). The deployment and all invocations persist."""
        if self._server is None:
            raise BackendError("restate: restart is only for the server this backend started")
        stop_process(self._server)
        self._server = None
        self._launch_server()

    def kill_endpoint(self) -> None:
        """Fault: SIGKILL the SDK endpoint (its invocations are retried by the server)."""
        if self._endpoint is not None:
            stop_process(self._endpoint, kill=True)
            self._endpoint = None

    def register(self) -> None:
        """Register the endpoint as a deployment through the admin API (``POST /deployments``)."""
        try:
            self.http(
                "POST",
                f"{self.admin}/deployments",
                {"uri": f"http://127.0.0.1:{self.endpoint_port}", "force": True},
            )
        except HttpError as exc:
            raise BackendUnavailable(f"restate: registering the deployment failed: {exc}") from None

    def reset(self) -> None:
        assert self.profile is not None, "configure() first"
        self.start()
        with self.lock:
            self.epoch += 1
            self.ids.clear()
            self.refs.clear()
            self.services.clear()
            self.clock = 0
            self.tick_times.clear()
            self.stamps.clear()

    def session(self) -> Session:
        self.start()
        return RestateSession(self)

    def close(self) -> None:
        self._shutdown()
        self._started = False

    def _shutdown(self) -> None:
        if self._endpoint is not None:
            # Hypercorn's graceful stop waits for the streams of open invocations
            stop_process(self._endpoint, kill=True)
            self._endpoint = None
        if self._server is not None:
            # a throwaway whose data goes with it: nothing to shut down gracefully for (a
            # graceful stop waits for the invocations the stopped endpoint left open)
            stop_process(self._server, kill=True)
            self._server = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


class RestateSession(UnsupportedOps, Session):
    def __init__(self, backend: RestateBackend) -> None:
        self.backend = backend

    # -- admission ---------------------------------------------------------------------------

    def keyed_start(self, op: O.KeyedStart) -> Any:
        b = self.backend
        index = b.service_for(op.workflow, op.key)
        key = b.key_of(op.key)
        body = {"workflow": op.workflow, "request": op.request, "key": op.key}
        if b.options["api"] == "idempotency-key":
            url = f"{b.ingress}/{svc.service_name(index)}/run/send"
            headers = {"idempotency-key": b.header_key(op.key)}
        else:
            name = urllib.parse.quote(key, safe="")
            url = f"{b.ingress}/{svc.workflow_name(index)}/{name}/run/send"
            headers = {}
        try:
            answer = b.http("POST", url, body, headers)
        except HttpError as exc:
            return O.Error(f"restate:{exc.status}", exc.body[:200])
        invocation, status = answer["invocationId"], answer["status"]
        if b.fault_point is not None:
            b.fault_point(self, "answered")  # the server decided; the caller has not seen it
        if status == "Accepted":
            return O.Started(b.admitted(invocation, op.workflow, op.request))
        rid = b.run_of(invocation)
        if status != "PreviouslyAccepted" or rid is None:
            # an answer the model has no room for (or a run admitted by no answer we saw)
            return O.Error(f"restate:{status}", invocation)
        run_status, output = self._state(invocation)
        return O.Existing(rid, run_status, output)

    # -- what Restate stored -------------------------------------------------------------------

    def _registry(self, invocation: str) -> dict[str, Any]:
        b = self.backend
        url = f"{b.ingress}/{svc.REGISTRY}/{urllib.parse.quote(invocation, safe='')}/get"
        return b.http("POST", url) or {}

    def _output(self, invocation: str) -> tuple[str, Any] | None:
        """(completed | failed, stored output or error) once the invocation completed, else None:
        ``GET /restate/invocation/<id>/output``, the response Restate stored for it."""
        b = self.backend
        try:
            text = b.http("GET", f"{b.ingress}/restate/invocation/{invocation}/output")
        except HttpError as exc:
            if exc.status == 470:  # "the invocation exists but has not completed yet"
                return None
            if exc.status == 500:
                return FAILED, decode(json.loads(exc.body)["message"])
            raise BackendError(f"restate: output of {invocation}: {exc}") from None
        return COMPLETED, decode(text)

    def _state(self, invocation: str) -> tuple[str, Any]:
        ended = self._output(invocation)
        if ended is not None:
            return ended
        started = any(
            v == "ok" for k, v in self._registry(invocation).items() if k.startswith("ack:")
        )
        return (RUNNING if started else PENDING), None

    # -- the body's commands -------------------------------------------------------------------

    def _command(self, invocation: str, kind: str, text: str | None = None) -> str:
        """Hand the body one command through the awakeable it published; the body's ack
        (``ok``/``conflict``), ``ended`` once the invocation completed, or ``lost`` never: a
        command that lost its awakeable to another one is sent again on the next."""
        b = self.backend
        tag = uuid.uuid4().hex
        used: set[str] = set()
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            if self._output(invocation) is not None:
                return "ended"
            registry = self._registry(invocation)
            awakeable = registry.get("next")
            if awakeable is None or awakeable in used:
                time.sleep(POLL_SECONDS)
                continue
            used.add(awakeable)
            b.http(
                "POST",
                f"{b.ingress}/restate/awakeables/{awakeable}/resolve",
                {"kind": kind, "tag": tag, "text": text},
            )
            while time.monotonic() < deadline:
                registry = self._registry(invocation)
                ack = registry.get(f"ack:{tag}")
                if ack is not None:
                    return ack
                if self._output(invocation) is not None:
                    # ended: by this command (an end), or by another one that took the awakeable
                    return (
                        self._ended_by(invocation, tag) if kind in ("complete", "fail") else "ended"
                    )
                if registry.get("next") != awakeable:
                    break  # another command took that awakeable: ours goes on the next one
                time.sleep(POLL_SECONDS)
        raise BackendUnavailable(f"restate: the body of {invocation} did not take {kind}")

    def _ended_by(self, invocation: str, tag: str) -> str:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            ended_by = self._registry(invocation).get("ended_by")
            if ended_by is not None:
                return "ok" if ended_by == tag else "ended"
            time.sleep(POLL_SECONDS)
        raise BackendUnavailable(f"restate: {invocation} ended without saying by whom")

    def start_run(self, op: O.StartRun) -> Any:
        ref = self.backend.known(op.run_id)
        if ref is None:
            return O.RUN_NOT_FOUND
        answer = self._command(ref[0], "start")
        return O.Ok() if answer == "ok" else O.ENTITY_CONFLICT

    def complete_run(self, op: O.CompleteRun) -> Any:
        return self._end(op.run_id, "complete", op.output, COMPLETED)

    def fail_run(self, op: O.FailRun) -> Any:
        return self._end(op.run_id, "fail", op.error, FAILED)

    def _end(self, run_id: int, kind: str, value: Any, wanted: str) -> Any:
        ref = self.backend.known(run_id)
        if ref is None:
            return O.RUN_NOT_FOUND
        text = encode(value)
        if self._command(ref[0], kind, text) != "ok":
            return O.ENTITY_CONFLICT
        # ours only if Restate stored this very end
        stored = self._output(ref[0])
        if stored != (wanted, value):
            return O.ENTITY_CONFLICT
        with self.backend.lock:
            self.backend.stamps.setdefault(run_id, [None, None])[1] = self.backend.clock
        return O.Ok()

    # -- reads ---------------------------------------------------------------------------------

    def get_run(self, op: O.GetRun) -> Any:
        ref = self.backend.known(op.run_id)
        if ref is None:
            return O.RUN_NOT_FOUND
        invocation, workflow, request = ref
        status, output = self._state(invocation)
        return O.RunInfo(op.run_id, workflow, status, output, request)

    def await_run(self, op: O.AwaitRun) -> Any:
        ref = self.backend.known(op.run_id)
        if ref is None:
            return O.RUN_NOT_FOUND
        deadline = time.monotonic() + WAIT_SECONDS
        while self._output(ref[0]) is None:
            if time.monotonic() > deadline:
                raise BackendUnavailable(f"restate: {ref[0]} did not complete")
            time.sleep(POLL_SECONDS)
        return self.get_run(O.GetRun(op.run_id))

    # -- Python-side (documented in the package docstring) -------------------------------------

    def perform_effect(self, op: O.PerformEffect) -> Any:
        return O.Ok()

    def advance_clock(self, op: O.AdvanceClock) -> Any:
        return O.Ok(self.backend.tick())

    def snapshot(self) -> WorldState:
        """Runs and key memory as Restate stores them (the fault harness's final read).

        Every invocation of this world is listed from the admin API's SQL introspection
        (``sys_invocation``, by the world's key prefix: one the answers here never named, such as
        one a held start admitted, is found that way); its input (model workflow, request, key)
        from the registry object the body writes first, its end and output from the stored
        response. Ticks are the Python-side clock: an invocation's admission and end ticks are
        those its answers came back in (``stamps``), or for one no answer here saw, the ticks that
        had passed at its ``created_at`` / ``completed_at``. The ghost logs are not Restate's and
        come back empty (``SNAPSHOT = False``)."""
        from model.profiles.restate import scoped_key
        from model.state import KeyEntry, Run

        b = self.backend
        prefix = b.key_of("").replace("'", "''")
        rows = b.http(
            "POST",
            f"{b.admin}/query",
            {
                "query": "SELECT id, idempotency_key, target_service_key, created_at, completed_at "
                f"FROM sys_invocation WHERE idempotency_key LIKE '{prefix}%' "
                f"OR target_service_key LIKE '{prefix}%'"
            },
        )["rows"]
        found = []
        for row in sorted(rows, key=lambda r: (r["created_at"], r["id"])):
            invocation = row["id"]
            deadline = time.monotonic() + WAIT_SECONDS
            while (given := self._registry(invocation).get("input")) is None:
                if time.monotonic() > deadline:
                    raise BackendUnavailable(f"restate: {invocation} never recorded its input")
                time.sleep(POLL_SECONDS)
            with b.lock:
                rid = b.ids.get(invocation)
            if rid is None:  # admitted by a start whose answer nobody read
                rid = b.admitted(invocation, given["workflow"], given["request"])
            status, output = self._state(invocation)
            with b.lock:
                admitted_at, ended_at = b.stamps.get(rid, [None, None])
            if admitted_at is None:  # no answer here saw it admitted: the server's stamp
                admitted_at = b.ticks_before(row["created_at"]) or 0
            if ended_at is None and status in TERMINAL:
                ended_at = b.ticks_before(row.get("completed_at"))
            run = Run(
                id=rid,
                workflow=given["workflow"],
                status=status,
                request=given["request"],
                key=given["key"],
                output=output,
                ended_at=ended_at if status in TERMINAL else None,
                started_at=admitted_at,
            )
            found.append(run)
        keys: dict[str, KeyEntry] = {}
        for run in found:  # admission order: the latest admission holds the key
            name = scoped_key(run.workflow, run.key, b.options["api"])
            keys[name] = KeyEntry(name, run.id, run.started_at)
        runs = tuple(sorted(found, key=lambda r: r.id))
        return WorldState(clock=b.clock, runs=runs, keys=tuple(sorted(keys.values())))


__all__ = ["DAY_TICKS", "RestateBackend", "RestateSession"]
