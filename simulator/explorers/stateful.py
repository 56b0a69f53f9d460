"""Hypothesis as an explorer: any scenario becomes a ``RuleBasedStateMachine``.

Rules schedule what the system can do next, one rule per kind of action so Hypothesis can vary
the mix (process steps, request arrivals, clock ticks, faults, world-internal steps); each rule's
precondition says whether that kind is enabled, and draws the concrete action from the enabled
ones, so no generated example is wasted. Invariant properties are checked after every step;
when Hypothesis stops adding steps, ``teardown`` completes the schedule in the system's default
order (first enabled action) and checks the final properties on the state where nothing can move.

The campaign hunts the scenario's expected property when it has one, otherwise any property; the
first failure is shrunk by Hypothesis, and the last (minimal) failing schedule is replayed into the
usual ``Violation``, so traces, ``--trace-out`` and ``idemrace replay`` work as for every explorer.
Other properties stay ``unknown``: this explorer never claims ``holds``.

Settings profiles (``IDEMRACE_HYPOTHESIS_PROFILE``): ``ci`` (default; fast and reliable for the
catalog), ``dev`` (more examples), ``deep`` (long campaigns). The ``explain`` phase is off: it
re-runs the failing example many times to annotate it, which we measured as the slowest phase and
which adds nothing to a replayable schedule.
"""

from __future__ import annotations

import os
import time

from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.control import target
from hypothesis.errors import HypothesisException
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, run_state_machine_as_test

from properties import FINAL, INVARIANT
from simulator.explorers.base import Budget, Progress, PropertyBook, Stats
from simulator.system import System

PROFILE_VARIABLE = "IDEMRACE_HYPOTHESIS_PROFILE"
PROFILES = {
    "ci": {"max_examples": 1_000},
    "dev": {"max_examples": 2_000},
    "deep": {"max_examples": 50_000},
}
_PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)


def profile_settings(name: str | None, max_depth: int, max_examples: int | None) -> settings:
    name = name or os.environ.get(PROFILE_VARIABLE, "ci")
    if name not in PROFILES:
        raise ValueError(
            f"{PROFILE_VARIABLE}={name!r} is not a profile; allowed: {', '.join(PROFILES)}"
        )
    examples = max_examples if max_examples is not None else PROFILES[name]["max_examples"]
    return settings(
        max_examples=max(1, examples),
        stateful_step_count=max(1, max_depth),
        deadline=None,
        database=None,  # the example database is opt-in: CI runs must not depend on it
        phases=_PHASES,
        derandomize=False,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


def _kind(label: str) -> str:
    if label.startswith("arrive "):
        return "arrive"
    if label == "tick":
        return "tick"
    if label.startswith("crash ") or label.endswith(" lost"):
        return "fault"
    if label.startswith("release ") or not (label.startswith("r")):
        return "world"
    return "process"


class _Found(AssertionError):
    pass


def hypothesis_explore(
    system: System,
    book: PropertyBook,
    budget: Budget,
    seed: int = 0,
    max_examples: int | None = None,
    profile: str | None = None,
    progress: Progress | None = None,
):
    start = time.perf_counter()
    scenario = system.scenario
    target_property = scenario.expected_property
    hunted = [
        p
        for p in book.invariants + book.finals + book.settles
        if target_property is None or p.name == target_property
    ]
    invariants = [p for p in hunted if p.kind == INVARIANT]
    finals = [p for p in hunted if p.kind == FINAL] + [p for p in hunted if p.settle is not None]
    stats = Stats()
    seen: set = set()
    last: dict = {}
    max_depth = budget.max_depth
    use_target = os.environ.get("IDEMRACE_HYPOTHESIS_TARGET", "1") != "0"

    def fail(prop_name: str, message: str, path: list[str]) -> None:
        if stats.first_found is None:
            stats.first_found = time.perf_counter() - start
            last["first_length"] = len(path)
        last["found"] = (prop_name, message, list(path))
        raise _Found(f"{prop_name}: {message}")

    class Machine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.state = system.initial()
            self.enabled = system.actions(self.state)  # recomputed once per step, not per rule
            self.path: list[str] = []
            self.most_live = 0
            stats.schedules += 1
            if progress is not None and not stats.schedules & 0x3F:
                progress(stats.schedules, max_examples or 0)

        def _labels(self, kind: str) -> list[str]:
            return [a for a in self.enabled if _kind(a) == kind]

        def _fire(self, label: str) -> None:
            self.state, _ = system.step(self.state, label)
            self.enabled = system.actions(self.state)
            self.path.append(label)
            stats.transitions += 1
            if len(seen) < budget.max_states:
                seen.add(self.state)
            for prop in invariants:
                message = prop.check(system, self.state)
                if message is not None:
                    fail(prop.name, message, self.path)
            live = sum(1 for r in self.state.world.runs if r.status in ("pending", "running"))
            self.most_live = max(self.most_live, live)

        def _rule(self, kind: str, data) -> None:
            self._fire(data.draw(st.sampled_from(self._labels(kind)), label=kind))

        def _can(self, kind: str) -> bool:
            return len(self.path) < max_depth and bool(self._labels(kind))

        @precondition(lambda self: self._can("process"))
        @rule(data=st.data())
        def process_step(self, data):
            self._rule("process", data)

        @precondition(lambda self: self._can("arrive"))
        @rule(data=st.data())
        def arrival(self, data):
            self._rule("arrive", data)

        @precondition(lambda self: self._can("tick"))
        @rule()
        def clock_tick(self):
            self._fire("tick")

        @precondition(lambda self: self._can("fault"))
        @rule(data=st.data())
        def fault(self, data):
            self._rule("fault", data)

        @precondition(lambda self: self._can("world"))
        @rule(data=st.data())
        def world_step(self, data):
            self._rule("world", data)

        @precondition(lambda self: len(self.path) >= max_depth or not self.enabled)
        @rule()
        def settled(self):
            """Nothing can move (or the depth bound is reached): the example is complete."""

        def teardown(self) -> None:
            # reward schedules that keep several runs alive at once: the races live in that
            # overlap (one target() per example; measured in benchmarks/explorer_race.py)
            if use_target:
                target(float(self.most_live), label="most live runs")
            # finish the schedule in the default order so final properties can be judged
            while len(self.path) < max_depth:
                actions = self.enabled
                if not actions:
                    for prop in finals:
                        check = prop.settle if prop.kind == INVARIANT else prop.check
                        message = check(system, self.state)
                        if message is not None:
                            fail(prop.name, message, self.path)
                    return
                self._fire(actions[0])

    if not hunted:
        return stats, False, None
    hypothesis_seed(seed)(Machine)
    try:
        run_state_machine_as_test(
            Machine, settings=profile_settings(profile, max_depth, max_examples)
        )
    except _Found:
        pass
    except HypothesisException as exc:  # a definition problem, not a counterexample
        raise ValueError(f"hypothesis explorer: {exc}") from None
    if "found" in last:
        prop_name, message, path = last["found"]
        book.found.setdefault(prop_name, (message, path))
    stats.states = len(seen)
    stats.max_depth = max_depth
    stats.seconds = time.perf_counter() - start
    return stats, False, None
