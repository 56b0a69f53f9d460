"""Orderly stops: Ctrl-C (SIGINT) and SIGTERM (a CI timeout, ``kill``) unwind the main thread.

Both signals raise in the main thread, so every ``finally`` runs: throwaway servers are stopped,
their folders removed, a Dask cluster closed, and a command prints what finished. SIGTERM raises
``Terminated``, a ``KeyboardInterrupt``, so code that stops cleanly on Ctrl-C stops cleanly on it.

Two ways an interrupt used to get lost (issue 18: a whole-catalog ``report`` interrupted at
40-55 s ran on and exited 0 in 2 of 4 tries):

* raised while a finaliser or a garbage-collection callback runs, the exception is "ignored"
  (printed through ``sys.unraisablehook``) and the search goes on. Our hook has another thread
  deliver the signal again (``_thread.interrupt_main``), so it is raised outside the finaliser;
* the flag ``_received`` stays set, and the searches' progress callbacks call ``raise_if_stopped``
  (every few thousand states), so even a lost raise stops the search at its next report.
"""

from __future__ import annotations

import _thread
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a process stopped by Ctrl-C
EXIT_TERMINATED = 143  # 128 + SIGTERM
REDELIVER_SECONDS = 0.05


class Terminated(KeyboardInterrupt):
    """SIGTERM: unwinds like Ctrl-C (every ``except KeyboardInterrupt`` and ``finally`` runs)."""


_received: int | None = None
_handled = False  # a command caught the interrupt and is stopping: no re-delivery


def _redeliver(signum: int) -> None:
    if not _handled:
        _thread.interrupt_main(signum)


def _handler(signum: int, _frame) -> None:
    global _received
    _received = signum
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _unraisable(previous):
    def hook(unraisable) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt) and _received is not None:
            # swallowed inside a finaliser or gc callback: deliver it again a moment later, from
            # another thread (delivered now, the handler would raise inside this hook and be lost
            # again); lost once more, it comes back here and is sent again
            again = threading.Timer(REDELIVER_SECONDS, _redeliver, (_received,))
            again.daemon = True
            again.start()
            return
        if _received is not None:
            # once we are stopping, an exception "ignored" in a library's finaliser or gc
            # callback is fallout of the interrupt unwinding its state half-way (distributed's
            # GC diagnosis asserted on its timer): the command's one line says what happened
            return
        previous(unraisable)

    return hook


def stopped() -> bool:
    return _received is not None


def raise_if_stopped() -> None:
    """Raise the pending interrupt again (a search loop calls this: a raise may have been lost)."""
    if _received is not None:
        raise Terminated() if _received == signal.SIGTERM else KeyboardInterrupt()


def exit_code(exc: BaseException) -> int:
    return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED


def message(exc: BaseException) -> str:
    return "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"


@contextmanager
def orderly_stops() -> Iterator[None]:
    """SIGINT and SIGTERM raise in the main thread while the block runs; the previous handlers
    come back after it (tests call ``main()`` in-process, under pytest's own handlers)."""
    global _received, _handled
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received, _handled = None, False
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    hook = sys.unraisablehook
    for s in before:
        signal.signal(s, _handler)
    sys.unraisablehook = _unraisable(hook)
    try:
        yield
    finally:
        for s, h in before.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
        sys.unraisablehook = hook


@contextmanager
def settled() -> Iterator[None]:
    """While a stopping command prints what finished, a late re-delivery or a second Ctrl-C must
    not turn that into a traceback: further SIGINT/SIGTERM are ignored for the block."""
    global _handled
    _handled = True
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in before:
        signal.signal(s, signal.SIG_IGN)
    try:
        yield
    finally:
        for s, h in before.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)


@contextmanager
def children_ignore_sigint() -> Iterator[None]:
    """Processes started in the block (a local Dask cluster's workers) ignore SIGINT: a Ctrl-C at
    the terminal reaches the whole process group, and workers dying on it print pages of
    tracebacks; we stop them ourselves (``cluster.close()``) when the main process unwinds."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before if before is not None else signal.SIG_DFL)
