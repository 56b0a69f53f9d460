"""Depth-first search with state dedupe.

With a depth bound, plain "visited" dedupe is incomplete (a state first met deep is cut off, and
the shallower path to it later is skipped). So a state is revisited when it is reached at a smaller
depth than before. When no bound bites, it visits exactly the states BFS does.

Like BFS it runs over the engine's interned keys with the garbage collector paused; ``canon``
(symmetry) dedupes on canonical forms, so BFS and DFS count the same orbits.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

from simulator.engine import Engine, Key, KeyBook
from simulator.explorers.base import (
    EXPLORERS,
    Budget,
    Clock,
    Explored,
    Progress,
    PropertyBook,
    SearchOptions,
    Stats,
)
from simulator.explorers.reduced import check_reductions, explore_reduced
from simulator.reductions import DEFAULT
from simulator.system import System


def dfs(
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
        return _dfs(system, book, budget, progress, engine or Engine(system), canon, expand)
    finally:
        if paused:
            gc.enable()


def _dfs(system, book, budget, progress, engine, canon, expand):
    clock = Clock()
    stats = Stats()
    init = engine.initial()
    seen: dict = {canon(init) if canon else init: 0}
    full = engine.successors

    def successors(key: Key) -> list[tuple[str, Key]]:
        if expand is None:
            return full(key)
        nexts, reduced = expand(key)
        # cycle proviso: a reduced expansion that reaches a known state is made full
        if reduced and any((canon(nxt) if canon else nxt) in seen for _, nxt in nexts):
            return full(key)
        return nexts

    keybook = KeyBook(book, engine)
    check = keybook.check
    invariants = keybook.has_invariants
    max_depth = budget.max_depth
    max_states = budget.max_states
    cut_off = None
    transitions = 0
    deepest = 0
    path: list[str] = []
    check(init, False, lambda: [])
    # stack of (iterator over successors, depth); path[:depth] names the way down
    init_next = successors(init)
    if not init_next:
        check(init, True, lambda: [])
    stack = [(iter(init_next), 0)]
    finals_checked = set()
    while stack and not book.done:
        frame, depth = stack[-1]
        step = next(frame, None)
        if step is None:
            stack.pop()
            if path:
                path.pop()
            continue
        label, nxt = step
        transitions += 1
        child_depth = depth + 1
        dedupe = canon(nxt) if canon else nxt
        known = seen.get(dedupe)
        if known is not None and known <= child_depth:
            continue
        if known is None:
            if len(seen) >= max_states:
                cut_off = f"state budget {max_states} reached"
                break
            seen[dedupe] = child_depth
            path.append(label)
            if invariants:
                check(nxt, False, lambda: list(path))
            path.pop()
        else:
            seen[dedupe] = child_depth
        if child_depth > deepest:
            deepest = child_depth
        nexts = successors(nxt)
        if not nexts:
            if dedupe not in finals_checked:
                finals_checked.add(dedupe)
                path.append(label)
                check(nxt, True, lambda: list(path))
                path.pop()
            continue
        if child_depth >= max_depth:
            cut_off = cut_off or f"depth bound {max_depth} reached"
            continue
        path.append(label)
        stack.append((iter(nexts), child_depth))
        if progress is not None and not len(seen) & 0x1FFF:
            halt = progress(len(seen), max_states)
            if halt:
                cut_off = halt
                break
    stats.states = len(seen)
    stats.transitions = transitions
    stats.max_depth = deepest
    stats.seconds = clock.seconds()
    return stats, True, cut_off


class DepthFirst:
    """Depth-first with state dedupe, exhaustive: says holds within the bounds and visits the states
    BFS does when no bound bites; its counterexamples need not be shortest.

    Runs under the state-space reductions of ``options.reductions`` (``simulator/reductions.py``);
    its traces are kept as found."""

    name = "dfs"
    exhaustive = True
    shortens = False
    reads = frozenset({"max_depth", "max_states", "reductions"})
    samples = None

    def explore(
        self,
        system: System,
        book: PropertyBook,
        budget: Budget,
        options: SearchOptions,
        progress: Progress | None,
        extra_properties: tuple = (),
    ) -> Explored:
        reductions = DEFAULT if options.reductions is None else options.reductions
        return Explored(
            *explore_reduced(
                dfs,
                system,
                book,
                budget,
                progress,
                reductions,
                extra_properties,
                shortest=False,
            )
        )

    def check_options(self, options: SearchOptions) -> str | None:
        return check_reductions(options.reductions)


EXPLORERS.register(DepthFirst(), "simulator/explorers/dfs.py")
