"""Breadth-first search: exhaustive, and the first counterexample per property is a shortest one.

Only parent pointers are kept during search (state -> index, index -> (parent index, action)); the
path is rebuilt and replayed when a violation is reported. No graph library in the loop.
"""

from __future__ import annotations

from collections import deque

from simulator.explorers.base import Budget, Clock, Progress, PropertyBook, Stats
from simulator.system import System


def _path(parents: list[tuple[int, str | None]], index: int) -> list[str]:
    labels = []
    while index > 0:
        index, label = parents[index]
        labels.append(label)
    labels.reverse()
    return labels


def bfs(system: System, book: PropertyBook, budget: Budget, progress: Progress | None = None):
    clock = Clock()
    stats = Stats()
    init = system.initial()
    seen: dict = {init: 0}
    parents: list[tuple[int, str | None]] = [(-1, None)]
    successors = system.successors
    setdefault = seen.setdefault
    cut_off = None
    book.check(init, False, lambda: [])
    queue = deque([(init, 0, 0)])
    max_depth = budget.max_depth
    max_states = budget.max_states
    transitions = 0
    deepest = 0
    while queue and not book.all_found:
        state, index, depth = queue.popleft()
        nexts = successors(state)
        if not nexts:
            book.check(state, True, lambda i=index: _path(parents, i))
            continue
        if depth >= max_depth:
            cut_off = cut_off or f"depth bound {max_depth} reached"
            continue
        child_depth = depth + 1
        for label, nxt in nexts:
            transitions += 1
            child = len(parents)
            # one hash per successor: setdefault both tests and inserts
            if setdefault(nxt, child) != child:
                continue
            if child >= max_states:
                del seen[nxt]
                cut_off = f"state budget {max_states} reached"
                queue.clear()
                break
            parents.append((index, label))
            if child_depth > deepest:
                deepest = child_depth
            if book.invariants:
                book.check(nxt, False, lambda c=child: _path(parents, c))
            queue.append((nxt, child, child_depth))
        if progress is not None and not len(parents) & 0x1FFF:
            progress(len(parents), max_states)
    stats.states = len(parents)
    stats.transitions = transitions
    stats.max_depth = deepest
    stats.seconds = clock.seconds()
    # stopping because every property is already violated leaves nothing unknown
    return stats, True, cut_off
