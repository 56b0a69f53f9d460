"""Split by key: check each independent key cluster as its own scenario.

The key reduction (``simulator/por.py``) keeps one interleaving of independent clusters, but a
persistent-set search still visits every cluster's states once per final state of the clusters
explored before it: supersede on keys a,a,a,b,b,b was not exhausted at 5 million states. Under the
same audit (``por.why_not``: profile, strategies and properties audited, no ``after``/``during``
guard across clusters, since guards join clusters) the clusters share nothing but

* run ids (allocation order, observed only as identities: the key reduction's renumbering), and
* the clock, the crash budget and the lost-response budget.

The projection of any run of the whole scenario onto one cluster is a run of that cluster alone
(its ticks at the same places, its crashes and lost responses within the same budgets); and any
run of a cluster alone is such a projection (the other clusters can idle, and then finish without
a crash, a lost response or a tick). Every audited property is a conjunction of per-cluster
predicates (the key reduction's docstring lists why), checked on every state (invariants) or on
final states, where every cluster is final. So a property is violated in the whole scenario iff it
is violated in some cluster alone: each cluster is searched on its own (with the other
reductions), and the verdicts are combined.

Counterexamples are turned into schedules of the whole scenario: the violating cluster's schedule
first, with its requests renamed back (``req<j>`` of the cluster is ``req<i>`` of the scenario);
its runs are created first, so their ids are unchanged. For a property checked on final states, a
shortest schedule to a final state of every other cluster follows, its run ids shifted past the
runs already created. The violating cluster with the shortest total is reported, so BFS's lengths
are those of the unreduced search (``tests/test_reductions.py`` checks this).

The reported state count is the sum of the clusters' (no search visits the product).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from simulator.explorers.base import Budget, PropertyBook, Stats
from simulator.por import clusters_of, why_not
from simulator.scenario import Scenario
from simulator.system import System

_ACTOR = re.compile(r"\b(req|r)(\d+)\b")


def make_split(engine, extra_properties: tuple = ()) -> tuple[bool | None, str]:
    """(True, what it does) when the clusters can be searched alone, else (None, why not)."""
    reason = why_not(engine.system, extra_properties)
    if reason is not None:
        return None, reason
    return True, "each key cluster is searched alone"


def sub_scenarios(cluster: list[int], count: int) -> list[list[int]]:
    """1-based request indices of each cluster, in scenario order."""
    members: list[list[int]] = [[] for _ in range(count)]
    for i, c in enumerate(cluster):
        members[c].append(i + 1)
    return members


def restrict(scenario: Scenario, indices: list[int]) -> Scenario:
    """The scenario with only requests ``indices`` (1-based), renumbered 1..m."""
    new_of = {old: new for new, old in enumerate(indices, start=1)}
    requests = tuple(
        dataclasses.replace(
            scenario.requests[old - 1],
            index=new_of[old],
            after=None if (a := scenario.requests[old - 1].after) is None else new_of[a],
            during=None if (d := scenario.requests[old - 1].during) is None else new_of[d],
        )
        for old in indices
    )
    return dataclasses.replace(
        scenario, name=f"{scenario.name}[{','.join(map(str, indices))}]", requests=requests
    )


def rename(labels: list[str], requests: list[int], run_offset: int) -> list[str]:
    """Labels of a cluster's schedule as labels of the whole scenario."""

    def one(match: re.Match) -> str:
        kind, number = match.group(1), int(match.group(2))
        if kind == "req":
            return f"req{requests[number - 1]}"
        return f"r{number + run_offset}"

    return [_ACTOR.sub(one, label) for label in labels]


def _to_final(system: System, budget: Budget) -> tuple[list[str] | None, str | None]:
    """A shortest schedule of ``system`` (one cluster) from its start to a final state, and
    None; or None and why none was found within the budgets (None and None: it has none)."""
    from simulator.engine import Engine

    engine = Engine(system)
    start = engine.initial()
    parents: dict = {start: None}
    frontier = [start]
    depth = 0
    while frontier:
        if depth > budget.max_depth or len(parents) > budget.max_states:
            return None, "no final state of another key cluster within the budgets"
        nxt_frontier = []
        for key in frontier:
            nexts = engine.successors(key)
            if not nexts:
                path = []
                while parents[key] is not None:
                    key, label = parents[key]
                    path.append(label)
                return path[::-1], None
            for label, nxt in nexts:
                if nxt not in parents:
                    parents[nxt] = (key, label)
                    nxt_frontier.append(nxt)
        frontier = nxt_frontier
        depth += 1
    return None, None


def explore_split(system: System, book: PropertyBook, budget: Budget, run: Callable):
    """Search each key cluster alone with ``run(sub_system, sub_book, budget)`` (the rest of the
    reductions; the state budget is what the clusters before it left), and record in ``book``
    what the whole scenario's search would have: per property, the shortest counterexample over
    the clusters. Returns (stats, exhaustive, cut_off) as a search does, or None when the
    scenario has a single cluster."""
    cluster, count = clusters_of(system)
    if count < 2:
        return None
    scenario = system.scenario
    groups = sub_scenarios(cluster, count)
    stats = Stats()
    exhaustive, cut_off = True, None
    subs = []
    final_names = {p.name for p in book.finals} | {p.name for p in book.settles}
    storages = []
    for indices in groups:
        # the state budget bounds the whole search: each cluster gets what the others left
        left = budget.max_states - stats.states
        if left <= 0:
            cut_off = cut_off or f"state budget {budget.max_states} reached"
            break
        sub_system = System(restrict(scenario, indices))
        sub_book = PropertyBook(sub_system, tuple(book.names))
        sub_stats, sub_exhaustive, sub_cut = run(
            sub_system, sub_book, Budget(budget.max_depth, left)
        )
        stats.states += sub_stats.states
        stats.transitions += sub_stats.transitions
        stats.max_depth += sub_stats.max_depth
        stats.stored_bytes += sub_stats.stored_bytes
        if sub_stats.storage:
            storages.append((sub_stats.states, sub_stats.storage))
        exhaustive = exhaustive and sub_exhaustive
        if sub_cut is not None and sub_cut.startswith("state budget"):
            sub_cut = f"state budget {budget.max_states} reached"
        cut_off = cut_off or sub_cut
        subs.append((indices, sub_system, sub_book))
    if storages:
        stats.storage = (
            f"{len(storages)} key clusters searched alone; the largest: {max(storages)[1]}"
        )
    # counterexamples of the whole scenario
    finals: dict[int, tuple[list[str], int] | None] = {}

    def to_final(k: int):
        nonlocal cut_off
        if k not in finals:
            _, sub_system, _ = subs[k]
            path, why = _to_final(sub_system, budget)
            if why is not None:
                # a final-state violation that cannot be completed is not a pass: unknown
                cut_off = cut_off or f"split: {why}"
            runs = 0
            if path is not None:
                runs = len(sub_system.replay(path)[0].world.runs)
            finals[k] = None if path is None else (path, runs)
        return finals[k]

    for name in book.names:
        best = None
        for k, (indices, sub_system, sub_book) in enumerate(subs):
            found = sub_book.found.get(name)
            if found is None:
                continue
            message, labels = found
            schedule = rename(list(labels), indices, 0)
            end = sub_system.replay(list(labels))[0]
            prop = next(p for p in (*book.invariants, *book.finals) if p.name == name)
            at_once = prop in book.invariants and prop.check(sub_system, end) is not None
            if name in final_names and not at_once:
                # found on a final state: every other cluster must be final too
                offset = len(end.world.runs)
                complete = True
                for j, (others, _, _) in enumerate(subs):
                    if j == k:
                        continue
                    tail = to_final(j)
                    if tail is None:
                        complete = False
                        break
                    path, runs = tail
                    schedule += rename(path, others, offset)
                    offset += runs
                if not complete:
                    continue
            if best is None or len(schedule) < len(best[1]):
                best = (message, schedule)
        if best is not None:
            book.found[name] = best
    return stats, exhaustive, cut_off


__all__ = ["explore_split", "make_split", "rename", "restrict"]
