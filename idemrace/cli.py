"""The command line: ``idemrace COMMAND ...``.

Each command lives in its own module under ``idemrace/commands/`` exposing ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``, and optionally ``DESCRIPTION`` (the text of
``idemrace COMMAND --help``: what it does, examples, exit codes); ``COMMAND_MODULES`` lists them.

Building the parser imports no search, plotting or backend code (a usage error is answered at
once; the registries behind ``--explorer`` choices load only when a value is checked or help is
printed). The exit codes are ``EXIT_CODES`` below, also shown by ``idemrace --help``; every error
is one line on stderr and never a traceback.
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
    "idemrace.commands.list",
    "idemrace.commands.check",
    "idemrace.commands.replay",
    "idemrace.commands.matrix",
    "idemrace.commands.report",
    "idemrace.commands.validate",
    "idemrace.commands.export_finding",
)

EXIT_CODES = """\
exit codes:
  0    every verdict matches its scenario's expectation (validate: conformant)
  1    a verdict differs from its expectation, a replay does not reproduce
       (validate: a discrepancy, or unknown)
  2    bad input: a malformed scenario, a stale trace, a bad option, an unreachable backend
  3    check/report: no counterexample found by a non-exhaustive explorer (random, pct,
       hypothesis) on a scenario expected to hold; such explorers never prove `holds`
  130  interrupted (Ctrl-C): what finished is printed (--json stays valid, "interrupted": true)
  143  terminated (SIGTERM): servers we started are stopped and their folders removed
"""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions keep their line breaks (examples, exit codes); every option shows its
    default. Unlike ``ArgumentDefaultsHelpFormatter`` it leaves out defaults that say nothing
    (None, False) and help texts that already state theirs."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "%(default)" in text
            or "default" in text
            or default is None
            or default is False
            or default == []
            or default is argparse.SUPPRESS
            or not action.option_strings
        ):
            return text
        return f"{text} (default: %(default)s)"


class OneLineParser(argparse.ArgumentParser):
    """A usage error is one line on stderr (argparse prints the whole usage first), naming the
    help to read; exit status 2 as argparse's."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    parser = OneLineParser(
        prog="idemrace",
        description="Find races in run-idempotency designs of durable-workflow engines.",
        epilog=EXIT_CODES
        + "\n`idemrace COMMAND --help` shows each command's options and examples.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"idemrace {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    runners = {}
    for module_name in COMMAND_MODULES:
        module = importlib.import_module(module_name)
        description = getattr(module, "DESCRIPTION", None)
        module.add_arguments(
            sub.add_parser(
                module.NAME,
                help=module.HELP,
                description=description or module.HELP,
                epilog=EXIT_CODES,
                formatter_class=HelpFormatter,
            )
        )
        runners[module.NAME] = module.run
    return parser, runners


def main(argv: Sequence[str] | None = None) -> int:
    from idemrace import signals

    with signals.orderly_stops():
        try:
            parser, runners = build_parser()
            args = parser.parse_args(argv)
            return _run(runners[args.command], args)
        except KeyboardInterrupt as exc:  # a command without its own partial output
            with signals.settled():
                print(f"idemrace: {signals.message(exc)}", file=sys.stderr)
            return signals.exit_code(exc)


def _run(runner, args) -> int:
    # imported after the arguments are parsed: these pull in the model and its registries
    from idemrace import signals
    from model.profiles.base import ModelError
    from simulator.scenario import ScenarioError
    from simulator.system import ReplayError

    try:
        return runner(args)
    except Exception as exc:
        # raised while an interrupt is pending, it is fallout of the interrupt, not bad input: a
        # C extension that calls back into Python (matplotlib's Agg while a report is drawn)
        # turns the KeyboardInterrupt raised in the callback into its own error ("Invalid affine
        # transformation matrix")
        signals.raise_if_stopped()
        if isinstance(exc, (UsageError, ScenarioError, ValueError, ModelError, ReplayError)):
            print(f"idemrace: error: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        if isinstance(exc, BrokenPipeError):
            return EXIT_OK
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
