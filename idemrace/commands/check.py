"""``idemrace check``: explore scenarios and check their properties."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from idemrace.commands.common import (
    LazyChoices,
    exit_status,
    non_negative,
    positive,
    stdout_console,
)

NAME = "check"
HELP = "explore scenarios and check their properties"
DESCRIPTION = """\
Explore each scenario's state space and check its properties; print one row per scenario
(verdict, expectation, states, counterexample) or, with --json, one JSON object.

Verdicts: violated (a replayable counterexample), holds (the bounded space was exhausted: only
bfs and dfs can say it), unknown (a budget ran out, or a sampling explorer found nothing).

examples:
  idemrace check                                   # the whole catalog, each with its explorer
  idemrace check reject-retry-after-completion     # one catalog scenario, trace printed
  idemrace check my-design.toml --trace-out traces/ && idemrace replay traces/*.trace.json
  idemrace check crowd-signal-forward --explorer pct --walks 5000 --seed 7
  idemrace check --workers 4 --json > results.json
"""


def add_arguments(p) -> None:
    p.add_argument(
        "scenarios",
        nargs="*",
        metavar="SCENARIO_OR_FILE",
        help="catalog names or scenario TOML files (default: the whole catalog)",
    )
    p.add_argument(
        "--explorer",
        choices=LazyChoices("simulator.explorers", "EXPLORERS"),
        metavar="NAME",
        default=None,
        help="search strategy: %(choices)s (default: the scenario's recommended one, bfs unless "
        "it says; `idemrace list explorers`)",
    )
    p.add_argument(
        "--seed", type=non_negative, default=0, help="seed for random, pct, hypothesis (default 0)"
    )
    p.add_argument("--max-depth", type=non_negative, help="override the scenario's depth bound")
    p.add_argument("--max-states", type=positive, help="override the scenario's state budget")
    p.add_argument(
        "--walks", type=non_negative, default=1000, help="schedules for random/pct (default 1000)"
    )
    p.add_argument(
        "--max-examples",
        type=positive,
        help="hypothesis: examples to try (default: the settings profile's, "
        "IDEMRACE_HYPOTHESIS_PROFILE = ci | dev | deep)",
    )
    p.add_argument("--pct-depth", type=positive, default=3, help="PCT bug depth d (default 3)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--trace-out",
        type=Path,
        metavar="DIR",
        help="save each counterexample as DIR/<scenario>.<property>.trace.json (DIR must exist)",
    )
    p.add_argument(
        "--stable",
        action="store_true",
        help="report seconds as 0 so output is byte-identical across runs",
    )
    p.add_argument(
        "--show-traces", action="store_true", help="print every counterexample step by step"
    )
    p.add_argument(
        "--storage",
        choices=("full", "fingerprint", "bitstate"),
        default="full",
        help="bfs: keep visited states in full, as 64-bit fingerprints (omission probability "
        "reported) or as bitstate (supertrace: never says holds)",
    )
    p.add_argument(
        "--workers",
        type=positive,
        help="run on a local Dask cluster of N worker processes (seed ranges; BFS frontier)",
    )
    p.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="run on an existing Dask cluster (its workers need idemrace installed)",
    )
    from idemrace.progress import add_feedback_arguments

    add_feedback_arguments(p)


def _result_json(result, args) -> dict[str, Any]:
    from catalog.trace import step_rows

    scenario = result.scenario
    bounds = dataclasses.asdict(scenario.bounds)
    if args.max_depth is not None:
        bounds["max_depth"] = args.max_depth
    if args.max_states is not None:
        bounds["max_states"] = args.max_states
    if result.explorer in ("random", "pct"):
        bounds["walks"] = args.walks
    if result.explorer == "pct":
        bounds["pct_depth"] = args.pct_depth
    if result.explorer == "hypothesis":
        bounds["max_examples"] = args.max_examples
    stats = result.stats
    return {
        "scenario": scenario.name,
        "profile": scenario.profile_name,
        "explorer": result.explorer,
        "seed": result.seed,
        "verdict": result.verdict,
        "expected": scenario.expect,
        "matches": result.matches,
        "properties": result.properties,
        "cut_off": result.cut_off,
        "bounds": bounds,
        "stats": {
            "states": stats.states,
            "transitions": stats.transitions,
            "max_depth": stats.max_depth,
            "seconds": 0 if args.stable else round(stats.seconds, 4),
            "schedules": stats.schedules,
            **({"storage": stats.storage} if stats.storage else {}),
        },
        "violations": [
            {
                "property": v.property,
                "message": v.message,
                "schedule": v.schedule,
                "trace": step_rows(v.steps),
            }
            for v in result.violations
        ],
    }


def run(args) -> int:
    import sys

    from catalog import catalog, load_scenario
    from idemrace import signals
    from idemrace.commands.common import (
        existing_folder,
        no_counterexample_note,
        reachable_scheduler,
    )

    scenarios = [load_scenario(ref) for ref in args.scenarios] or list(catalog().values())
    # outputs and the cluster are checked before the search, not after it
    if args.trace_out is not None:
        existing_folder("--trace-out", args.trace_out)
    if args.time_limit is not None and (args.workers or args.scheduler):
        from idemrace.commands.common import UsageError

        # a campaign's tasks run on the workers; the limit is read where the search runs
        raise UsageError("--time-limit applies to in-process searches, not --workers/--scheduler")
    if args.scheduler:
        reachable_scheduler(args.scheduler)
    from idemrace.progress import progress_display

    progress = progress_display(args, len(scenarios))
    cluster = _Cluster(args.workers, args.scheduler)
    results: list = []
    interrupted = None
    try:
        # several scenarios with --workers: forked workers search them whole, side by side, so
        # each result is the in-process one (``_fork_pool``); where fork is not there, a local
        # Dask cluster (a second or two to start) is started only once the in-process searches
        # have taken longer than that (the whole catalog took 1.5 s in-process and 2.7 s with
        # --workers 2 when the cluster was started first)
        if args.scheduler or (args.workers and len(scenarios) == 1):
            cluster.start()
        else:
            # forked before the progress display starts its refresh thread: a process forked
            # while another thread holds a lock (the console's) would find it held for ever
            cluster.fork_pool(len(scenarios))
        with progress:
            _run_all(args, scenarios, progress, cluster, results)
    except KeyboardInterrupt as exc:  # keep and print what finished
        interrupted = exc
    finally:
        with signals.settled() if interrupted is not None else _nothing():
            cluster.close()
    if interrupted is None:
        code = _print(args, results)
        note = no_counterexample_note(results)
        if note:
            print(note, file=sys.stderr)
        if len(results) < len(scenarios):  # --fail-fast
            print(
                f"idemrace: stopped at the first counterexample (--fail-fast): {len(results)} of "
                f"{len(scenarios)} scenarios run",
                file=sys.stderr,
            )
        return code
    with signals.settled():
        _print(args, results, interrupted=True)
        print(
            f"idemrace: {signals.message(interrupted)} after {len(results)} of "
            f"{len(scenarios)} scenarios (the finished ones are printed above)",
            file=sys.stderr,
        )
    return signals.exit_code(interrupted)


# seconds of in-process searching after which ``--workers`` starts its local cluster (where no
# process can be forked: ``_fork_pool``)
LOCAL_CLUSTER_AFTER = 3.0
# how often the main process looks up from waiting on a forked worker (an interrupt is raised
# there at once; this only bounds how late a lost one is seen)
POOL_POLL_SECONDS = 0.1


def _fork_pool(workers: int):
    """A pool of ``workers`` processes forked from this one, or None where fork is not there.

    With several scenarios, ``--workers N`` on this machine searches them side by side, each
    whole (``run_whole``: the in-process search, reductions included), in order of submission.
    Forked workers start in milliseconds with the catalog already loaded; the local Dask cluster
    took a second or two, longer than the whole catalog's searches (about one second), so it was
    started only after 3 s and ``--workers 2`` ran the same code as without it."""
    import multiprocessing

    try:
        context = multiprocessing.get_context("fork")
    except ValueError:
        return None
    return context.Pool(workers, initializer=_pool_worker_started)


def _pool_worker_started() -> None:
    """In a forked worker: Ctrl-C at a terminal reaches the whole process group, and the main
    process stops the workers itself (``Pool.terminate``: SIGTERM), so SIGINT is ignored here
    and SIGTERM ends the worker at once instead of unwinding through our handler."""
    import signal
    import sys

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sys.unraisablehook = sys.__unraisablehook__


def _pool_result(pending):
    """A forked worker's result (its exception re-raised), waiting in short steps so a pending
    interrupt is raised here even if its first raise was lost."""
    from idemrace.signals import raise_if_stopped

    while not pending.ready():
        raise_if_stopped()
        pending.wait(POOL_POLL_SECONDS)
    return pending.get()


class _Cluster:
    """The Dask client (and the local cluster, if we started one), made on first need."""

    def __init__(self, workers: int | None, scheduler: str | None) -> None:
        self.workers, self.scheduler = workers, scheduler
        self.client = self.local = None
        self.pool = None  # forked workers (``_fork_pool``), for several scenarios

    def fork_pool(self, scenarios: int) -> None:
        if self.workers and not self.scheduler and scenarios > 1:
            self.pool = _fork_pool(self.workers)

    @property
    def wanted(self) -> bool:
        return bool(self.workers or self.scheduler)

    def start(self):
        if self.client is None:
            from idemrace import signals
            from simulator.explorers.distributed import connect

            with signals.children_ignore_sigint():
                self.client, self.local = connect(self.workers, self.scheduler)
        return self.client

    def close(self) -> None:
        if self.pool is not None:
            # every result is taken, or we are stopping (an interrupt, --fail-fast): what the
            # workers still do is no longer wanted
            self.pool.terminate()
            self.pool.join()
        if self.client is not None:
            self.client.close()
        if self.local is not None:
            self.local.close()


def _nothing():
    from contextlib import nullcontext

    return nullcontext()


def _run_all(args, scenarios, progress, cluster: _Cluster, results: list) -> list:
    """Search each scenario in turn, appending to ``results`` (so an interrupt keeps them)."""
    import time

    from catalog.trace import save_trace, trace_document
    from idemrace.progress import search_budget
    from idemrace.signals import raise_if_stopped
    from simulator.explorers import SearchOptions, check

    def options_for(scenario) -> SearchOptions:
        return SearchOptions(
            args.explorer or scenario.explorer,
            seed=args.seed,
            max_depth=args.max_depth,
            max_states=args.max_states,
            walks=args.walks,
            pct_depth=args.pct_depth,
            max_examples=args.max_examples,
            storage=args.storage,
        )

    from simulator.explorers.distributed import check_distributed, run_whole, submit_whole

    dask_client = cluster.client
    whole: dict = {}

    def put_on_workers(first: int) -> None:
        # the searches from ``first`` on are put on the workers at once, side by side
        jobs = [(s, options_for(s)) for s in scenarios[first:]]
        for i, future in submit_whole(dask_client, jobs).items():
            whole[first + i] = future

    if dask_client is not None:
        put_on_workers(0)
    pool = cluster.pool
    pooled: dict = {}
    if pool is not None:
        # all submitted at once, taken back in order: the results and the output are the
        # in-process ones
        for i, queued in enumerate(scenarios):
            pooled[i] = pool.apply_async(run_whole, (queued, options_for(queued)))
    started = time.monotonic()
    for position, scenario in enumerate(scenarios):
        if (
            pool is None
            and dask_client is None
            and cluster.wanted
            and time.monotonic() - started > LOCAL_CLUSTER_AFTER
            and position < len(scenarios) - 1
        ):
            dask_client = cluster.start()
            put_on_workers(position)
        explorer = args.explorer or scenario.explorer
        budget = search_budget(args, scenario, explorer)
        shown = progress.start(scenario.name, explorer, budget)

        def callback(done: int, total: int, shown=shown) -> str | None:
            raise_if_stopped()  # an interrupt lost in a gc callback stops the search here
            return shown(done, total)  # a reason to stop once --time-limit is spent

        options = options_for(scenario)
        if pool is not None:
            result = _pool_result(pooled.pop(position))
        elif dask_client is not None and position in whole:
            result = whole.pop(position).result()
        elif dask_client is not None:
            result = check_distributed(scenario, options, client=dask_client)
        else:
            result = check(scenario, options, progress=callback)
        raise_if_stopped()
        results.append(result)
        progress.finish(result)
        if args.trace_out is not None:
            for violation in result.violations:
                name = f"{scenario.name}.{violation.property}.trace.json"
                save_trace(args.trace_out / name, trace_document(result, violation))
        if args.fail_fast and result.violations:
            break
    return results


def _print(args, results, interrupted: bool = False) -> int:
    if args.json:
        document: dict[str, Any] = {"results": [_result_json(r, args) for r in results]}
        if interrupted:
            document["interrupted"] = True
        print(json.dumps(document, indent=2, default=str))
    else:
        from reports.text import print_check_table, table_width

        print_check_table(
            stdout_console(piped_width=table_width(results, args.stable)),
            results,
            stable=args.stable,
            show_traces=args.show_traces or len(args.scenarios) > 0,
        )
    return exit_status(results)
