"""Search campaigns on Dask: the same explorers, spread over the processes of a cluster.

Units of work:

* random, pct, hypothesis (any registered explorer that declares ``samples``, the option that
  counts its seeded schedules or examples): the ``walks`` are cut into fixed chunks of ``CHUNK``
  samples; chunk ``i`` runs ``check`` with seed ``chunk_seed(seed, i)``. The
  chunking does not depend on the number of workers, so neither does the result: the merged
  verdict uses chunks ``0..m`` where ``m`` is the lowest chunk that found a violation (all of them
  must finish; every chunk above ``m`` is cancelled as soon as ``m`` is known to be lowest), and
  each property's counterexample is the one from the lowest chunk that found it.
* bfs: level-synchronous BFS. The frontier is partitioned by a stable state fingerprint (BLAKE2b
  of the state's ``repr``: Python's own ``hash`` is salted per process) into one task per
  partition; workers expand states and check invariants, the driver dedupes fingerprints across
  workers. Among several parents of a new state the smallest ``(parent fingerprint, action)``
  wins, and among several violating states at one depth the smallest fingerprint wins, so the
  shortest counterexample is the same whatever the number of workers (it is as short as
  single-process BFS's, though it may be a different path of that length).

A worker that dies mid-task loses nothing: its task is a pure function of its arguments and Dask
reschedules it on another worker (``retries``). The driver keeps only fingerprints and parent
links, never a graph.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from properties import FINAL, INVARIANT, PROPERTIES
from simulator.explorers.base import (
    EXPLORERS,
    HOLDS,
    UNKNOWN,
    VIOLATED,
    CheckResult,
    SearchOptions,
    Stats,
    Violation,
)
from simulator.scenario import Scenario
from simulator.system import System

CHUNK = 500  # schedules per task for random/pct; part of the result's definition, keep fixed
RETRIES = 3


def chunk_seed(seed: int, index: int) -> int:
    return seed * 1_000_003 + index


def fingerprint(state: Any) -> str:
    """A process-independent fingerprint (``hash()`` of str is salted per process)."""
    return hashlib.blake2b(repr(state).encode(), digest_size=12).hexdigest()


# -- tasks (run on workers; pure functions of their arguments) ---------------------------------


@dataclass
class ChunkOutcome:
    index: int
    violations: list[tuple[str, str, list[str]]]  # (property, message, schedule)
    states: int
    transitions: int
    max_depth: int
    schedules: int


def run_chunk(scenario: Scenario, index: int, options: SearchOptions) -> ChunkOutcome:
    from simulator.explorers import check

    result = check(scenario, options.replace(seed=chunk_seed(options.seed, index)))
    return ChunkOutcome(
        index,
        [(v.property, v.message, list(v.schedule)) for v in result.violations],
        result.stats.states,
        result.stats.transitions,
        result.stats.max_depth,
        result.stats.schedules,
    )


def expand(scenario: Scenario, batch: list[tuple[str, Any]], names: tuple[str, ...]):
    """Expand a frontier batch: for each state its successors (with fingerprints and invariant
    violations) or, for a state with none, its final-property violations."""
    system = System(scenario)
    invariants = [PROPERTIES[n] for n in names if PROPERTIES[n].kind == INVARIANT]
    finals = [PROPERTIES[n] for n in names if PROPERTIES[n].kind == FINAL]
    settles = [PROPERTIES[n] for n in names if PROPERTIES[n].settle is not None]
    children = []
    ended = []
    for fp, state in batch:
        nexts = system.successors(state)
        if not nexts:
            found = [(p.name, m) for p in finals if (m := p.check(system, state))]
            found += [(p.name, m) for p in settles if (m := p.settle(system, state))]
            ended.append((fp, found))
            continue
        for label, child in nexts:
            found = [(p.name, m) for p in invariants if (m := p.check(system, child))]
            children.append((fp, label, fingerprint(child), child, found))
    return children, ended


# -- drivers -----------------------------------------------------------------------------------


def run_whole(scenario: Scenario, options: SearchOptions) -> CheckResult:
    """One in-process search on a worker: the same result as ``check`` on the driver."""
    from simulator.explorers import check

    return check(scenario, options)


def submit_whole(client, jobs: list[tuple[Scenario, SearchOptions]]) -> dict[int, Any]:
    """Futures of ``run_whole`` (index -> future), all submitted at once so the workers search
    different scenarios side by side: every BFS job, and with several jobs every job (each then
    gives what ``check`` gives without ``--workers``; measured: the catalog's Hypothesis
    scenario crowd-keyed-start-crashes took 0.4 s in-process and 52 s as a campaign of chunks,
    which run to the end). A single seeded job is left to ``check_distributed``'s campaign."""
    several = len(jobs) > 1
    return {
        i: client.submit(run_whole, scenario, options, pure=False, retries=RETRIES)
        for i, (scenario, options) in enumerate(jobs)
        if several or options.explorer == "bfs"
    }


def connect(workers: int | None, scheduler: str | None):
    """A Dask client: to ``scheduler``, or to a new local cluster of ``workers`` processes
    (returned too, so the caller can close it)."""
    import logging

    from distributed import Client, LocalCluster

    # cancelled chunks are expected (a lower chunk found the violation): keep Dask quiet
    logging.getLogger("distributed").setLevel(logging.ERROR)

    if scheduler:
        try:
            return Client(scheduler, timeout="10s"), None
        except OSError as exc:
            raise ValueError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        except Exception as exc:  # something answers there, but not a Dask scheduler
            first = (str(exc).strip().splitlines() or [""])[0]
            raise ValueError(
                f"cannot reach the Dask scheduler at {scheduler}: the address answers but not "
                f"as a Dask scheduler ({type(exc).__name__}: {first})"
            ) from None
    # Our own local scheduler runs in this process: when an interrupt closes the cluster under
    # running chunks, it logs CRITICAL "Closed comm" tracebacks by the dozen. Whatever goes wrong
    # in it reaches the client as an exception, so its log says nothing a person needs.
    logging.getLogger("distributed").setLevel(logging.CRITICAL + 1)
    cluster = LocalCluster(
        n_workers=workers or 1,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        # workers log an ERROR with a traceback per heartbeat when the scheduler stops first (an
        # interrupted or terminated run closing its cluster); their real failures reach the client
        silence_logs=logging.CRITICAL,
    )
    # The scheduler (in this process) installs distributed's GC diagnosis, a gc callback that
    # times full collections only to log them (and we silence that log). An interrupt raised
    # inside it leaves its timer half-started, and every later collection then prints "Exception
    # ignored in GCDiagnosis._gc_callback ... AssertionError" (CI saw it after a Ctrl-C): off.
    from distributed.gc import disable_gc_diagnosis

    disable_gc_diagnosis(force=True)
    return Client(cluster), cluster


def _violation(system: System, prop: str, message: str, schedule: list[str]) -> Violation:
    state, steps = system.replay(schedule)
    return Violation(prop, message, schedule, steps, state)


def run_seeded(client, scenario: Scenario, options: SearchOptions) -> CheckResult:
    """``options.walks`` samples of a sampling explorer, in seeded chunks (module doc)."""
    from distributed import as_completed

    start = time.perf_counter()
    explorer, seed, walks = options.explorer, options.seed, options.walks
    samples = EXPLORERS[explorer].samples
    chunks = max(1, -(-walks // CHUNK))
    shared = client.scatter(scenario, broadcast=True)
    futures = {}
    for index in range(chunks):
        size = min(CHUNK, walks - index * CHUNK) if walks else CHUNK
        chunk = options.replace(**{samples: size})
        future = client.submit(run_chunk, shared, index, chunk, pure=False, retries=RETRIES)
        futures[future] = index
    target = scenario.expected_property
    done: dict[int, ChunkOutcome] = {}
    lowest = None
    for future in as_completed(list(futures)):
        if future.cancelled():
            continue
        outcome: ChunkOutcome = future.result()
        done[outcome.index] = outcome
        hit = any(target is None or prop == target for prop, _, _ in outcome.violations)
        if hit and (lowest is None or outcome.index < lowest):
            lowest = outcome.index
            for other, index in futures.items():
                if index > lowest and not other.done():
                    other.cancel()
        if lowest is not None and all(i in done for i in range(lowest + 1)):
            break
    used = range((lowest if lowest is not None else chunks - 1) + 1)
    system = System(scenario)
    stats = Stats(seconds=0.0)
    first: dict[str, tuple[str, list[str]]] = {}
    for index in used:
        outcome = done[index]
        stats.states += outcome.states
        stats.transitions += outcome.transitions
        stats.max_depth = max(stats.max_depth, outcome.max_depth)
        stats.schedules += outcome.schedules
        for prop, message, schedule in outcome.violations:
            first.setdefault(prop, (message, schedule))
    stats.seconds = time.perf_counter() - start
    violations = [
        _violation(system, name, *first[name]) for name in scenario.properties if name in first
    ]
    per_property = {n: (VIOLATED if n in first else UNKNOWN) for n in scenario.properties}
    return CheckResult(
        scenario=scenario,
        explorer=explorer,
        verdict=VIOLATED if violations else UNKNOWN,
        properties=per_property,
        violations=violations,
        stats=stats,
        seed=seed,
    )


def run_bfs(
    client, scenario: Scenario, max_depth: int, max_states: int, partitions: int
) -> CheckResult:
    start = time.perf_counter()
    system = System(scenario)
    names = scenario.properties
    init = system.initial()
    root = fingerprint(init)
    parents: dict[str, tuple[str | None, str | None]] = {root: (None, None)}
    found: dict[str, tuple[str, str]] = {}  # property -> (message, fingerprint)
    for prop in names:
        p = PROPERTIES[prop]
        if p.kind == INVARIANT and (message := p.check(system, init)):
            found[prop] = (message, root)
    frontier = [(root, init)]
    depth = transitions = 0
    cut_off = None
    scenario_future = client.scatter(scenario, broadcast=True)
    while frontier and len(found) < len(names):
        buckets: list[list[tuple[str, Any]]] = [[] for _ in range(partitions)]
        for fp, state in frontier:
            buckets[int(fp[:8], 16) % partitions].append((fp, state))
        futures = [
            client.submit(expand, scenario_future, bucket, names, pure=False, retries=RETRIES)
            for bucket in buckets
            if bucket
        ]
        candidates: dict[str, tuple[tuple[str, str], Any, list]] = {}
        level_finals: dict[str, tuple[str, str]] = {}
        for future in futures:
            children, ended = future.result()
            for fp, violations in ended:
                for prop, message in violations:
                    if prop not in found:
                        best = level_finals.get(prop)
                        if best is None or fp < best[1]:
                            level_finals[prop] = (message, fp)
            if depth >= max_depth:
                if children:
                    cut_off = cut_off or f"depth bound {max_depth} reached"
                continue
            for parent, label, child_fp, child, violations in children:
                transitions += 1
                if child_fp in parents:
                    continue
                link = (parent, label)
                known = candidates.get(child_fp)
                if known is None or link < known[0]:
                    candidates[child_fp] = (link, child, violations)
        found.update(level_finals)
        new = sorted(candidates)
        if len(parents) + len(new) > max_states:
            cut_off = f"state budget {max_states} reached"
            new = new[: max(0, max_states - len(parents))]
        level_found: dict[str, tuple[str, str]] = {}
        for child_fp in new:
            link, child, violations = candidates[child_fp]
            parents[child_fp] = link
            for prop, message in violations:
                if prop not in found and prop not in level_found:
                    level_found[prop] = (message, child_fp)  # fingerprints ascend: smallest wins
        found.update(level_found)
        frontier = [(fp, candidates[fp][1]) for fp in new]
        if frontier:
            depth += 1
        if cut_off and cut_off.startswith("state budget"):
            break
    violations = []
    for prop in names:
        if prop in found:
            message, fp = found[prop]
            labels = []
            while parents[fp][0] is not None:
                fp, label = parents[fp]
                labels.append(label)
            labels.reverse()
            violations.append(_violation(system, prop, message, labels))
    exhausted = cut_off is None
    per_property = {n: VIOLATED if n in found else (HOLDS if exhausted else UNKNOWN) for n in names}
    verdict = VIOLATED if violations else (HOLDS if exhausted else UNKNOWN)
    stats = Stats(len(parents), transitions, depth, time.perf_counter() - start)
    return CheckResult(
        scenario,
        "bfs",
        verdict,
        per_property,
        violations,
        stats,
        exhausted=exhausted,
        cut_off=cut_off,
    )


def check_distributed(
    scenario: Scenario,
    options: SearchOptions | str = "random",
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
    level_synchronous: bool = False,
) -> CheckResult:
    """Run a campaign on Dask: a local cluster of ``workers`` processes, or the scheduler at
    ``scheduler`` (``tcp://host:port``), or an existing ``client``. ``options`` as for ``check``
    (a plain string names the explorer); BFS runs whole on a worker (below), an explorer that
    declares ``samples`` in seeded chunks, any other does not distribute.

    BFS runs whole on one worker, with the reductions and the memoized engine (``run_whole``;
    ``submit_whole`` puts several scenarios on the workers at once): measured on this 2-core
    machine, the level-synchronous BFS (``level_synchronous=True``, ``run_bfs``) ships every
    frontier state to a worker and back and gives up the engine's memos and the reductions, and
    was 36x slower than in-process BFS on the catalog; one search is not split over workers."""
    if isinstance(options, str):
        options = SearchOptions(explorer=options)
    explorer = EXPLORERS[options.explorer]
    if explorer.name != "bfs" and explorer.samples is None:
        spread = ["bfs"] + [e.name for e in EXPLORERS.values() if e.samples is not None]
        raise ValueError(
            f"{explorer.name} does not distribute; use {', '.join(spread[:-1])} or "
            f"{spread[-1]} with --workers"
        )
    own = None
    if client is None:
        client, own = connect(workers, scheduler)
    try:
        depth = options.max_depth if options.max_depth is not None else scenario.bounds.max_depth
        states = (
            options.max_states if options.max_states is not None else scenario.bounds.max_states
        )
        if explorer.name == "bfs":
            if level_synchronous:
                partitions = max(1, sum(client.nthreads().values()))
                return run_bfs(client, scenario, depth, states, partitions)
            return client.submit(run_whole, scenario, options, pure=False, retries=RETRIES).result()
        return run_seeded(client, scenario, options.replace(max_depth=depth, max_states=states))
    finally:
        if own is not None:
            client.close()
            own.close()
