"""Symmetry reduction: interchangeable requests, with a true canonical form.

Two requests are interchangeable when nothing but their index tells them apart: same strategy,
key, workflow, arrival window and options, no ``after``/``during`` guard naming or naming them,
and a strategy that sends no payload (payloads default to ``p<index>``, so they would tell them
apart). Renaming request ``i`` to ``j`` is then an automorphism of the transition system *if* the
renaming reaches everything that names a request. This module renames, consistently:

* the process slots of the clients (``req<i>``), their arrival ticks and the arrival order;
* ``Run.request`` (which request a run serves: it also picks the body program), ``Effect.request``;
* request indices inside values: ``CreateRun.request``, ``RunInfo.request`` and the owner result
  ``("result", workflow, key, request)`` wherever it sits (run outputs, process locals, pending
  ops, ``Done`` outcomes, adopted results).

Run ids are *not* renamed: they are creation order, which the processes observe. The set of
places above is complete only for code that has been read for it, so symmetry is restricted to
profiles, strategies and properties that declare they were audited for it (``Profile.SYMMETRIC``,
``StrategySpec.symmetric``, ``Property.symmetric``); anything else gets the trivial group (no
reduction) and ``classes`` says why. Every listed property is invariant under
the renaming (it reads requests only through the renamed fields, and compares workflow, key and
arrival of requests within a class, which are equal by definition).

The canonical form of a state is the minimum, over the whole group (product of the symmetric
groups of the classes), of the renamed engine key. Keys are tuples of interned ids, and the ids
are a fixed injective labelling of values, so the minimum is a function of the orbit alone: BFS
and DFS count the same orbits. Renamings are memoized per (permutation, world id) and
(permutation, process id).
"""

from __future__ import annotations

import itertools
from typing import Any

from model import ops as O
from model.outcomes import Tagged, WorkResult
from model.state import Effect, Run, WorldState
from properties import PROPERTIES
from simulator.engine import CODE_BITS, CODE_MASK, Engine, Key, forget_if_full
from simulator.process import Phase
from simulator.strategies import STRATEGIES

MAX_GROUP = 720  # permutations tried per state; larger groups fall back to no reduction


def unaudited(
    system, extra_properties: tuple = (), what: str = "symmetry", strategies: bool = False
) -> str | None:
    """Why the system's profile, properties or (with ``strategies``) strategies are not all
    audited for the reductions (their own ``SYMMETRIC`` / ``symmetric`` declarations), or None.
    Symmetry leaves unaudited strategies out of its classes; the partial-order reductions need
    every request's strategy audited."""
    if not system.profile.SYMMETRIC:
        return f"profile {system.profile.name!r} is not audited for {what}"
    if extra_properties:
        return f"extra properties are not audited for {what}"
    for name in system.scenario.properties:
        prop = PROPERTIES.get(name)
        if prop is None or not prop.symmetric:
            return f"property {name!r} is not audited for {what}"
    if strategies:
        for r in system.requests:
            if not STRATEGIES[r.strategy].symmetric:
                return f"strategy {r.strategy!r} is not audited for {what}"
    return None


def classes(system, extra_properties: tuple = ()) -> tuple[list[list[int]], str | None]:
    """Classes of interchangeable requests (1-based indices, classes of size >= 2) and, when
    symmetry cannot be used at all, why not."""
    scenario = system.scenario
    reason = unaudited(system, extra_properties)
    if reason:
        return [], reason
    referenced = {r.after for r in scenario.requests} | {r.during for r in scenario.requests}
    by_signature: dict[tuple, list[int]] = {}
    for r in scenario.requests:
        spec = STRATEGIES[r.strategy]
        if not spec.symmetric or spec.sends_payload:
            continue
        if r.after is not None or r.during is not None or r.index in referenced:
            continue
        signature = (r.strategy, r.key, r.workflow, r.arrive_min, r.arrive_max, r.options)
        by_signature.setdefault(signature, []).append(r.index)
    found = [members for members in by_signature.values() if len(members) > 1]
    if not found:
        return [], "no two requests are interchangeable"
    return found, None


def _rename_value(value: Any, perm: dict[int, int]) -> Any:
    """Rename request indices inside a process local, pending op, outcome or run output."""
    kind = type(value)
    if kind is WorkResult:
        if type(value.request) is int:
            return WorkResult(value.workflow, value.key, perm.get(value.request, value.request))
        return value
    if isinstance(value, Tagged | Phase):  # outcomes, answers, locals: inside their fields
        return kind(*(_rename_value(v, perm) for v in value[1:]))
    if kind is tuple:
        if len(value) == 4 and value[0] == "result" and type(value[3]) is int:
            # a run output read back plain (not built by a strategy): the same value, renamed
            return WorkResult(value[1], value[2], perm.get(value[3], value[3]))
        return tuple(_rename_value(v, perm) for v in value)
    if kind is O.CreateRun:
        return value._replace(request=perm.get(value.request, value.request))
    if kind is O.RunInfo:
        return O.RunInfo(
            value.run_id,
            value.workflow,
            value.status,
            _rename_value(value.output, perm),
            perm.get(value.request, value.request),
        )
    if isinstance(value, tuple) and hasattr(kind, "_fields"):  # other ops, Done, results
        return kind._make(_rename_value(v, perm) for v in value)
    return value


def _rename_world(world: WorldState, perm: dict[int, int]) -> WorldState:
    runs = tuple(
        Run(
            r.id,
            r.workflow,
            r.status,
            perm.get(r.request, r.request),
            r.key,
            _rename_value(r.output, perm),
            r.ended_at,
            r.attributes,
            r.started_at,
        )
        for r in world.runs
    )
    effects = tuple(
        Effect(e.key, perm.get(e.request, e.request), e.run_id, e.tick) for e in world.effects
    )
    return world._replace(
        runs=runs,
        effects=effects,
        delivered=_rename_value(world.delivered, perm),
        consumed=_rename_value(world.consumed, perm),
    )


class Symmetry:
    """``canon(key)``: the canonical form of an engine key under request renaming.

    Profiling (cProfile, supersede-aba and reject on one key) showed the old canonical form, the
    minimum over the whole group, renaming every new world under all N! - 1 permutations and
    every tied state in full: 3-10x the unreduced cost per state. Here each request gets a
    *signature* that renaming carries along (``sig_{p(i)}(p(s)) == sig_i(s)``): its client
    process with request indices neutralized (itself 0, the others by class), its arrival tick,
    its place in the arrival order, and the runs and effects it owns. Sorting each class by
    signature fixes the permutation up to ties; the canonical form is the minimum renamed key
    over the sorting permutations only (usually one). That is still a function of the orbit
    alone: for ``t = r(s)`` the sorting permutations of ``t`` are those of ``s`` times
    ``r^-1``, so both minimize over the same set of renamed keys. So BFS and DFS count the same
    orbits as before, about N log N work per state instead of N!.
    """

    def __init__(self, engine: Engine, groups: list[list[int]]) -> None:
        self.engine = engine
        self.n = engine.n
        self.groups = [sorted(members) for members in groups]
        size = 1
        for members in groups:
            for k in range(2, len(members) + 1):
                size *= k
        self._size = size
        # permutations are made on demand: image tuple (p(1), .., p(n)) -> index; -1 = identity
        self.perms: list[dict[int, int]] = []
        self._index: dict[tuple[int, ...], int] = {tuple(range(1, self.n + 1)): -1}
        self._slots: list[list[int]] = []
        self._worlds: list[dict[int, int]] = []
        self._procs: list[dict[int, int]] = []
        self._pairs: list[dict[tuple, tuple]] = []
        self._rests: list[dict[tuple, tuple]] = []
        # (world id, proc ids) -> the permutation its signatures fix, when they fix one (no
        # two members of a class share their process/world signature), else None
        self._fixed: dict[tuple, int | None] = {}
        # neutral renaming per request: itself -> 0, a member of class c -> -(c + 1)
        self._neutral_maps: dict[int, dict[int, int]] = {}
        by_class = {j: -(c + 1) for c, members in enumerate(self.groups) for j in members}
        for i in by_class:
            self._neutral_maps[i] = {**by_class, i: 0}
        self._neutral_ids: dict[tuple, int] = {}
        self._neutral: dict[tuple[int, int], int] = {}  # (proc id, request) -> neutral id
        self._wsig: dict[int, tuple] = {}  # world id -> per request (runs, effects) it owns
        self._plain = not engine.track_order
        # ``canon_code``: pair id -> (permutation, renamed pair id), permutation None when
        # signatures tie (then the keys' way); (permutation, rest id) -> renamed rest id
        self._code_pairs: dict[int, tuple[int | None, int]] = {}
        self._code_rests: dict[int, int] = {}

    @property
    def size(self) -> int:
        return self._size

    def _perm(self, image: tuple[int, ...]) -> int:
        k = self._index.get(image)
        if k is None:
            k = len(self.perms)
            self._index[image] = k
            self.perms.append({i + 1: j for i, j in enumerate(image) if j != i + 1})
            self._slots.append([j - 1 for j in image])
            self._worlds.append({})
            self._procs.append({})
            self._pairs.append({})
            self._rests.append({})
        return k

    def _world(self, k: int, wid: int) -> int:
        memo = self._worlds[k]
        out = memo.get(wid)
        if out is None:
            engine = self.engine
            out = memo[wid] = engine.intern_world(_rename_world(engine.worlds[wid], self.perms[k]))
        return out

    def _proc(self, k: int, pid: int) -> int:
        memo = self._procs[k]
        out = memo.get(pid)
        if out is None:
            engine = self.engine
            entry = engine.entries[pid]
            if entry is not None:
                entry = _rename_value(entry, self.perms[k])
            out = memo[pid] = engine.intern_proc(entry)
        return out

    def _rename_pair(self, k: int, wid: int, pids: tuple[int, ...]) -> tuple:
        """(renamed world id, renamed proc ids) under permutation ``k``, memoized."""
        n = self.n
        slots = self._slots[k]
        wid2 = self._world(k, wid)
        pmemo = self._procs[k]
        renamed = []
        for pid in pids:
            p2 = pmemo.get(pid)
            if p2 is None:
                p2 = self._proc(k, pid)
            renamed.append(p2)
        clients = [0] * n
        for i in range(n):
            clients[slots[i]] = renamed[i]
        out = (wid2, (*clients, *renamed[n:]))
        forget_if_full(self._pairs[k])
        self._pairs[k][(wid, pids)] = out
        return out

    def rename(self, k: int, key: Key) -> Key:
        wid, pids, arrivals, crashes, lost, order = key
        pair = self._pairs[k].get((wid, pids))
        if pair is None:
            pair = self._rename_pair(k, wid, pids)
        rest = self._rests[k].get((arrivals, order))
        if rest is None:
            rest = self._rest(k, arrivals, order)
        return (pair[0], pair[1], rest[0], crashes, lost, rest[1])

    def _rest(self, k: int, arrivals: tuple, order: tuple) -> tuple[tuple, tuple]:
        """(renamed arrivals, renamed arrival order) under permutation ``k``, memoized."""
        memo = self._rests[k]
        out = memo.get((arrivals, order))
        if out is None:
            arrivals2: list = [None] * self.n
            for i, j in enumerate(self._slots[k]):
                arrivals2[j] = arrivals[i]
            perm = self.perms[k]
            order2 = tuple(perm.get(i, i) for i in order) if order else order
            out = memo[(arrivals, order)] = (tuple(arrivals2), order2)
        return out

    def _neutral_id(self, pid: int, request: int) -> int:
        entry = self.engine.entries[pid]
        if entry is None:
            token: tuple = ()
        else:
            local, pending = _rename_value(entry, self._neutral_maps[request])
            token = (local, type(pending), pending)
        out = self._neutral_ids.setdefault(token, len(self._neutral_ids))
        self._neutral[(pid, request)] = out
        return out

    def _world_sig(self, wid: int) -> tuple:
        world = self.engine.worlds[wid]
        owned: dict[int, list] = {}
        for r in world.runs:
            owned.setdefault(r.request, []).append(r.id)
        effects: dict[int, list] = {}
        for e in world.effects:
            effects.setdefault(e.request, []).append((e.run_id, e.tick))
        out = tuple((tuple(owned.get(i, ())), tuple(effects.get(i, ()))) for i in range(self.n + 1))
        self._wsig[wid] = out
        return out

    def _signature(self, wid: int, pids: tuple[int, ...], i: int) -> tuple:
        """Request ``i``'s process/world signature: its client process with request indices
        neutralized, and the runs and effects it owns."""
        wsig = self._wsig.get(wid)
        if wsig is None:
            wsig = self._world_sig(wid)
        pid = pids[i - 1]
        nid = self._neutral.get((pid, i))
        if nid is None:
            nid = self._neutral_id(pid, i)
        return (nid, wsig[i])

    def _fix(self, wid: int, pids: tuple[int, ...]) -> int | None:
        image = list(range(1, self.n + 1))
        wsig = self._wsig.get(wid)
        if wsig is None:
            wsig = self._world_sig(wid)
        neutral = self._neutral
        for members in self.groups:
            sigs = []
            for i in members:  # ``_signature`` inlined: a call a member was a fifth of this
                pid = pids[i - 1]
                nid = neutral.get((pid, i))
                if nid is None:
                    nid = self._neutral_id(pid, i)
                sigs.append(((nid, wsig[i]), i))
            sigs.sort()
            for position, (sig, i) in enumerate(sigs):
                if position and sig == sigs[position - 1][0]:
                    forget_if_full(self._fixed)
                    self._fixed[(wid, pids)] = None
                    return None
                image[i - 1] = members[position]
        forget_if_full(self._fixed)
        k = self._fixed[(wid, pids)] = self._perm(tuple(image))
        return k

    def canon(self, key: Key) -> Key:
        """The minimum renamed key over the permutations that sort each class by signature.
        The signature's first part depends on (world, processes) only; when it already tells
        the members of every class apart, the permutation is memoized on that pair, so a state
        costs a dict probe and one memoized renaming."""
        k = self._fixed.get((key[0], key[1]), _UNSET)
        if k is _UNSET:
            k = self._fix(key[0], key[1])
        if k is not None:
            return key if k < 0 else self.rename(k, key)
        return self._canon_ties(key)

    def canon_code(self, code: int) -> int:
        """``canon`` over a coded state (``Engine.encode``): the code of ``canon(decode(code))``.
        The permutation and the renamed pair are memoized on the pair id, the renamed counters
        on (permutation, rest id): a state costs two int-keyed probes and no tuple. Where
        signatures tie, the keys' way (``_canon_ties``)."""
        engine = self.engine
        pair = code >> CODE_BITS
        got = self._code_pairs.get(pair)
        if got is None:
            got = self._code_pair(pair)
        k, pair2 = got
        if k is None:
            return engine.encode(self._canon_ties(engine.decode(code)))
        if k < 0:
            return code
        rest = code & CODE_MASK
        rest2 = self._code_rests.get(rest << 32 | k)
        if rest2 is None:
            arrivals, crashes, lost, order = engine.rests[rest]
            renamed = self._rests[k].get((arrivals, order))
            if renamed is None:
                renamed = self._rest(k, arrivals, order)
            rest2 = engine._rest(renamed[0], crashes, lost, renamed[1])
            forget_if_full(self._code_rests)
            self._code_rests[rest << 32 | k] = rest2
        return pair2 << CODE_BITS | rest2

    def _code_pair(self, pair: int) -> tuple[int | None, int]:
        engine = self.engine
        wid = engine.pair_side[1][pair]
        pids = engine.vecs[engine.pair_vec[pair]]
        k = self._fixed.get((wid, pids), _UNSET)
        if k is _UNSET:
            k = self._fix(wid, pids)
        pair2 = pair
        if k is not None and k >= 0:
            renamed = self._pairs[k].get((wid, pids))
            if renamed is None:
                renamed = self._rename_pair(k, wid, pids)
            pair2 = engine._pair(renamed[0], renamed[1])
        forget_if_full(self._code_pairs)
        got = self._code_pairs[pair] = (k, pair2)
        return got

    def _canon_ties(self, key: Key) -> Key:
        wid, pids, arrivals, _crashes, _lost, order = key
        image = list(range(1, self.n + 1))
        ties: list[list[int]] = []  # runs of requests with equal signatures
        for members in self.groups:
            sigs = []
            for i in members:
                arrival = arrivals[i - 1]
                sigs.append(
                    (
                        self._signature(wid, pids, i),
                        -1 if arrival is None else arrival,
                        order.index(i) if i in order else -1,
                        i,
                    )
                )
            sigs.sort()
            run: list[int] = []
            previous = None
            for position, sig in enumerate(sigs):
                image[sig[-1] - 1] = members[position]
                if previous is not None and sig[:-1] == previous:
                    run.append(sig[-1])
                else:
                    if len(run) > 1:
                        ties.append(run)
                    run = [sig[-1]]
                previous = sig[:-1]
            if len(run) > 1:
                ties.append(run)
        k = self._perm(tuple(image))
        best = key if k < 0 else self.rename(k, key)
        if not ties:
            return best
        # tied requests: every assignment of their sorted places among them
        for combo in itertools.product(*(itertools.permutations(run) for run in ties)):
            if all(list(c) == run for c, run in zip(combo, ties, strict=True)):
                continue
            image2 = list(image)
            for c, run in zip(combo, ties, strict=True):
                for src, dst in zip(run, c, strict=True):
                    image2[src - 1] = image[dst - 1]
            k2 = self._perm(tuple(image2))
            candidate = key if k2 < 0 else self.rename(k2, key)
            if candidate < best:
                best = candidate
        return best


_UNSET = object()


def make_symmetry(engine: Engine, extra_properties: tuple = ()) -> tuple[Symmetry | None, str]:
    """The reduction for this system, or None and why not."""
    groups, why_not = classes(engine.system, extra_properties)
    if why_not is not None:
        return None, why_not
    size = 1
    for members in groups:
        for k in range(2, len(members) + 1):
            size *= k
    if size > MAX_GROUP:
        return None, f"symmetry group of {size} permutations is larger than {MAX_GROUP}"
    sym = Symmetry(engine, groups)
    classes_text = ", ".join("{" + ",".join(f"req{i}" for i in m) + "}" for m in groups)
    return sym, f"interchangeable requests {classes_text} ({sym.size} permutations)"


__all__ = ["Symmetry", "classes", "make_symmetry", "unaudited"]
