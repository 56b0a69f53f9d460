"""idemrace: executable semantics of run idempotency in durable-workflow engines, and the races
they allow.

The small public API::

    from idemrace import load_scenario, catalog, check
    result = check(load_scenario("reject-retry-after-completion"), "bfs")
    result.verdict, result.violations[0].steps
"""

from __future__ import annotations

__version__ = "0.1.0"


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
