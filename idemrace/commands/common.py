"""Shared helpers for command modules: exit codes, argument types, consoles."""

from __future__ import annotations

import argparse

EXIT_OK, EXIT_MISMATCH, EXIT_BAD_INPUT = 0, 1, 2


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


def non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 0")
    return value


def stdout_console():
    """Rich console for stdout; wide enough off a terminal that tables do not fold (CI logs)."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=160)
