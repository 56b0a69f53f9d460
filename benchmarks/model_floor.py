"""The floor under an unreduced search in Python: the time the model itself takes, run once per
distinct process step, against SPIN's whole run on the same scenario.

    python benchmarks/model_floor.py [reject-5 | supersede-3 | ...] [--no-spin]

An unreduced search must evaluate every distinct (world, process state, slot) step at least once:
``Profile.apply`` of the process's pending op on the world, then the program's ``on_result``.
This script runs the unreduced BFS (fingerprints, as ``spin_vs_python.py`` does past a million
states) while recording every step the engine computed, then times those steps again, each once,
in a tight loop: first the model alone (apply + on_result, no interning, no memo), then as the
engine does it (``Engine._proc_step``: the model, interning the results, the memo store). The
first figure is a lower bound for any search that runs this model in Python, whatever its state
store or reductions-free loop; if it exceeds SPIN's end-to-end time, no unreduced search of
ours can match SPIN without a faster model step (issue 20's last "done when" item).

Not a test: seconds depend on the machine. Needs about 1 GB per million distinct steps.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simulator.engine import _BLOCKING, _DONE, Engine
from simulator.explorers.base import Budget, PropertyBook
from simulator.explorers.bfs import bfs
from simulator.system import System
from spin import crosscheck


class _RecordingEngine(Engine):
    """The engine, noting every process step it computes (memo misses, so each distinct step at
    least once; a step recomputed after the memo started over is noted once)."""

    def __init__(self, system: System) -> None:
        super().__init__(system)
        self.steps: set[int] = set()

    def _proc_step(self, wid: int, pid: int, slot: int):
        self.steps.add(wid << 40 | pid << 16 | slot)
        return super()._proc_step(wid, pid, slot)


def _model_alone(engine: Engine, steps: list[tuple[int, int, int]]) -> float:
    """Seconds for apply + on_result of every step, once (the disabled and finished ones cost
    their ``enabled`` probe, as in the engine)."""
    system = engine.system
    profile = engine.profile
    worlds = engine.worlds
    entries = engine.entries
    p_kind = engine.p_kind
    n = engine.n
    start = time.perf_counter()
    for wid, pid, slot in steps:
        kind = p_kind[pid]
        if kind == _DONE:
            continue
        world = worlds[wid]
        local, pending = entries[pid]
        if kind == _BLOCKING and not profile.enabled(world, pending):
            continue
        _world2, result = profile.apply(world, pending)
        program = system._clients[slot] if slot < n else system.body(world, slot - n + 1)
        program.on_result(local, result)
    return time.perf_counter() - start


def _as_engine_does(engine: Engine, steps: list[tuple[int, int, int]]) -> float:
    """Seconds for ``Engine._proc_step`` of every step, once (interning hits: every result was
    interned by the search)."""
    engine._proc.clear()
    proc_step = Engine._proc_step
    start = time.perf_counter()
    for wid, pid, slot in steps:
        proc_step(engine, wid, pid, slot)
    return time.perf_counter() - start


@dataclass
class Floor:
    states: int
    transitions: int
    worlds: int
    steps: int  # distinct (world, process state, slot) steps the search computed
    search: float  # seconds of the unreduced BFS, steps noted
    model: float  # seconds of the model alone, each step once
    as_engine: float  # seconds of ``Engine._proc_step``, each step once


class CutOff(Exception):
    """The search stopped at a bound: its steps are not all of the space's."""


def measure_floor(strategy: str, n: int) -> Floor:
    """Search the cross-check scenario unreduced, noting its steps, then time them again."""
    scenario = crosscheck.scenario(strategy, n)
    system = System(scenario)
    engine = _RecordingEngine(system)
    book = PropertyBook(system, scenario.properties)
    start = time.perf_counter()
    stats, _, cut_off = bfs(
        system,
        book,
        Budget(scenario.bounds.max_depth, 50_000_000),
        engine=engine,
        storage="fingerprint",
    )
    search = time.perf_counter() - start
    if cut_off:
        raise CutOff(cut_off)
    steps = sorted((s >> 40, (s >> 16) & 0xFFFFFF, s & 0xFFFF) for s in engine.steps)
    del engine.steps
    gc.collect()
    gc.disable()  # as the search runs
    try:
        model = _model_alone(engine, steps)
        as_engine = _as_engine_does(engine, steps)
    finally:
        gc.enable()
    return Floor(
        stats.states, stats.transitions, len(engine.worlds), len(steps), search, model, as_engine
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", nargs="?", default="reject-5", help="strategy-n, e.g. reject-5")
    parser.add_argument("--no-spin", action="store_true", help="skip SPIN's run")
    args = parser.parse_args(argv)
    strategy, _, size = args.case.rpartition("-")
    try:
        crosscheck.scenario(strategy, int(size))
    except (ValueError, KeyError) as err:
        print(f"model_floor: {args.case!r} is not a cross-check case ({err})", file=sys.stderr)
        return 2
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    try:
        floor = measure_floor(strategy, int(size))
    except CutOff as err:
        print(f"model_floor: the search was cut off ({err}): no floor", file=sys.stderr)
        return 1
    print(
        f"{args.case}: {floor.states:,} states, {floor.transitions:,} transitions, "
        f"{floor.worlds:,} worlds; unreduced BFS (fingerprints, steps noted) {floor.search:.1f} s"
    )
    print(
        f"distinct process steps: {floor.steps:,}; the model alone, each once: "
        f"{floor.model:.1f} s ({1e6 * floor.model / floor.steps:.2f} us a step); as the engine "
        f"does it: {floor.as_engine:.1f} s"
    )
    if not args.no_spin:
        reason = crosscheck.missing()
        if reason is not None:
            print(f"SPIN not run: {reason}")
        else:
            spin = crosscheck.run_spin(strategy, int(size))
            print(
                f"SPIN end to end: {spin.seconds:.2f} s ({spin.states:,} states); the model "
                f"alone is {floor.model / spin.seconds:.1f}x that"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
