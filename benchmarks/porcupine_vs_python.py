"""Our linearizability checker against Porcupine on identical histories.

    .venv/bin/python benchmarks/porcupine_vs_python.py [--budget 60] [--repeat 3] [--quick]
                                                      [--parallel] [--partitions] [--keep DIR]

What is compared. The suite's ``history`` histories (``suite.history_rows``: profile
``vercel-keyed-start`` with retention 1, ``run_concurrent`` with 10 clients on 10 keys, seed 1:
memory 1,000 and 10,000 ops, sqlite 1,000 ops), histories of planted-bug backends from
``tests/mutants/zoo.py`` that our checker finds not linearizable (the history of another seed
is tried when one is not), a linearizable history with ``duplicate = "conflict-error"`` (an
error naming a run, a path of the renaming the others do not take) and, unless ``--quick``,
memory 10,000 ops on 40 keys. Each history is recorded once, exported as JSON and checked by

* ours: ``check_history`` (the verdict; its time is ``HistoryVerdict.seconds``, the partition
  searches, without the global run-id check and the shrinking of a failure), and
* Porcupine (github.com/anishathalye/porcupine, built from the source mirror at run time and
  never copied into this repository) with ``benchmarks/porcupine/model.go``: a Go port of the
  profile's sequential specification and of our step (``Checker.step``: ids renamed into the
  model's, answers compared up to the renaming, an op without response accepting any answer),
  whose state is our search state (world, renaming), with Equal and Hash. The partitions are
  ours (one per key, the clock ticks in each) and are checked one after another, as ours are;
  only ``CheckOperationsTimeout`` is timed (not the parsing). An op without response gets a
  return after every other event and accepts any answer.

Timings are the best of ``--repeat`` runs where a run takes under 2 s (ours repeats the
partition searches of ``check_history``); a ratio marked ``<`` or ``>`` is a bound, one side
having run out of budget on some partition (its time is then at least the budget). Steps: ours is ``PartitionResult.explored`` (search iterations: each
candidate tried, each backtrack), Porcupine's the calls of the model's Step; they count similar
but not identical things. ``--parallel`` adds Porcupine run as usual (one call with a Partition
function: partitions checked concurrently, stopping at the first failure).

Exit status 1 when the checkers disagree on a history or on a partition (both decided), 2 when
``go`` or the Porcupine mirror is missing or the build fails. Not a test: times depend on the
machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backends import make_backend  # noqa: E402
from backends.validate.history import Operation  # noqa: E402
from backends.validate.linearizability import (  # noqa: E402
    LINEARIZABLE,
    NOT_LINEARIZABLE,
    UNKNOWN,
    Checker,
    HistoryVerdict,
    check_history,
    global_id_check,
    partitions,
    without_uncertain_answers,
)
from backends.validate.workload import run_concurrent  # noqa: E402
from model import ops as O  # noqa: E402
from model.profiles import make_profile  # noqa: E402
from model.profiles.base import Profile  # noqa: E402

# Porcupine's source: a git directory (a bare mirror: HEAD is built) or a checkout
MIRROR = Path(os.environ.get("PORCUPINE_SRC", "/work/.mirror/anishathalye+porcupine/repo"))
GO_SOURCES = Path(__file__).resolve().parent / "porcupine"
MODULE = "github.com/anishathalye/porcupine"

# the mutants: (zoo class, extra profile options); each breaks a promise the concurrent workload
# exercises under vercel-keyed-start
MUTANTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("ClaimRace", {}),
    ("StaleRunCache", {}),
    ("IgnoresDuplicate", {"duplicate": "conflict-error"}),
)
MUTANT_SEEDS = (1, 2, 3)
# a side's time is the best of --repeat runs only below this many seconds (noise matters there)
REPEAT_BELOW = 2.0


class ExportError(Exception):
    """A history the Go port does not cover (an op, a result or a value it has no form for)."""


# -- the exporter --------------------------------------------------------------------------------

STR, OPT_STR, INT, VALUE = "str", "opt-str", "int", "value"

# per ported op: its fields and how they are written (a VALUE is an opaque Python value)
OP_FIELDS: dict[type, dict[str, str]] = {
    O.KeyedStart: {"workflow": STR, "request": INT, "key": STR},
    O.StartRun: {"run_id": INT},
    O.ClaimHook: {"run_id": INT, "hook_id": STR, "token": STR},
    O.DeliverPayload: {"run_id": INT, "hook_id": STR, "payload": VALUE},
    O.PollPayload: {"run_id": INT, "hook_id": STR},
    O.DisposeHook: {"run_id": INT, "hook_id": STR},
    O.CompleteRun: {"run_id": INT, "output": VALUE},
    O.FailRun: {"run_id": INT, "error": VALUE},
    O.CancelRun: {"run_id": INT, "by": INT},
    O.ReleaseHooks: {"run_id": INT},
    O.GetHookByToken: {"token": STR},
    O.GetRun: {"run_id": INT},
    O.ListRuns: {"workflow": STR, "status": OPT_STR},
    O.AdvanceClock: {},
}
# fields the port leaves out, with the only value it supports
OP_DEFAULTS: dict[type, dict[str, Any]] = {
    O.KeyedStart: {"attributes": (), "request_id": None},
    O.ListRuns: {"attribute": None},
}
# per result kind: its fields ("id": a run id, compared up to the renaming); an opaque value is
# written as "value", the Go side's one name for it
RESULT_FIELDS: dict[type, dict[str, str]] = {
    O.Ok: {"value": VALUE},
    O.HookCreated: {},
    O.HookConflict: {"owner": "id"},
    O.HookInfo: {"run_id": "id", "hook_id": STR},
    O.RunInfo: {"run_id": "id", "workflow": STR, "status": STR, "output": VALUE, "request": INT},
    O.RunList: {"run_ids": "ids"},
    O.Payload: {"value": VALUE},
    O.Started: {"run_id": "id"},
    O.Existing: {"run_id": "id", "status": STR, "output": VALUE},
    O.Error: {"name": STR, "detail": VALUE},
}


def _literal(value: Any) -> bool:
    if value is None or type(value) in (str, int):
        return True
    return type(value) in (tuple, list) and all(_literal(v) for v in value)


def encode_value(value: Any) -> Any:
    """None, an int, or the repr of a str or a tuple / list of these: equal encodings are equal
    values and back (floats, bools and the like, whose equality repr does not follow, are
    refused)."""
    if value is None or type(value) is int:
        return value
    if _literal(value):
        return repr(value)
    raise ExportError(f"value {value!r} has no exported form")


def _field(kind: str, value: Any, where: str) -> Any:
    if kind == VALUE:
        return encode_value(value)
    ok = {
        STR: type(value) is str,
        OPT_STR: value is None or type(value) is str,
        INT: type(value) is int,
    }[kind]
    if not ok:
        raise ExportError(f"{where}: {value!r} is not a {kind}")
    return value


def export_op(op: Any) -> dict[str, Any]:
    fields = OP_FIELDS.get(type(op))
    if fields is None:
        raise ExportError(f"op {type(op).__name__} is not ported to Go")
    name = type(op).__name__
    for f, wanted in OP_DEFAULTS.get(type(op), {}).items():
        if getattr(op, f) != wanted:
            raise ExportError(f"{name}.{f} = {getattr(op, f)!r} is not ported")
    out: dict[str, Any] = {"kind": name}
    for f, kind in fields.items():
        out["value" if kind == VALUE else f] = _field(kind, getattr(op, f), f"{name}.{f}")
    return out


def export_result(result: Any) -> dict[str, Any]:
    fields = RESULT_FIELDS.get(type(result))
    if fields is None:  # Raised and the like: equal to no model result
        return {"kind": "Other", "repr": repr(result)}
    name = type(result).__name__
    out: dict[str, Any] = {"kind": name}
    for f, kind in fields.items():
        value = getattr(result, f)
        if kind == "id":
            if type(value) is not int:  # unify needs an int there: equal to no model result
                return {"kind": "Other", "repr": repr(result)}
            out["run_id"] = value
        elif kind == "ids":
            if not all(type(v) is int for v in value):
                raise ExportError(f"{name}: run ids {value!r} are not all ints")
            out["run_ids"] = list(value)
        else:
            out["value" if kind == VALUE else f] = _field(kind, value, f"{name}.{f}")
    return out


def export(profile: Profile, history: list[Operation], path: Path) -> None:
    """The history as ``check_history`` checks it (uncertain answers dropped), as JSON."""
    ops = []
    for o in without_uncertain_answers(profile, history):
        ops.append(
            {
                "index": o.index,
                "client": o.client,
                "key": o.key,
                "call": o.call,
                "ret": o.ret,
                "op": export_op(o.op),
                "result": None if o.pending else export_result(o.result),
            }
        )
    doc = {"profile": {"name": profile.name, "options": profile.options}, "ops": ops}
    path.write_text(json.dumps(doc))


# -- building and running Porcupine --------------------------------------------------------------


def missing() -> str | None:
    if shutil.which("go") is None:
        return "go is not on PATH (Porcupine is built from source)"
    if not MIRROR.is_dir():
        return f"the Porcupine source {MIRROR} is missing (set PORCUPINE_SRC to a checkout)"
    return None


def _checkout() -> bool:
    return (MIRROR / "checker.go").is_file()


def source_version() -> str:
    """Which Porcupine is measured: the mirror's HEAD commit, or the checkout's path."""
    if _checkout():
        return str(MIRROR)
    head = subprocess.run(
        ["git", f"--git-dir={MIRROR}", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return head.stdout.strip() or "unknown commit"


def build(folder: Path) -> Path:
    """Porcupine's HEAD extracted into ``folder``, our model beside it, built offline."""
    source = folder / "porcupine"
    if _checkout():
        shutil.copytree(MIRROR, source, ignore=shutil.ignore_patterns(".git"))
    else:
        source.mkdir()
        archive = subprocess.run(
            ["git", f"--git-dir={MIRROR}", "archive", "HEAD"], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    bench = folder / "bench"
    bench.mkdir()
    for name in ("model.go", "main.go"):
        shutil.copy(GO_SOURCES / name, bench / name)
    (bench / "go.mod").write_text(
        f"module idemrace/porcupinebench\n\ngo 1.18\n\nrequire {MODULE} v0.0.0\n\n"
        f"replace {MODULE} => ../porcupine\n"
    )
    env = {
        **os.environ,
        "GOFLAGS": "-mod=mod",
        "GOPROXY": "off",
        "GOSUMDB": "off",
        "GOWORK": "off",
        "GOTOOLCHAIN": "local",
    }
    binary = folder / "porcupine-bench"
    proc = subprocess.run(
        ["go", "build", "-o", str(binary), "."], cwd=bench, env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(f"go build failed: {proc.stderr.strip()}")
    return binary


def run_porcupine(binary: Path, path: Path, budget: float, parallel: bool) -> dict[str, Any]:
    cmd = [str(binary), "-budget", str(budget), *(["-parallel"] if parallel else []), str(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3 * budget + 60)
    if proc.returncode != 0:
        raise RuntimeError(f"porcupine-bench failed on {path.name}: {proc.stderr.strip()}")
    return json.loads(proc.stdout)


# -- the histories -------------------------------------------------------------------------------


def record(backend_ref: str, profile: Profile, ops: int, keys: int, seed: int) -> list[Operation]:
    backend = make_backend(backend_ref)
    backend.start()
    try:
        return run_concurrent(backend, profile, clients=10, ops=ops, keys=keys, seed=seed)
    finally:
        backend.close()


def cases(
    quick: bool, budget: float
) -> Iterator[tuple[str, Profile, list[Operation], HistoryVerdict]]:
    """(name, profile, history, our verdict) per history, recorded as needed."""
    suite = make_profile("vercel-keyed-start", retention=1)
    for ref, ops in (("memory", 1_000), ("memory", 10_000), ("sqlite", 1_000)):
        history = record(ref, suite, ops, 10, 1)
        yield f"{ref} {ops:,}", suite, history, check_history(suite, history, budget=budget)
    conflict = make_profile("vercel-keyed-start", retention=1, duplicate="conflict-error")
    history = record("memory", conflict, 1_000, 10, 1)
    yield "memory 1,000 conflict-error", conflict, history, check_history(conflict, history, budget)
    for name, options in MUTANTS:
        profile = make_profile("vercel-keyed-start", retention=1, **options)
        for seed in MUTANT_SEEDS:
            history = record(f"tests.mutants.zoo:{name}", profile, 1_000, 10, seed)
            verdict = check_history(profile, history, budget=budget)
            if verdict.verdict == NOT_LINEARIZABLE or seed == MUTANT_SEEDS[-1]:
                break
        yield f"{name} 1,000 seed {seed}", profile, history, verdict
    if not quick:
        history = record("memory", suite, 10_000, 40, 1)
        yield "memory 10,000 40 keys", suite, history, check_history(suite, history, budget)


def ours_seconds(profile: Profile, history: list[Operation], budget: float) -> float:
    """The partition searches of ``check_history`` once more (what ``HistoryVerdict.seconds``
    times), without the shrinking of a failure."""
    checker = Checker(profile)
    started = time.perf_counter()
    deadline = time.monotonic() + budget
    history = without_uncertain_answers(profile, history)
    for key, ops in partitions(history).items():
        checker.check(key, ops, deadline)
    return time.perf_counter() - started


def best_seconds(
    profile: Profile,
    history: list[Operation],
    binary: Path,
    path: Path,
    verdict: HistoryVerdict,
    theirs: dict[str, Any],
    repeat: int,
    budget: float,
) -> tuple[float, float]:
    """(ours, Porcupine's) seconds of the partition searches: the first run's (``verdict``,
    ``theirs``), or the best of ``repeat`` runs on a side whose run takes under
    ``REPEAT_BELOW`` seconds (at a few ms, one run is mostly noise)."""
    ours_s, p_s = verdict.seconds, theirs["seconds"]
    for _ in range(repeat - 1):
        if ours_s < REPEAT_BELOW:
            ours_s = min(ours_s, ours_seconds(profile, history, budget))
        if p_s < REPEAT_BELOW:
            p_s = min(p_s, run_porcupine(binary, path, budget, False)["seconds"])
    return ours_s, p_s


def compare_partitions(verdict: HistoryVerdict, theirs: dict[str, Any]) -> list[str]:
    ours = {r.key: r.verdict for r in verdict.partitions}
    other = {p["key"]: p["verdict"] for p in theirs["partitions"]}
    if set(ours) != set(other):
        return [f"partition keys differ: {sorted(set(ours) ^ set(other))}"]
    decided = (LINEARIZABLE, NOT_LINEARIZABLE)
    return [
        f"partition {key!r}: ours {ours[key]}, Porcupine {other[key]}"
        for key in sorted(ours)
        if ours[key] != other[key] and ours[key] in decided and other[key] in decided
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budget", type=float, default=60.0, help="seconds per history and checker")
    p.add_argument("--repeat", type=int, default=3, help="timed runs per side (best is shown)")
    p.add_argument("--quick", action="store_true", help="skip memory 10,000 ops on 40 keys")
    p.add_argument("--parallel", action="store_true", help="also Porcupine with its Partition")
    p.add_argument("--partitions", action="store_true", help="print every partition's figures")
    p.add_argument("--keep", type=Path, help="keep the exported histories in this folder")
    args = p.parse_args(argv)
    reason = missing()
    if reason is not None:
        print(f"porcupine_vs_python: {reason}", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="idemrace-porcupine-"))
    try:
        try:
            binary = build(folder)
        except (subprocess.CalledProcessError, RuntimeError) as exc:
            print(f"porcupine_vs_python: cannot build Porcupine: {exc}", file=sys.stderr)
            return 2
        return _compare(args, binary, args.keep or folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _compare(args: argparse.Namespace, binary: Path, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    header = (
        f"{'history':<30} {'ops':>6} {'parts':>5}  {'ours':<16} {'s':>7}  {'Porcupine':<16} "
        f"{'s':>7}  {'ours/P':>6}  {'steps ours':>10} {'steps P':>10}"
    )
    if args.parallel:
        header += f"  {'P parallel s':>12}"
    print(f"Porcupine {source_version()}", flush=True)
    print(header, flush=True)
    problems: list[str] = []
    for name, profile, history, verdict in cases(args.quick, args.budget):
        path = out / (name.replace(" ", "-").replace(",", "") + ".json")
        export(profile, history, path)
        theirs = run_porcupine(binary, path, args.budget, args.parallel)
        ours_s, p_s = best_seconds(
            profile, history, binary, path, verdict, theirs, args.repeat, args.budget
        )
        steps = sum(r.explored for r in verdict.partitions)
        # a side that ran out of budget on a partition: its time is a lower bound
        ours_out = sum(r.verdict == UNKNOWN for r in verdict.partitions)
        theirs_out = sum(p["verdict"] == UNKNOWN for p in theirs["partitions"])
        bound = ">" if ours_out and not theirs_out else "<" if theirs_out and not ours_out else ""
        ratio = f"{bound}{ours_s / p_s:.2f}" if p_s > 0 else "-"
        row = (
            f"{name:<30} {len(history):>6} {len(verdict.partitions):>5}  {verdict.verdict:<16} "
            f"{ours_s:>7.3f}  {theirs['verdict']:<16} {p_s:>7.3f}  {ratio:>6}  "
            f"{steps:>10,} {theirs['steps']:>10,}"
        )
        if args.parallel:
            row += f"  {theirs['parallel_seconds']:>12.3f}"
        print(row, flush=True)
        if args.partitions:
            mine = {r.key: r for r in verdict.partitions}
            for part in theirs["partitions"]:
                r = mine.get(part["key"])
                if r is not None:
                    print(
                        f"    {part['key']!r:<10} {r.operations:>5} ops  ours {r.verdict:<16} "
                        f"{r.seconds:.4f} s {r.explored:>8,} steps  Porcupine "
                        f"{part['verdict']:<16} {part['seconds']:.4f} s {part['steps']:>8,} steps"
                    )
        disagreements = compare_partitions(verdict, theirs)
        decided = (LINEARIZABLE, NOT_LINEARIZABLE)
        if verdict.verdict != theirs["verdict"] and {verdict.verdict, theirs["verdict"]} <= set(
            decided
        ):
            disagreements.insert(
                0, f"history: ours {verdict.verdict}, Porcupine {theirs['verdict']}"
            )
        global_problem = global_id_check(without_uncertain_answers(profile, history))
        if (global_problem is None) != (theirs["problem"] is None):
            disagreements.append(
                f"global run-id check: ours {global_problem!r}, Porcupine {theirs['problem']!r}"
            )
        if ours_out or theirs_out:
            print(
                f"    undecided within {args.budget:g} s (not compared): {ours_out} partition(s) "
                f"ours, {theirs_out} Porcupine"
            )
        problems += [f"{name}: {d}" for d in disagreements]
    if args.keep:
        print(f"histories kept in {args.keep}")
    if problems:
        print("VERDICTS DISAGREE:", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        return 1
    print("verdicts agree on every history and every partition")
    return 0


if __name__ == "__main__":
    sys.exit(main())
