"""Shared helpers for command modules: exit codes, argument types, consoles."""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterator
from pathlib import Path

EXIT_OK, EXIT_MISMATCH, EXIT_BAD_INPUT = 0, 1, 2
# a non-exhaustive explorer (random, pct, hypothesis) found no counterexample in a scenario
# expected to hold: not a proof (only bfs/dfs can say `holds`), not a mismatch either; CI can
# accept it with `idemrace check ... || [ $? -eq 3 ]`
EXIT_NO_COUNTEREXAMPLE = 3


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


def positive(text: str) -> int:
    value = non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 1")
    return value


def positive_seconds(text: str) -> float:
    """A float > 0 that is finite: ``nan`` compares false with everything, so ``<= 0`` lets it
    through, and ``inf`` is no budget."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number of seconds > 0")
    return value


class LazyChoices:
    """``choices`` for argparse read from a registry only when a value is checked or help is
    printed, so building the parser imports no search code (usage errors answer at once)."""

    def __init__(self, module: str, attribute: str) -> None:
        self.module, self.attribute = module, attribute

    def _names(self) -> list[str]:
        import importlib

        return list(getattr(importlib.import_module(self.module), self.attribute))

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())


def existing_folder(option: str, folder: Path) -> None:
    """Check before any search that ``folder`` is an existing, writable folder (an output that
    cannot be written must not cost a whole search first)."""
    import os

    if not folder.exists():
        raise UsageError(f"{option} {folder}: no such folder (create it first)")
    if not folder.is_dir():
        raise UsageError(f"{option} {folder}: exists and is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {folder}: the folder is not writable")


def reachable_scheduler(address: str, timeout: float = 3.0) -> None:
    """Fail fast (one line) when a Dask scheduler address is malformed or nothing answers there:
    Dask's own connect retries for tens of seconds before it gives up."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if parts.scheme not in ("tcp", "tls") or not host or not port:
        raise UsageError(f"--scheduler {address!r}: expected tcp://HOST:PORT")
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UsageError(
            f"cannot reach the Dask scheduler at {address} ({reason}); start one with "
            "`dask scheduler`, or run a local cluster with --workers N"
        ) from None


def exit_status(results) -> int:
    """0: every verdict matches; 3: the only misses are non-exhaustive searches that found
    nothing in a scenario expected to hold; 1: a real mismatch."""
    misses = [r for r in results if not r.matches]
    if not misses:
        return EXIT_OK
    if all(no_counterexample(r) for r in misses):
        return EXIT_NO_COUNTEREXAMPLE
    return EXIT_MISMATCH


def no_counterexample(result) -> bool:
    """A `holds` scenario searched by an explorer that cannot prove it, and nothing found."""
    return result.scenario.expect == "holds" and not result.violations and not exhaustive(result)


def exhaustive(result) -> bool:
    from simulator.explorers import EXPLORERS

    entry = EXPLORERS.get(result.explorer) if hasattr(EXPLORERS, "get") else None
    return bool(getattr(entry, "exhaustive", result.explorer in ("bfs", "dfs")))


def no_counterexample_note(results) -> str | None:
    """The plain words for exit 3 (printed on stderr), or None."""
    unproven = [r for r in results if not r.matches and no_counterexample(r)]
    if not unproven:
        return None
    used = sorted({r.explorer for r in unproven})
    names = ", ".join(r.scenario.name for r in unproven)
    verb = "never proves" if len(used) == 1 else "never prove"
    return (
        f"idemrace: note: no counterexample found in {names}; {', '.join(used)} {verb} `holds` "
        "(it samples schedules), so this is not a pass: exit 3; bfs or dfs can prove it"
    )


def stdout_console(piped_width: int = 160):
    """Rich console for stdout. Off a terminal (a pipe, a CI log) it honours ``COLUMNS`` (rich
    reads it) and is otherwise ``piped_width`` wide, so tables do not fold at rich's 80."""
    import os

    from rich.console import Console

    console = Console()
    if console.is_terminal or os.environ.get("COLUMNS", "").isdigit():
        return console
    return Console(width=piped_width)
