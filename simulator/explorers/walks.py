"""Seeded, non-exhaustive explorers: uniform random walks and PCT.

Both run ``walks`` schedules from the initial state, each until nothing can move or the depth bound;
both count distinct states by fingerprint (up to the state budget) and stop once every checked
property has a counterexample. Same seed, same schedules: the generator is ``random.Random(seed)``
and the enabled actions come in the system's fixed order.

PCT (Burckhardt et al., ASPLOS 2010): every actor (a process, an arrival, the clock, a world-internal
step) gets a random priority above ``depth``; ``depth - 1`` change points are drawn over the walk
length; the enabled actor with the highest priority always runs, and at the i-th change point the
running actor drops to priority i. A bug of depth d is found with probability >= 1/(n k^(d-1)).
"""

from __future__ import annotations

import random

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
from simulator.system import System


def _walks(
    system: System,
    book: PropertyBook,
    budget: Budget,
    seed: int,
    walks: int,
    chooser,
    progress: Progress | None,
):
    clock = Clock()
    stats = Stats()
    rng = random.Random(seed)
    seen: set = set()
    successors = system.successors
    init = system.initial()
    seen.add(init)
    book.check(init, False, lambda: [])
    transitions = 0
    deepest = 0
    cut_off = None
    for walk in range(walks):
        if book.all_found:
            break
        choose = chooser(rng, budget.max_depth)
        state = init
        path: list[str] = []
        while True:
            nexts = successors(state)
            if not nexts:
                book.check(state, True, lambda p=path: list(p))
                break
            if len(path) >= budget.max_depth:
                cut_off = cut_off or f"depth bound {budget.max_depth} reached"
                break
            label, state = choose(nexts, len(path))
            path.append(label)
            transitions += 1
            if state not in seen:
                if len(seen) < budget.max_states:
                    seen.add(state)
                if book.invariants:
                    book.check(state, False, lambda p=path: list(p))
        if len(path) > deepest:
            deepest = len(path)
        stats.schedules = walk + 1
        if progress is not None and not walk & 0x3F:
            halt = progress(walk, walks)
            if halt:
                cut_off = halt
                break
    stats.states = len(seen)
    stats.transitions = transitions
    stats.max_depth = deepest
    stats.seconds = clock.seconds()
    return stats, False, cut_off


def random_walk(system, book, budget, seed=0, walks=1000, progress=None):
    def chooser(rng: random.Random, _k: int):
        def choose(nexts, _step):
            return nexts[rng.randrange(len(nexts))]

        return choose

    return _walks(system, book, budget, seed, walks, chooser, progress)


def pct(system, book, budget, seed=0, walks=1000, depth=3, progress=None):
    def chooser(rng: random.Random, k: int):
        # actions are the actors: ``r1`` and ``crash r1`` are scheduled independently, and the
        # arrival of a request and the clock compete like any process
        points = rng.sample(range(1, max(k, depth) + 1), depth - 1)
        change_points = {point: i for i, point in enumerate(points, start=1)}
        priorities: dict[str, float] = {}

        def choose(nexts, step):
            best = None
            best_priority = -1.0
            for label, nxt in nexts:
                actor = label
                priority = priorities.get(actor)
                if priority is None:
                    priority = depth + rng.random()
                    priorities[actor] = priority
                if priority > best_priority:
                    best, best_priority = (label, nxt), priority
            change = change_points.get(step + 1)
            if change is not None:
                priorities[best[0]] = change
            return best

        return choose

    return _walks(system, book, budget, seed, walks, chooser, progress)


class RandomWalks:
    """Uniform random walks (walks, seeded): never says holds; its counterexamples are shortened by
    step deletion."""

    name = "random"
    exhaustive = False
    shortens = True
    reads = frozenset({"seed", "max_depth", "max_states", "walks"})
    samples = "walks"

    def explore(
        self,
        system: System,
        book: PropertyBook,
        budget: Budget,
        options: SearchOptions,
        progress: Progress | None,
        extra_properties: tuple = (),
    ) -> Explored:
        return Explored(*random_walk(system, book, budget, options.seed, options.walks, progress))

    def check_options(self, options: SearchOptions) -> str | None:
        return None


class PCT:
    """PCT walks of bug depth pct_depth (walks, seeded): a race of that depth is found with a known
    probability; never says holds; counterexamples shortened by step deletion."""

    name = "pct"
    exhaustive = False
    shortens = True
    reads = frozenset({"seed", "max_depth", "max_states", "walks", "pct_depth"})
    samples = "walks"

    def explore(
        self,
        system: System,
        book: PropertyBook,
        budget: Budget,
        options: SearchOptions,
        progress: Progress | None,
        extra_properties: tuple = (),
    ) -> Explored:
        return Explored(
            *pct(
                system,
                book,
                budget,
                options.seed,
                options.walks,
                options.pct_depth,
                progress,
            )
        )

    def check_options(self, options: SearchOptions) -> str | None:
        if options.pct_depth < 1:  # d - 1 change points are drawn: d = 0 has none to draw
            return f"pct_depth must be an integer >= 1, got {options.pct_depth!r}"
        return None


EXPLORERS.register(RandomWalks(), "simulator/explorers/walks.py")
EXPLORERS.register(PCT(), "simulator/explorers/walks.py")
