"""The benchmark suite: one command, one table.

    .venv/bin/python benchmarks/suite.py [--quick] [--no-spin]

Sections (each reusing the benchmark script that measures it in detail):

1. ``bfs``: distinct states/s of BFS without reductions on the catalog's largest scenarios
   (``bfs_throughput.measure``; the crowd scenarios stop at their state budgets), and on
   supersede-aba the code issue 20 was filed against, pure Python and the hot modules compiled
   with mypyc, side by side (``compiled.compare``; skipped with a note without mypyc or gcc);
2. ``reduce``: state-space ratios, unreduced over reduced (default reductions: symmetry and key),
   on supersede-aba (one key: symmetry only) and the largest multi-key scenarios BFS still
   exhausts unreduced here (reject on keys a, a, b, b; supersede on a, a, b; defined below:
   supersede on a, a, b, b has more than 5 million states unreduced);
3. ``store``: bytes a stored state and time of BFS with fingerprints and bitstate against full
   states (supersede-aba, no reductions);
4. ``explore``: time to the first counterexample per explorer over the catalog's races
   (``explorers.race_rows``: each explorer hunts the scenario's expected property), summed, and
   how many it found (``--quick``: five races);
5. ``history``: linearizability checking time of recorded concurrent histories (memory and sqlite
   backends, ``run_concurrent``, 10 clients on 10 keys; ``check_history``, partitioned by key);
6. ``spin``: SPIN (generate + compile + verify) against our BFS on the cross-check scenarios
   (``spin_vs_python.compare``), skipped with a note when spin or gcc is missing; on reject with
   5 requests, the model's own time once per distinct step of the unreduced search
   (``model_floor.measure_floor``);
7. ``exhaust``: the shapes issue 20 asks about (supersede and reject, one key and two keys,
   up to 5 requests on one key, and with a crash and a lost response) exhausted under the
   default reductions: states, seconds, and whether the space was exhausted (``--long`` adds
   supersede with 4 requests on one key, a crash and a lost response, under a 20-minute limit);
8. ``workers``: ``idemrace check`` on the whole catalog, in-process and with ``--workers 2``
   (wall-clock seconds of the command, interpreter start included; best of three).

Not a test and not part of the test run: the seconds depend on the machine and its load. The
machine line names the CPU model, core count and Python version the README quotes.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import compiled
import porcupine_vs_python as porcupine
from bfs_throughput import measure
from explorers import EXPLORERS, race_rows
from model_floor import CutOff, measure_floor
from spin_vs_python import compare

from backends import make_backend
from backends.validate.linearizability import check_history
from backends.validate.workload import run_concurrent
from catalog import catalog
from catalog.parse import parse_scenario
from model.profiles import make_profile
from simulator.explorers import SearchOptions, check
from simulator.scenario import Scenario
from spin import crosscheck

REPEATS = 3  # timed runs per side in the comparisons side by side (best shown)
# for the comparisons whose runs take a second or two (the symmetry's time ratio, ``--workers``):
# there one run's noise (start-up, the machine's other load) is several percent either way,
# the size of the difference measured
SHORT_REPEATS = 5
BFS_SCENARIOS = ("supersede-aba", "crowd-reject-crashes", "crowd-keyed-start-crashes")
SPIN_CASES = (("reject", 3), ("supersede", 3), ("reject", 5))


def _multi_key(strategy: str, keys: tuple[str, ...], faults: tuple[int, int] = (0, 0)) -> Scenario:
    """One ``strategy`` request per entry of ``keys`` (a key listed twice gets two requests),
    with ``faults`` = (crashes, lost responses) allowed."""
    requests = "".join(
        f'\n[[requests]]\nstrategy = "{strategy}"\nkey = "{key}"\nworkflow = "w"\n' for key in keys
    )
    name = f"{strategy}-{'-'.join(keys)}"
    crashes, lost = faults
    return parse_scenario(
        f'name = "{name}"\ndescription = "{strategy} requests for keys {keys}"\n'
        'profile = "vercel-today"\n[bounds]\nmax_depth = 120\nmax_states = 5000000\n'
        f"max_crashes = {crashes}\nmax_lost_responses = {lost}\n" + requests,
        f"<{name}>",
    )


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores (nproc), Python {platform.python_version()}"


Row = tuple[str, str, str, str]  # section, subject, figure, detail


def bfs_rows() -> list[Row]:
    rows = []
    for name in BFS_SCENARIOS:
        states, transitions, seconds = measure(catalog()[name])
        rows.append(
            (
                "bfs",
                name,
                f"{states / seconds:,.0f} states/s",
                f"{states:,} states, {transitions:,} transitions in {seconds:.2f} s",
            )
        )
    return rows


def compiled_rows() -> list[Row]:
    """supersede-aba without reductions: the code issue 20 was filed against, pure Python and
    the mypyc-compiled hot modules, side by side (``compiled.compare``, best of ``REPEATS``)."""
    try:
        (row,) = compiled.compare(["supersede-aba"], REPEATS)
    except compiled.BuildError as error:
        return [("bfs", "supersede-aba, compiled", "skipped", str(error))]
    base = row["baseline"]
    return [
        (
            "bfs",
            f"supersede-aba, {name}",
            f"{run['states'] / run['seconds']:,.0f} states/s",
            f"{run['seconds']:.2f} s, {base['seconds'] / run['seconds']:.2f}x "
            f"{compiled.BASELINE} (best of {REPEATS}, in turn, one interpreter a run)",
        )
        for name, run in (
            (f"{compiled.BASELINE} (issue 20 filed)", base),
            ("pure Python", row["pure"]),
            ("mypyc-compiled", row["compiled"]),
        )
    ]


def _timed(scenario: Scenario, options) -> tuple:
    """(check's result, wall-clock seconds)."""
    t = time.perf_counter()
    result = check(scenario, options)
    return result, time.perf_counter() - t


def reduction_rows() -> list[Row]:
    """Unreduced against the default reductions; then, on supersede-aba, against symmetry alone
    (the issue asks that time fall at least half as much as the state count), reusing its
    unreduced search."""
    rows = []
    scenarios = [
        catalog()["supersede-aba"],
        _multi_key("reject", ("a", "a", "b", "b")),
        _multi_key("supersede", ("a", "a", "b")),
    ]
    plain_of = {}
    for scenario in scenarios:
        plain, plain_s = plain_of[scenario.name] = _timed(
            scenario, SearchOptions("bfs", reductions=frozenset())
        )
        reduced, reduced_s = _timed(scenario, "bfs")
        same = plain.properties == reduced.properties
        rows.append(
            (
                "reduce",
                scenario.name,
                f"{plain.stats.states / reduced.stats.states:,.1f}x fewer states",
                f"{plain.stats.states:,} -> {reduced.stats.states:,} "
                f"({'+'.join(reduced.stats.reductions) or 'none'}), {plain_s:.2f} -> "
                f"{reduced_s:.2f} s, verdicts {'equal' if same else 'DIFFER'}",
            )
        )
    # best of SHORT_REPEATS each side, in turn: one run of either is a second or less
    plain_options = SearchOptions("bfs", reductions=frozenset())
    sym_options = SearchOptions("bfs", reductions=frozenset({"symmetry"}))
    plain, plain_s = plain_of["supersede-aba"]
    sym, sym_s = _timed(scenarios[0], sym_options)
    for _ in range(SHORT_REPEATS - 1):
        plain_s = min(plain_s, _timed(scenarios[0], plain_options)[1])
        sym_s = min(sym_s, _timed(scenarios[0], sym_options)[1])
    states = plain.stats.states / sym.stats.states
    rows.append(
        (
            "reduce",
            "supersede-aba symmetry: time vs states",
            f"{plain_s / sym_s:.1f}x less time",
            f"for {states:.1f}x fewer states ({plain_s:.2f} -> {sym_s:.2f} s, best of "
            f"{SHORT_REPEATS}); time/state-ratio {plain_s / sym_s / states:.2f} (goal >= 0.5)",
        )
    )
    return rows


def storage_rows() -> list[Row]:
    """Bytes a stored state and time of BFS's compact stores against full states, side by side
    on supersede-aba without reductions (``SearchOptions.storage``)."""
    scenario = catalog()["supersede-aba"]
    rows = []
    base = None
    for storage in ("full", "fingerprint", "bitstate"):
        result, seconds = _timed(
            scenario, SearchOptions("bfs", reductions=frozenset(), storage=storage)
        )
        base = base or seconds
        stored = (
            f"{result.stats.stored_bytes / result.stats.states:.1f} B/state stored"
            if result.stats.stored_bytes
            else "full keys"
        )
        rows.append(
            (
                "store",
                f"supersede-aba {storage}",
                stored,
                f"{result.stats.states:,} states in {seconds:.2f} s ({seconds / base:.2f}x full's "
                f"time), {result.verdict}; {result.stats.storage or 'keys in a dict'}",
            )
        )
    return rows


def explorer_rows(quick: bool) -> list[Row]:
    races = [s for s in catalog().values() if s.expected_property]
    if quick:
        races = races[:5]
    found: dict[str, int] = dict.fromkeys(EXPLORERS, 0)
    first: dict[str, float] = dict.fromkeys(EXPLORERS, 0.0)
    for scenario in races:
        for row in race_rows(scenario, seed=0, walks=20_000, profile="ci"):
            if row.found:
                found[row.explorer] += 1
                first[row.explorer] += row.first
    return [
        (
            "explore",
            explorer,
            f"{first[explorer]:.2f} s to first",
            f"found {found[explorer]}/{len(races)} races (sum of seconds over those found)",
        )
        for explorer in EXPLORERS
    ]


def history_rows() -> list[Row]:
    import shutil
    import tempfile

    profile = make_profile("vercel-keyed-start", retention=1)
    rows = []
    # Porcupine on the same histories (``porcupine_vs_python``), where go and its source are here
    reason = porcupine.missing()
    folder = Path(tempfile.mkdtemp(prefix="idemrace-porcupine-"))
    binary = None
    try:
        if reason is None:
            try:
                binary = porcupine.build(folder)
            except Exception as exc:  # a failed build is a row, not the end of the suite
                reason = f"cannot build Porcupine: {' '.join(str(exc).split())[:200]}"
        if reason is not None:
            rows.append(("history", "Porcupine", "skipped", reason))
        for name, ops in (("memory", 1_000), ("memory", 10_000), ("sqlite", 1_000)):
            rows += _history_rows(profile, name, ops, binary, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def _history_rows(profile, name: str, ops: int, binary, folder: Path) -> list[Row]:
    backend = make_backend(name)
    backend.start()
    try:
        history = run_concurrent(backend, profile, clients=10, ops=ops, keys=10, seed=1)
    finally:
        backend.close()
    t = time.perf_counter()
    verdict = check_history(profile, history, budget=60)
    seconds = time.perf_counter() - t
    kept = ""
    if verdict.verdict != "linearizable":
        # a reference backend's history should be linearizable: keep it for diagnosis
        import pickle
        import tempfile

        keep = Path(tempfile.mkdtemp(prefix="idemrace-history-"))
        (keep / "history.pickle").write_bytes(pickle.dumps(history))
        (keep / "history.txt").write_text("".join(f"{o!r}\n" for o in history))
        kept = f"; kept in {keep} ({verdict.problem})"
    rows = [
        (
            "history",
            f"{name} {len(history):,} ops",
            f"{seconds * 1000:,.1f} ms",
            f"{verdict.verdict}, {len(verdict.partitions)} key partitions, "
            f"{len(history) / seconds:,.0f} ops/s checked{kept}",
        )
    ]
    if binary is not None:
        path = folder / f"{name}-{ops}.json"
        try:
            porcupine.export(profile, history, path)
            theirs = porcupine.run_porcupine(binary, path, 60.0, False)
        except (porcupine.ExportError, RuntimeError) as exc:
            return [*rows, ("history", f"{name} (Porcupine)", "failed", str(exc)[:200])]
        # the same measure on both sides: the partition searches (HistoryVerdict.seconds), the
        # best of SHORT_REPEATS runs where a run is short (as ``porcupine_vs_python.py`` measures it)
        ours_s, theirs_s = porcupine.best_seconds(
            profile, history, binary, path, verdict, theirs, SHORT_REPEATS, 60.0
        )
        agree = "agrees" if theirs["verdict"] == verdict.verdict else "DISAGREES"
        rows.append(
            (
                "history",
                f"{name} {len(history):,} ops (Porcupine {porcupine.source_version()})",
                f"{theirs_s * 1000:,.1f} ms",
                f"{theirs['verdict']} ({agree}), {theirs['steps']:,} steps; ours "
                f"{ours_s * 1000:,.1f} ms searching, "
                f"{sum(r.explored for r in verdict.partitions):,} steps; ours/Porcupine = "
                f"{ours_s / max(theirs_s, 1e-9):.2f}x (best of {SHORT_REPEATS} under "
                f"{porcupine.REPEAT_BELOW:g} s)",
            )
        )
    return rows


def spin_rows() -> list[Row]:
    reason = crosscheck.missing()
    if reason is not None:
        return [("spin", "-", "skipped", reason)]
    rows = []
    for strategy, n in SPIN_CASES:
        c = compare(strategy, n)
        s = c.spin
        rows.append(
            (
                "spin",
                f"{c.name} (SPIN)",
                f"{s.seconds:.2f} s",
                f"{s.states:,} states; generate {s.generate:.2f} + compile {s.compile:.2f} "
                f"+ verify {s.verify:.2f} s",
            )
        )
        for label, ours in (("ours", c.plain), ("ours reduced", c.reduced)):
            rows.append(
                (
                    "spin",
                    f"{c.name} ({label})",
                    f"{ours.seconds:.2f} s",
                    f"{ours.states:,} states ({'+'.join(ours.reductions) or 'no reductions'}); "
                    f"SPIN/ours = {s.seconds / ours.seconds:.2f}x; "
                    f"{'agrees' if c.agree else 'DISAGREES'} with SPIN",
                )
            )
        if (strategy, n) == FLOOR_CASE:
            rows.append(_floor_row(strategy, n, s.seconds))
    return rows


# the SPIN case whose unreduced search is millions of states: the model's own time there
FLOOR_CASE = ("reject", 5)


def _floor_row(strategy: str, n: int, spin_seconds: float) -> Row:
    """Why the unreduced search cannot match SPIN here: the model alone, once per distinct
    process step of that search (``model_floor.measure_floor``), against SPIN's whole run."""
    try:
        floor = measure_floor(strategy, n)
    except CutOff as err:
        return ("spin", f"{strategy}-{n} (model floor)", "cut off", str(err))
    return (
        "spin",
        f"{strategy}-{n} (model floor)",
        f"{floor.model:.2f} s",
        f"Profile.apply + on_result once per distinct process step ({floor.steps:,} over "
        f"{floor.worlds:,} worlds): {floor.model / spin_seconds:.1f}x SPIN's end to end, a "
        f"floor under any unreduced search in Python; as the engine does it {floor.as_engine:.2f} s",
    )


# (strategy, keys, storage, (crashes, lost responses)): the shapes; fingerprints where
# the space is millions
EXHAUST = (
    ("reject", ("a",) * 5, "full", (0, 0)),
    ("reject", ("a", "a", "a", "b", "b", "b"), "full", (0, 0)),
    ("supersede", ("a", "a", "a", "b", "b", "b"), "full", (0, 0)),
    ("supersede", ("a",) * 4, "full", (0, 0)),
    ("supersede", ("a",) * 5, "fingerprint", (0, 0)),
    ("reject", ("a", "a", "a", "b", "b", "b"), "full", (1, 1)),
    ("supersede", ("a",) * 3, "fingerprint", (1, 1)),
    ("supersede", ("a", "a", "a", "b", "b", "b"), "fingerprint", (1, 1)),
)
# the maintainers' question with 4 requests on one key, a crash and a lost response (a few
# minutes and about 3 GB here)
LONG = (("supersede", ("a",) * 4, "fingerprint", (1, 1)),)
LONG_LIMIT_SECONDS = 1200.0
LIMIT_SECONDS = 600.0


def _time_limit(deadline: float, seconds: float):
    def progress(_states: int, _budget: int) -> str | None:
        return f"time limit {seconds:.0f} s" if time.perf_counter() > deadline else None

    return progress


def exhaust_rows(long: bool) -> list[Row]:
    rows = []
    shapes = [(*shape, LIMIT_SECONDS) for shape in EXHAUST]
    if long:
        shapes += [(*shape, LONG_LIMIT_SECONDS) for shape in LONG]
    for strategy, keys, storage, faults, limit in shapes:
        scenario = _multi_key(strategy, keys, faults)
        started = time.perf_counter()
        result = check(
            scenario,
            SearchOptions("bfs", storage=storage, max_states=200_000_000),
            progress=_time_limit(started + limit, limit),
        )
        seconds = time.perf_counter() - started
        outcome = "exhausted" if result.exhausted else f"cut off: {result.cut_off}"
        with_faults = " with a crash and a lost response" if faults != (0, 0) else ""
        violated = sorted(p for p, v in result.properties.items() if v == "violated")
        rows.append(
            (
                "exhaust",
                f"{strategy} on {','.join(keys)}{with_faults}",
                f"{seconds:.1f} s",
                f"{result.stats.states:,} states ({'+'.join(result.stats.reductions) or 'none'}, "
                f"{storage}), {outcome}, verdict {result.verdict}"
                + (f" ({', '.join(violated)})" if violated else "")
                + f", the suite process's peak RSS so far {_peak_rss_gb():.1f} GB",
            )
        )
    return rows


def _peak_rss_gb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def workers_rows() -> list[Row]:
    """The whole catalog's ``check``, in-process and with ``--workers 2``: interleaved runs, the
    best of SHORT_REPEATS each (the command takes under 2 s, so one run is mostly start-up
    noise). Below the 3 s after which ``--workers`` starts its cluster both run the same code."""
    import subprocess

    modes = (("in-process", []), ("--workers 2", ["--workers", "2"]))
    best: dict[str, tuple[float, int]] = {}
    for _ in range(SHORT_REPEATS):
        for label, extra in modes:
            t = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "idemrace", "check", "--stable", *extra],
                capture_output=True,
                text=True,
                check=False,
            )
            seconds = time.perf_counter() - t
            if label not in best or seconds < best[label][0]:
                best[label] = (seconds, done.returncode)
    base = best["in-process"][0]
    return [
        (
            "workers",
            f"check, whole catalog, {label}",
            f"{best[label][0]:.2f} s",
            f"exit {best[label][1]}; {base / best[label][0]:.2f}x the in-process speed (best of "
            f"{SHORT_REPEATS})",
        )
        for label, _ in modes
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="five races in the explorer section")
    parser.add_argument("--no-spin", action="store_true", help="leave out the SPIN comparison")
    parser.add_argument(
        "--long",
        action="store_true",
        help="add supersede with 4 requests on one key, a crash and a lost response (up to 20 "
        "minutes, about 3 GB)",
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated sections to run (bfs, reduce, store, explore, history, spin, "
        "exhaust, workers); default all",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    print(f"machine: {machine()}", flush=True)
    sections = {
        "bfs": [bfs_rows, compiled_rows],
        "reduce": [reduction_rows],
        "store": [storage_rows],
        "explore": [lambda: explorer_rows(args.quick)],
        "history": [history_rows],
        "spin": [] if args.no_spin else [spin_rows],
        "exhaust": [lambda: exhaust_rows(args.long)],
        "workers": [workers_rows],
    }
    wanted = [name.strip() for name in args.only.split(",") if name.strip()] or list(sections)
    unknown = [name for name in wanted if name not in sections]
    if unknown:
        parser.error(f"unknown section {unknown[0]!r}; allowed: {', '.join(sections)}")
    rows: list[Row] = []
    for name in wanted:
        for section in sections[name]:
            rows.extend(section())
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    print(f"{'section':<{widths[0]}}  {'subject':<{widths[1]}}  {'figure':>{widths[2]}}  detail")
    for section_name, subject, figure, detail in rows:
        print(
            f"{section_name:<{widths[0]}}  {subject:<{widths[1]}}  {figure:>{widths[2]}}  {detail}"
        )
    print(f"(suite ran {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
