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
from simulator.engine import Engine, Key
from simulator.process import Phase
from simulator.strategies import STRATEGIES

MAX_GROUP = 720  # permutations tried per state; larger groups fall back to no reduction


def unaudited(system, extra_properties: tuple = (), what: str = "symmetry") -> str | None:
    """Why the system's profile, properties or strategies are not all audited for the reductions
    (their own ``SYMMETRIC`` / ``symmetric`` declarations), or None."""
    if not system.profile.SYMMETRIC:
        return f"profile {system.profile.name!r} is not audited for {what}"
    if extra_properties:
        return f"extra properties are not audited for {what}"
    for name in system.scenario.properties:
        prop = PROPERTIES.get(name)
        if prop is None or not prop.symmetric:
            return f"property {name!r} is not audited for {what}"
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
    """``canon(key)``: the canonical form of an engine key under request renaming."""

    def __init__(self, engine: Engine, groups: list[list[int]]) -> None:
        self.engine = engine
        self.n = engine.n
        per_class = [
            [dict(zip(members, image, strict=True)) for image in itertools.permutations(members)]
            for members in groups
        ]
        perms = []
        for combo in itertools.product(*per_class):
            perm: dict[int, int] = {}
            for part in combo:
                perm.update(part)
            if any(k != v for k, v in perm.items()):
                perms.append(perm)
        self.perms = perms
        # per permutation: slot map (new slot of each client slot), memo of worlds and procs
        self._slots = [[perm.get(i + 1, i + 1) - 1 for i in range(self.n)] for perm in perms]
        self._worlds: list[dict[int, int]] = [{} for _ in perms]
        self._procs: list[dict[int, int]] = [{} for _ in perms]
        self._lead: dict[int, tuple[int, tuple[int, ...]]] = {}

    @property
    def size(self) -> int:
        return len(self.perms) + 1

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

    def rename(self, k: int, key: Key) -> Key:
        wid, pids, arrivals, crashes, lost, order = key
        n = self.n
        slots = self._slots[k]
        wmemo = self._worlds[k]
        pmemo = self._procs[k]
        wid2 = wmemo.get(wid)
        if wid2 is None:
            wid2 = self._world(k, wid)
        renamed = []
        for pid in pids:
            p2 = pmemo.get(pid)
            if p2 is None:
                p2 = self._proc(k, pid)
            renamed.append(p2)
        clients = [0] * n
        arrivals2 = [None] * n
        for i in range(n):
            j = slots[i]
            clients[j] = renamed[i]
            arrivals2[j] = arrivals[i]
        perm = self.perms[k]
        order2 = tuple(perm.get(i, i) for i in order) if order else order
        return (wid2, (*clients, *renamed[n:]), tuple(arrivals2), crashes, lost, order2)

    def _leaders(self, wid: int) -> tuple[int, tuple[int, ...]]:
        """The smallest renamed world id over the group, and the permutations reaching it
        (-1 = the identity)."""
        best, who = wid, [-1]
        for k in range(len(self.perms)):
            w2 = self._world(k, wid)
            if w2 < best:
                best, who = w2, [k]
            elif w2 == best:
                who.append(k)
        out = (best, tuple(who))
        self._lead[wid] = out
        return out

    def canon(self, key: Key) -> Key:
        """The minimum renamed key. Keys compare on the world id first, so only the
        permutations that minimize the world (usually one) are renamed in full."""
        lead = self._lead.get(key[0])
        if lead is None:
            lead = self._leaders(key[0])
        who = lead[1]
        if len(who) == 1:
            k = who[0]
            return key if k < 0 else self.rename(k, key)
        best = None
        for k in who:
            candidate = key if k < 0 else self.rename(k, key)
            if best is None or candidate < best:
                best = candidate
        return best


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
