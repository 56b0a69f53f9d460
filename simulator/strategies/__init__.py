"""Strategies by name: the documented ways client code and workflow bodies use each system.

Every module in this folder is imported once, in name order, and registers its strategies
(``simulator.strategies.base.register``): adding a strategy is adding one file. A user's own
strategy is named as ``package.module:NAME`` (a ``StrategySpec``) in a scenario.
"""

from __future__ import annotations

import importlib
import pkgutil

from simulator.strategies.base import COMMON_OPTIONS, STRATEGIES, StrategySpec, register

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "base"):
    importlib.import_module(f"{__name__}.{_module}")

__all__ = ["COMMON_OPTIONS", "STRATEGIES", "StrategySpec", "register"]
