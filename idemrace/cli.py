"""The command line: ``idemrace scenarios | check | replay``.

Exit status: 0 when every verdict matches its scenario's expectation, 1 when one does not (or a
replay does not reproduce), 2 for bad input (a malformed scenario, a stale trace, a bad option),
always with a one-line message and never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from idemrace import __version__

EXIT_OK, EXIT_MISMATCH, EXIT_BAD_INPUT = 0, 1, 2


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="idemrace",
        description="Find races in run-idempotency designs of durable-workflow engines.",
    )
    parser.add_argument("--version", action="version", version=f"idemrace {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("scenarios", help="list the built-in scenario catalog")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")

    p = sub.add_parser("check", help="explore scenarios and check their properties")
    p.add_argument(
        "scenarios",
        nargs="*",
        metavar="SCENARIO_OR_FILE",
        help="catalog names or scenario TOML files (default: the whole catalog)",
    )
    from simulator.explorers import EXPLORERS

    p.add_argument(
        "--explorer", choices=EXPLORERS, default="bfs", help="search strategy (default bfs)"
    )
    p.add_argument("--seed", type=_positive, default=0, help="seed for random and pct (default 0)")
    p.add_argument("--max-depth", type=_positive, help="override the scenario's depth bound")
    p.add_argument("--max-states", type=_positive, help="override the scenario's state budget")
    p.add_argument(
        "--walks", type=_positive, default=1000, help="schedules for random/pct (default 1000)"
    )
    p.add_argument("--pct-depth", type=_positive, default=3, help="PCT bug depth d (default 3)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--trace-out",
        type=Path,
        metavar="DIR",
        help="save each counterexample as DIR/<scenario>.<property>.trace.json",
    )
    p.add_argument(
        "--stable",
        action="store_true",
        help="report seconds as 0 so output is byte-identical across runs",
    )
    p.add_argument(
        "--show-traces", action="store_true", help="print every counterexample step by step"
    )

    p = sub.add_parser("replay", help="re-execute a saved trace and confirm its violation")
    p.add_argument("trace", type=Path, metavar="TRACE.json")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


# -- check ------------------------------------------------------------------------------------


def _result_json(result, args) -> dict[str, Any]:
    from idemrace.trace import step_rows

    scenario = result.scenario
    bounds = {
        "max_depth": args.max_depth if args.max_depth is not None else scenario.bounds.max_depth,
        "max_states": args.max_states
        if args.max_states is not None
        else scenario.bounds.max_states,
        "max_ticks": scenario.bounds.max_ticks,
        "dedupe_window": scenario.bounds.dedupe_window,
        "max_crashes": scenario.bounds.max_crashes,
    }
    if result.explorer in ("random", "pct"):
        bounds["walks"] = args.walks
    if result.explorer == "pct":
        bounds["pct_depth"] = args.pct_depth
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


def _progress_factory(console, enabled: bool):
    """A rich progress bar on stderr while a search runs (only on a terminal)."""
    if not enabled:
        return None
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} states"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _stdout_console():
    """Rich console for stdout; wide enough off a terminal that tables do not fold (CI logs)."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=160)


def cmd_check(args) -> int:
    from rich.console import Console

    from idemrace.loader import catalog, load_scenario
    from idemrace.trace import save_trace, trace_document
    from simulator.explorers import check

    scenarios = [load_scenario(ref) for ref in args.scenarios] or list(catalog().values())
    err = Console(stderr=True)
    progress = _progress_factory(err, err.is_terminal and not args.json)
    results = []
    for scenario in scenarios:
        callback = None
        if progress is not None:
            progress.start()
            task = progress.add_task(scenario.name, total=None)

            def callback(done: int, _total: int, task=task) -> None:
                progress.update(task, completed=done)

        try:
            result = check(
                scenario,
                args.explorer,
                seed=args.seed,
                max_depth=args.max_depth,
                max_states=args.max_states,
                walks=args.walks,
                pct_depth=args.pct_depth,
                progress=callback,
            )
        finally:
            if progress is not None:
                progress.stop()
        results.append(result)
        if args.trace_out is not None:
            for violation in result.violations:
                name = f"{scenario.name}.{violation.property}.trace.json"
                save_trace(args.trace_out / name, trace_document(result, violation))

    if args.json:
        print(
            json.dumps({"results": [_result_json(r, args) for r in results]}, indent=2, default=str)
        )
    else:
        from reports.text import print_check_table

        print_check_table(
            _stdout_console(),
            results,
            stable=args.stable,
            show_traces=args.show_traces or len(args.scenarios) > 0,
        )
    return EXIT_OK if all(r.matches for r in results) else EXIT_MISMATCH


# -- replay -----------------------------------------------------------------------------------


def cmd_replay(args) -> int:
    from idemrace.trace import load_trace, resolve_scenario
    from properties import PROPERTIES
    from simulator.system import ReplayError, System

    document = load_trace(args.trace)
    scenario, note = resolve_scenario(document, args.trace)
    prop = PROPERTIES.get(document["property"])
    if prop is None:
        raise UsageError(f"{args.trace}: unknown property {document['property']!r}")
    system = System(scenario)
    recorded = [(row["actor"], row["op"], row["result"]) for row in document["steps"]]
    outcome: dict[str, Any] = {
        "trace": str(args.trace),
        "scenario": scenario.name,
        "property": prop.name,
    }
    try:
        state, steps = system.replay(document["schedule"], recorded)
    except ReplayError as exc:
        outcome.update(reproduced=False, reason=str(exc))
    else:
        message = prop.check(system, state)
        if message is None:
            outcome.update(
                reproduced=False,
                reason=f"replayed {len(steps)} steps but {prop.name} holds at the end",
            )
        else:
            outcome.update(reproduced=True, steps=len(steps), message=message)
    if args.json:
        print(json.dumps(outcome, indent=2))
    elif outcome["reproduced"]:
        print(f"reproduced: {prop.name} violated after {outcome['steps']} steps ({note})")
        print(f"  {outcome['message']}")
    else:
        print(f"NOT reproduced: {outcome['reason']}")
    return EXIT_OK if outcome["reproduced"] else EXIT_MISMATCH


# -- scenarios --------------------------------------------------------------------------------


def cmd_scenarios(args) -> int:
    from idemrace.loader import catalog

    rows = [
        {
            "name": s.name,
            "profile": s.profile_name,
            "expect": s.expect,
            "description": s.description,
        }
        for s in catalog().values()
    ]
    if args.json:
        print(json.dumps({"scenarios": rows}, indent=2))
        return EXIT_OK
    from rich.table import Table

    table = Table(title="idemrace scenario catalog")
    for column in ("name", "profile", "expect", "description"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["name"], row["profile"], row["expect"] or "-", row["description"])
    _stdout_console().print(table)
    return EXIT_OK


COMMANDS = {"check": cmd_check, "replay": cmd_replay, "scenarios": cmd_scenarios}


def main(argv: Sequence[str] | None = None) -> int:
    from model.profiles.base import ModelError
    from simulator.scenario import ScenarioError
    from simulator.system import ReplayError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (UsageError, ScenarioError, ValueError, ModelError, ReplayError) as exc:
        print(f"idemrace: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("idemrace: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
