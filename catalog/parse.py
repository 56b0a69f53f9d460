"""Scenario files: TOML text to a validated ``Scenario``, with one-line errors.

Validation checks every name against its registry (profiles, strategies, properties, explorers),
so it lives above all of them; ``simulator.scenario`` holds only the data types. A profile,
strategy or property may also be a user's own ``package.module:Name``, loaded with one-line errors
(``model.registry.load_object``). Parsing is pure apart from that loading: text in, ``Scenario``
out; reading the file is the caller's.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

from model.profiles import PROFILES, make_profile
from model.registry import RegistrationError, Registry, is_reference
from properties import PROPERTIES
from simulator.explorers import EXPLORERS
from simulator.scenario import Bounds, Request, Scenario, ScenarioError
from simulator.strategies import STRATEGIES

_TOP_KEYS = {
    "name": "scenario name",
    "description": "one line",
    "why": "why the expectation is what it is",
    "closed_by": "list of scenario names: designs where the violated property holds",
    "explorer": "the explorer to use when none is named (default bfs; for spaces too big for it)",
    "profile": "profile name",
    "profile_options": "table of profile options",
    "bounds": "table",
    "properties": "list of property names",
    "expect": '"holds" or "violated:<property>"',
    "requests": "array of [[requests]] tables",
}
_REQUEST_KEYS = (
    "strategy",
    "key",
    "workflow",
    "payload",
    "arrive",
    "after",
    "during",
    "options",
)
_BOUND_KEYS = tuple(Bounds.__dataclass_fields__)

# a scenario name becomes a folder name (``idemrace report``) and a file name prefix
# (``check --trace-out``): a plain slug, so no name can climb out of the output folder, hide as a
# dot-file or read as an option
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def _resolve(registry: Registry, source: str, key: str, name: str) -> Any:
    """A registered name or a user's ``package.module:Name``, else a one-line ``ScenarioError``."""
    try:
        return registry.resolve(name)
    except KeyError as exc:
        raise _fail(source, key, exc.args[0]) from None
    except RegistrationError as exc:
        raise _fail(source, key, str(exc)) from None


def _fail(source: str, key: str, message: str) -> ScenarioError:
    return ScenarioError(f"{source}: {key}: {message}")


def _int(source: str, key: str, value: Any, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(source, key, f"must be an integer >= {minimum}, got {value!r}")
    return value


def _str(source: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(source, key, f"must be a non-empty string, got {value!r}")
    return value


def check_name(source: str, value: Any) -> str:
    """``value`` if it is a safe scenario name, else a one-line ``ScenarioError``."""
    name = _str(source, "name", value)
    if NAME_PATTERN.fullmatch(name) is None:
        raise _fail(
            source,
            "name",
            f"{name!r} is not a plain name: use letters, digits, '-', '_' and '.', starting with a "
            "letter or digit, at most 100 characters (it names the report folder)",
        )
    return name


def _explorer(source: str, value: Any) -> str:
    if value not in EXPLORERS:
        raise _fail(source, "explorer", f"{value!r} is not an explorer; allowed: {', '.join(EXPLORERS)}")
    return value


def _names(source: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(source, key, f"must be a list of scenario names, got {value!r}")
    return tuple(value)


def parse_scenario(text: str, source: str = "<string>") -> Scenario:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    return scenario_from_dict(data, source)


def scenario_from_dict(data: dict[str, Any], source: str = "<string>") -> Scenario:
    for key in data:
        if key not in _TOP_KEYS:
            raise _fail(source, key, f"unknown key; allowed: {', '.join(_TOP_KEYS)}")
    name = check_name(source, data.get("name"))
    profile_name = _str(source, "profile", data.get("profile"))
    _resolve(PROFILES, source, "profile", profile_name)
    options = data.get("profile_options", {})
    if not isinstance(options, dict):
        raise _fail(source, "profile_options", "must be a table")
    try:
        make_profile(profile_name, **options)
    except ValueError as exc:
        raise _fail(source, "profile_options", str(exc)) from None

    raw_bounds = data.get("bounds", {})
    if not isinstance(raw_bounds, dict):
        raise _fail(source, "bounds", "must be a table")
    for key in raw_bounds:
        if key not in _BOUND_KEYS:
            raise _fail(source, f"bounds.{key}", f"unknown key; allowed: {', '.join(_BOUND_KEYS)}")
    bounds = Bounds(
        **{
            k: _int(source, f"bounds.{k}", v, 1 if k == "max_states" else 0)
            for k, v in raw_bounds.items()
        }
    )
    if bounds.max_ticks > bounds.max_depth:
        # every tick is one step of a schedule, so the clock never passes the depth bound: a huge
        # max_ticks is a slip, and each reachable tick multiplies the state space
        raise _fail(
            source,
            "bounds.max_ticks",
            f"{bounds.max_ticks} is more than bounds.max_depth = {bounds.max_depth}: the clock "
            "advances one tick per step, so those ticks can never happen (the catalog uses 1-3)",
        )

    raw_requests = data.get("requests")
    if not isinstance(raw_requests, list) or not raw_requests:
        raise _fail(source, "requests", "needs at least one [[requests]] table")
    requests = []
    for i, raw in enumerate(raw_requests, start=1):
        where = f"requests[{i}]"
        if not isinstance(raw, dict):
            raise _fail(source, where, "must be a table")
        for key in raw:
            if key not in _REQUEST_KEYS:
                raise _fail(
                    source, f"{where}.{key}", f"unknown key; allowed: {', '.join(_REQUEST_KEYS)}"
                )
        strategy = _str(source, f"{where}.strategy", raw.get("strategy"))
        spec = _resolve(STRATEGIES, source, f"{where}.strategy", strategy)
        if profile_name not in spec.profiles:
            raise _fail(
                source,
                f"{where}.strategy",
                f"strategy {strategy!r} is for profiles {', '.join(spec.profiles)}, not {profile_name!r}",
            )
        arrive = raw.get("arrive", [0, 0])
        if isinstance(arrive, int) and not isinstance(arrive, bool):
            arrive = [arrive, arrive]
        if not (isinstance(arrive, list) and len(arrive) == 2):
            raise _fail(source, f"{where}.arrive", f"must be [min, max] ticks, got {arrive!r}")
        lo = _int(source, f"{where}.arrive", arrive[0])
        hi = _int(source, f"{where}.arrive", arrive[1])
        if lo > hi:
            raise _fail(source, f"{where}.arrive", f"min {lo} is after max {hi}")
        if hi > bounds.max_ticks:
            raise _fail(
                source, f"{where}.arrive", f"max {hi} is past bounds.max_ticks = {bounds.max_ticks}"
            )
        after, during = raw.get("after"), raw.get("during")
        for guard, value in (("after", after), ("during", during)):
            if value is not None:
                _int(source, f"{where}.{guard}", value, 1)
                if value >= i:
                    raise _fail(
                        source,
                        f"{where}.{guard}",
                        f"must name an earlier request (1..{i - 1}), got {value}",
                    )
        req_options = raw.get("options", {})
        if not isinstance(req_options, dict):
            raise _fail(source, f"{where}.options", "must be a table")
        for key, value in req_options.items():
            if key not in spec.options:
                allowed = ", ".join(sorted(spec.options)) or "none"
                raise _fail(source, f"{where}.options.{key}", f"unknown option; allowed: {allowed}")
            try:
                spec.options[key].check(key, value)
            except ValueError as exc:
                raise _fail(source, f"{where}.options.{key}", str(exc)) from None
        requests.append(
            Request(
                index=i,
                strategy=strategy,
                key=_str(source, f"{where}.key", raw.get("key")),
                workflow=_str(source, f"{where}.workflow", raw.get("workflow", "wf")),
                payload=_str(source, f"{where}.payload", raw.get("payload", f"p{i}")),
                arrive_min=lo,
                arrive_max=hi,
                after=after,
                during=during,
                options=tuple(sorted(req_options.items())),
            )
        )

    strategies = {r.strategy for r in requests}
    # the built-in properties that apply (a user's own are checked only where a scenario names them)
    default = sorted(
        name
        for name, p in PROPERTIES.items()
        if not is_reference(name) and p.applies_to(strategies)
    )
    properties = data.get("properties", default)
    if not isinstance(properties, list) or not all(isinstance(p, str) for p in properties):
        raise _fail(source, "properties", "must be a list of property names")
    if not properties:
        # an empty list would pass as "holds" with nothing checked
        if "properties" not in data:
            raise _fail(
                source,
                "properties",
                f"no property applies to strategies {', '.join(sorted(strategies))}, so nothing "
                "would be checked: name the properties to check",
            )
        raise _fail(
            source,
            "properties",
            "is empty, so nothing would be checked: name at least one property, or leave the key "
            f"out to check every one that applies ({', '.join(default) or 'none does'})",
        )
    for prop in properties:
        _resolve(PROPERTIES, source, "properties", prop)
    expect = data.get("expect")
    if expect is not None:
        ok = expect == "holds" or (
            isinstance(expect, str) and expect.startswith("violated:") and expect[9:] in properties
        )
        if not ok:
            raise _fail(
                source,
                "expect",
                f"{expect!r} is not 'holds' or 'violated:<property>' with a checked property "
                f"({', '.join(properties)})",
            )
    return Scenario(
        name=name,
        description=str(data.get("description", "")),
        why=str(data.get("why", "")),
        closed_by=_names(source, "closed_by", data.get("closed_by", [])),
        explorer=_explorer(source, data.get("explorer", "bfs")),
        profile_name=profile_name,
        profile_options=tuple(sorted(options.items())),
        requests=tuple(requests),
        bounds=bounds,
        properties=tuple(properties),
        expect=expect,
        source=source,
        raw=data,
    )
