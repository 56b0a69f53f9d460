"""Run SPIN and the Python BFS on the same scenario: N requests (2 to 5) for one key on
``vercel-today``, all reject or all supersede (``spin/vercel_today.pml``).

The scenarios are ``scenario(strategy, n)``: every request arrives at tick 0, no ticks, crashes or
lost responses; the Python side checks the strategy's default properties (``spin-reject-2`` is the
catalog's ``non-atomic-admission``, ``spin-supersede-3`` its ``supersede-aba``).

SPIN is run in a temporary directory as ``spin -o2 -a`` (``-o2``: keep write-only variables in
the state vector: the Python state keeps ghost facts, e.g. the effect order, that the reject model
never reads, and SPIN would otherwise merge states Python tells apart), ``gcc -O2 -DSAFETY
-DNOREDUCE`` (no partial-order reduction: there is one process anyway) and ``pan -c0 -n`` (do not
stop at a violation: count every reachable state). Each property is an assert on a flag of its own
name that fires once (``REQUIRE`` in the model), so pan prints ``assertion violated <property>``
once per violated property.

What is compared, and the deliberate differences:

* states: SPIN's ``states, stored`` equals the Python BFS's distinct states exactly (one Promela
  process whose loop offers exactly ``System.successors``' actions as ``d_step`` options, and a
  state vector that encodes ``SystemState`` injectively);
* violations: the set of violated properties is the same. SPIN models single-owner,
  at-most-once-effect and no-wasted-run, plus newest-wins, no-failed-request and no-reclaim-race
  (issue 15) for supersede; the Python properties it does not model (result-matches-owner,
  no-lost-signal, no-stranded-run, no-silent-loss and the token liveness properties) hold
  vacuously for these strategies (nobody adopts a result, sends a payload, fails an owner or keeps
  a token past its run), and the test asserts that they hold;
* transitions are *not* compared: SPIN counts ``stored + matched``, one more than the Python
  transitions (its initial state), and for supersede also the ``timeout`` self-loop that runs
  newest-wins' final-state check on each final state;
* counterexamples are not compared: pan searches depth-first, so its first violation is not a
  shortest one.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from catalog.parse import parse_scenario
from simulator.scenario import Scenario

MODEL = Path(__file__).with_name("vercel_today.pml")
STRATEGIES = ("reject", "supersede")
SIZES = (2, 3, 4, 5)

# the flag each REQUIRE asserts in the model -> the Python property it checks
FLAGS = {
    "single_owner": "single-owner",
    "at_most_once_effect": "at-most-once-effect",
    "no_wasted_run": "no-wasted-run",
    "newest_wins": "newest-wins",
    "no_failed_request": "no-failed-request",
    "no_reclaim_race": "no-reclaim-race",
}


def modelled(strategy: str) -> frozenset[str]:
    """The properties the Promela model checks for ``strategy``."""
    base = {"single-owner", "at-most-once-effect", "no-wasted-run"}
    if strategy == "supersede":
        base |= {"newest-wins", "no-failed-request", "no-reclaim-race"}
    return frozenset(base)


@dataclass(frozen=True)
class SpinRun:
    states: int
    transitions: int  # stored + matched, as pan counts them
    violated: frozenset[str]
    generate: float  # seconds: spin -a
    compile: float  # seconds: gcc
    verify: float  # seconds: pan

    @property
    def seconds(self) -> float:
        return self.generate + self.compile + self.verify


@dataclass(frozen=True)
class PythonRun:
    states: int
    violated: frozenset[str]
    holds: frozenset[str]
    seconds: float  # check() end to end: system, search, counterexample replay
    reductions: tuple[str, ...]


def missing() -> str | None:
    """Why SPIN cannot run here (``spin`` or ``gcc`` not on PATH), or None."""
    absent = [tool for tool in ("spin", "gcc") if shutil.which(tool) is None]
    if absent:
        return f"{' and '.join(absent)} not on PATH (Debian: apt-get install spin gcc)"
    return None


def _validate(strategy: str, n: int) -> None:
    if strategy not in STRATEGIES or n not in SIZES:
        raise ValueError(
            f"the model covers {' or '.join(STRATEGIES)} with {' or '.join(map(str, SIZES))} "
            f"requests, not {strategy!r} with {n}"
        )


def scenario_text(strategy: str, n: int) -> str:
    """The Python scenario the model matches, as a scenario file."""
    _validate(strategy, n)
    requests = "".join(
        f'\n[[requests]]\nstrategy = "{strategy}"\nkey = "k"\nworkflow = "w"\n' for _ in range(n)
    )
    return (
        f'name = "spin-{strategy}-{n}"\n'
        f'description = "{n} {strategy} requests for one key (the SPIN cross-check)"\n'
        'profile = "vercel-today"\n[bounds]\nmax_depth = 80\n' + requests
    )


def scenario(strategy: str, n: int) -> Scenario:
    return parse_scenario(scenario_text(strategy, n), f"<spin-{strategy}-{n}>")


def run_python(
    strategy: str, n: int, reductions: frozenset[str] = frozenset(), storage: str = "full"
) -> PythonRun:
    """The Python BFS on the same scenario (no reductions unless asked; ``storage="fingerprint"``
    for the millions of states of reject with 5 requests, as pan keeps only its state vectors)."""
    from simulator.explorers import SearchOptions, check

    start = time.perf_counter()
    options = SearchOptions("bfs", reductions=reductions, storage=storage, max_states=50_000_000)
    result = check(scenario(strategy, n), options)
    seconds = time.perf_counter() - start
    props = result.properties
    return PythonRun(
        result.stats.states,
        frozenset(name for name, verdict in props.items() if verdict == "violated"),
        frozenset(name for name, verdict in props.items() if verdict == "holds"),
        seconds,
        result.stats.reductions,
    )


def run_spin(strategy: str, n: int) -> SpinRun:
    """Generate, compile and run the verifier in a temporary directory (removed afterwards)."""
    _validate(strategy, n)
    reason = missing()
    if reason is not None:
        raise RuntimeError(f"cannot run SPIN: {reason}")
    with tempfile.TemporaryDirectory(prefix="idemrace-spin-") as tmp:
        cwd = Path(tmp)
        shutil.copy(MODEL, cwd / MODEL.name)
        defines = [f"-DN={n}", f"-DSUPERSEDE={int(strategy == 'supersede')}"]
        start = time.perf_counter()
        _run(["spin", "-o2", "-a", *defines, MODEL.name], cwd)
        generated = time.perf_counter()
        _run(["gcc", "-O2", "-w", "-DSAFETY", "-DNOREDUCE", "-o", "pan", "pan.c"], cwd)
        compiled = time.perf_counter()
        out = _run(["./pan", "-c0", "-n"], cwd)
        verified = time.perf_counter()
    return SpinRun(
        _count(r"(\d+) states, stored", out),
        _count(r"(\d+) transitions \(= stored\+matched\)", out),
        violated(out),
        generated - start,
        compiled - generated,
        verified - compiled,
    )


def violated(pan_output: str) -> frozenset[str]:
    """The Python names of the properties pan reports violated; an assertion that is not one of
    the model's flags is an error in the model, not a finding."""
    out = set()
    for flag in re.findall(r"assertion violated (\S+)", pan_output):
        if flag not in FLAGS:
            raise RuntimeError(f"pan reported an assertion the cross-check does not know: {flag}")
        out.add(FLAGS[flag])
    if re.search(r"pan:\d+: invalid end state", pan_output):
        raise RuntimeError("pan reported an invalid end state: the model deadlocks")
    return frozenset(out)


def _count(pattern: str, text: str) -> int:
    match = re.search(pattern, text)
    if match is None:
        raise RuntimeError(f"pan's output has no {pattern!r}:\n{text[-2000:]}")
    return int(match.group(1))


def _run(cmd: list[str], cwd: Path) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        detail = proc.stderr.strip() or proc.stdout[-1000:]
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {detail}")
    return proc.stdout


__all__ = [
    "FLAGS",
    "MODEL",
    "SIZES",
    "STRATEGIES",
    "PythonRun",
    "SpinRun",
    "missing",
    "modelled",
    "run_python",
    "run_spin",
    "scenario",
    "scenario_text",
    "violated",
]
