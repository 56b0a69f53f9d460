"""Differential replay: explorer schedules, step by step, against a fresh backend.

For every catalog scenario whose profile the backend supports, schedules come from two explorers
over the scenario's ``System``:

* BFS: the breadth-first spanning tree of the state space (up to ``bfs_states`` states); every
  path from the root to a leaf of that tree is one schedule, so every discovered state is reached
  by some replayed prefix;
* transitions: every other transition out of an expanded state (one whose target was already
  reached another way, or lies past the state bound) is replayed too: a schedule runs the tree
  path to its source, takes it, and goes on along transitions not yet covered (a greedy chain),
  so every transition of the explored graph is sent to the backend, not only each state once;
* random: ``walks`` seeded random walks to a dead end or the depth bound.

The coverage figure is the transitions of the explored graphs that replayed schedules took,
out of all of them (``transitions_covered`` / ``transitions_explored``).

Each schedule runs on a freshly reset backend. A step maps to the backend like this: a process's
step performs its pending op (a lost response performs it too: the backend must give the result
the caller never saw); ``release rN`` performs ``ReleaseHooks``; ``tick`` performs the clock op;
``arrive`` is process-level and touches no storage, and so is ``crash`` except for the step whose
effect it interrupts (``StepCrashed``: that effect was performed, and is sent). Every result
must equal the model's; at the end of the schedule the backend's whole store must equal the
model's world. The first divergence is reported with the schedule prefix that reaches it.
"""

from __future__ import annotations

import random
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from backends.protocol import Backend, StoreUnreadable
from backends.validate.history import answer
from backends.validate.statediff import state_diff
from catalog import catalog
from model import ops as O
from simulator.scenario import Scenario
from simulator.system import Arrive, Crash, Step, System


@dataclass
class Divergence:
    scenario: str
    schedule: str  # "bfs #3" / "random #12"
    prefix: list[str]  # the labels up to and including the divergent step
    step: int  # 1-based; len(prefix) + 1 for a final-state difference
    op: str
    model: str
    backend: str
    diff: list[str] = field(default_factory=list)  # a final state: what differs, line by line

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class DifferentialResult:
    scenarios: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # catalog scenarios of other profiles
    schedules: int = 0
    # schedules not replayed because they need an op the backend does not perform (OPS)
    skipped_schedules: int = 0
    unsupported_ops: set[str] = field(default_factory=set)
    final_state_compared: bool = True
    steps: int = 0
    backend_ops: int = 0
    # transitions of the explored graphs (every successor of every expanded state), and those a
    # replayed schedule took
    transitions_explored: int = 0
    transitions_covered: int = 0
    seconds: float = 0.0
    divergence: Divergence | None = None

    @property
    def conformant(self) -> bool:
        return self.divergence is None


def bfs_schedules(system: System, max_states: int, max_depth: int) -> list[list[str]]:
    """Root-to-leaf paths of the BFS spanning tree, in discovery order."""
    root = system.initial()
    parent: dict[Any, tuple[Any, str] | None] = {root: None}
    order = [root]
    has_child: set[Any] = set()
    depth = {root: 0}
    queue = deque([root])
    while queue and len(parent) < max_states:
        state = queue.popleft()
        if depth[state] >= max_depth:
            continue
        for label, nxt in system.successors(state):
            if nxt in parent:
                continue
            parent[nxt] = (state, label)
            depth[nxt] = depth[state] + 1
            has_child.add(state)
            order.append(nxt)
            queue.append(nxt)
            if len(parent) >= max_states:
                break
    schedules = []
    for state in order:
        if state in has_child or state is root:
            continue
        labels = []
        cur = state
        while parent[cur] is not None:
            cur, label = parent[cur]
            labels.append(label)
        schedules.append(labels[::-1])
    return schedules


def random_schedules(system: System, walks: int, max_depth: int, seed: int) -> list[list[str]]:
    rng = random.Random(f"{seed}:{system.scenario.name}")
    out = []
    for _ in range(walks):
        state = system.initial()
        labels: list[str] = []
        while len(labels) < max_depth:
            succ = system.successors(state)
            if not succ:
                break
            label, state = succ[rng.randrange(len(succ))]
            labels.append(label)
        out.append(labels)
    return out


Edge = tuple[Any, str]  # (source state, label)


def transition_schedules(
    system: System, max_states: int, max_depth: int
) -> tuple[list[tuple[str, list[str], set[Edge]]], dict[Any, list[tuple[str, Any]]]]:
    """Schedules covering every transition of the explored graph, each as (``"bfs"`` or
    ``"transition"``, labels, the transitions it takes), and the graph (expanded state -> its
    successors).

    The BFS is ``bfs_schedules``' (same states, same order): its root-to-leaf paths come first,
    in the same order, then one greedy chain per transition still uncovered, from its source's
    tree path along uncovered transitions until none is left at the state reached."""
    root = system.initial()
    parent: dict[Any, tuple[Any, str] | None] = {root: None}
    order = [root]
    has_child: set[Any] = set()
    depth = {root: 0}
    graph: dict[Any, list[tuple[str, Any]]] = {}
    queue = deque([root])
    while queue and len(parent) < max_states:
        state = queue.popleft()
        if depth[state] >= max_depth:
            continue
        succ = system.successors(state)
        graph[state] = succ
        for label, nxt in succ:
            if nxt in parent or len(parent) >= max_states:
                continue
            parent[nxt] = (state, label)
            depth[nxt] = depth[state] + 1
            has_child.add(state)
            order.append(nxt)
            queue.append(nxt)

    def path(state: Any) -> tuple[list[str], set[Edge]]:
        labels, edges = [], set()
        cur = state
        while parent[cur] is not None:
            cur, label = parent[cur]
            labels.append(label)
            edges.add((cur, label))
        return labels[::-1], edges

    plans: list[tuple[str, list[str], set[Edge]]] = []
    covered: set[Edge] = set()
    for state in order:
        if state in has_child or state is root:
            continue
        labels, edges = path(state)
        plans.append(("bfs", labels, edges))
        covered |= edges
    for source in order:
        for label, _ in graph.get(source, ()):
            if (source, label) in covered:
                continue
            labels, edges = path(source)
            cur = source
            while cur in graph and len(labels) < max_depth:
                step = next(((lb, nx) for lb, nx in graph[cur] if (cur, lb) not in covered), None)
                if step is None:
                    break
                covered.add((cur, step[0]))
                edges.add((cur, step[0]))
                labels.append(step[0])
                cur = step[1]
            plans.append(("transition", labels, edges))
    return plans, graph


def walk_edges(system: System, labels: list[str], graph: dict[Any, list]) -> set[Edge]:
    """The transitions of ``graph`` a schedule takes (for the random walks' share)."""
    edges: set[Edge] = set()
    state = system.initial()
    for label in labels:
        if state in graph:
            edges.add((state, label))
        state = next(nx for lb, nx in system.successors(state) if lb == label)
    return edges


def backend_op(step: Step) -> tuple[Any, Any] | None:
    """(op to perform, result the model gave) for one step, or None for a storage-free step."""
    if type(step.result) is O.StepCrashed:
        # the body crashed after its step's effect did its work: the effect is the backend's
        return step.result.op, step.result.hidden
    if type(step.op) in (Arrive, Crash):
        return None
    if type(step.op) is O.AdvanceClock:
        return step.op, O.Ok(step.result)
    if type(step.result) is O.LostResponse:
        return step.op, step.result.hidden
    return step.op, step.result


def replay(
    backend: Backend,
    system: System,
    labels: list[str],
    name: str,
    result: DifferentialResult,
    session=None,
) -> Divergence | None:
    """Replay one schedule on a freshly reset store (through ``session`` when given: one
    connection serves every schedule, as connecting costs more than a short schedule).

    A schedule that needs an op the backend does not perform (``Backend.OPS``) is not replayed:
    it is counted in ``result.skipped_schedules`` before anything is sent."""
    needs = _unperformed(backend, system, labels)
    if needs:
        result.skipped_schedules += 1
        result.unsupported_ops |= needs
        return None
    backend.reset()
    own = session is None
    session = backend.session() if own else session
    try:
        state = system.initial()
        for k, label in enumerate(labels, start=1):
            state, step = system.step(state, label)
            result.steps += 1
            pair = backend_op(step)
            if pair is None:
                continue
            op, want = pair
            got = answer(session, op)  # an unmapped exception is a Raised answer
            result.backend_ops += 1
            if got != want:
                return Divergence(
                    system.scenario.name,
                    name,
                    labels[:k],
                    k,
                    O.describe(op),
                    O.describe(want),
                    O.describe(got),
                )
        if not backend.SNAPSHOT:
            result.final_state_compared = False
            return None
        try:
            snap = session.snapshot()
        except StoreUnreadable as exc:
            snap = f"unreadable: {exc}"
        if snap != state.world:
            return Divergence(
                system.scenario.name,
                name,
                list(labels),
                len(labels) + 1,
                "final state",
                O.describe(state.world),
                snap if isinstance(snap, str) else O.describe(snap),
                [] if isinstance(snap, str) else state_diff(state.world, snap),
            )
        return None
    finally:
        if own:
            session.close()


def _unperformed(backend: Backend, system: System, labels: list[str]) -> set[str]:
    """Names of the ops in this schedule that the backend does not perform."""
    if backend.OPS is None:
        return set()
    missing: set[str] = set()
    state = system.initial()
    for label in labels:
        state, step = system.step(state, label)
        pair = backend_op(step)
        if pair is not None and not backend.performs(pair[0]):
            missing.add(type(pair[0]).__name__)
    return missing


def honours(backend: Backend, scenario: Scenario) -> bool:
    """Does the backend declare every option the scenario moves off its default? A backend
    promises the options it lists in ``Backend.PROFILES`` (the differential holds it to each of
    their values); one the model has and the backend does not list it cannot be held to."""
    from model.profiles import PROFILES

    declared = backend.PROFILES.get(scenario.profile_name, ())
    options = PROFILES[scenario.profile_name].OPTIONS
    return all(
        name in declared or (name in options and options[name].default == value)
        for name, value in scenario.profile_options
    )


def supported_scenarios(backend: Backend, names: list[str] | None = None) -> tuple[list, list]:
    chosen, skipped = [], []
    for name, scenario in catalog().items():
        if names is not None and name not in names:
            continue
        adapted = backend.adapt_scenario(scenario)
        if (
            adapted is not None
            and backend.supports(adapted.make_profile())
            and honours(backend, adapted)
        ):
            chosen.append(adapted)
        else:
            skipped.append(name)
    # the backend's own scenarios (options of its real system the catalog does not cover)
    for scenario in backend.extra_scenarios():
        if (names is None or scenario.name in names) and backend.supports(scenario.make_profile()):
            chosen.append(scenario)
    return chosen, skipped


def differential(
    backend: Backend,
    *,
    scenarios: list[Scenario] | None = None,
    bfs_states: int = 60,
    walks: int = 10,
    max_depth: int = 40,
    seed: int = 0,
    transitions: bool = True,
) -> DifferentialResult:
    """Replay schedules of ``scenarios`` (default: every supported catalog scenario);
    ``transitions=False`` replays only the BFS tree's leaf paths and the random walks."""
    result = DifferentialResult()
    if scenarios is None:
        scenarios, result.skipped = supported_scenarios(backend)
    started = time.perf_counter()
    session = backend.session()
    try:
        return _run(
            backend,
            scenarios,
            bfs_states,
            walks,
            max_depth,
            seed,
            result,
            session,
            started,
            transitions,
        )
    finally:
        session.close()


def _run(
    backend, scenarios, bfs_states, walks, max_depth, seed, result, session, started, transitions
):
    for scenario in scenarios:
        system = System(scenario)
        backend.configure(system.profile)
        result.scenarios.append(scenario.name)
        depth = min(max_depth, scenario.bounds.max_depth)
        if transitions:
            tree, graph = transition_schedules(system, bfs_states, depth)
            result.transitions_explored += sum(len(succ) for succ in graph.values())
            counts = {"bfs": 0, "transition": 0}
            plans = []
            for kind, labels, edges in tree:
                counts[kind] += 1
                plans.append((f"{kind} #{counts[kind]}", labels, edges))
        else:
            graph = {}
            plans = [
                (f"bfs #{i}", s, set())
                for i, s in enumerate(bfs_schedules(system, bfs_states, depth), 1)
            ]
        plans += [
            (f"random #{i}", s, walk_edges(system, s, graph) if graph else set())
            for i, s in enumerate(random_schedules(system, walks, depth, seed), 1)
        ]
        covered: set = set()
        for name, labels, edges in plans:
            result.schedules += 1
            skipped = result.skipped_schedules
            divergence = replay(backend, system, labels, name, result, session)
            if divergence is not None:
                result.divergence = divergence
                result.transitions_covered += len(covered)
                result.seconds = time.perf_counter() - started
                return result
            if result.skipped_schedules == skipped:
                covered |= edges
        result.transitions_covered += len(covered)
    result.seconds = time.perf_counter() - started
    return result
