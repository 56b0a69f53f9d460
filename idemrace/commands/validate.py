"""``idemrace validate BACKEND``: does a real backend keep the model's promises?

BACKEND is a built-in name (``memory``, ``sqlite``, ``postgres``; the real third-party systems
``vercel-local``, ``vercel-postgres``, ``dbos``, ``temporal``) or ``module.path:ClassName``
(a ``backends.protocol.Backend`` subclass). Three validations, each reported on its own line:
differential replay of explorer schedules, linearizability of concurrent client histories, and
faults (client killed, connection dropped, store restarted). Each mode's line is printed as it
finishes; a failing concurrent history is shrunk to a minimal non-linearizable core with the op
that breaks it marked and the model's answers beside the backend's, a final-state divergence is
printed as a diff. A real backend's interleavings differ from run to run: ``--rounds N`` runs
the modes N times (seeds seed .. seed + N - 1), ``--until-found`` stops at the first
discrepancy, and the output says how many rounds ran. Exit 0 when all are conformant, 1 on a
discrepancy or an unknown (a search that ran out of time is never a pass), 2 on bad input or an
unreachable backend.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from idemrace.commands.common import (
    EXIT_MISMATCH,
    EXIT_OK,
    UsageError,
    non_negative,
)

NAME = "validate"
# --until-found without --rounds: this many rounds at most
UNTIL_FOUND_ROUNDS = 10
HELP = "validate a real backend against the model (differential, concurrent, faults)"
DESCRIPTION = """\
Does a real backend keep the model's promises? Three validations, each printed as it finishes:
differential (explorer schedules replayed on the backend, answers and final states compared),
concurrent (histories of concurrent clients checked for linearizability against the model),
faults (client killed, connection dropped, store restarted mid-operation).

BACKEND: memory, sqlite, postgres, vercel-local, vercel-postgres, vercel-redis,
vercel-mongodb, dbos, temporal, restate (`idemrace list backends`; a test keeps this list
current), or package.module:ClassName for your own. Servers it starts
(a throwaway PostgreSQL, the Temporal dev server) are stopped and their folders removed on
exit, Ctrl-C and SIGTERM.

examples:
  idemrace validate sqlite
  idemrace validate postgres --url postgresql://postgres@127.0.0.1:5432/postgres
  idemrace validate vercel-postgres --mode concurrent --rounds 5 --until-found
  idemrace validate mypkg.store:MyBackend --json
"""


def positive(text: str) -> int:
    value = non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 1")
    return value


def add_arguments(p) -> None:
    p.add_argument(
        "backend",
        metavar="BACKEND",
        help="a built-in backend (`idemrace list backends`) or module.path:ClassName",
    )
    p.add_argument("--clients", type=positive, default=4, help="concurrent clients (default 4)")
    p.add_argument("--ops", type=positive, default=400, help="concurrent operations (default 400)")
    p.add_argument(
        "--keys", type=positive, default=3, help="keys the clients contend on (default 3)"
    )
    p.add_argument("--seed", type=non_negative, default=0, help="seed for schedules and clients")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--url",
        help="an existing store: postgresql://user@host:port/db (postgres; without it a "
        "throwaway server is started; also vercel-postgres and dbos), a sqlite file path (sqlite; "
        "dbos: sqlite:///FILE), or HOST:PORT of a running Temporal server (temporal)",
    )
    p.add_argument(
        "--package",
        metavar="NAME",
        help="vercel-local / vercel-postgres: validate this World package instead "
        "(an npm package name installed beside the bridge, or a path to one)",
    )
    p.add_argument(
        "--mode",
        action="append",
        choices=("differential", "concurrent", "faults"),
        help="run only this validation (repeatable; default: all three)",
    )
    p.add_argument(
        "--budget",
        type=float,
        default=30.0,
        help="seconds for the linearizability search of one history (default 30); "
        "running out is reported as unknown",
    )
    p.add_argument(
        "--bfs-states",
        type=positive,
        default=100,
        help="differential: states of each scenario's BFS tree whose leaf paths are replayed "
        "(default 100)",
    )
    p.add_argument(
        "--walks", type=non_negative, default=10, help="differential: random walks per scenario"
    )
    p.add_argument(
        "--timeline",
        type=Path,
        metavar="PNG",
        help="draw the minimal failing core of a non-linearizable history here: what the backend "
        "answered beside what the model allowed, the op that breaks it in red",
    )
    p.add_argument(
        "--rounds",
        type=positive,
        metavar="N",
        help="run the modes N times, seeds SEED .. SEED+N-1 (default 1; with --until-found, "
        f"at most N, default {UNTIL_FOUND_ROUNDS}): a real backend's interleavings differ per run",
    )
    p.add_argument(
        "--until-found",
        action="store_true",
        help="stop at the first round with a discrepancy (at most --rounds rounds)",
    )


def run(args) -> int:
    from backends import BackendError, BackendUnavailable, make_backend
    from backends.validate import CONFORMANT, MODES, Settings, validate

    _check_outputs(args)
    try:
        extra = {} if args.package is None else {"package": args.package}
        backend = make_backend(args.backend, url=args.url, **extra)
    except BackendError as exc:
        raise UsageError(str(exc)) from None
    except TypeError as exc:
        raise UsageError(f"backend {args.backend!r} cannot be constructed: {exc}") from None
    settings = Settings(
        clients=args.clients,
        ops=args.ops,
        keys=args.keys,
        seed=args.seed,
        budget=args.budget,
        bfs_states=args.bfs_states,
        walks=args.walks,
        modes=tuple(m for m in MODES if args.mode is None or m in args.mode),
        timeline=args.timeline,
        rounds=args.rounds or (UNTIL_FOUND_ROUNDS if args.until_found else 1),
        until_found=args.until_found,
    )
    progress = None if args.json else Progress(backend.name, settings.rounds)
    try:
        backend.start()
        if progress is not None:
            progress.started()
        report = validate(
            backend,
            settings,
            on_mode=None if progress is None else progress.mode,
            on_round=None if progress is None else progress.round,
        )
    except (BackendError, BackendUnavailable) as exc:
        raise UsageError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    except Exception as exc:
        # a backend (third-party code behind it) failed in a way it does not map: no verdict can
        # be given, so say which backend and what, in one line, rather than a traceback
        said = " ".join(str(exc).split())[:200]
        raise UsageError(
            f"{backend.name}: the backend failed unexpectedly, no verdict: "
            f"{type(exc).__name__}: {said}"
        ) from None
    finally:
        backend.close()
    if args.json:
        print(json.dumps(report.to_json(), indent=2, default=str))
    else:
        print_summary(report)
    return EXIT_OK if report.verdict == CONFORMANT else EXIT_MISMATCH


# what --url must look like per built-in backend: (accepted prefixes, what to write)
_URL_FORMS = {
    "postgres": (("postgresql://", "postgres://"), "postgresql://user@host:port/db"),
    "vercel-postgres": (("postgresql://", "postgres://"), "postgresql://user@host:port/db"),
    "dbos": (("postgresql://", "postgres://", "sqlite:///"), "postgresql://... or sqlite:///FILE"),
}


def _check_outputs(args) -> None:
    """Inputs that would otherwise fail minutes in, as "the backend failed unexpectedly"."""
    # nan compares false with everything (so `<= 0` let it through) and inf is no budget
    if not math.isfinite(args.budget) or args.budget <= 0:
        raise UsageError(f"--budget must be > 0 and finite (seconds), got {args.budget}")
    form = _URL_FORMS.get(args.backend)
    if args.url is not None and form is not None and not args.url.startswith(form[0]):
        raise UsageError(
            f"{args.backend}: --url {args.url!r} is not a URL it can use; expected {form[1]}"
        )
    if args.url is not None and args.backend == "temporal":
        host, _, port = args.url.removeprefix("temporal://").rpartition(":")
        if not host or not port.isdigit():
            raise UsageError(
                f"temporal: --url {args.url!r}: expected HOST:PORT of a Temporal server"
            )
    if args.timeline is not None:
        timeline = args.timeline
        if timeline.is_dir():
            raise UsageError(f"--timeline {timeline}: is a folder; name a .png file in it")
        if not timeline.parent.is_dir():
            raise UsageError(f"--timeline {timeline}: no folder {timeline.parent} to write it in")


class Progress:
    """Prints each mode's lines as it finishes (a real backend's run takes minutes)."""

    def __init__(self, backend: str, rounds: int) -> None:
        self.backend = backend
        self.rounds = rounds

    def started(self) -> None:
        """The header, once the store is up (an unreachable one prints only its error line)."""
        print(f"backend {self.backend}", flush=True)

    def round(self, r: int, seed: int) -> None:
        if self.rounds > 1:
            print(f"round {r} of {self.rounds} (seed {seed})", flush=True)

    def mode(self, name: str, entry: dict) -> None:
        PRINTERS[name](entry)
        sys.stdout.flush()


def print_report(report) -> None:
    """The whole report at once (the modes' lines, then the summary)."""
    print(f"backend {report.backend}")
    for name, entry in report.modes.items():
        PRINTERS[name](entry)
    print_summary(report)


def print_summary(report) -> None:
    rounds = report.rounds
    if rounds.get("of", 1) > 1:
        found = rounds.get("found_in", [])
        said = (
            f"a discrepancy in round{'s' if len(found) > 1 else ''} {', '.join(map(str, found))}"
            if found
            else "no discrepancy"
        )
        stop = " (stopped at the first discrepancy)" if rounds.get("until_found") and found else ""
        shown = (
            f"; the details above the summary are of round {rounds['shown']} (seed "
            f"{rounds['seed']})"
            if found and rounds["run"] > 1
            else ""
        )
        print(f"rounds: {rounds['run']} of {rounds['of']} ran{stop}: {said}{shown}")
    else:
        print(
            "rounds: 1 (a real backend's interleavings differ per run: --rounds N, --until-found)"
        )
    print(report.verdict_line())


def print_differential(d: dict) -> None:
    print(
        f"  differential  {d['verdict']:<12} {d['scenarios']} scenarios, {d['schedules']} "
        f"schedules, {d['backend_operations']} backend operations ({d['seconds']:.2f} s)"
    )
    if d.get("transitions_explored"):
        print(
            f"    transitions covered: {d['transitions_covered']} / {d['transitions_explored']} "
            "of the explored graphs"
        )
    if d.get("skipped_schedules"):
        print(
            f"    {d['skipped_schedules']} schedules not replayed: they need "
            f"{', '.join(d['unsupported_ops'])}, which this backend does not perform"
        )
    if not d.get("final_state_compared", True):
        print("    answers compared; final states not compared (the backend has no snapshot)")
    div = d["divergence"]
    if div is not None:
        print(f"    first divergence: {div['scenario']} {div['schedule']} step {div['step']}")
        print(f"    schedule prefix: {' / '.join(div['prefix'])}")
        if div.get("diff"):
            print("    final state differs (model vs backend, only what differs):")
            for line in div["diff"]:
                print(f"      {line}")
            return
        print(f"    op {div['op']}")
        print(f"      model:   {div['model']}")
        print(f"      backend: {div['backend']}")


def print_concurrent(c: dict) -> None:
    print(
        f"  concurrent    {c['verdict']:<12} {c['clients']} clients, {c['operations']} "
        f"operations, {len({p['key'] for p in c['partitions']})} keys: {c['linearizability']} "
        f"(checked in {c['check_seconds']:.2f} s)"
    )
    for sub in c.get("profiles", ()):
        print(f"    {sub['profile']}: {sub['linearizability']}, {sub['operations']} operations")
    _print_failure(c)


def print_faults(f: dict) -> None:
    kinds = ", ".join(
        f"{case['fault']} {case['verdict']}"
        + (f" LOST {len(case['lost'])}" if case["lost"] else "")
        for case in f["cases"]
    )
    nothing = "none run" if f.get("not_run") else "none supported"
    print(f"  faults        {f['verdict']:<12} {kinds or nothing}")
    for kind in f.get("not_run", ()):
        print(f"    {kind}: not run: the backend calls no Backend.fault_point (FAULT_POINTS)")
    for case in f["cases"]:
        if case.get("note"):
            print(f"    {case['fault']}: {case['note']}")
        for lost in case["lost"]:
            print(f"    {case['fault']}: lost acknowledged {lost}")
        _print_failure(case, f"{case['fault']}: ")


PRINTERS = {
    "differential": print_differential,
    "concurrent": print_concurrent,
    "faults": print_faults,
}


def _print_failure(mode: dict, where: str = "") -> None:
    if mode.get("problem"):
        print(f"    {mode['problem']}")
    failing = mode.get("failing_partition")
    if failing is None:
        return
    rows = failing["operations"]
    if "core_of" in failing:
        said = (
            "none can be dropped"
            if failing.get("minimal", True)
            else "shrinking ran out of budget: maybe not minimal"
        )
        print(
            f"    {where}minimal failing core: key {failing['key']}, {len(rows)} of "
            f"{failing['core_of']} operations ({said}; the others may have taken effect or not)"
        )
    else:
        print(f"    {where}smallest failing partition: key {failing['key']} ({len(rows)} ops)")
    for row in rows:
        ret = "    open" if row["return_us"] is None else f"{row['return_us']:>8}"
        mark = "!!" if row.get("breaks") else "  "
        who = "harness  " if row["client"] < 0 else f"client {row['client']:>2}"
        text = row.get("label", row["operation"])
        print(f"    {mark}{who} {row['call_us']:>8} .. {ret} us  {text}")
        model = row.get("model_label")
        if model is not None and not text.endswith(f"-> {model}"):
            print(f"      {'':>31}  model answered: {model}")
    if failing.get("observed_diff"):
        print("    !! breaks it: the store holds another state than the model reaches here:")
        for line in failing["observed_diff"]:
            print(f"         {line}")
    if failing.get("allowed_labels"):
        print(
            f"    !! breaks it: the model allows here {' or '.join(failing['allowed_labels'])}, "
            "given the answers above"
        )
    if mode.get("timeline"):
        print(f"    timeline: {mode['timeline']}")
