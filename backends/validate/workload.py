"""Client workloads over a few keys, and running N clients against a backend at once.

Contention is built, not left to luck. Clients run in epochs separated by a barrier; at each
barrier, while no operation is in flight, the harness advances the logical clock one tick (how
keys age past their retention window under real concurrency without a wall clock). Every epoch
then opens with a *burst*: all clients are released by one barrier and issue the same, or
conflicting, operations on one fresh key at the same moment, in rounds (a barrier between
rounds), each round built from what the previous one answered:

* ``admit``: every client admits the burst key at once (keyed start; on v4, create a run and
  claim the key's hook), which is the check-then-insert race of a store that is not atomic;
* then, on the run that won: ``take`` (every client delivers, then every client polls the same
  inbox: a payload taken twice), ``end`` (reads, then complete / cancel / fail at once, then
  reads of the run, the token and the key: an end acknowledged twice, a stale read, a hook not
  released) or ``claim`` (every client claims the same second token at once).

Burst keys come from a family of near-collisions (``b1``, ``B1``, ``"b1 "``, ``b10``, ``b``, ...)
and the first of each family keeps a live owner, so a store that matches keys loosely (case,
trailing blanks, a prefix) answers a later burst with an earlier one's run. The random operations between bursts
draw keys with a hot-key skew (the first key most) from the same kind of family (``k1``,
``K1``, ``"k1 "``, ...): mostly keyed starts (the contended admission), and the rest of the v4
contract on runs the client has learned about. A run id is only used once some client has seen
it in a response, so every id an operation names was bound by an earlier operation of the same
key partition (``linearizability`` relies on that).

The choices are seeded, the interleaving is the machine's: the same seed gives the same
operation mix, not the same history.
"""

from __future__ import annotations

import random
import sys
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
    # drawn only where the terminal transition leaves hooks behind (atomic_release = false)
    (5, "release"),
)
# bursts are at most this wide where every client's admission is a run of its own (v4
# CreateRun): N overlapping creations are N! renamings for the linearizability search
CREATE_WIDTH = 4
# seconds between the interpreter's thread switches while clients run (default 0.005)
SWITCH_INTERVAL = 5e-6


def key_names(n: int, base: str = "k") -> list[str]:
    """``n`` keys that nearly collide: ``k1``, ``K1``, ``"k1 "``, ``k10``, ``k``, then ``k2``,
    ``K2``, ``"k2 "``, ``k20``, ``k3``, ... Case, a trailing blank, a prefix and a length apart:
    a store that compares keys loosely confuses two of them."""
    out: list[str] = []
    family = 1
    while len(out) < n:
        group = [
            f"{base}{family}",
            f"{base.upper()}{family}",
            f"{base}{family} ",
            f"{base}{family}0",
        ]
        if family == 1:
            group.append(base)
        for name in group:
            if name not in out and len(out) < n:
                out.append(name)
        family += 1
    return out


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
    "release": "release_hooks",
}


def _performs(ops: frozenset[str] | None, method: str) -> bool:
    return ops is None or method in ops


def releases_apart(profile: Profile) -> bool:
    """Does the profile end a run without releasing its hooks (``atomic_release = false``)?"""
    return profile.options.get("atomic_release", True) is False


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
        # hot-key skew: the first key is drawn most (weights 1, 1/2, 1/3, ...)
        self.key_weights = tuple(1 / (i + 1) for i in range(len(keys)))
        self.rng = random.Random(f"{seed}:{client}")
        self.seq = 0
        self.keyed = profile.supports(O.KeyedStart)
        apart = releases_apart(profile)
        mix = [
            (w, k)
            for w, k in MIX
            if (_performs(ops, KIND_METHODS.get(k, k)) or k == "keyed_start")
            and (k != "release" or apart)
        ]
        self.kinds = tuple(k for _, k in mix)
        self.weights = tuple(w for w, _ in mix)

    def request(self) -> int:
        self.seq += 1
        return self.client * 1_000_000 + self.seq

    def admission(self, key: str) -> Any:
        if self.keyed:
            return O.KeyedStart(workflow_of(key), self.request(), key)
        return O.CreateRun(workflow_of(key), self.request())

    def next_op(self, knowledge: Knowledge) -> tuple[str, Any]:
        rng = self.rng
        key = rng.choices(self.keys, self.key_weights)[0]
        kind = rng.choices(self.kinds, self.weights)[0]
        request = self.request()
        tag = f"c{self.client}-{self.seq}"
        wf = workflow_of(key)
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
        if kind == "release":
            return key, O.ReleaseHooks(run)
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


# -- bursts ---------------------------------------------------------------------------------------


def _owner(result: Any) -> int | None:
    """The run an admission's answer names (the winner, for a loser)."""
    if type(result) in (O.Started, O.Existing, O.HookInfo):
        return result.run_id
    if type(result) is O.HookConflict:
        return result.owner
    if type(result) is O.Error and isinstance(result.detail, int):
        return result.detail
    return None


def burst_phases(profile: Profile, ops: frozenset[str] | None) -> tuple[str, ...]:
    """What follows the admission in a burst, given the operations the backend performs."""
    phases = []
    if _performs(ops, "deliver_payload") and _performs(ops, "poll_payload"):
        phases.append("take")
    if _performs(ops, "claim_hook"):
        phases.append("claim")
    if any(_performs(ops, m) for m in ("complete_run", "cancel_run", "fail_run")):
        phases.append("end")
    return tuple(phases)


# rounds of each phase (a barrier between rounds: every client's op of a round at once)
PHASE_ROUNDS = {"take": 2, "claim": 2, "end": 3}


class Burst:
    """One client's part of a burst: ``step(round, previous result)`` is its next op (or None:
    it sits the round out). Every client of the burst shares ``phases`` and ``key``: the
    admission, then each phase in turn on the run that won it."""

    def __init__(
        self,
        work: Workload,
        phases: tuple[str, ...],
        key: str,
        ops: frozenset[str] | None,
        profile: Profile,
    ) -> None:
        self.work = work
        self.key = key
        self.ops = ops
        self.apart = releases_apart(profile)
        self.owner: int | None = None
        self.mine: int | None = None  # v4: the run this client created
        admit = 1 if work.keyed else 2
        self.schedule: list[tuple[str, int]] = [("admit", k) for k in range(admit)]
        for phase in phases:
            self.schedule += [(phase, k) for k in range(PHASE_ROUNDS[phase])]
        self.rounds = len(self.schedule)

    def _can(self, method: str) -> bool:
        return _performs(self.ops, method)

    def step(self, r: int, last: Any) -> Any:
        c, key, w = self.work.client, self.key, self.work
        phase, k = self.schedule[r]
        if phase == "admit":
            if k == 0:
                if w.keyed:
                    return O.KeyedStart(workflow_of(key), w.request(), key)
                if c < CREATE_WIDTH:
                    return O.CreateRun(workflow_of(key), w.request())
                return O.GetHookByToken(key) if self._can("get_hook_by_token") else None
            # v4: every creator claims the key's token for its own run at once
            if type(last) is O.Ok and type(last.value) is int:
                self.mine = last.value
                return O.ClaimHook(self.mine, "h1", key)
            return O.GetHookByToken(key) if self._can("get_hook_by_token") else None
        # learn the winner from what this client was told
        if self.owner is None and r == (1 if w.keyed else 2):
            self.owner = self.mine if type(last) is O.HookCreated else _owner(last)
        run = self.owner
        if run is None:
            return None  # never told who won (a read before any claim): sit the rest out
        tag = f"b{c}-{w.seq}"
        if phase == "take":
            if k == 0:
                return O.DeliverPayload(run, "h1", tag)
            return O.PollPayload(run, "h1")
        if phase == "claim":
            token = f"t-{key}"
            if k == 0:
                return O.ClaimHook(run, "h2", token)
            return O.GetHookByToken(token) if self._can("get_hook_by_token") else None
        # end
        if k == 0:
            return O.GetRun(run) if self._can("get_run") else None
        if k == 1:
            ends = [m for m in ("complete_run", "cancel_run", "fail_run") if self._can(m)]
            method = ends[c % len(ends)]
            if method == "complete_run":
                return O.CompleteRun(run, ("out", tag))
            if method == "cancel_run":
                return O.CancelRun(run)
            return O.FailRun(run, ("err", tag))
        # after the end: the run, the token and the key, read at once (and, where the end leaves
        # hooks behind, their release racing the reads)
        choice = c % 4
        if choice == 3 and self.apart and self._can("release_hooks"):
            return O.ReleaseHooks(run)
        if choice == 1 and self._can("get_hook_by_token"):
            return O.GetHookByToken(key)
        if choice == 2 and w.keyed:
            return w.admission(key)
        return O.GetRun(run) if self._can("get_run") else None


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


class SpinGate:
    """A barrier whose waiters spin (yielding the processor) instead of sleeping: the last to
    arrive releases the others at once, since none of them has to be woken."""

    def __init__(self, parties: int) -> None:
        self.parties = parties
        self.lock = threading.Lock()
        self.count = 0
        self.generation = 0
        self.broken = False

    def wait(self) -> None:
        with self.lock:
            generation = self.generation
            self.count += 1
            if self.count == self.parties:
                self.count = 0
                self.generation += 1
                return
        while self.generation == generation:
            if self.broken:
                raise threading.BrokenBarrierError
            time.sleep(0)

    def abort(self) -> None:
        self.broken = True


class Plan:
    """The bursts of one history: epoch ``e`` opens with a burst on ``key(e)`` through
    ``phases(e)``, the same for every client, so the fault harness can aim at the next one."""

    def __init__(self, profile: Profile, ops: frozenset[str] | None, epochs: int, on: bool) -> None:
        self.on = on
        every = burst_phases(profile, ops)
        self.keys = key_names(epochs, "b")
        # the first key of each near-collision family keeps a live owner (no ``end``), so its
        # later relatives (``B1``, ``"b1 "``, ...) meet it held
        self._phases = [
            tuple(p for p in every if p != "end") if _family_head(key) else every
            for key in self.keys
        ]

    def phases(self, epoch: int) -> tuple[str, ...]:
        return self._phases[epoch]

    def key(self, epoch: int) -> str:
        return self.keys[epoch]


def _family_head(key: str) -> bool:
    """``b1``, ``b2``, ...: the first of a near-collision family (``key_names``)."""
    return key[1:].isdigit() and not key.endswith("0")


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
    bursts: bool = True,
) -> list[Operation]:
    """``clients`` threads, ``ops`` random operations in all, ``epochs`` clock ticks apart
    (default: about five operations per client per epoch), each epoch opened by a burst
    (``bursts=False``: none; a burst's operations come on top of ``ops``). ``on_barrier(recorder, plan, epoch)`` runs at each barrier
    while no client operation is in flight (the fault harness's turn); ``epoch`` is the one
    about to start (``epochs`` after the last)."""
    if fresh:
        backend.configure(profile)
        backend.reset()
    recorder = recorder or Recorder()
    knowledge = Knowledge()
    names = key_names(keys)
    per_client = [ops // clients + (1 if c < ops % clients else 0) for c in range(clients)]
    epochs = max(1, epochs if epochs is not None else ops // (clients * 5))
    plan = Plan(profile, backend.OPS, epochs, bursts)
    barrier = threading.Barrier(clients + 1)
    # Every round of a burst starts with every client awake: the blocking barrier wakes the
    # clients one after another (50-100 us apart on a busy machine, long enough for the first to
    # finish its op alone), so the woken ones then spin until the last one is up, and all go.
    rounds = threading.Barrier(clients)
    gate = SpinGate(clients)

    def in_step() -> None:
        rounds.wait()
        gate.wait()

    errors: list[BaseException] = []
    sessions = [backend.session() for _ in range(clients)]

    def client_main(c: int) -> None:
        work = Workload(c, names, seed, profile, backend.OPS)
        quota = per_client[c]
        try:
            barrier.wait()  # released with the others: the first burst is a burst too
            for e in range(epochs):
                todo = quota // epochs + (1 if e < quota % epochs else 0)
                if plan.on:
                    burst = Burst(work, plan.phases(e), plan.key(e), backend.OPS, profile)
                    last = None
                    for r in range(burst.rounds):
                        op = burst.step(r, last)
                        in_step()
                        if op is not None:
                            last, _ok = perform(sessions[c], recorder, c, burst.key, op)
                            knowledge.learn(burst.key, last)
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
            rounds.abort()
            gate.abort()

    threads = [threading.Thread(target=client_main, args=(c,), daemon=True) for c in range(clients)]
    # The interpreter lets one thread run Python at a time and switches every 5 ms unless it
    # blocks: left so, a client's check and its write run back to back, and the others' ops queue
    # behind it. Switching every few microseconds interleaves the clients' Python code as their
    # connections' statements interleave (restored afterwards).
    interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL)
    for t in threads:
        t.start()
    try:
        if on_barrier is not None:
            on_barrier(recorder, plan, 0)
        barrier.wait()  # start
        for e in range(epochs):
            barrier.wait()
            # a fresh connection per tick: one broken by a fault must not leave the tick unknown
            ticker = backend.session()
            perform(ticker, recorder, -1, None, O.AdvanceClock())
            ticker.close()
            if on_barrier is not None:
                on_barrier(recorder, plan, e + 1)  # no client op is in flight here
            barrier.wait()
    except threading.BrokenBarrierError:
        pass
    for t in threads:
        t.join()
    sys.setswitchinterval(interval)
    for s in sessions:
        s.close()
    if errors:
        raise errors[0]
    return recorder.history()


# -- which histories: every profile, every declared option value ----------------------------------

# the base options of each profile's histories: retention 1, so keys expire at the epoch ticks and
# admissions are contended again
BASE_OPTIONS: dict[str, dict[str, Any]] = {
    "vercel-keyed-start": {"retention": 1},
    "vercel-attribute-lookup": {"retention": 1},
}


def option_values(profile_name: str, option: str, base: Any) -> list[Any]:
    """The values of ``option`` other than ``base`` a history is run under: every choice, the
    other boolean, and 0 for a count (retention 0: free the moment the run ends)."""
    from model.profiles import PROFILES

    spec = PROFILES[profile_name].OPTIONS.get(option)
    if spec is None:
        return []
    if spec.choices is not None:
        return [v for v in spec.choices if v != base]
    if spec.kind is bool:
        return [not base]
    if spec.kind is int:
        return [v for v in (0,) if v != base]
    return []


def concurrent_variants(backend: Backend) -> list[Profile] | None:
    """The profiles of the concurrent histories of a backend that leaves the choice to the
    harness (it keeps ``Backend.CONCURRENT_PROFILES`` as the protocol defines it): every profile
    it supports, first at the base options, then with each option it declares (``PROFILES``)
    moved to each of its other values, one option at a time. None when the backend lists its own
    (a real system whose settings the harness cannot pick for it)."""
    from model.profiles import make_profile

    if type(backend).CONCURRENT_PROFILES is not Backend.CONCURRENT_PROFILES:
        return None
    out: list[Profile] = []
    order = [name for name, _ in Backend.CONCURRENT_PROFILES]
    names = sorted(
        backend.PROFILES, key=lambda n: (order.index(n) if n in order else len(order), n)
    )
    for name in names:
        base = dict(BASE_OPTIONS.get(name, {}))
        try:
            profile = make_profile(name, **base)
        except ValueError:
            continue
        if not backend.supports(profile):
            continue
        out.append(profile)
        for option in backend.PROFILES[name]:
            current = profile.options.get(option)
            for value in option_values(name, option, current):
                try:
                    out.append(make_profile(name, **{**base, option: value}))
                except ValueError:
                    continue  # a value the profile refuses beside the base options (temporal)
    return out
