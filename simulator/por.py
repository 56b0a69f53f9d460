"""Independence by key: a persistent-set (ample-set) partial-order reduction.

Requests are grouped into *clusters*: requests with the same key (joined by ``after``/``during``
guards). A cluster's actions are its clients' steps and arrivals, and the steps and hook releases
of the runs its requests started. In the audited model (profile ``vercel-today``, strategies
strategies declared ``symmetric``: every hook token, effect key, awaited or cancelled run of a request is
its own key's) two actions of different clusters read and write disjoint parts of the state, with
four exceptions, which make an action *global*:

* run ids are allocation order, so two ``CreateRun`` of different clusters do not commute as
  states; they do up to renaming runs, so states are deduplicated on a normal form that renumbers
  runs by (cluster, creation order) consistently everywhere (runs, hooks, ghost lists, process
  slots, locals, pending ops, outputs). ``ListRuns`` (reads every run) stays global;
* ``tick``: everything records the clock (effects, run start and end), so the clock is shared;
  while a tick can still happen (clock < ``max_ticks``) every state is fully expanded;
* ``crash rK`` and ``reqN lost``: they share the crash and lost-response budgets;
* ghost history lists (effects, deliveries, consumptions, cancellations, arrival order) are
  appended in global order. The model never reads them (only properties do, and the audited
  properties compare entries of one key only), so the normal form also stably sorts those lists
  by cluster. Both renamings are bisimulations of the audited model (no process reads a run id
  other than as an identity, no property reads cross-key order or run-id values), under which
  local actions of different clusters commute.

At a state, if some cluster's enabled actions are all local, that set is persistent: nothing
another cluster (or a global action) can do first depends on it, so exploring only it preserves
every reachable deadlock (hence every FINAL-property and ``settle`` verdict), and every violation of
an invariant that is a conjunction of per-cluster predicates (the audited invariants are: they
compare hooks of one token, effects of one key, cancellations within one key, a request with its
own runs), because the reduced search executes all of the violating cluster's actions of any full
path, in order, before any extra action of that cluster. The cluster with the fewest enabled
actions is chosen. Cycle proviso: a reduced expansion whose successor is already known is replaced
by the full one (sound for BFS and DFS alike).

What is *not* preserved is the length of the shortest invariant counterexample (the reduced path
can carry another cluster's actions first), so ``check`` recomputes reported counterexamples
without this reduction, restricted to the violated properties (see ``simulator/reductions.py``).
"""

from __future__ import annotations

from typing import Any

from model import ops as O
from model.outcomes import (
    Adopted,
    DuplicateOf,
    Failed,
    ForwardedTo,
    OwnerEnded,
    RunStarted,
    Succeeded,
    typed,
)
from model.state import WorldState
from simulator.actions import ActionKind, parse_action
from simulator.engine import Engine, Key
from simulator.process import Done, Phase
from simulator.symmetry import unaudited

GLOBAL = -1
_GLOBAL_OPS = frozenset({O.KeyedStart, O.ListRuns})


def clusters_of(system) -> tuple[list[int], int]:
    """Cluster id of each request (0-based list) and the number of clusters."""
    requests = system.requests
    parent = list(range(len(requests)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_key: dict[str, int] = {}
    for i, r in enumerate(requests):
        if r.key in by_key:
            parent[find(i)] = find(by_key[r.key])
        else:
            by_key[r.key] = i
        for other in (r.after, r.during):
            if other is not None:
                parent[find(i)] = find(other - 1)
    roots: dict[int, int] = {}
    out = []
    for i in range(len(requests)):
        out.append(roots.setdefault(find(i), len(roots)))
    return out, len(roots)


def why_not(system, extra_properties: tuple = ()) -> str | None:
    """Why the key reduction cannot be used on this system, or None."""
    reason = unaudited(system, extra_properties, "key independence", strategies=True)
    if reason:
        return reason
    if clusters_of(system)[1] < 2:
        return "all requests share one key"
    return None


class KeyReduction:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        system = engine.system
        self.system = system
        self.n = engine.n
        self.cluster, self.count = clusters_of(system)
        self.max_ticks = system.bounds.max_ticks
        # label -> cluster for the labels that do not depend on the world
        self._labels: dict[str, int] = {"tick": GLOBAL}
        for i in range(self.n):
            name = f"req{i + 1}"
            self._labels[f"arrive {name}"] = self.cluster[i]
            self._labels[f"{name} lost"] = GLOBAL
        self._pid_global: dict[int, bool] = {}
        self._norm: dict[int, tuple[int, tuple[int, ...] | None]] = {}
        self._procs: dict[tuple[tuple[int, ...], int], int] = {}
        self.reduced = 0  # states expanded with a proper subset of their actions

    # -- the normal form of ghost order --------------------------------------------------------

    def _run_cluster(self, world: WorldState, run_id: int) -> int:
        run = world.run(run_id)
        return self.cluster[run.request - 1] if run is not None and run.request >= 1 else GLOBAL

    def _normal_world(self, wid: int) -> tuple[int, tuple[int, ...] | None]:
        """(normal world id, run renumbering old id -> new id as a tuple indexed by old id - 1,
        or None when the runs are already in cluster order)."""
        engine = self.engine
        world = engine.worlds[wid]
        cluster = self.cluster
        runs = world.runs
        order = sorted(range(len(runs)), key=lambda i: cluster[runs[i].request - 1])
        m: tuple[int, ...] | None = None
        if any(i != j for i, j in zip(order, range(len(runs)), strict=True)):
            new_of = [0] * len(runs)
            for new, old in enumerate(order):
                new_of[old] = new + 1
            m = tuple(new_of)
            world = _renumber_world(world, m)
        by_run = {r.id: cluster[r.request - 1] for r in world.runs}
        world2 = world._replace(
            effects=tuple(sorted(world.effects, key=lambda e: cluster[e.request - 1])),
            delivered=tuple(sorted(world.delivered, key=lambda d: by_run.get(d[1], GLOBAL))),
            consumed=tuple(sorted(world.consumed, key=lambda d: by_run.get(d[1], GLOBAL))),
            cancels=tuple(sorted(world.cancels, key=lambda c: by_run.get(c[0], GLOBAL))),
        )
        out = (wid if world2 == engine.worlds[wid] else engine.intern_world(world2), m)
        self._norm[wid] = out
        return out

    def _renumber_proc(self, m: tuple[int, ...], pid: int) -> int:
        memo_key = (m, pid)
        out = self._procs.get(memo_key)
        if out is None:
            engine = self.engine
            out = engine.intern_proc(_renumber_entry(engine.entries[pid], m))
            self._procs[memo_key] = out
        return out

    def normal(self, key: Key) -> Key:
        """``key`` with runs renumbered by cluster and the ghost lists and arrival order stably
        sorted by cluster."""
        wid, pids, arrivals, crashes, lost, order = key
        norm = self._norm.get(wid)
        if norm is None:
            norm = self._normal_world(wid)
        w2, m = norm
        if m is not None:
            n = self.n
            body = [0] * (len(pids) - n)
            for old in range(len(body)):
                body[m[old] - 1] = self._renumber_proc(m, pids[n + old])
            pids = (*(self._renumber_proc(m, p) for p in pids[:n]), *body)
        if len(order) > 1:
            cluster = self.cluster
            order = tuple(sorted(order, key=lambda i: cluster[i - 1]))
        return (w2, pids, arrivals, crashes, lost, order)

    # -- ample sets ----------------------------------------------------------------------------

    def _action_cluster(self, label: str, key: Key) -> int:
        known = self._labels.get(label)
        if known is not None:
            return known
        engine = self.engine
        wid, pids = key[0], key[1]
        action = parse_action(label)
        kind = action.kind
        if kind is ActionKind.PROCESS or kind is ActionKind.LOST:
            if action.request is not None:
                slot = action.request - 1
                return GLOBAL if self._is_global(pids[slot]) else self.cluster[slot]
            if kind is ActionKind.PROCESS:
                run_id = action.run
                if self._is_global(pids[self.n + run_id - 1]):
                    return GLOBAL
                return self._run_cluster(engine.worlds[wid], run_id)
        if kind is ActionKind.WORLD and action.run is not None:
            return self._run_cluster(engine.worlds[wid], action.run)
        return GLOBAL  # crashes, unknown environment steps

    def _is_global(self, pid: int) -> bool:
        out = self._pid_global.get(pid)
        if out is None:
            entry = self.engine.entries[pid]
            out = entry is not None and type(entry[1]) in _GLOBAL_OPS
            self._pid_global[pid] = out
        return out

    def expand(self, key: Key, nexts: list | None = None) -> tuple[list[tuple[str, Key]], bool]:
        """(successors to explore, whether they are a proper subset of all of them); ``nexts``:
        the state's successors when the caller has them."""
        if nexts is None:
            nexts = self.engine.successors(key)
        if len(nexts) < 2 or self.engine.w_clock[key[0]] < self.max_ticks:
            return nexts, False
        groups: dict[int, list[tuple[str, Key]]] = {}
        spoiled: set[int] = set()
        for label, nxt in nexts:
            c = self._action_cluster(label, key)
            if c == GLOBAL:
                owner = self._owner_of_global(label, key)
                if owner is not None:
                    spoiled.add(owner)
                continue
            groups.setdefault(c, []).append((label, nxt))
        best = None
        for c in sorted(groups):
            if c in spoiled:
                continue
            if best is None or len(groups[c]) < len(groups[best]):
                best = c
        if best is None or len(groups[best]) == len(nexts):
            return nexts, False
        self.reduced += 1
        return groups[best], True

    def _owner_of_global(self, label: str, key: Key) -> Any:
        """The cluster a global action belongs to (its process's), so that cluster is not
        chosen as an ample set without it; None for actions of nobody's (tick)."""
        action = parse_action(label)
        if action.request is not None and action.kind is not ActionKind.ARRIVE:
            return self.cluster[action.request - 1]  # a client's step or its lost response
        if action.run is not None and action.kind in (ActionKind.CRASH, ActionKind.PROCESS):
            return self._run_cluster(self.engine.worlds[key[0]], action.run)
        return None


# -- run renumbering (audited strategies only: reject, adopt, inspect, supersede) ----------------

_RUN_ID_OPS = frozenset(
    {
        O.StartRun,
        O.ClaimHook,
        O.PerformEffect,
        O.GetRun,
        O.AwaitRun,
        O.DeliverPayload,
        O.ConsumePayload,
        O.PollPayload,
        O.DisposeHook,
        O.ReleaseHooks,
    }
)


def _rid(m: tuple[int, ...], run_id: int) -> int:
    return m[run_id - 1] if 1 <= run_id <= len(m) else run_id


def _renumber_output(value: Any, m: tuple[int, ...]) -> Any:
    """Run ids inside a run output, an error reason or a client answer (read by type)."""
    value = typed(value)
    kind = type(value)
    if kind is DuplicateOf or kind is ForwardedTo:
        return kind(_rid(m, value.owner)) if type(value.owner) is int else value
    if kind is RunStarted:
        return RunStarted(_rid(m, value.run)) if type(value.run) is int else value
    if kind is OwnerEnded:
        return OwnerEnded(value.status, _rid(m, value.run))
    if kind is Adopted:
        return Adopted(_renumber_output(value.output, m))
    return value


def _renumber_entry(entry: Any, m: tuple[int, ...]) -> Any:
    if entry is None:
        return None
    local, pending = entry
    if isinstance(local, Phase):
        local = local.renumber(lambda run_id: _rid(m, run_id), lambda out: _renumber_output(out, m))
    kind = type(pending)
    if kind in _RUN_ID_OPS:
        pending = pending._replace(run_id=_rid(m, pending.run_id))
    elif kind is O.CompleteRun:
        pending = O.CompleteRun(_rid(m, pending.run_id), _renumber_output(pending.output, m))
    elif kind is O.FailRun:
        pending = O.FailRun(_rid(m, pending.run_id), _renumber_output(pending.error, m))
    elif kind is O.CancelRun:
        pending = O.CancelRun(_rid(m, pending.run_id), _rid(m, pending.by))
    elif kind is Done:
        outcome = pending.outcome
        if isinstance(outcome, Succeeded):
            pending = Done(Succeeded(_renumber_output(outcome.value, m)))
        else:
            pending = Done(Failed(outcome.name, _renumber_output(outcome.detail, m)))
    elif kind is not O.CreateRun:
        raise AssertionError(f"run renumbering does not know {kind.__name__}")
    return (local, pending)


def _renumber_world(world: WorldState, m: tuple[int, ...]) -> WorldState:
    if world.keys:
        raise AssertionError("run renumbering does not know key entries")
    runs: list[Any] = [None] * len(world.runs)
    for r in world.runs:
        new = m[r.id - 1]
        runs[new - 1] = r._replace(id=new, output=_renumber_output(r.output, m))
    return world._replace(
        runs=tuple(runs),
        hooks=tuple(sorted(h._replace(run_id=_rid(m, h.run_id)) for h in world.hooks)),
        effects=tuple(e._replace(run_id=_rid(m, e.run_id)) for e in world.effects),
        delivered=tuple((p, _rid(m, r)) for p, r in world.delivered),
        consumed=tuple((p, _rid(m, r)) for p, r in world.consumed),
        cancels=tuple((_rid(m, a), _rid(m, b)) for a, b in world.cancels),
        records=tuple(sorted((k, _rid(m, r)) for k, r in world.records)),
    )


def make_key_reduction(engine: Engine, extra_properties: tuple = ()):
    """The reduction for this system, or None and why not."""
    reason = why_not(engine.system, extra_properties)
    if reason is not None:
        return None, reason
    red = KeyReduction(engine)
    return red, f"{red.count} independent key clusters"


__all__ = ["GLOBAL", "KeyReduction", "clusters_of", "make_key_reduction", "why_not"]
