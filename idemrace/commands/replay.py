"""``idemrace replay``: re-execute a saved trace and confirm its violation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from idemrace.commands.common import EXIT_MISMATCH, EXIT_OK, UsageError

NAME = "replay"
HELP = "re-execute a saved trace and confirm its violation"
DESCRIPTION = """\
Re-run a trace's schedule against its scenario as it is now and check that the property is
still violated. Every step's answer is compared with the recorded one: a step that comes out
differently is reported as model nondeterminism at that step (exit 1). A scenario whose
explored content changed since the trace was recorded is refused (exit 2); editing only its
description, why, closed_by or recommended explorer does not invalidate the trace. When the
scenario file is gone, the copy embedded in the trace is used (and the output says so).

examples:
  idemrace check reject-retry-after-completion --trace-out traces/
  idemrace replay traces/reject-retry-after-completion.at-most-once-effect.trace.json
  idemrace replay race-reports/signal-forward-race/trace.json --json
"""


def add_arguments(p) -> None:
    p.add_argument(
        "trace",
        type=Path,
        metavar="TRACE.json",
        help="a trace file from check --trace-out or report",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
    from catalog.trace import load_trace, resolve_scenario
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
