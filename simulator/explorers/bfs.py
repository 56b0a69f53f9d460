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
    """The queue is implicit: states are numbered in discovery order and BFS expands them in that
    order, so ``keys[i]`` (the key of state ``i``) is the queue and a level ends where the next
    level's first state was numbered. No per-state queue tuples, no per-state depth."""
    clock = Clock()
    stats = Stats()
    init = engine.initial()
    seen: dict = {canon(init) if canon else init: 0}
    keys: list[Key] = [init]  # state index -> the concrete key first met for it
    parents: list[tuple[int, str | None]] = [(-1, None)]
    successors = engine.successors
    setdefault = seen.setdefault
    append_key = keys.append
    append_parent = parents.append
    cut_off = None
    keybook = KeyBook(book, engine)
    check = keybook.check
    # the clean-token fast path of ``KeyBook.check``, inlined: one probe per new state
    token = keybook.token
    clean = keybook.clean
    all_found = check(init, False, lambda: []) and book.all_found
    max_depth = budget.max_depth
    max_states = budget.max_states
    transitions = 0
    invariants = keybook.has_invariants
    index = 0
    depth = 0
    level_end = 1  # first index of the next level
    while index < len(keys) and not all_found:
        if index == level_end:
            depth += 1
            level_end = len(keys)
        key = keys[index]
        if expand is None:
            nexts = successors(key)
        else:
            nexts, reduced = expand(key)
            # cycle proviso: a reduced expansion that reaches a known state is made full
            if reduced and any(canon(nxt) in seen for _, nxt in nexts):
                nexts = successors(key)
        if not nexts:
            if check(key, True, _path, parents, index):
                all_found = book.all_found
            index += 1
            continue
        if depth >= max_depth:
            cut_off = cut_off or f"depth bound {max_depth} reached"
            index += 1
            continue
        stop = False
        transitions += len(nexts)
        for position, (label, nxt) in enumerate(nexts):
            child = len(parents)
            # one hash per successor: setdefault both tests and inserts
            dedupe = nxt if canon is None else canon(nxt)
            if setdefault(dedupe, child) != child:
                continue
            if child >= max_states:
                del seen[dedupe]
                cut_off = f"state budget {max_states} reached"
                transitions -= len(nexts) - position - 1  # the ones never fired
                stop = True
                break
            append_parent((index, label))
            append_key(nxt)
            if invariants:
                if token is not None and token(nxt) in clean:
                    continue
                # every property violated: this state's other successors are still numbered
                # (as before), then the search stops
                if check(nxt, False, _path, parents, child) and book.all_found:
                    all_found = True
        if stop:
            break
        index += 1
        if progress is not None and not index & 0x1FFF:
            progress(len(parents), max_states)
    stats.states = len(parents)
    stats.transitions = transitions
    stats.max_depth = depth if len(keys) <= level_end else depth + 1
    stats.seconds = clock.seconds()
    # stopping because every property is already violated leaves nothing unknown
    return stats, True, cut_off


class BreadthFirst:
    """Breadth-first and exhaustive: says holds within the bounds, and its first counterexample per
    property is a shortest one.

    Runs under the state-space reductions of ``options.reductions`` (``simulator/reductions.py``);
    its traces are kept as found."""

    name = "bfs"
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
                bfs,
                system,
                book,
                budget,
                progress,
                reductions,
                extra_properties,
                shortest=True,
            )
        )

    def check_options(self, options: SearchOptions) -> str | None:
        return check_reductions(options.reductions)


EXPLORERS.register(BreadthFirst(), "simulator/explorers/bfs.py")
