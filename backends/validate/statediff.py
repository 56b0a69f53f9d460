"""What differs between two worlds, and only that (a final-state divergence used to print two
whole dumps). Runs are compared by id field by field, hooks by token, key memory by key; the
ghost logs (deliveries, consumptions, effects, cancels, app records) as multisets, saying which
entries one side has and the other lacks. Each line reads ``<where>: model <x>, backend <y>``."""

from __future__ import annotations

from collections import Counter
from typing import Any

from model import ops as O
from model.state import WorldState


def _show(value: Any) -> str:
    return "absent" if value is None else O.describe(value)


def _by(rows: tuple, key) -> dict[Any, Any]:
    return {key(r): r for r in rows}


def _records(what: str, model: dict, backend: dict) -> list[str]:
    lines = []
    for k in sorted(set(model) | set(backend), key=repr):
        m, b = model.get(k), backend.get(k)
        if m == b:
            continue
        if m is None or b is None or not hasattr(m, "_fields"):
            lines.append(f"{what} {k!r}: model {_show(m)}, backend {_show(b)}")
            continue
        for name, mv, bv in zip(m._fields, m, b, strict=True):
            if mv != bv:
                lines.append(
                    f"{what} {k!r} {name}: model {O.describe(mv)}, backend {O.describe(bv)}"
                )
    return lines


def _multiset(what: str, model: tuple, backend: tuple) -> list[str]:
    m, b = Counter(model), Counter(backend)
    lines = []
    for item in sorted((m - b).elements(), key=repr):
        lines.append(f"{what}: model has {_show(item)}, backend lacks it")
    for item in sorted((b - m).elements(), key=repr):
        lines.append(f"{what}: backend has {_show(item)}, model lacks it")
    if not lines and model != backend:
        lines.append(f"{what}: same entries in another order")
    return lines


def state_diff(model: WorldState, backend: WorldState) -> list[str]:
    """One line per difference (empty when equal)."""
    lines = []
    if model.clock != backend.clock:
        lines.append(f"clock: model {model.clock}, backend {backend.clock}")
    lines += _records("run", _by(model.runs, lambda r: r.id), _by(backend.runs, lambda r: r.id))
    lines += _records(
        "hook", _by(model.hooks, lambda h: h.token), _by(backend.hooks, lambda h: h.token)
    )
    lines += _records("key", _by(model.keys, lambda e: e.key), _by(backend.keys, lambda e: e.key))
    for what in ("effects", "delivered", "consumed", "cancels", "records"):
        lines += _multiset(what, getattr(model, what), getattr(backend, what))
    return lines
