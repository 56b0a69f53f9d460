"""What every explorer shares: the result type, budgets, and property bookkeeping.

Every explorer returns the same ``CheckResult``, so the CLI, the tests and the reports treat them
alike. Verdicts:

* ``violated``: some checked property has a counterexample (a replayable schedule);
* ``holds``: the bounded space was exhausted (no depth or state budget cut anything off) and no
  property was violated: a statement about exactly the scenario's bounds;
* ``unknown``: a budget ran out first, or the explorer is not exhaustive (random, PCT).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from model.registry import Registry
from properties import FINAL, INVARIANT, PROPERTIES, Property
from simulator.system import Step, System, SystemState

VIOLATED = "violated"
HOLDS = "holds"
UNKNOWN = "unknown"


@dataclass
class Stats:
    states: int = 0  # distinct states seen
    transitions: int = 0  # transitions fired (including ones into known states)
    max_depth: int = 0
    seconds: float = 0.0
    schedules: int = 0  # walks (random, pct); 0 for exhaustive explorers
    first_found: float | None = None  # seconds to the first counterexample (before shrinking)
    reductions: tuple[str, ...] = ()  # state-space reductions applied (bfs, dfs)
    # bfs with storage fingerprint/bitstate: what was stored, its bytes a state, and the
    # omission probability or coverage estimate; None with full states
    storage: str | None = None
    stored_bytes: int = 0  # bytes of the visited-state store and parent links (not full)


@dataclass
class Violation:
    property: str
    message: str
    schedule: list[str]
    steps: list[Step]
    state: SystemState | None = field(default=None, repr=False)


@dataclass
class CheckResult:
    scenario: Any
    explorer: str
    verdict: str
    properties: dict[str, str]  # per-property verdict
    violations: list[Violation]
    stats: Stats
    seed: int | None = None
    exhausted: bool = False
    cut_off: str | None = None  # why the search is not exhaustive, if it is not

    @property
    def expected(self) -> str | None:
        return self.scenario.expect

    @property
    def matches(self) -> bool:
        """Does the verdict agree with the scenario's expectation (or, with none, is nothing
        violated)? ``unknown`` never matches an expectation: a bound is not a proof."""
        expect = self.scenario.expect
        if expect is None:
            return self.verdict != VIOLATED
        if expect == HOLDS:
            return self.verdict == HOLDS
        prop = expect.split(":", 1)[1]
        return self.properties.get(prop) == VIOLATED


class Budget:
    def __init__(self, max_depth: int, max_states: int) -> None:
        self.max_depth = max_depth
        self.max_states = max_states


class PropertyBook:
    """Tracks which properties are still unviolated and checks states against them."""

    def __init__(self, system: System, names: tuple[str, ...], extra: tuple = ()) -> None:
        self.system = system
        props = [PROPERTIES[n] for n in names] + list(extra)
        names = tuple(names) + tuple(p.name for p in extra)
        self.invariants: list[Property] = [p for p in props if p.kind == INVARIANT]
        self.finals: list[Property] = [p for p in props if p.kind == FINAL]
        self.settles: list[Property] = [p for p in props if p.settle is not None]
        self.names = names
        self.found: dict[str, tuple[str, Any]] = {}  # property -> (message, witness)
        # book -> whether the search should stop and start over (``simulator/history.py``: a
        # violation lets it keep less of the history); asked each time a violation is found
        self.restart_when: Callable[[PropertyBook], bool] | None = None
        self._asked_at = 0
        self.restart = False

    @property
    def all_found(self) -> bool:
        return len(self.found) == len(self.names)

    @property
    def done(self) -> bool:
        """Every property is violated, or the search is to start over (``restart_when``)."""
        found = len(self.found)
        if found == len(self.names):
            return True
        if self.restart_when is not None and found != self._asked_at:
            self._asked_at = found
            self.restart = self.restart_when(self)
        return self.restart

    def check(self, state: SystemState, final: bool, witness: Callable[[], Any]) -> bool:
        """Check ``state``; record the first violation of each property. True if any new one."""
        new = False
        for prop in self.invariants:
            if prop.name not in self.found:
                message = prop.check(self.system, state)
                if message is not None:
                    self.found[prop.name] = (message, witness())
                    new = True
        if final:
            for prop in self.finals:
                if prop.name not in self.found:
                    message = prop.check(self.system, state)
                    if message is not None:
                        self.found[prop.name] = (message, witness())
                        new = True
            for prop in self.settles:
                if prop.name not in self.found:
                    message = prop.settle(self.system, state)
                    if message is not None:
                        self.found[prop.name] = (message, witness())
                        new = True
        return new

    def result(
        self,
        scenario: Any,
        explorer: str,
        stats: Stats,
        exhaustive: bool,
        cut_off: str | None,
        seed: int | None = None,
        minimize: bool = False,
    ) -> CheckResult:
        """``minimize``: shorten each counterexample by step deletion (strict replay: the
        explorers whose ``shortens`` is set)."""
        from simulator.explorers.shrink import shrink

        by_name = {p.name: p for p in self.invariants + self.finals}
        violations = []
        per_property = {}
        for name in self.names:
            if name in self.found:
                message, schedule = self.found[name]
                if minimize:
                    schedule = shrink(self.system, list(schedule), by_name[name])
                state, steps = self.system.replay(list(schedule))
                prop = by_name[name]
                again = prop.check(self.system, state)
                if again is None and prop.settle is not None:
                    again = prop.settle(self.system, state)
                message = again or message
                violations.append(Violation(name, message, list(schedule), steps, state))
                per_property[name] = VIOLATED
            else:
                per_property[name] = HOLDS if exhaustive and cut_off is None else UNKNOWN
        if violations:
            verdict = VIOLATED
        elif exhaustive and cut_off is None:
            verdict = HOLDS
        else:
            verdict = UNKNOWN
        return CheckResult(
            scenario=scenario,
            explorer=explorer,
            verdict=verdict,
            properties=per_property,
            violations=violations,
            stats=stats,
            seed=seed,
            exhausted=exhaustive and cut_off is None,
            cut_off=cut_off,
        )


class Clock:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self.start


# (distinct states so far, state budget) -> None, or a reason to stop the search now (the CLI's
# --time-limit): the explorer then ends as if a budget ran out, with what it has, and the reason
# as its cut_off (so the verdict is unknown unless it found a counterexample)
Progress = Callable[[int, int], "str | None"]


# -- how to search: one value instead of a parameter list -------------------------------------


@dataclass(frozen=True)
class SearchOptions:
    """Which explorer, and the budgets and knobs it reads (each explorer declares which, in its
    ``reads``). ``None`` budgets are the scenario's bounds; a knob an explorer does not read is
    ignored by it. Checked once, here, when the value is made (one-line ``ValueError``)."""

    explorer: str = "bfs"
    seed: int = 0  # random, pct, hypothesis
    max_depth: int | None = None  # None: the scenario's bound
    max_states: int | None = None  # None: the scenario's bound
    walks: int = 1000  # schedules (random, pct; chunked by seed when distributed)
    pct_depth: int = 3  # PCT's bug depth d
    max_examples: int | None = None  # hypothesis; None: the settings profile's
    hypothesis_profile: str | None = None  # None: IDEMRACE_HYPOTHESIS_PROFILE, else ci
    # bfs, dfs: from ``simulator.reductions``; None = DEFAULT (all proven ones), frozenset() = none
    reductions: frozenset[str] | None = None
    # bfs: how visited states are kept: "full" (keys), "fingerprint" (64-bit hash compaction,
    # omission probability reported), "bitstate" (supertrace: never says holds)
    storage: str = "full"

    def __post_init__(self) -> None:
        if self.explorer not in EXPLORERS:
            raise ValueError(f"unknown explorer {self.explorer!r}; allowed: {', '.join(EXPLORERS)}")
        for name in ("seed", "walks", "pct_depth", "max_depth", "max_states", "max_examples"):
            value = getattr(self, name)
            if value is None and name.startswith("max_"):
                continue  # None: the scenario's bound, the profile's count
            if not _count(value):
                raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
        if self.reductions is not None:
            if isinstance(self.reductions, str) or not all(
                isinstance(r, str) for r in self.reductions
            ):
                raise ValueError(f"reductions must be a set of names, got {self.reductions!r}")
            # a set or tuple is taken as given; frozen, so the value stays hashable
            object.__setattr__(self, "reductions", frozenset(self.reductions))
        # an explorer's own rules for the knobs it reads (PCT's depth, Hypothesis's profile, the
        # reductions of BFS and DFS) apply when it is the one to run: the CLI passes every
        # flag's default whichever explorer runs
        problem = EXPLORERS[self.explorer].check_options(self)
        if problem:
            raise ValueError(problem)

    def replace(self, **changes: Any) -> SearchOptions:
        return dataclasses.replace(self, **changes)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


OPTION_NAMES = frozenset(f.name for f in dataclasses.fields(SearchOptions)) - {"explorer"}


# -- the explorer protocol and its registry ---------------------------------------------------


class Explored(NamedTuple):
    """What an explorer hands back; its counterexamples are in the ``PropertyBook``."""

    stats: Stats
    exhaustive: bool  # the bounded space was walked in full (cut_off says where it was not)
    cut_off: str | None  # why the search is not exhaustive, if it is not


class Explorer(Protocol):
    """One search strategy. It declares what it is, and ``explore`` records the first
    counterexample of each property in ``book`` (``PropertyBook.check``)."""

    name: str
    exhaustive: bool  # can say ``holds`` (it walks the whole bounded space)
    shortens: bool  # its counterexamples are shortened afterwards (``shrink.strict``)
    reads: frozenset[str]  # the ``SearchOptions`` fields it reads; "seed" = its result has one
    # the option counting independent seeded samples (a distributed campaign cuts it into
    # chunks, one seed each); None: the search is not a sum of samples
    samples: str | None

    def explore(
        self,
        system: System,
        book: PropertyBook,
        budget: Budget,
        options: SearchOptions,
        progress: Progress | None,
        extra_properties: tuple,
    ) -> Explored: ...

    def check_options(self, options: SearchOptions) -> str | None:
        """What is wrong with the knobs it reads, in one line (``SearchOptions`` raises it when
        the value is made), or None."""
        ...


def _check_explorer(entry: Any) -> str | None:
    for attr, kind in (("exhaustive", bool), ("shortens", bool), ("reads", frozenset)):
        if not isinstance(getattr(entry, attr, None), kind):
            return f"declare {attr} as a {kind.__name__}"
    if not callable(getattr(entry, "explore", None)):
        return "has no explore(system, book, budget, options, progress, extra_properties)"
    if not callable(getattr(entry, "check_options", None)):
        return "has no check_options(options) (return None when every option is fine)"
    unknown = sorted(entry.reads - OPTION_NAMES)
    if unknown:
        return f"reads {unknown[0]!r}, which is not a SearchOptions field"
    samples = getattr(entry, "samples", None)
    if samples is not None and samples not in entry.reads:
        return f"samples {samples!r} must be one of the options it reads"
    return None


# every explorer registers itself at the end of its own file; simulator/explorers/__init__.py
# imports the files in the order of the CLI's --explorer choices
EXPLORERS: Registry[Explorer] = Registry(
    "explorer",
    "simulator/explorers/ (one file per explorer, imported in simulator/explorers/__init__.py)",
    lambda entry: getattr(entry, "name", None),
    _check_explorer,
)
