"""Properties: named predicates the explorers check.

A property is either an ``invariant`` (checked on every reachable state) or ``final`` (checked on
states where nothing can move any more: the end of a finished trace). Trace properties are final
properties over ghost state: the world records the history facts they need (effects, deliveries,
consumptions, outcomes), which keeps state dedupe sound for them.

An invariant may also carry a ``settle`` check evaluated on final states only (newest-wins: no
older request cancels a newer one at any time, and the newest request owns the key at the end).

``check(system, state)`` returns ``None`` when the property holds there, else one sentence saying
what is wrong in this state (used by the CLI and the reports).
"""

from __future__ import annotations

import importlib
import pkgutil

from properties.base import FINAL, INVARIANT, PROPERTIES, STATE_PARTS, Property, register

# every module of this folder registers its properties on import (adding one is adding a file)
for _module in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "base"):
    importlib.import_module(f"{__name__}.{_module}")

__all__ = ["FINAL", "INVARIANT", "PROPERTIES", "STATE_PARTS", "Property", "register"]
