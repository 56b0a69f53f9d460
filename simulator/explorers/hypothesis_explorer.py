"""Hypothesis as an explorer: any scenario becomes a ``hypothesis.stateful.RuleBasedStateMachine``.

The machine wraps one ``SystemState``. An ``@initialize`` rule draws which kinds of action this
example mutes (swarm testing: some examples never tick, never crash, or let arrivals race alone);
the one ``schedule`` rule then picks a kind among those enabled (a process step, a request
arrival, a clock tick, a fault: body crash or lost start response, a world-internal step), an
action of that kind from ``System.actions(state)``, and for a process how many steps it runs in a
row. Picks are taken modulo what is enabled, so every call is legal and no example is wasted (no
preconditions to fail, no filtered draws). One rule rather than one per kind: with per-kind rules
and preconditions, Hypothesis's own swarm flags switched off every valid rule in a third of the
examples, which it then discards as invalid.

Properties: one ``@invariant`` per hunted invariant property, checked after every rule (and inside
a burst); final properties (and the ``settle`` half of invariants such as newest-wins) are checked
once nothing is enabled, either by ``schedule`` or in ``teardown``, which first completes the
schedule in the system's default order (first enabled action). The completion is what makes
shrinking strong: deleted choices are filled in deterministically. After Hypothesis (whose shrink
phase is capped, or off in ``ci``), ``simulator/explorers/shrink.py`` deletes steps from the
schedule itself while the violation survives (its ``completing`` replay, which skips what is not
enabled and completes in the default order as ``teardown`` does): a replay costs far less than a
stateful example.

The campaign hunts the scenario's expected property when it names one (otherwise every checked
property). The shortest failing schedule seen (the shrunk one, almost always) is returned as a
plain schedule of action labels, replayed by ``PropertyBook.result`` into the usual ``Violation``:
traces, ``--trace-out`` and ``idemrace replay`` work as for every explorer. A sample never proves
anything: properties without a counterexample stay ``unknown``.

Determinism: the run is seeded with ``hypothesis.seed(seed)`` and the example database is off, so
a seed gives the same shrunk schedule byte for byte. ``IDEMRACE_HYPOTHESIS_DATABASE=DIR`` turns the
database on (a failure found once is replayed first next time; results then depend on that
directory, so CI leaves it unset).

Settings profiles (``IDEMRACE_HYPOTHESIS_PROFILE``, default ``ci``): see ``PROFILES``.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.control import target
from hypothesis.errors import HypothesisException
from hypothesis.internal.conjecture import engine as _engine
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from model.state import TERMINAL
from properties import INVARIANT, Property
from simulator.actions import ActionKind, parse_action
from simulator.explorers.base import (
    EXPLORERS,
    Budget,
    Explored,
    Progress,
    PropertyBook,
    SearchOptions,
    Stats,
)
from simulator.explorers.shrink import COMPLETING_BUDGET, completing, shrink
from simulator.system import System, SystemState

PROFILE_VARIABLE = "IDEMRACE_HYPOTHESIS_PROFILE"
DATABASE_VARIABLE = "IDEMRACE_HYPOTHESIS_DATABASE"
# "1" turns target() on. Off by default, measured: maximizing the live runs per key (or the runs
# plus effects per key) found the hardest catalog races no sooner and, at 100 examples, less
# often (just-completed-window 3/5 seeds instead of 5/5): Hypothesis mutates towards the
# widest overlap, while these races need the owner to finish before the duplicate moves
TARGET_VARIABLE = "IDEMRACE_HYPOTHESIS_TARGET"


@dataclass(frozen=True)
class HypothesisProfile:
    max_examples: int  # examples generated before giving up
    # successful shrinks Hypothesis may make (its own limit is 500; 0 turns the shrink phase
    # off); ``shrink`` then finishes on the schedule itself, which is far cheaper per step
    max_shrinks: int
    help: str

    @property
    def phases(self) -> tuple[Phase, ...]:
        return _PHASES if self.max_shrinks else tuple(p for p in _PHASES if p != Phase.shrink)


# ``explain`` is off everywhere: after shrinking it re-runs the minimal example many times to
# annotate which choices could vary, which for a stateful machine costs more than the whole
# shrink (benchmarks/explorers.py --explain measures it) and adds nothing to a replayable
# schedule. ``explicit`` and ``reuse`` are no-ops without @example and without a database.
_PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)
PROFILES: dict[str, HypothesisProfile] = {
    "ci": HypothesisProfile(300, 0, "fast: finds every catalog race with the tests' fixed seeds"),
    "dev": HypothesisProfile(2_000, 100, "a longer hunt on a scenario you are writing"),
    "deep": HypothesisProfile(20_000, 500, "long campaigns on scenarios too big for BFS"),
}


@contextmanager
def _shrink_cap(max_shrinks: int) -> Iterator[None]:
    """Hypothesis stops shrinking after ``MAX_SHRINKS`` successful shrinks; it has no setting for
    it, so the module constant is set for the duration of one campaign (and restored). A stateful
    example costs far more than a schedule replay, so a small cap plus ``shrink`` is both faster
    and as short (benchmarks/explorers.py --shrink-study measures it)."""
    if not max_shrinks or not hasattr(_engine, "MAX_SHRINKS"):
        yield
        return
    saved = _engine.MAX_SHRINKS
    _engine.MAX_SHRINKS = max_shrinks
    try:
        yield
    finally:
        _engine.MAX_SHRINKS = saved


def profile_named(name: str | None) -> HypothesisProfile:
    name = name or os.environ.get(PROFILE_VARIABLE) or "ci"
    if name not in PROFILES:
        raise ValueError(
            f"{PROFILE_VARIABLE}={name!r} is not a profile; allowed: {', '.join(PROFILES)}"
        )
    return PROFILES[name]


def hypothesis_settings(
    profile: HypothesisProfile, steps: int, max_examples: int | None, explain: bool = False
) -> settings:
    database = None
    folder = os.environ.get(DATABASE_VARIABLE)
    if folder:
        from hypothesis.database import DirectoryBasedExampleDatabase

        database = DirectoryBasedExampleDatabase(folder)
    phases = profile.phases + ((Phase.explain,) if explain else ())
    return settings(
        max_examples=max(1, max_examples if max_examples is not None else profile.max_examples),
        stateful_step_count=max(1, steps),
        deadline=None,
        database=database,
        phases=phases,
        derandomize=False,  # hypothesis.seed(seed) decides the run
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,  # the counterexample is ours to print, not Hypothesis's
        print_blob=False,
    )


# -- kinds of action -------------------------------------------------------------------------------

PROCESS, ARRIVE, TICK, FAULT, WORLD = "process", "arrive", "tick", "fault", "world"
_RULE_OF = {
    ActionKind.TICK: TICK,
    ActionKind.ARRIVE: ARRIVE,
    ActionKind.CRASH: FAULT,
    ActionKind.LOST: FAULT,
    ActionKind.PROCESS: PROCESS,
    ActionKind.WORLD: WORLD,  # world-internal steps the profile offers (e.g. release r1)
}
KINDS = (PROCESS, ARRIVE, TICK, FAULT, WORLD)
BURST = 4  # most steps one process may take in a row within one rule
# taken modulo the enabled kinds / actions of a kind: 60 is a multiple of 1..6, so the pick is
# uniform for up to six choices (sampled_from draws uniformly; bounded integers favour 0)
_KIND_PICK = st.sampled_from(range(60))
_PICK = st.sampled_from(range(60))
_BURST = st.integers(min_value=1, max_value=BURST)
STEP_SLACK = 8  # rule calls beyond the default schedule's length (see rule_steps)


def kind_of(system: System, label: str) -> str:
    """The rule family an action belongs to (``simulator.actions`` says what a label means)."""
    return _RULE_OF[parse_action(label).kind]


def key_overlap(system: System, state: SystemState) -> int:
    """The most runs alive at once for one request key: the races live in that overlap."""
    counts: dict[str, int] = {}
    requests = system.requests
    for run in state.world.runs:
        if run.status not in TERMINAL:
            key = requests[run.request - 1].key
            counts[key] = counts.get(key, 0) + 1
    return max(counts.values(), default=0)


class _Found(AssertionError):
    """Raised inside the machine when a hunted property fails (Hypothesis then shrinks it)."""


class _Stopped(KeyboardInterrupt):
    """Raised inside the machine when the progress callback asks to stop (--time-limit).
    Hypothesis lets a KeyboardInterrupt through at once (any other exception is a failure to
    shrink); caught right around the campaign, never seen outside this module."""


class _Recorder:
    """Every failure Hypothesis provokes; keeps the shortest schedule per property."""

    def __init__(self, start: float, stats: Stats) -> None:
        self.start = start
        self.after_first = 0  # examples run since the first failure (shrink attempts)
        self.on_example: Callable[[], None] | None = None
        self.stats = stats
        self.best: dict[str, tuple[str, list[str]]] = {}
        self.first: tuple[str, list[str]] | None = None
        self.failures = 0

    def fail(self, prop: Property, message: str, path: list[str]) -> None:
        self.failures += 1
        if self.first is None:
            self.first = (prop.name, list(path))
            self.stats.first_found = time.perf_counter() - self.start
        known = self.best.get(prop.name)
        if known is None or len(path) < len(known[1]):
            self.best[prop.name] = (message, list(path))
        raise _Found(f"{prop.name}: {message}")


def build_machine(
    system: System,
    invariants: list[Property],
    finals: list[Property],
    max_depth: int,
    recorder: _Recorder,
    stats: Stats,
    seen: set,
    max_states: int,
    use_target: bool = True,
) -> type[RuleBasedStateMachine]:
    """The scenario as a ``RuleBasedStateMachine`` class (one per campaign: rules close over it)."""
    actions = system.actions
    step = system.step
    kind = {}  # label -> kind, memoized: labels repeat across examples

    def kinds(labels: list[str]) -> dict[str, list[str]]:
        by_kind: dict[str, list[str]] = {}
        for label in labels:
            k = kind.get(label)
            if k is None:
                k = kind[label] = kind_of(system, label)
            by_kind.setdefault(k, []).append(label)
        return by_kind

    def judge_final(machine: Base) -> None:
        for prop in finals:
            check = prop.settle if prop.kind == INVARIANT else prop.check
            message = check(system, machine.state)
            if message is not None:
                recorder.fail(prop, message, machine.path)

    class Base(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.state = system.initial()
            self.path: list[str] = []
            self.by_kind = kinds(actions(self.state))
            self.overlap = 0
            self.judged = False
            self.muted: frozenset[str] = frozenset()
            stats.schedules += 1
            if recorder.first is not None:
                recorder.after_first += 1
            if recorder.on_example is not None:
                recorder.on_example()

        def fire(self, label: str) -> None:
            self.state, _ = step(self.state, label)
            self.path.append(label)
            self.by_kind = kinds(actions(self.state))
            stats.transitions += 1
            if len(self.path) > stats.max_depth:
                stats.max_depth = len(self.path)
            if len(seen) < max_states:
                seen.add(self.state)
            if use_target:
                self.overlap = max(self.overlap, key_overlap(system, self.state))

        @initialize(muted=st.frozensets(st.sampled_from(KINDS)))
        def swarm(self, muted: frozenset[str]) -> None:
            """Swarm testing: each example mutes some kinds of action (never all that are
            enabled), so some examples never tick, never crash, or let arrivals race alone.
            Our own flags, not Hypothesis's per-rule ones: with one rule those cannot apply,
            and per-kind rules made a third of all examples invalid (every valid rule
            switched off), which is the waste the preconditions are there to avoid."""
            self.muted = muted

        @rule(kind=_KIND_PICK, pick=_PICK, burst=_BURST)
        def schedule(self, kind: int, pick: int, burst: int) -> None:
            """Fire one enabled action: first a kind (process step, arrival, tick, fault,
            world step), then which one of that kind; a process runs up to ``burst`` steps in
            a row (fewer if it blocks or ends), because races often need one actor to run
            through while the others wait, which single steps reach only with a probability
            that shrinks geometrically in the length of the run. The choices are plain integers
            taken modulo what is enabled (fixed strategies: building a ``sampled_from`` per step
            cost more than the simulation); all shrink towards the system's default order
            (first kind, first action, one step)."""
            if not self.by_kind or len(self.path) >= max_depth:
                # nothing can move (or the depth bound is reached): judge the final state once
                if not self.by_kind and not self.judged:
                    self.judged = True
                    judge_final(self)
                return
            open_kinds = [k for k in KINDS if k in self.by_kind and k not in self.muted]
            if not open_kinds:
                open_kinds = [k for k in KINDS if k in self.by_kind]
            k = open_kinds[kind % len(open_kinds)]
            labels = self.by_kind[k]
            label = labels[pick % len(labels)]
            self.fire(label)
            if k != PROCESS:
                return
            for _ in range(burst - 1):
                if len(self.path) >= max_depth or label not in self.by_kind.get(PROCESS, ()):
                    break
                self.check_now()  # Hypothesis checks the invariants after the rule, not inside
                self.fire(label)

        def check_now(self) -> None:
            for prop in invariants:
                message = prop.check(system, self.state)
                if message is not None:
                    recorder.fail(prop, message, self.path)

        def teardown(self) -> None:
            if use_target:
                # one observation per example: the widest overlap of live runs for one key
                target(float(self.overlap), label="live runs for one key")
            if self.judged:
                return
            # complete the schedule in the default order so final properties can be judged;
            # the shrinker relies on this: deleted choices are filled in deterministically
            while self.by_kind:
                if len(self.path) >= max_depth:
                    return
                self.fire(actions(self.state)[0])
                self.check_now()
            self.judged = True
            judge_final(self)

    namespace: dict[str, Callable] = {}
    for index, prop in enumerate(invariants):

        def check_invariant(self, prop: Property = prop) -> None:
            # Hypothesis re-checks invariants after no-op steps too; the path length says
            # whether the state changed since the last check
            checked = self.__dict__.setdefault("_checked", {})
            if checked.get(prop.name) == len(self.path):
                return
            checked[prop.name] = len(self.path)
            message = prop.check(system, self.state)
            if message is not None:
                recorder.fail(prop, message, self.path)

        check_invariant.__name__ = f"invariant_{index}_{prop.name.replace('-', '_')}"
        namespace[check_invariant.__name__] = invariant()(check_invariant)
    # the class name keys the optional example database: one entry per scenario meaning
    name = f"Scenario_{system.scenario.digest}"
    namespace["__module__"] = __name__
    return type(name, (Base,), namespace)


def rule_steps(system: System, max_depth: int) -> int:
    """Rule calls per example. Hypothesis runs every example to its step count, and once the
    system has settled the remaining calls are no-ops that cost as much as real ones (a third of
    the time on the catalog). The default-order schedule's length is the yardstick: a rule fires
    one or more actions (bursts), schedules that tick, crash or retry run longer, and ``teardown``
    completes whatever the rules left, so that many calls leave the tail to them and to it."""
    state = system.initial()
    length = 0
    while length < max_depth:
        enabled = system.actions(state)
        if not enabled:
            break
        state, _ = system.step(state, enabled[0])
        length += 1
    return min(max_depth, STEP_SLACK + length)


def hunted_properties(book: PropertyBook, expected: str | None) -> tuple[list, list]:
    """(invariants, finals) to hunt: the expected property if the scenario names one, else all.
    Finals include the ``settle`` half of invariants (judged on final states)."""
    wanted = (lambda p: p.name == expected) if expected else (lambda p: True)
    invariants = [p for p in book.invariants if wanted(p)]
    finals = [p for p in book.finals if wanted(p)] + [p for p in book.settles if wanted(p)]
    return invariants, finals


def hypothesis_explore(
    system: System,
    book: PropertyBook,
    budget: Budget,
    seed: int = 0,
    max_examples: int | None = None,
    profile: str | None = None,
    progress: Progress | None = None,
    *,
    use_target: bool | None = None,
    explain: bool = False,
    max_shrinks: int | None = None,
    shrink_steps: bool = True,
):
    """Run one seeded Hypothesis campaign; record the shortest counterexample in ``book``.
    Returns ``(stats, exhaustive=False, cut_off)`` like the other explorers."""
    start = time.perf_counter()
    chosen = profile_named(profile)
    if use_target is None:
        use_target = os.environ.get(TARGET_VARIABLE, "0") == "1"
    stats = Stats()
    invariants, finals = hunted_properties(book, system.scenario.expected_property)
    if not invariants and not finals:
        stats.seconds = time.perf_counter() - start
        return stats, False, "no property to hunt"
    recorder = _Recorder(start, stats)
    seen: set = set()
    machine = build_machine(
        system,
        invariants,
        finals,
        budget.max_depth,
        recorder,
        stats,
        seen,
        budget.max_states,
        use_target,
    )
    hypothesis_seed(seed)(machine)
    if max_shrinks is not None:
        chosen = dataclasses.replace(chosen, max_shrinks=max_shrinks)
    the_settings = hypothesis_settings(
        chosen, rule_steps(system, budget.max_depth), max_examples, explain
    )
    if progress is not None:
        total = the_settings.max_examples

        def report_progress() -> None:  # examples so far (the CLI's bar), every 64
            if not stats.schedules & 0x3F:
                halt = progress(stats.schedules, total)
                if halt:
                    raise _Stopped(halt)

        recorder.on_example = report_progress
    halted = None
    try:
        with _shrink_cap(chosen.max_shrinks):
            run_state_machine_as_test(machine, settings=the_settings)
    except _Found:
        pass  # the shrunk counterexample; the recorder has kept it
    except _Stopped as exc:  # the time limit: keep what was found so far
        halted = str(exc)
    except HypothesisException as exc:  # a definition problem, not a counterexample
        raise ValueError(f"hypothesis explorer: {type(exc).__name__}: {exc}") from None
    by_name = {p.name: p for p in invariants + finals}
    for name, (message, path) in recorder.best.items():
        if shrink_steps:
            replay = completing(budget.max_depth)
            path = shrink(system, path, by_name[name], replay, COMPLETING_BUDGET)
        book.found.setdefault(name, (message, path))
    stats.states = len(seen)
    stats.seconds = time.perf_counter() - start
    cut_off = None if recorder.best else f"{stats.schedules} examples, no counterexample"
    cut_off = halted or cut_off
    return stats, False, cut_off


class HypothesisExplorer:
    """Hypothesis stateful search (max_examples, settings profile, seeded): for races too deep for
    BFS's state budget; never says holds; counterexamples shrunk by Hypothesis, then by step
    deletion.

    The campaign (module doc) shrinks its schedules with ``shrink``'s completing replay; ``check``
    then shrinks them once more with the strict replay, as it does the walks'."""

    name = "hypothesis"
    exhaustive = False
    shortens = True
    reads = frozenset({"seed", "max_depth", "max_states", "max_examples", "hypothesis_profile"})
    samples = "max_examples"

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
            *hypothesis_explore(
                system,
                book,
                budget,
                options.seed,
                options.max_examples,
                options.hypothesis_profile,
                progress,
            )
        )

    def check_options(self, options: SearchOptions) -> str | None:
        name = options.hypothesis_profile
        if name is not None and name not in PROFILES:
            return f"hypothesis_profile {name!r} is not a profile; allowed: {', '.join(PROFILES)}"
        return None


EXPLORERS.register(HypothesisExplorer(), "simulator/explorers/hypothesis_explorer.py")
