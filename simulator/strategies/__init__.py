"""Strategies by name: the documented ways client code and workflow bodies use each system.

A ``StrategySpec`` bundles a request's client process (the route handler that calls ``start``) and
the workflow body every run it creates executes, plus the profiles it is written for and its
options. Later issues register more here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from model.profiles.base import Option
from simulator.process import Program
from simulator.scenario import Request


@dataclass(frozen=True)
class StrategySpec:
    name: str
    description: str
    profiles: tuple[str, ...]
    client: Callable[[Request], Program]
    body: Callable[[Request, int], Program]
    options: dict[str, Option] = field(default_factory=dict)
    # the request carries a payload that must reach a run (checked by no-lost-signal)
    sends_payload: bool = False


STRATEGIES: dict[str, StrategySpec] = {}

# options every strategy accepts
COMMON_OPTIONS: dict[str, Option] = {
    "hold": Option(
        False,
        kind=bool,
        doc="the owner's run stays running after its work (a long-running owner): duplicates "
        "always meet it in flight",
    ),
}


def register(spec: StrategySpec) -> StrategySpec:
    if spec.name in STRATEGIES:
        raise ValueError(f"strategy {spec.name!r} registered twice")
    spec.options.update({k: v for k, v in COMMON_OPTIONS.items() if k not in spec.options})
    STRATEGIES[spec.name] = spec
    return spec


# one line per strategy module
from simulator.strategies import keyed as _keyed  # noqa: E402,F401
from simulator.strategies import peers as _peers  # noqa: E402,F401
from simulator.strategies import vercel_today as _vercel_today  # noqa: E402,F401

__all__ = ["STRATEGIES", "StrategySpec", "register"]
