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


def stdout_console(piped_width: int = 160):
    """Rich console for stdout. Off a terminal (a pipe, a CI log) it honours ``COLUMNS`` (rich
    reads it) and is otherwise ``piped_width`` wide, so tables do not fold at rich's 80."""
    import os

    from rich.console import Console

    console = Console()
    if console.is_terminal or os.environ.get("COLUMNS", "").isdigit():
        return console
    return Console(width=piped_width)
