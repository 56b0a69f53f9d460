"""idemrace: executable semantics of run idempotency in durable-workflow engines, and the races
they allow.

The small public API::

    from idemrace import load_scenario, catalog, check
    result = check(load_scenario("reject-retry-after-completion"), "bfs")
    result.verdict, result.violations[0].steps
"""

from __future__ import annotations

import os as _os
import sys as _sys

__version__ = "0.1.0"


def _own_packages_first() -> None:
    """Our top-level packages (``model``, ``reports``, ...) have common names: a user's project may
    have its own. ``python -m idemrace`` puts the working directory first on ``sys.path``, so theirs
    would shadow ours. Move that one entry behind everything else: ours always win, and a user's
    ``package.module:Name`` is still found from there (``model.registry.load_object`` names a
    clash in one line). Entries the user put on ``PYTHONPATH`` keep their place."""
    if not _sys.path:
        return
    first = _sys.path[0]
    if first in ("", ".") or _os.path.abspath(first) == _os.getcwd():
        _sys.path.pop(0)
        _sys.path.append(_os.getcwd())


_own_packages_first()


def __getattr__(name: str):
    # lazy: ``idemrace --version`` and the CLI's argument errors stay fast
    if name in ("catalog", "load_scenario"):
        import catalog as _loader

        return getattr(_loader, name)
    if name == "check":
        from simulator.explorers import check

        return check
    raise AttributeError(name)


__all__ = ["__version__", "catalog", "check", "load_scenario"]
