"""The strategy declaration and its registry.

A ``StrategySpec`` bundles a request's client process (the route handler that calls ``start``) and
the workflow body every run it creates executes, and declares what it needs and what it is: the
profile families it is written for (``needs``: a profile runs it iff the profile's ``FAMILIES``
include all of them), the world ops its code issues (``ops``: checked against those profiles'
handlers when it registers), whether a request carries a payload that must reach a run
(``sends_payload``, read by ``no-lost-signal``), whether its code was audited for the symmetry and
key reductions (``symmetric``), and its options. ``register`` checks all of that at once and fails
naming the file to edit. A new strategy is one module in ``simulator/strategies/`` (found by the
package on import) that calls ``register``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

from model.profiles import PROFILES
from model.profiles.base import FAMILIES, Option
from model.registry import Registry
from simulator.process import Program
from simulator.scenario import Request


@dataclass(frozen=True)
class StrategySpec:
    name: str
    description: str
    # profile families (``model.profiles.base.FAMILIES``) the strategy's code is written for
    needs: frozenset[str]
    client: Callable[[Request], Program]
    body: Callable[[Request, int], Program]
    # the world op types the client and body issue (``model.ops``)
    ops: frozenset[type] = frozenset()
    options: dict[str, Option] = field(default_factory=dict)
    # the request carries a payload that must reach a run (checked by no-lost-signal)
    sends_payload: bool = False
    # audited for the reductions: every request index and run id its locals, ops and outcomes
    # hold is one that ``simulator.symmetry`` and ``simulator.por`` rename
    symmetric: bool = False

    @property
    def profiles(self) -> tuple[str, ...]:
        """The registered profiles that run this strategy (their families include ``needs``)."""
        return tuple(name for name, cls in PROFILES.items() if self.runs_on(cls))

    def runs_on(self, profile_cls) -> bool:
        return self.needs <= profile_cls.FAMILIES


# options every strategy accepts
COMMON_OPTIONS: dict[str, Option] = {
    "hold": Option(
        False,
        kind=bool,
        doc="the owner's run stays running after its work (a long-running owner): duplicates "
        "always meet it in flight",
    ),
    # applied to every body by simulator/strategies/owner_failure.py (issue 15)
    "ends": Option(
        "completed",
        choices=("completed", "failed-after-effect", "failed-before-effect"),
        doc="how the run this request starts ends: completes, or fails before/after its effect",
    ),
}


def _check(spec: StrategySpec) -> str | None:
    if not isinstance(spec, StrategySpec):
        return "must be a StrategySpec"
    if not spec.description:
        return "needs a one-line description"
    unknown = sorted(spec.needs - set(FAMILIES))
    if not spec.needs or unknown:
        return f"needs must name some of {', '.join(sorted(FAMILIES))}" + (
            f" (unknown: {', '.join(unknown)})" if unknown else ""
        )
    if not callable(spec.client) or not callable(spec.body):
        return "client and body must be Program classes (or callables returning Programs)"
    runs_on = [cls for cls in PROFILES.values() if spec.runs_on(cls)]
    for cls in runs_on:
        missing = sorted(op.__name__ for op in spec.ops if op not in cls.HANDLERS)
        if missing:
            return f"issues {', '.join(missing)}, which profile {cls.name!r} does not handle"
    return None


def _with_common_options(spec: StrategySpec) -> StrategySpec:
    spec.options.update({k: v for k, v in COMMON_OPTIONS.items() if k not in spec.options})
    return spec


STRATEGIES: Registry[StrategySpec] = Registry(
    "strategy",
    "a new module in simulator/strategies/ that calls register(StrategySpec(...))",
    name_of=lambda spec: spec.name,
    check=_check,
    # a user's own StrategySpec, named package.module:NAME, accepts the common options too
    convert=lambda obj: _with_common_options(obj) if isinstance(obj, StrategySpec) else None,
)


def register(spec: StrategySpec) -> StrategySpec:
    """Register ``spec`` (with the options every strategy accepts); fails naming the caller's
    file on a wrong declaration."""
    caller = inspect.stack(0)[1].filename
    return STRATEGIES.register(_with_common_options(spec), origin=caller)


__all__ = ["COMMON_OPTIONS", "STRATEGIES", "StrategySpec", "register"]
