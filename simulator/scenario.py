"""Scenarios: what to explore, as data.

A scenario names a profile (and its options), the requests that arrive (strategy, key, workflow,
payload, arrival window), the bounds of the search, the properties to check and, optionally, the
expected outcome. Parsing and validating a scenario file against the registries (profiles,
strategies, properties, explorers) is the catalog layer's (``catalog.parse``): it sits above the
simulator and the explorers, so this module imports none of them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from model.profiles import make_profile
from model.profiles.base import Profile


class ScenarioError(ValueError):
    """A malformed scenario. The message is one line: file, key, what is wrong, what is allowed."""


@dataclass(frozen=True)
class Request:
    index: int  # 1-based; actor name ``req{index}``
    strategy: str
    key: str
    workflow: str
    payload: str
    arrive_min: int
    arrive_max: int
    options: tuple[tuple[str, Any], ...] = ()
    # arrive only once a run started for request ``after`` has ended (a retry after completion)
    after: int | None = None
    # arrive only while a run started for request ``during`` exists and has not ended
    during: int | None = None

    def option(self, name: str, default: Any = None) -> Any:
        for k, v in self.options:
            if k == name:
                return v
        return default


@dataclass(frozen=True)
class Bounds:
    max_depth: int = 60
    max_ticks: int = 0
    max_states: int = 2_000_000
    dedupe_window: int = 0
    max_crashes: int = 0
    max_lost_responses: int = 0


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    profile_name: str
    profile_options: tuple[tuple[str, Any], ...]
    requests: tuple[Request, ...]
    bounds: Bounds
    properties: tuple[str, ...]
    expect: str | None  # "holds" | "violated:<property>" | None
    why: str = ""
    closed_by: tuple[str, ...] = ()  # catalog scenarios of designs that close this race
    explorer: str = "bfs"  # recommended explorer: used when the caller names none
    source: str = "<string>"
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def make_profile(self) -> Profile:
        return make_profile(self.profile_name, **dict(self.profile_options))

    @property
    def digest(self) -> str:
        """A stable fingerprint of what the scenario means (not how the file is formatted)."""
        canonical = json.dumps(self.raw, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def expected_property(self) -> str | None:
        if self.expect and self.expect.startswith("violated:"):
            return self.expect.split(":", 1)[1]
        return None
