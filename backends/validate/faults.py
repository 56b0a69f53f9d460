"""Faults: kill a client mid-operation, drop a connection mid-transaction, restart the backend.

Each fault runs a concurrent workload (``workload.run_concurrent``) on a fresh store and injects
one fault into it, always at the worst moment: inside a write transaction, after its writes and
before its commit (``Backend.fault_point``). The victim is an admission: a keyed start, or
``CreateRun`` on a profile without one (v4).

* ``kill``: a client in another process (``python -m backends.validate.worker``) runs its own
  workload next to the threads and SIGKILLs itself inside its ``kill_at``-th write transaction.
  Its operations are recorded to a file as they go; the one it died in has no response.
* ``drop``: at an epoch barrier, the victim's connection is dropped mid-transaction (sqlite: the
  connection is closed; postgres: the server terminates the session with
  ``pg_terminate_backend``). The victim sees ``BackendUnavailable``: no response.
* ``restart``: at an epoch barrier, the victim holds its transaction open while the store is
  restarted (sqlite: every connection closed and the file reopened; postgres: ``pg_ctl restart
  -m fast``); then the victim tries to commit.

Afterwards one fresh session reads the whole store, appended to the history as an ``Observe`` per
key. The history, with its unanswered operations, must be linearizable against the model *ending
in the observed state* (so the state is one the model allows after these operations, each
unanswered one having happened or not), and, stated directly: every acknowledged admission
(``Started``) is still a run in the store, every acknowledged delivery is still in the delivery log.
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import backends.validate.worker as worker
from backends.protocol import Backend, BackendError, Session, StoreUnreadable
from backends.validate.history import Observe, Operation, workflow_of
from backends.validate.linearizability import (
    LINEARIZABLE,
    HistoryVerdict,
    check_history,
)
from backends.validate.workload import Recorder, key_names, perform, run_concurrent
from model import ops as O
from model.profiles.base import Profile
from model.state import WorldState

FAULT_KINDS = ("kill", "drop", "restart")
# a fault case's verdict when the store's own reads throw on what it holds afterwards
STORE_UNREADABLE = "store-unreadable"


@dataclass
class FaultCase:
    kind: str
    operations: int
    unanswered: int
    verdict: str  # linearizable | not-linearizable | unknown | store-unreadable
    lost: list[str] = field(default_factory=list)  # acknowledged work missing from the store
    problem: str | None = None
    history: HistoryVerdict | None = field(default=None, repr=False)

    @property
    def conformant(self) -> bool:
        return self.verdict == LINEARIZABLE and not self.lost

    def to_json(self) -> dict[str, Any]:
        return {
            "fault": self.kind,
            "operations": self.operations,
            "unanswered": self.unanswered,
            "verdict": self.verdict,
            "lost": self.lost,
            "problem": self.problem,
        }


class _Victim:
    """The fault point: acts once, in the victim session's ``at``-th fault point."""

    def __init__(self, session: Session, action, at: int = 1) -> None:
        self.session = session
        self.action = action
        self.at = at
        self.calls = 0
        self.fired = False

    def __call__(self, session: Session, name: str) -> None:
        if session is self.session and not self.fired:
            self.calls += 1
            if self.calls == self.at:
                self.fired = True
                self.action(session)


def lost_acknowledgements(history: list[Operation], snapshot: WorldState) -> list[str]:
    """Acknowledged admissions that are no run of their key, acknowledged deliveries missing."""
    runs = {r.id: r for r in snapshot.runs}
    delivered = {p for p, _ in snapshot.delivered}
    lost = []
    for o in history:
        if o.pending:
            continue
        if type(o.result) is O.Started:
            run = runs.get(o.result.run_id)
            if run is None or run.key != o.op.key:
                lost.append(f"admission {O.describe(o.op)} -> {O.describe(o.result)}")
        elif type(o.op) is O.CreateRun and type(o.result) is O.Ok:
            run = runs.get(o.result.value)
            if run is None or run.request != o.op.request:
                lost.append(f"admission {O.describe(o.op)} -> {O.describe(o.result)}")
        elif type(o.op) is O.DeliverPayload and o.result == O.Ok():
            if o.op.payload not in delivered:
                lost.append(f"delivery {O.describe(o.op)}")
    return lost


def observe(backend: Backend, recorder: Recorder, keys: list[str]) -> WorldState:
    """One fresh session reads the whole store; an ``Observe`` of it is appended for each of
    ``keys`` and for every other key the history has touched (the bursts' keys too)."""
    touched = {o.key for o in recorder.history() if o.key is not None}
    keys = [*keys, *sorted(touched - set(keys))]
    session = backend.session()
    try:
        call = time.monotonic_ns()
        snapshot = session.snapshot()
        ret = time.monotonic_ns()
    finally:
        session.close()
    for key in keys:
        recorder.add(Operation(recorder.begin(), -1, key, Observe(key), snapshot, call, ret))
    return snapshot


def _victim_op(profile: Profile, key: str, request: int) -> Any:
    """The admission of the profile: a keyed start, or on v4 (no keyed start) ``run_created``."""
    if profile.supports(O.KeyedStart):
        return O.KeyedStart(workflow_of(key), request, key)
    return O.CreateRun(workflow_of(key), request)


def _probe(
    backend: Backend, profile: Profile, rec: Recorder, client: int, session: Session
) -> None:
    """Acknowledged writes right before a restart, on a key nobody else touches and on a session
    kept open across it: an admission and, where the backend performs them, the claim of its
    hook and a delivery left in its inbox. Whatever the store forgets of them is in the final
    observation, whatever happened to the workload's last writes."""
    key = "probe"
    result, _ = perform(session, rec, client, key, _victim_op(profile, key, 9_000_010))
    run = None
    if type(result) is O.Started:
        run = result.run_id
    elif type(result) is O.Ok and type(result.value) is int:
        run = result.value
        if backend.performs(O.ClaimHook(run, "h1", key)):
            perform(session, rec, client, key, O.ClaimHook(run, "h1", key))
    if run is not None and backend.performs(O.DeliverPayload(run, "h1", "probe")):
        perform(session, rec, client, key, O.DeliverPayload(run, "h1", "probe"))


def run_fault(
    backend: Backend,
    profile: Profile,
    kind: str,
    *,
    clients: int = 3,
    ops: int = 60,
    keys: int = 2,
    seed: int = 0,
    budget: float = 10.0,
    workdir: Path | None = None,
) -> FaultCase:
    """One fault case. ``kill``: a client process started (and connected) before the workload,
    released at the barrier before the second epoch together with the threads' burst, on the
    burst's key (the kill lands mid-contention), then on keys of its own until a write kills it.
    ``drop``: at the n-th barrier the victim's connection is dropped at its n-th fault point (a
    store that splits one step over several transactions is cut between them). ``restart``:
    acknowledged probe writes, then the store restarts under a victim held at its commit."""
    if kind not in backend.FAULTS:
        raise BackendError(f"{backend.name}: fault {kind!r} not supported")
    backend.configure(profile)
    backend.reset()
    names = key_names(keys)
    recorder = Recorder()
    epochs = 3
    fault_epoch = 1  # the barrier (epoch about to start) the kill and restart aim at
    victim_client = clients + 1
    # keys no client uses: the victim's admission is always a real write
    victim_keys = ["victim", "victim2", "victim3"]
    child = None
    out_path = None
    go_path = None

    def on_barrier(rec: Recorder, plan, epoch: int) -> None:
        if kind == "kill":
            if epoch == fault_epoch and child is not None:
                # the worker's first operation: the admission the threads' burst contends for
                go = {"key": plan.key(epoch), "request": 9_000_003}
                tmp = go_path.with_suffix(".tmp")
                tmp.write_text(json.dumps(go))
                os.replace(tmp, go_path)
            return
        if kind == "drop":
            if not 1 <= epoch <= len(victim_keys) or not backend.FAULT_POINTS:
                if epoch == fault_epoch and not backend.FAULT_POINTS:
                    backend.restart()  # nothing can be caught mid-transaction
                return
            _drop_at(rec, epoch)
            return
        if epoch != fault_epoch:
            return
        session = backend.session()
        try:
            _probe(backend, profile, rec, victim_client, session)
            if not backend.FAULT_POINTS:
                backend.restart()  # nothing can be caught mid-transaction: between operations
                return
            _restart_under_victim(rec)
        finally:
            session.close()

    def _drop_at(rec: Recorder, n: int) -> None:
        session = backend.session()
        point = _Victim(session, backend.drop, at=n)
        backend.fault_point = point
        key = victim_keys[n - 1]
        try:
            perform(session, rec, victim_client, key, _victim_op(profile, key, 9_000_000 + n))
        finally:
            backend.fault_point = None
            session.close()
        if n == 1 and not point.fired:
            raise BackendError(f"{backend.name}: the drop fault never reached a transaction")

    def _restart_under_victim(rec: Recorder) -> None:
        # the victim holds its transaction open at the fault point while the store restarts
        session = backend.session()
        holding, release = threading.Event(), threading.Event()

        def hold(_session: Session) -> None:
            holding.set()
            release.wait(30)

        point = _Victim(session, hold)
        backend.fault_point = point
        key = victim_keys[0]
        victim = threading.Thread(
            target=perform,
            args=(session, rec, victim_client, key, _victim_op(profile, key, 9_000_002)),
            daemon=True,
        )
        victim.start()
        try:
            if not holding.wait(30):
                raise BackendError(f"{backend.name}: the restart victim never reached its commit")
            backend.restart()
        finally:
            release.set()
            victim.join(60)
            backend.fault_point = None
            session.close()

    if kind == "kill":
        fd, name = tempfile.mkstemp(prefix="idemrace-kill-", suffix=".pickle", dir=workdir)
        os.close(fd)
        out_path = Path(name)
        go_path = out_path.with_suffix(".go")
        spec = {
            "backend": backend.client_spec(),
            "profile": profile.name,
            "options": profile.options,
            "keys": names,
            "client": clients,
            "ops": ops // clients + 4,
            "seed": seed,
            "kill_at": 1,
            "out": str(out_path),
            "go": str(go_path),
        }
        child = worker.spawn(spec)  # user code found from the driver's folders
    try:
        if child is not None:
            _await_ready(child, go_path)
        run_concurrent(
            backend,
            profile,
            clients=clients,
            ops=ops,
            keys=keys,
            seed=seed,
            epochs=epochs,
            recorder=recorder,
            fresh=False,
            on_barrier=on_barrier,
        )
        if child is not None:
            _, err = child.communicate(timeout=120)
            if child.returncode != -9:
                raise BackendError(worker.explain_exit(child.returncode, err))
            for op in read_records(out_path):
                recorder.add(op._replace(index=recorder.begin()))
    finally:
        if child is not None and child.poll() is None:
            child.kill()
            child.wait()
        for path in (out_path, go_path):
            if path is not None:
                path.unlink(missing_ok=True)
                path.with_suffix(".ready").unlink(missing_ok=True)
    try:
        snapshot = observe(backend, recorder, [*names, *victim_keys, "probe"])
    except StoreUnreadable as exc:
        # what the store holds after the fault is not a world at all: no state the model allows
        history = renumber(recorder.history())
        return FaultCase(
            kind,
            len(history),
            sum(1 for o in history if o.pending),
            STORE_UNREADABLE,
            problem=f"after the fault the store cannot be read back: {exc}",
        )
    history = renumber(recorder.history())
    verdict = check_history(profile, history, budget)
    lost = lost_acknowledgements(history, snapshot)
    return FaultCase(
        kind,
        len(history),
        sum(1 for o in history if o.pending),
        verdict.verdict,
        lost,
        verdict.problem,
        verdict,
    )


def _await_ready(child, go_path: Path, timeout: float = 120.0) -> None:
    """Wait until the kill worker has loaded the backend and connected (it then waits for its
    go file): a client process started in advance, so its kill lands in the burst, not late."""
    ready = go_path.with_suffix(".ready")
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if child.poll() is not None:
            _, err = child.communicate()
            raise BackendError(worker.explain_exit(child.returncode, err))
        if time.monotonic() > deadline:
            raise BackendError("kill: the client process did not get ready within 120 s")
        time.sleep(0.005)


def renumber(history: list[Operation]) -> list[Operation]:
    """Indexes in invocation order (records from other processes arrive late)."""
    ordered = sorted(history, key=lambda o: (o.call, o.client, o.index))
    return [o._replace(index=i) for i, o in enumerate(ordered, start=1)]


def read_records(path: Path) -> list[Operation]:
    """The worker's file: ("call", i, key, op, t) and ("ret", i, result, t) pickles; a call
    without its return is an operation without a response. A torn last record is ignored."""
    calls: dict[int, Operation] = {}
    with open(path, "rb") as fh:
        while True:
            try:
                record = pickle.load(fh)
            except (EOFError, pickle.UnpicklingError):
                break
            if record[0] == "call":
                _, i, client, key, op, t = record
                calls[i] = Operation(i, client, key, op, None, t, None)
            else:
                _, i, result, t = record
                calls[i] = calls[i]._replace(result=result, ret=t)
    return [calls[i] for i in sorted(calls)]


def faults(
    backend: Backend,
    profile: Profile,
    *,
    clients: int = 3,
    ops: int = 60,
    keys: int = 2,
    seed: int = 0,
    budget: float = 10.0,
    kinds: tuple[str, ...] | None = None,
    workdir: Path | None = None,
) -> list[FaultCase]:
    chosen = [k for k in FAULT_KINDS if k in backend.FAULTS and (kinds is None or k in kinds)]
    return [
        run_fault(
            backend,
            profile,
            kind,
            clients=clients,
            ops=ops,
            keys=keys,
            seed=seed,
            budget=budget,
            workdir=workdir,
        )
        for kind in chosen
    ]
