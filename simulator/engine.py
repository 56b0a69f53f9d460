"""The exhaustive explorers' fast transition relation: ``System`` over interned states.

Profiling BFS (pyinstrument + cProfile on supersede-aba) showed where a state's ~40 µs went:
hashing ``SystemState`` (nested tuples are rehashed on every dict probe, ~3.5 µs a state), rebuilding
worlds with ``NamedTuple._replace`` in the profile handlers, the ``_enabled`` generator and
``slot_name``, and the cyclic garbage collector walking the ever-growing ``seen`` dict on every
allocation burst. The transition relation itself is tiny and highly repetitive: the same world
meets the same pending op again and again in different process contexts.

So the search runs over *keys*: ``(world id, proc ids, arrivals, crashes, lost, order)``, where
every world and every process slot ``(local, pending)`` is interned once (equal values, equal
ids). Hashing a key is hashing a few small ints, and every world/process step is memoized on ids:
``profile.apply`` and ``Program.on_result`` run once per distinct (world, process) pair instead
of once per transition. ``materialize`` turns a key back into the very ``SystemState`` that
``System`` would have built, for the property checks and the reports.

The relation is ``System._enabled``/``System._fire`` step for step: same actions, same labels,
same order, same successor states (``tests/test_engine.py`` compares them state by state), so the
state counts and the BFS counterexamples are unchanged. Process slots are interned with the
pending op's *type* in the key: ops are ``NamedTuple``s and ``StartRun(1) == GetRun(1)`` as
tuples, so a value-only key could hand a process the wrong next op.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from model.state import WorldState
from simulator.process import Done
from simulator.system import System, SystemState, _env_label

if TYPE_CHECKING:
    from simulator.explorers.base import PropertyBook

_new_state = tuple.__new__

Key = tuple  # (wid, pids, arrivals, crashes, lost, order)

# process slot kinds, by interned id
_ABSENT, _DONE, _READY, _BLOCKING = 0, 1, 2, 3

MEMO_TRIAL = 20_000  # misses before a memo's hit rate is judged
MEMO_MIN_HITS = 10  # kept when at least one probe in this many hits
# Entries a memo keyed on (world, procs) pairs or on property tokens keeps before it starts over
# (``forget_if_full``). These memos are caches of pure functions, so emptying one costs only
# recomputation; kept whole, they grew with the state space and were most of the memory of a
# fingerprint search. Supersede, 3 requests on one key, a crash and a lost response, after 120 s:
# uncapped 9.5M states at 4.1 GB, at 2^20 8.7M at 2.9 GB (two runs side by side); at 2^18 the
# memos are emptied so often that the search ran at about half the speed, in half the memory.
MEMO_CAP = 1 << 20


def _as_set(entries: tuple, blank: tuple[int, ...]) -> tuple:
    """``entries`` with the fields at ``blank`` set to 0, deduplicated, sorted: a log cut to the
    set of the fields a property reads (``simulator/history.py``). 0 is a blank every renaming
    maps to itself (request and run renamings leave ids outside 1..n alone)."""
    kind = type(entries[0])
    make = kind._make if hasattr(kind, "_fields") else tuple
    cut = set()
    for entry in entries:
        values = list(entry)
        for i in blank:
            values[i] = 0
        cut.add(make(values))
    if len(cut) < 2:
        return tuple(cut)
    try:
        return tuple(sorted(cut))
    except TypeError:  # payloads of different types: any fixed order will do
        return tuple(sorted(cut, key=repr))


def forget_if_full(memo: dict | set) -> None:
    """Empty ``memo`` (in place: loops hold references to it) once it has ``MEMO_CAP`` entries."""
    if len(memo) >= MEMO_CAP:
        memo.clear()


class Engine:
    def __init__(self, system: System) -> None:
        self.system = system
        profile = system.profile
        self.profile = profile
        self.n = system.n
        bounds = system.bounds
        self.max_lost = bounds.max_lost_responses
        self.max_crashes = bounds.max_crashes
        self.max_ticks = bounds.max_ticks
        self.track_order = system.track_order
        reqs = system.requests
        self.arrive_min = [r.arrive_min for r in reqs]
        self.arrive_max = [r.arrive_max for r in reqs]
        self.guarded = [r.after is not None or r.during is not None for r in reqs]
        # interned worlds and their cached facts
        self.worlds: list[WorldState] = []
        self._wid: dict[WorldState, int] = {}
        self.w_clock: list[int] = []
        self.w_nruns: list[int] = []
        # interned process slots: id 0 is "not arrived yet" (None)
        self.entries: list[Any] = [None]
        self._pid: dict[tuple, int] = {}
        self.p_kind: list[int] = [_ABSENT]
        self.p_lossy: list[bool] = [False]
        # memo tables (keys are small tuples of ints)
        self._proc: dict[tuple[int, int, int], Any] = {}
        self._lost: dict[tuple[int, int], int] = {}
        self._env: dict[int, tuple[tuple[str, int], ...]] = {}
        self._tick: dict[int, int] = {}
        self._may_tick: dict[tuple[int, tuple], bool] = {}  # (clock, arrivals) -> tick enabled
        self._arrive_ok: dict[tuple[int, int], bool] = {}
        self._spawn: dict[tuple[int, int], tuple[int, ...]] = {}
        self._moves_memo: dict[tuple[int, tuple[int, ...]], tuple] = {}
        # the moves memo pays only where (world, procs) pairs recur (supersede-aba: 375k states
        # over 63k pairs); on reject shapes every pair is met once (reject, 4 requests: 80,624
        # states, 80,624 entries, never read), so after MEMO_TRIAL misses it is dropped when
        # fewer than one probe in MEMO_MIN_HITS hit
        self._memo_moves = True
        self._moves_calls = 0
        self._moves_misses = 0
        # what of the history every world interned keeps (``simulator/history.py``): set before
        # the search starts, never changed during it. ``forget``: logs dropped; ``cut``: logs
        # kept as a sorted set of entries with some fields blanked (log -> blanked positions)
        self.forget: tuple[str, ...] = ()
        self._no_logs: dict[str, Any] = {}
        self.cut: tuple[tuple[str, tuple[int, ...]], ...] = ()
        self.client_start = [self.intern_proc(c.start()) for c in system._clients]
        self.names: list[str] = []
        self.lost_labels = list(system._lost_labels)
        self.arrive_labels = list(system._arrive_labels)
        self.crash_labels: list[str] = []
        # coded states (``encode``): pairs (world id, proc ids) and rests (arrivals, crashes,
        # lost, order) interned to small ints, and what a pair's and a rest's successors share
        self._pair_id: dict[int, int] = {}  # wid << 32 | vid -> pair id
        self.pair_vec: list[int] = []  # pair id -> its vector id
        # process vectors interned (``_vec``), and the vector steps of the pair moves memoized
        # on int keys: (vid, slot, next proc) and (vid, world) for the runs a step created
        self.vecs: list[tuple[int, ...]] = []
        self._vec_id: dict[tuple[int, ...], int] = {}
        self.vec_clients: list[int] = []  # vector id -> token part id of its clients
        self._vec_steps: dict[int, int] = {}
        self._vec_grows: dict[int, int] = {}
        self._rest_steps: dict[tuple[int, int, int], int] = {}
        self.pair_plain: list[tuple[int, ...] | None] = []
        self.pair_info: dict[int, tuple] = {}
        self.rests: list[tuple] = []
        self._rest_id: dict[tuple, int] = {}
        self.rest_plain: list[bool] = []
        # token sides (``coded_token``): index world + 2 * clients, arrivals + 2 * order
        self.pair_side: tuple[list[int], ...] = ([], [], [], [])
        self.rest_side: tuple[list[int], ...] = ([], [], [], [])
        self._parts: dict[tuple, int] = {}

    # -- interning -----------------------------------------------------------------------------

    def keep_history(self, forget: tuple[str, ...], cut: dict[str, tuple[int, ...]], order: bool):
        """Drop the logs ``forget``, keep the logs of ``cut`` as sets of entries with the fields
        at the given positions blanked (0), and the arrival order only if ``order``; before the
        first state only (a world interned earlier keeps its logs)."""
        if self.worlds:
            raise RuntimeError("keep_history: the engine has interned worlds already")
        self.forget = tuple(forget)
        self._no_logs = {log: () for log in forget}
        self.cut = tuple(cut.items())
        self.track_order = self.track_order and order

    def intern_world(self, world: WorldState) -> int:
        if self.forget:
            for log in self.forget:
                if getattr(world, log):
                    world = world._replace(**self._no_logs)
                    break
        for log, blank in self.cut:
            entries = getattr(world, log)
            if entries:
                cut: dict[str, Any] = {log: _as_set(entries, blank)}
                world = world._replace(**cut)
        wid = self._wid.get(world)
        if wid is None:
            wid = len(self.worlds)
            self._wid[world] = wid
            self.worlds.append(world)
            self.w_clock.append(world.clock)
            self.w_nruns.append(len(world.runs))
        return wid

    def intern_proc(self, entry: Any) -> int:
        if entry is None:
            return 0
        pending = entry[1]
        kind = type(pending)
        token = (entry[0], kind, pending)
        pid = self._pid.get(token)
        if pid is None:
            pid = len(self.entries)
            if pid >= 1 << 24:  # the coded states' vector memo keys hold a proc id in 24 bits
                raise RuntimeError("engine: more than 16,777,215 distinct process states")
            self._pid[token] = pid
            self.entries.append(entry)
            profile = self.profile
            if kind is Done:
                self.p_kind.append(_DONE)
            elif kind in profile.BLOCKING:
                self.p_kind.append(_BLOCKING)
            else:
                self.p_kind.append(_READY)
            self.p_lossy.append(kind in profile.LOSSY)
        return pid

    def key(self, state: SystemState) -> Key:
        world, procs, arrivals, crashes, lost, order = state
        pids = tuple(self.intern_proc(p) for p in procs)
        return (self.intern_world(world), pids, arrivals, crashes, lost, order)

    def materialize(self, key: Key) -> SystemState:
        wid, pids, arrivals, crashes, lost, order = key
        entries = self.entries
        procs = tuple([entries[p] for p in pids])
        return _new_state(SystemState, (self.worlds[wid], procs, arrivals, crashes, lost, order))

    def initial(self) -> Key:
        return self.key(self.system.initial())

    # -- labels --------------------------------------------------------------------------------

    def _name(self, slot: int) -> str:
        names = self.names
        while len(names) <= slot:
            names.append(self.system.slot_name(len(names)))
        return names[slot]

    def _crash_label(self, slot: int) -> str:
        labels = self.crash_labels
        k = slot - self.n
        while len(labels) <= k:
            labels.append(f"crash r{len(labels) + 1}")
        return labels[k]

    # -- memoized pieces -----------------------------------------------------------------------

    def _proc_step(self, wid: int, pid: int, slot: int):
        """Memo entry for process ``slot`` in proc state ``pid`` and world ``wid``: ``False``
        when it cannot move (done, or a blocking op that is not enabled), else (label, next
        world, next proc id, whether runs were created, whether the op can lose its response).
        """
        kind = self.p_kind[pid]
        if kind == _DONE or (kind == _BLOCKING and not self._op_enabled(wid, pid)):
            forget_if_full(self._proc)
            self._proc[(wid, pid, slot)] = False
            return False
        system = self.system
        world = self.worlds[wid]
        local, pending = self.entries[pid]
        world2, result = self.profile.apply(world, pending)
        if slot < self.n:
            program = system._clients[slot]
        else:
            program = system.body(world, slot - self.n + 1)
        pid2 = self.intern_proc(program.on_result(local, result))
        wid2 = wid if world2 is world else self.intern_world(world2)
        grew = self.w_nruns[wid2] != self.w_nruns[wid]
        lossy = slot < self.n and self.p_lossy[pid]
        out = (self._name(slot), wid2, pid2, grew, lossy)
        forget_if_full(self._proc)
        self._proc[(wid, pid, slot)] = out
        return out

    def _step_lost(self, wid: int, pid: int) -> int:
        world = self.worlds[wid]
        world2, _result = self.profile.apply(world, self.entries[pid][1])
        wid2 = wid if world2 is world else self.intern_world(world2)
        self._lost[(wid, pid)] = wid2
        return wid2

    def _spawned(self, wid: int, have: int) -> tuple[int, ...]:
        """Proc ids of the bodies of runs ``have+1 ..`` in world ``wid`` (``System._spawn``)."""
        memo_key = (wid, have)
        new = self._spawn.get(memo_key)
        if new is None:
            world = self.worlds[wid]
            body = self.system.body
            new = tuple(
                self.intern_proc(body(world, run_id).start())
                for run_id in range(have + 1, len(world.runs) + 1)
            )
            self._spawn[memo_key] = new
        return new

    def _op_enabled(self, wid: int, pid: int) -> bool:
        return bool(self.profile.enabled(self.worlds[wid], self.entries[pid][1]))

    def _environment(self, wid: int) -> tuple[tuple[str, int], ...]:
        world = self.worlds[wid]
        out = []
        for op in self.profile.environment(world):
            world2, _ = self.profile.apply(world, op)
            out.append((_env_label(op), wid if world2 is world else self.intern_world(world2)))
        env = tuple(out)
        self._env[wid] = env
        return env

    def _ticked(self, wid: int) -> int:
        wid2 = self.intern_world(self.profile.tick(self.worlds[wid]))
        self._tick[wid] = wid2
        return wid2

    def _arrival_ok(self, wid: int, i: int) -> bool:
        ok = System._after_ok(self.worlds[wid], self.system.requests[i])
        self._arrive_ok[(wid, i)] = ok
        return ok

    # -- the transition relation ---------------------------------------------------------------

    def _moves(self, wid: int, pids: tuple[int, ...]):
        """What the processes can do in (world, process states), independent of arrivals,
        counters and arrival order: (process moves with lost responses, without them, crash
        moves). Each move is (label, next world, next proc ids, kind); kind 1 = a lost response
        (bumps ``lost``), 2 = a crash (bumps ``crashes``). Memoized on (world, procs): states
        that differ only in arrival order or counters share it."""
        n = self.n
        p_kind = self.p_kind
        w_nruns = self.w_nruns
        nruns = w_nruns[wid]
        proc_memo = self._proc
        with_lost: list[tuple[str, int, tuple[int, ...], int]] = []
        without: list[tuple[str, int, tuple[int, ...], int]] = []
        for slot, pid in enumerate(pids):
            if not p_kind[pid]:
                continue
            step = proc_memo.get((wid, pid, slot))
            if step is None:
                step = self._proc_step(wid, pid, slot)
            if step is False:
                continue
            label, wid2, pid2, grew, lossy = step
            pids2 = (*pids[:slot], pid2, *pids[slot + 1 :])
            if grew:
                pids2 += self._spawned(wid2, len(pids) - n)
            move = (label, wid2, pids2, 0)
            with_lost.append(move)
            without.append(move)
            if lossy:
                wid2 = self._lost.get((wid, pid))
                if wid2 is None:
                    wid2 = self._step_lost(wid, pid)
                pids2 = pids
                if w_nruns[wid2] != nruns:
                    pids2 = pids + self._spawned(wid2, len(pids) - n)
                with_lost.append((self.lost_labels[slot], wid2, pids2, 1))
        crash: list[tuple[str, int, tuple[int, ...], int]] = []
        if self.max_crashes:
            # a crash inside an at-least-once step (``System``'s crash semantics): the step's
            # effect is the world the step itself reaches, the body stays on the same step
            at_least_once = self.profile.AT_LEAST_ONCE
            entries = self.entries
            for slot in range(n, len(pids)):
                pid = pids[slot]
                if type(entries[pid][1]) not in at_least_once:
                    continue
                step = proc_memo.get((wid, pid, slot))
                if step is None:
                    step = self._proc_step(wid, pid, slot)
                crash.append((self._crash_label(slot), step[1], pids, 2))
        out = (tuple(with_lost), tuple(without), tuple(crash))
        if self._memo_moves:
            forget_if_full(self._moves_memo)
            self._moves_memo[(wid, pids)] = out
            self._moves_misses += 1
            if self._moves_misses == MEMO_TRIAL:
                hits = self._moves_calls - self._moves_misses
                if hits * MEMO_MIN_HITS < self._moves_calls:
                    self._memo_moves = False
                    self._moves_memo.clear()
        return out

    def successors(self, key: Key) -> list[tuple[str, Key]]:
        """``System.successors`` over keys: same actions, same order, same next states."""
        wid, pids, arrivals, crashes, lost, order = key
        self._moves_calls += 1
        moves = self._moves_memo.get((wid, pids))
        if moves is None:
            moves = self._moves(wid, pids)
        if lost < self.max_lost:
            out = [
                (label, (wid2, pids2, arrivals, crashes, lost + kind, order))
                for label, wid2, pids2, kind in moves[0]
            ]
        else:
            out = [
                (label, (wid2, pids2, arrivals, crashes, lost, order))
                for label, wid2, pids2, _ in moves[1]
            ]
        append = out.append
        clock = self.w_clock[wid]
        if None in arrivals:
            n = self.n
            arrive_min = self.arrive_min
            for i in range(n):
                if arrivals[i] is None and arrive_min[i] <= clock:
                    if self.guarded[i]:
                        ok = self._arrive_ok.get((wid, i))
                        if ok is None:
                            ok = self._arrival_ok(wid, i)
                        if not ok:
                            continue
                    pids2 = (*pids[:i], self.client_start[i], *pids[i + 1 :])
                    arrivals2 = (*arrivals[:i], clock, *arrivals[i + 1 :])
                    order2 = (*order, i + 1) if self.track_order else order
                    append((self.arrive_labels[i], (wid, pids2, arrivals2, crashes, lost, order2)))
        env = self._env.get(wid)
        if env is None:
            env = self._environment(wid)
        for label, wid2 in env:
            append((label, (wid2, pids, arrivals, crashes, lost, order)))
        if clock < self.max_ticks:
            may_tick = self._may_tick.get((clock, arrivals))
            if may_tick is None:
                arrive_max = self.arrive_max
                may_tick = self._may_tick[(clock, arrivals)] = all(
                    arrivals[i] is not None or arrive_max[i] > clock for i in range(self.n)
                )
            if may_tick:
                ticked = self._tick.get(wid)
                if ticked is None:
                    ticked = self._ticked(wid)
                append(("tick", (ticked, pids, arrivals, crashes, lost, order)))
        if crashes < self.max_crashes:
            for label, wid2, pids2, _ in moves[2]:
                append((label, (wid2, pids2, arrivals, crashes + 1, lost, order)))
        return out

    # -- coded states: one int a state (the BFS unreduced or under the symmetry alone) --------
    #
    # Profiling the unreduced BFS on supersede-aba (375k states, 1.05M transitions, ~6 us a
    # state) put most of a state's time in tuples: each successor key is a fresh 6-tuple holding
    # the process vector, hashed again (nested tuples cache no hash) at the dedupe probe, the
    # moves memo probe and the invariant token. A *code* is one int: ``pair << CODE_BITS |
    # rest``, where ``pair`` interns (world id, proc ids), what the processes and the world
    # are, and ``rest`` interns (arrivals, crashes, lost, order), the counters. A successor's
    # code is then ``base | rest`` with ``base`` computed once per pair, and a dedupe probe
    # hashes one int. ``coded_successors`` is ``successors`` over codes: same order, same next
    # states (``tests/test_engine.py`` compares them on every reachable state of the catalog).

    def _vec(self, pids: tuple[int, ...]) -> int:
        """The id of the process vector ``pids``."""
        vid = self._vec_id.get(pids)
        if vid is None:
            if len(pids) >= 1 << 16:
                raise RuntimeError("coded states: more than 65,535 processes in one state")
            vid = self._vec_id[pids] = len(self.vecs)
            self.vecs.append(pids)
            self.vec_clients.append(self._part_id(pids[: self.n]))
        return vid

    def _pair(self, wid: int, pids: tuple[int, ...]) -> int:
        return self._pair_of(wid, self._vec(pids))

    def _pair_of(self, wid: int, vid: int) -> int:
        """The pair id of (world ``wid``, vector ``vid``): keyed on one int, no tuple."""
        key = wid << 32 | vid
        pair = self._pair_id.get(key)
        if pair is None:
            # what a pair is, as lists indexed by pair id (no tuple a pair): its world is
            # ``pair_side[1]``, its vector ``pair_vec``
            pair = self._pair_id[key] = len(self.pair_vec)
            self.pair_vec.append(vid)
            self.pair_plain.append(None)
            clients = self.vec_clients[vid]
            sides = self.pair_side
            sides[0].append(0)
            sides[1].append(wid)
            sides[2].append(clients)
            sides[3].append(wid << 32 | clients)  # injective: no interning
        return pair

    def _vec_with(self, vid: int, slot: int, pid: int) -> int:
        """Vector ``vid`` with process ``slot`` in state ``pid`` (memo ``_vec_steps``)."""
        pids = self.vecs[vid]
        got = self._vec((*pids[:slot], pid, *pids[slot + 1 :]))
        forget_if_full(self._vec_steps)
        self._vec_steps[vid << 40 | pid << 16 | slot] = got
        return got

    def _vec_grown(self, vid: int, wid: int) -> int:
        """Vector ``vid`` with the bodies of the runs world ``wid`` created (``_spawned``)."""
        pids = self.vecs[vid]
        got = self._vec(pids + self._spawned(wid, len(pids) - self.n))
        forget_if_full(self._vec_grows)
        self._vec_grows[vid << 32 | wid] = got
        return got

    def _rest(self, arrivals: tuple, crashes: int, lost: int, order: tuple) -> int:
        key = (arrivals, crashes, lost, order)
        rest = self._rest_id.get(key)
        if rest is None:
            rest = len(self.rests)
            if rest > CODE_MASK:
                raise RuntimeError(f"coded states: more than {CODE_MASK} counter vectors")
            self._rest_id[key] = rest
            self.rests.append(key)
            # plain: no arrival pending, no lost response or crash left to spend; then a
            # state's successors are its pair's ``plain`` bases, each or-ed with ``rest``
            self.rest_plain.append(
                None not in arrivals and lost >= self.max_lost and crashes >= self.max_crashes
            )
            self.rest_side[0].append(0)
            self.rest_side[1].append(self._part_id(arrivals))
            self.rest_side[2].append(self._part_id(order))
            self.rest_side[3].append(self._part_id((arrivals, order)))
        return rest

    def _part_id(self, part: tuple) -> int:
        """A small int per distinct token part (``coded_token``)."""
        got = self._parts.get(part)
        if got is None:
            got = self._parts[part] = len(self._parts)
        return got

    def encode(self, key: Key) -> int:
        wid, pids, arrivals, crashes, lost, order = key
        return self._pair(wid, pids) << CODE_BITS | self._rest(arrivals, crashes, lost, order)

    def decode(self, code: int) -> Key:
        pair = code >> CODE_BITS
        return (
            self.pair_side[1][pair],
            self.vecs[self.pair_vec[pair]],
            *self.rests[code & CODE_MASK],
        )

    def _pair_moves(self, pair: int) -> tuple:
        """Per pair: (bases without lost responses, (base, kind) with them, environment bases,
        tick base or None, crash bases, world clock, ``plain`` bases); the plain bases are
        kept in ``pair_plain``, the list the BFS loop reads, the whole in ``pair_info`` only
        for pairs met off the plain path (``coded_successors``). The process moves are
        ``_moves``'s, in its order, built as bases directly (no labels, no moves memo: this
        table is the memo, and going through ``_moves`` cost a third of a pair)."""
        wid = self.pair_side[1][pair]
        vid = self.pair_vec[pair]
        pids = self.vecs[vid]
        n = self.n
        p_kind = self.p_kind
        w_nruns = self.w_nruns
        nruns = w_nruns[wid]
        proc_memo = self._proc
        vec_steps = self._vec_steps
        vec_grows = self._vec_grows
        pair_of = self._pair_of
        max_lost = self.max_lost
        shift = CODE_BITS
        without: list[int] = []
        with_lost: list[tuple[int, int]] = []
        for slot, pid in enumerate(pids):
            if not p_kind[pid]:
                continue
            step = proc_memo.get((wid, pid, slot))
            if step is None:
                step = self._proc_step(wid, pid, slot)
            if step is False:
                continue
            _, wid2, pid2, grew, lossy = step
            # the next vector from ints (pid2 < 2^24, slot < 2^16: ``intern_proc``, ``_vec``)
            vid2 = vec_steps.get(vid << 40 | pid2 << 16 | slot)
            if vid2 is None:
                vid2 = self._vec_with(vid, slot, pid2)
            if grew:
                grown = vec_grows.get(vid2 << 32 | wid2)
                vid2 = self._vec_grown(vid2, wid2) if grown is None else grown
            base = pair_of(wid2, vid2) << shift
            without.append(base)
            if max_lost:  # else never read
                with_lost.append((base, 0))
                if lossy:
                    lost_wid = self._lost.get((wid, pid))
                    if lost_wid is None:
                        lost_wid = self._step_lost(wid, pid)
                    lost_vid = vid
                    if w_nruns[lost_wid] != nruns:
                        grown = vec_grows.get(vid << 32 | lost_wid)
                        lost_vid = self._vec_grown(vid, lost_wid) if grown is None else grown
                    with_lost.append((pair_of(lost_wid, lost_vid) << shift, 1))
        crash: list[int] = []
        if self.max_crashes:  # a crash inside an at-least-once step, as in ``_moves``
            at_least_once = self.profile.AT_LEAST_ONCE
            entries = self.entries
            for slot in range(n, len(pids)):
                pid = pids[slot]
                if type(entries[pid][1]) in at_least_once:
                    step = proc_memo.get((wid, pid, slot))
                    if step is None:
                        step = self._proc_step(wid, pid, slot)
                    crash.append(pair_of(step[1], vid) << shift)
        env = self._env.get(wid)
        if env is None:
            env = self._environment(wid)
        env_bases = tuple(pair_of(w, vid) << shift for _, w in env)
        clock = self.w_clock[wid]
        tick = None
        if clock < self.max_ticks:
            ticked = self._tick.get(wid)
            if ticked is None:
                ticked = self._ticked(wid)
            tick = pair_of(ticked, vid) << shift
        plain = (*without, *env_bases, *((tick,) if tick is not None else ()))
        self.pair_plain[pair] = plain
        return (tuple(without), tuple(with_lost), env_bases, tick, tuple(crash), clock, plain)

    def plain_bases(self, pair: int) -> tuple[int, ...]:
        """The successor bases of a state of ``pair`` with a plain rest (see ``_rest``)."""
        bases = self.pair_plain[pair]
        if bases is None:
            return self._pair_moves(pair)[6]
        return bases

    def coded_successors(self, code: int) -> list[int]:
        """``successors`` over codes, without labels (``label_of`` finds one)."""
        pair = code >> CODE_BITS
        rest = code & CODE_MASK
        if self.rest_plain[rest]:
            return [base | rest for base in self.plain_bases(pair)]
        info = self.pair_info.get(pair)
        if info is None:  # kept only for pairs met off the plain path
            forget_if_full(self.pair_info)
            info = self.pair_info[pair] = self._pair_moves(pair)
        without, with_lost, env_bases, tick, crash, clock, _ = info
        arrivals, crashes, lost, _ = self.rests[rest]
        if lost < self.max_lost:
            lost_rest = self._rest_after(rest, -1, 0)
            out = [base | (lost_rest if kind else rest) for base, kind in with_lost]
        else:
            out = [base | rest for base in without]
        pending = None in arrivals
        if pending:
            wid = self.pair_side[1][pair]
            vid = self.pair_vec[pair]
            arrive_min = self.arrive_min
            for i in range(self.n):
                if arrivals[i] is None and arrive_min[i] <= clock:
                    if self.guarded[i]:
                        ok = self._arrive_ok.get((wid, i))
                        if ok is None:
                            ok = self._arrival_ok(wid, i)
                        if not ok:
                            continue
                    start = self.client_start[i]
                    vid2 = self._vec_steps.get(vid << 40 | start << 16 | i)
                    if vid2 is None:
                        vid2 = self._vec_with(vid, i, start)
                    out.append(
                        self._pair_of(wid, vid2) << CODE_BITS | self._rest_after(rest, i, clock)
                    )
        out += [base | rest for base in env_bases]
        if tick is not None:
            may_tick: bool | None = True
            if pending:
                may_tick = self._may_tick.get((clock, arrivals))
                if may_tick is None:
                    arrive_max = self.arrive_max
                    may_tick = self._may_tick[(clock, arrivals)] = all(
                        arrivals[i] is not None or arrive_max[i] > clock for i in range(self.n)
                    )
            if may_tick:
                out.append(tick | rest)
        if crashes < self.max_crashes:
            crash_rest = self._rest_after(rest, -2, 0)
            out += [base | crash_rest for base in crash]
        return out

    def _rest_after(self, rest: int, what: int, clock: int) -> int:
        """The rest after a step: ``what`` -1 a lost response, -2 a crash, ``i >= 0`` the
        arrival of request ``i`` at ``clock`` (memo ``_rest_steps``: counters recur)."""
        key = (rest, what, clock)
        got = self._rest_steps.get(key)
        if got is None:
            arrivals, crashes, lost, order = self.rests[rest]
            if what == -1:
                lost += 1
            elif what == -2:
                crashes += 1
            else:
                arrivals = (*arrivals[:what], clock, *arrivals[what + 1 :])
                order = (*order, what + 1) if self.track_order else order
            forget_if_full(self._rest_steps)
            got = self._rest_steps[key] = self._rest(arrivals, crashes, lost, order)
        return got

    def label_of(self, code: int, child: int, canon: Callable[[Key], Key] | None = None) -> str:
        """The label of the first successor of ``code`` that is ``child`` (BFS records the
        first: it is the one that discovered ``child``); under ``canon``, whose canonical form
        is ``child``."""
        target = self.decode(child)
        for label, nxt in self.successors(self.decode(code)):
            if (nxt if canon is None else canon(nxt)) == target:
                return label
        raise RuntimeError(f"label_of: {child} is not a successor of {code} (a bug of ours)")

    def coded_token(self, parts: Collection[str]) -> tuple[list[int], list[int]]:
        """(pair side, rest side) tables whose entries combine to an int token of ``parts``
        (world, arrivals, order, clients): ``pair_side[p] << CODE_BITS | rest_side[r]``. Equal
        tokens, equal parts (the ids are injective), as ``_reader`` of the same parts."""
        world, clients = "world" in parts, "clients" in parts
        arrivals, order = "arrivals" in parts, "order" in parts
        return (self.pair_side[world + 2 * clients], self.rest_side[arrivals + 2 * order])


CODE_BITS = 32  # a state's code: pair id << CODE_BITS | rest id
CODE_MASK = (1 << CODE_BITS) - 1


__all__ = ["CODE_BITS", "CODE_MASK", "Engine", "Key"]


# Each invariant declares what it reads (``Property.reads``), as parts of the key: equal parts, equal
# verdicts (and equal messages), so each distinct token is checked once. Profiling showed the
# property checks at 40% of BFS once the transition relation was memoized; most of them read the
# world only. Properties that declare nothing are checked on every state.
_PART_ORDER = ("world", "arrivals", "order", "clients")
_MISSING = object()


def _reader(parts: Collection[str], n: int) -> Callable[[Key], Any]:
    """key -> the token of ``parts`` (world id, arrivals, arrival order, client proc ids)."""
    want = tuple(part for part in _PART_ORDER if part in parts)
    if want == ("world",):
        return itemgetter(0)
    if "clients" not in want:
        return itemgetter(*(("world", "", "arrivals", "", "", "order").index(p) for p in want))
    if want == ("clients",):
        return lambda key: key[1][:n]
    if want == ("world", "clients"):
        return lambda key: (key[0], key[1][:n])
    return lambda key: (key[0], key[2], key[5], key[1][:n])


class KeyBook:
    """``PropertyBook.check`` over keys, memoizing invariants on what they read. Violations are
    recorded in the wrapped book exactly as ``PropertyBook.check`` records them (first violation
    per property, in the book's property order)."""

    def __init__(self, book: PropertyBook, engine: Engine) -> None:
        self.book = book
        self.engine = engine
        self.n = engine.n
        # (property, reads or None, memo) for the invariants not yet violated
        self.active: list[tuple[Any, Any, dict, Any]] = []
        parts: set[str] = set()
        for prop in book.invariants:
            if prop.name in book.found:  # decided already (a search started over)
                continue
            reads = None
            declared: frozenset[str] = getattr(prop, "reads", frozenset())
            if declared:
                reads = _reader(declared, self.n)
                parts.update(declared)
            self.active.append((prop, reads, {}, None))
        self.has_invariants = bool(self.active)
        self.parts = frozenset(parts)  # what the invariants read, together (``token``)
        # Fast path: when every invariant is memoized on what it reads, ``token(key)`` is the
        # union of those reads and ``clean`` holds the tokens already checked with no violation:
        # one token and one set probe per state instead of a probe per property (those probes
        # were a third of BFS on supersede-aba). ``clean`` stays valid: ``active`` only shrinks.
        self.token: Callable[[Key], Any] | None = None
        self.clean: set = set()
        if self.active and all(reads is not None for _, reads, _, _ in self.active):
            self.token = _reader(parts, self.n)

    def check(self, key: Key, final: bool, witness: Callable[..., Any], *args: Any) -> bool:
        """Check ``key``; a violation's schedule is ``witness(*args)`` (BFS passes the path
        builder and an index, so no closure is allocated per state)."""
        if not final and self.token is not None:
            token = self.token(key)
            if token in self.clean:
                return False
            new = self._check(key, final, witness, *args)
            if not new:
                forget_if_full(self.clean)
                self.clean.add(token)
            return new
        return self._check(key, final, witness, *args)

    def use_codes(self) -> None:
        """Group the invariants that declare what they read by what they read, for
        ``check_code``: per group, the int token of those parts (``Engine.coded_token``) and
        the set of tokens on which every property of the group still checked holds."""
        engine = self.engine
        groups: dict[frozenset[str], list[Any]] = {}
        self.unread: list[Any] = []  # invariants that declare nothing: checked on every state
        for prop, reads, _, _ in self.active:
            if reads is None:
                self.unread.append(prop)
            else:
                groups.setdefault(frozenset(prop.reads), []).append(prop)
        self.groups: list[tuple[list[int], list[int], set[int], list[Any]]] = [
            (*engine.coded_token(parts), set(), props) for parts, props in groups.items()
        ]

    def check_code(self, code: int, witness: Callable[..., Any], *args: Any) -> bool:
        """``check(decode(code), False, ...)`` for a coded state (after ``use_codes``): a group
        whose token is clean is skipped whole; the state is decoded and materialized only when
        a property has to be checked. Each property's first violation is recorded as
        ``_check`` records it (the order within one state does not matter: violations are
        reported in the book's order)."""
        found = self.book.found
        system = self.book.system
        state = None
        hit = False
        rest = code & CODE_MASK
        pair = code >> CODE_BITS
        for pair_side, rest_side, clean, props in self.groups:
            if not props:
                continue
            token = pair_side[pair] << CODE_BITS | rest_side[rest]
            if token in clean:
                continue
            if state is None:
                state = self.engine.materialize(self.engine.decode(code))
            violated = [
                (prop, message)
                for prop in props
                if (message := prop.check(system, state)) is not None
            ]
            if not violated:
                forget_if_full(clean)
                clean.add(token)
                continue
            hit = True
            for prop, message in violated:
                if prop.name not in found:
                    found[prop.name] = (message, witness(*args))
                props.remove(prop)  # decided: ``clean`` stays valid for the rest
        for prop in list(self.unread):
            if state is None:
                state = self.engine.materialize(self.engine.decode(code))
            message = prop.check(system, state)
            if message is not None:
                hit = True
                if prop.name not in found:
                    found[prop.name] = (message, witness(*args))
                self.unread.remove(prop)
        if hit:
            gone = set(found)
            self.active = [entry for entry in self.active if entry[0].name not in gone]
        return hit

    def _check(self, key: Key, final: bool, witness: Callable[..., Any], *args: Any) -> bool:
        book = self.book
        found = book.found
        system = book.system
        state = None
        hits = None
        for entry in self.active:
            prop, reads, memo, _ = entry
            if reads is None:
                if state is None:
                    state = self.engine.materialize(key)
                message = prop.check(system, state)
            else:
                token = reads(key)
                message = memo.get(token, _MISSING)
                if message is _MISSING:
                    if state is None:
                        state = self.engine.materialize(key)
                    forget_if_full(memo)
                    message = memo[token] = prop.check(system, state)
            if message is not None:
                if prop.name not in found:
                    found[prop.name] = (message, witness(*args))
                hits = hits or []
                hits.append(entry)
        if hits:
            # by name, not ``id(entry)``: compiled by mypyc, an entry is boxed afresh at each
            # read, and a freed box's id can come back for another entry
            gone = {entry[0].name for entry in hits}
            self.active = [entry for entry in self.active if entry[0].name not in gone]
        new = hits is not None
        if final:
            if state is None:
                state = self.engine.materialize(key)
            for prop in book.finals:
                if prop.name not in found:
                    message = prop.check(system, state)
                    if message is not None:
                        found[prop.name] = (message, witness(*args))
                        new = True
            for prop in book.settles:
                if prop.name not in found:
                    message = prop.settle(system, state)  # type: ignore[misc]
                    if message is not None:
                        found[prop.name] = (message, witness(*args))
                        new = True
        return new
