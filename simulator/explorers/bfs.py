"""Breadth-first search: exhaustive, and the first counterexample per property is a shortest one.

Only parent pointers are kept during search (key -> index, index -> (parent index, action)); the
path is rebuilt and replayed when a violation is reported. No graph library in the loop.

The search runs over the engine's interned keys (``simulator/engine.py``), with the cyclic garbage
collector paused: the search allocates millions of acyclic tuples and keeps them all, so every
collection would walk the whole ``seen`` table for nothing.

With a ``canon`` function (symmetry reduction) ``seen`` holds canonical forms and the queue the
concrete representative first met for each orbit: every stored path is a real schedule, and BFS
over orbits reaches each orbit at the depth of its nearest member, so counterexample lengths are
those of the unreduced search. With ``expand`` (partial-order reduction) a state's successors
are a persistent subset of all of them.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Callable

from simulator.engine import Engine, Key, KeyBook
from simulator.explorers.base import Budget, Clock, Progress, PropertyBook, Stats
from simulator.system import System


def _path(parents: list[tuple[int, str | None]], index: int) -> list[str]:
    labels = []
    while index > 0:
        index, label = parents[index]
        labels.append(label)
    labels.reverse()
    return labels


def bfs(
    system: System,
    book: PropertyBook,
    budget: Budget,
    progress: Progress | None = None,
    *,
    engine: Engine | None = None,
    canon: Callable[[Key], Key] | None = None,
    expand: Callable[[Key], tuple[list[tuple[str, Key]], bool]] | None = None,
):
    paused = gc.isenabled()
    gc.disable()
    try:
        return _bfs(system, book, budget, progress, engine or Engine(system), canon, expand)
    finally:
        if paused:
            gc.enable()


def _bfs(system, book, budget, progress, engine, canon, expand):
    clock = Clock()
    stats = Stats()
    init = engine.initial()
    seen: dict = {canon(init) if canon else init: 0}
    parents: list[tuple[int, str | None]] = [(-1, None)]
    successors = engine.successors
    setdefault = seen.setdefault
    cut_off = None
    keybook = KeyBook(book, engine)
    check = keybook.check
    check(init, False, lambda: [])
    queue = deque([(init, 0, 0)])
    max_depth = budget.max_depth
    max_states = budget.max_states
    transitions = 0
    deepest = 0
    invariants = keybook.has_invariants
    while queue and not book.all_found:
        key, index, depth = queue.popleft()
        if expand is None:
            nexts = successors(key)
        else:
            nexts, reduced = expand(key)
            # cycle proviso: a reduced expansion that reaches a known state is made full
            if reduced and any(canon(nxt) in seen for _, nxt in nexts):
                nexts = successors(key)
        if not nexts:
            check(key, True, _path, parents, index)
            continue
        if depth >= max_depth:
            cut_off = cut_off or f"depth bound {max_depth} reached"
            continue
        child_depth = depth + 1
        for label, nxt in nexts:
            transitions += 1
            child = len(parents)
            # one hash per successor: setdefault both tests and inserts
            dedupe = canon(nxt) if canon else nxt
            if setdefault(dedupe, child) != child:
                continue
            if child >= max_states:
                del seen[dedupe]
                cut_off = f"state budget {max_states} reached"
                queue.clear()
                break
            parents.append((index, label))
            if child_depth > deepest:
                deepest = child_depth
            if invariants:
                check(nxt, False, _path, parents, child)
            queue.append((nxt, child, child_depth))
        if progress is not None and not len(parents) & 0x1FFF:
            progress(len(parents), max_states)
    stats.states = len(parents)
    stats.transitions = transitions
    stats.max_depth = deepest
    stats.seconds = clock.seconds()
    # stopping because every property is already violated leaves nothing unknown
    return stats, True, cut_off
