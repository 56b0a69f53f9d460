"""What every explorer shares: the result type, budgets, and property bookkeeping.

Every explorer returns the same ``CheckResult``, so the CLI, the tests and the reports treat them
alike. Verdicts:

* ``violated``: some checked property has a counterexample (a replayable schedule);
* ``holds``: the bounded space was exhausted (no depth or state budget cut anything off) and no
  property was violated: a statement about exactly the scenario's bounds;
* ``unknown``: a budget ran out first, or the explorer is not exhaustive (random, PCT).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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

    @property
    def all_found(self) -> bool:
        return len(self.found) == len(self.names)

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
        """``minimize``: shorten each counterexample by step deletion (non-BFS explorers)."""
        from simulator.explorers.minimize import minimize as shorten

        by_name = {p.name: p for p in self.invariants + self.finals}
        violations = []
        per_property = {}
        for name in self.names:
            if name in self.found:
                message, schedule = self.found[name]
                if minimize:
                    schedule = shorten(self.system, list(schedule), by_name[name])
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


Progress = Callable[[int, int], None]  # (distinct states so far, state budget)
