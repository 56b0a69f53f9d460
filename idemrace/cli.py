"""The command line: ``idemrace COMMAND ...``.

Each command lives in its own module under ``idemrace/commands/`` exposing ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``; ``COMMAND_MODULES`` lists them.

Exit status: 0 when every verdict matches its scenario's expectation, 1 when one does not (or a
replay does not reproduce), 2 for bad input (a malformed scenario, a stale trace, a bad option),
always with a one-line message and never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from idemrace import __version__
from idemrace.commands.common import EXIT_BAD_INPUT, EXIT_OK, UsageError

# one line per command module
COMMAND_MODULES = (
    "idemrace.commands.scenarios",
    "idemrace.commands.check",
    "idemrace.commands.replay",
    "idemrace.commands.matrix",
    "idemrace.commands.report",
    "idemrace.commands.validate",
)


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    parser = argparse.ArgumentParser(
        prog="idemrace",
        description="Find races in run-idempotency designs of durable-workflow engines.",
    )
    parser.add_argument("--version", action="version", version=f"idemrace {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    runners = {}
    for module_name in COMMAND_MODULES:
        module = importlib.import_module(module_name)
        module.add_arguments(sub.add_parser(module.NAME, help=module.HELP))
        runners[module.NAME] = module.run
    return parser, runners


def main(argv: Sequence[str] | None = None) -> int:
    from model.profiles.base import ModelError
    from simulator.scenario import ScenarioError
    from simulator.system import ReplayError

    parser, runners = build_parser()
    args = parser.parse_args(argv)
    try:
        return runners[args.command](args)
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
