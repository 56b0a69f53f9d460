"""Random client workloads over a few keys, and running N clients against a backend at once.

Each client draws operations from a seeded generator: mostly keyed starts (the contended
admission), and the rest of the v4 contract on runs the client has learned about (start, deliver,
poll, dispose, claim a second hook on the key's token, complete / fail / cancel, reads). A run id
is only used once some client has seen it in a response, so every id an operation names was bound
by an earlier operation of the same key partition (``linearizability`` relies on that).

Clients run in epochs separated by a barrier; at each barrier, while no operation is in flight,
the harness advances the logical clock one tick, which is how keys age past their retention
window under real concurrency without a wall clock.

The choices are seeded, the interleaving is the machine's: the same seed gives the same
operation mix, not the same history.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

from backends.protocol import Backend, BackendUnavailable, Session
from backends.validate.history import Operation, answer, workflow_of
from model import ops as O
from model.profiles.base import Profile

# (weight, kind): keyed starts dominate so admissions collide
MIX: tuple[tuple[int, str], ...] = (
    (26, "keyed_start"),
    (8, "start_run"),
    (12, "deliver"),
    (10, "poll"),
    (8, "complete"),
    (3, "fail"),
    (5, "cancel"),
    (4, "dispose"),
    (4, "claim"),
    (8, "get_hook"),
    (6, "get_run"),
    (6, "list_runs"),
)


def key_names(n: int) -> list[str]:
    return [f"k{i}" for i in range(n)]


class Knowledge:
    """Run ids seen in responses, per key (shared by the clients of one process)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.runs: dict[str, list[int]] = {}

    def learn(self, key: str, result: Any) -> None:
        ids = []
        if type(result) in (O.Started, O.Existing, O.HookInfo, O.RunInfo):
            ids.append(result.run_id)
        elif type(result) is O.HookConflict:
            ids.append(result.owner)
        elif type(result) is O.RunList:
            ids.extend(result.run_ids)
        elif type(result) is O.Error and isinstance(result.detail, int):
            ids.append(result.detail)
        elif type(result) is O.Ok and type(result.value) is int:
            # the only Ok(int) a client draws: CreateRun's run id (v4 profiles, no keyed start)
            ids.append(result.value)
        if ids:
            with self.lock:
                known = self.runs.setdefault(key, [])
                for i in ids:
                    if i not in known:
                        known.append(i)

    def pick(self, rng: random.Random, key: str) -> int | None:
        with self.lock:
            known = self.runs.get(key)
            # mostly the newest runs: old ones have ended and would mostly answer conflicts
            return rng.choice(known[-2:]) if known else None


# the Session method each kind of operation calls (a backend with ``OPS`` set draws only the
# kinds it performs; the admission, keyed start or create run, is always drawn)
KIND_METHODS: dict[str, str] = {
    "start_run": "start_run",
    "deliver": "deliver_payload",
    "poll": "poll_payload",
    "complete": "complete_run",
    "fail": "fail_run",
    "cancel": "cancel_run",
    "dispose": "dispose_hook",
    "claim": "claim_hook",
    "get_hook": "get_hook_by_token",
    "get_run": "get_run",
    "list_runs": "list_runs",
}


class Workload:
    def __init__(
        self,
        client: int,
        keys: list[str],
        seed: int,
        profile: Profile,
        ops: frozenset[str] | None = None,
    ) -> None:
        self.client = client
        self.keys = keys
        self.rng = random.Random(f"{seed}:{client}")
        self.seq = 0
        self.keyed = profile.supports(O.KeyedStart)
        mix = [
            (w, k)
            for w, k in MIX
            if ops is None or KIND_METHODS.get(k, k) in ops or k == "keyed_start"
        ]
        self.kinds = tuple(k for _, k in mix)
        self.weights = tuple(w for w, _ in mix)

    def next_op(self, knowledge: Knowledge) -> tuple[str, Any]:
        rng = self.rng
        self.seq += 1
        key = rng.choice(self.keys)
        wf = workflow_of(key)
        kind = rng.choices(self.kinds, self.weights)[0]
        tag = f"c{self.client}-{self.seq}"
        request = self.client * 1_000_000 + self.seq
        run = knowledge.pick(rng, key)
        if kind == "keyed_start" or (run is None and kind not in ("get_hook", "list_runs")):
            if self.keyed:
                return key, O.KeyedStart(wf, request, key)
            return key, O.CreateRun(wf, request)
        if kind == "start_run":
            return key, O.StartRun(run)
        if kind == "deliver":
            return key, O.DeliverPayload(run, "h1", tag)
        if kind == "poll":
            return key, O.PollPayload(run, "h1")
        if kind == "complete":
            return key, O.CompleteRun(run, ("out", tag))
        if kind == "fail":
            return key, O.FailRun(run, ("err", tag))
        if kind == "cancel":
            return key, O.CancelRun(run)
        if kind == "dispose":
            return key, O.DisposeHook(run, "h1")
        if kind == "claim":
            # with keyed start the admission already claimed h1 on the key, so a second hook
            # tests token uniqueness; on v4 the claim of h1 *is* the body's contended admission
            # (and what deliver, poll and dispose above address)
            return key, O.ClaimHook(run, "h2" if self.keyed else "h1", key)
        if kind == "get_hook":
            return key, O.GetHookByToken(key)
        if kind == "get_run":
            return key, O.GetRun(run)
        return key, O.ListRuns(wf, rng.choice((None, "completed")))


class Recorder:
    """Appends operations with invocation/response times; indexes are assigned at invocation."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ops: list[Operation] = []
        self._next = 0

    def begin(self) -> int:
        with self.lock:
            self._next += 1
            return self._next

    def add(self, op: Operation) -> None:
        with self.lock:
            self.ops.append(op)

    def history(self) -> list[Operation]:
        with self.lock:
            return sorted(self.ops, key=lambda o: o.index)


def perform(
    session: Session, recorder: Recorder, client: int, key: str | None, op: Any
) -> tuple[Any, bool]:
    """Run one op, recording it; (result, acknowledged). A ``BackendUnavailable`` is recorded as
    an operation without a response (it may or may not have taken effect)."""
    index = recorder.begin()
    call = time.monotonic_ns()
    try:
        result = answer(session, op)  # an unmapped exception is a Raised answer
    except BackendUnavailable:
        recorder.add(Operation(index, client, key, op, None, call, None))
        return None, False
    ret = time.monotonic_ns()
    recorder.add(Operation(index, client, key, op, result, call, ret))
    return result, True


def run_concurrent(
    backend: Backend,
    profile: Profile,
    *,
    clients: int = 4,
    ops: int = 200,
    keys: int = 2,
    seed: int = 0,
    epochs: int | None = None,
    recorder: Recorder | None = None,
    fresh: bool = True,
    on_barrier=None,
) -> list[Operation]:
    """``clients`` threads, ``ops`` operations in all, ``epochs`` clock ticks apart (default:
    about five operations per client per epoch, so keys expire and are contended again)."""
    if fresh:
        backend.configure(profile)
        backend.reset()
    recorder = recorder or Recorder()
    knowledge = Knowledge()
    names = key_names(keys)
    per_client = [ops // clients + (1 if c < ops % clients else 0) for c in range(clients)]
    epochs = max(1, epochs if epochs is not None else ops // (clients * 5))
    barrier = threading.Barrier(clients + 1)
    errors: list[BaseException] = []
    sessions = [backend.session() for _ in range(clients)]

    def client_main(c: int) -> None:
        work = Workload(c, names, seed, profile, backend.OPS)
        quota = per_client[c]
        try:
            for e in range(epochs):
                todo = quota // epochs + (1 if e < quota % epochs else 0)
                for _ in range(todo):
                    key, op = work.next_op(knowledge)
                    result, _ok = perform(sessions[c], recorder, c, key, op)
                    knowledge.learn(key, result)
                barrier.wait()  # epoch done
                barrier.wait()  # the tick happened
        except threading.BrokenBarrierError:
            pass
        except BaseException as exc:  # surfaced to the caller below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=client_main, args=(c,), daemon=True) for c in range(clients)]
    for t in threads:
        t.start()
    try:
        for _ in range(epochs):
            barrier.wait()
            # a fresh connection per tick: one broken by a fault must not leave the tick unknown
            ticker = backend.session()
            perform(ticker, recorder, -1, None, O.AdvanceClock())
            ticker.close()
            if on_barrier is not None:
                on_barrier(recorder)  # no client op is in flight here: the fault harness's turn
            barrier.wait()
    except threading.BrokenBarrierError:
        pass
    for t in threads:
        t.join()
    for s in sessions:
        s.close()
    if errors:
        raise errors[0]
    return recorder.history()
