"""``idemrace replay``: re-execute a saved trace and confirm its violation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from idemrace.commands.common import EXIT_MISMATCH, EXIT_OK, UsageError

NAME = "replay"
HELP = "re-execute a saved trace and confirm its violation"


def add_arguments(p) -> None:
    p.add_argument("trace", type=Path, metavar="TRACE.json")
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
