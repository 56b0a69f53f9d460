"""The built-in scenario catalog (TOML files shipped in ``catalog/scenarios/``) and the lookup
that turns a command-line argument (a catalog name or a file path) into a ``Scenario``."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from catalog.parse import parse_scenario
from simulator.scenario import Scenario, ScenarioError

CATALOG_PREFIX = "catalog:"


class ScenarioNotFound(ScenarioError):
    """Neither a catalog name nor a file: the one failure a trace may fall back from (to the copy
    it embeds); a file that exists but no longer parses is a plain ``ScenarioError``."""


@cache
def catalog() -> dict[str, Scenario]:
    """Every built-in scenario by name, in name order."""
    found: dict[str, Scenario] = {}
    folder = resources.files("catalog") / "scenarios"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        stem = entry.name[: -len(".toml")]
        scenario = parse_scenario(entry.read_text(encoding="utf-8"), CATALOG_PREFIX + stem)
        if scenario.name != stem:
            raise ScenarioError(
                f"{CATALOG_PREFIX}{stem}: name: {scenario.name!r} must match the file name {stem!r}"
            )
        found[stem] = scenario
    for scenario in found.values():
        for other in scenario.closed_by:
            if other not in found:
                raise ScenarioError(
                    f"{scenario.source}: closed_by: {other!r} is not a catalog scenario"
                )
    return dict(sorted(found.items()))


def load_scenario(ref: str) -> Scenario:
    """A catalog name (``reject-retry-after-completion`` or ``catalog:...``) or a TOML file path."""
    name = ref[len(CATALOG_PREFIX) :] if ref.startswith(CATALOG_PREFIX) else ref
    built_in = catalog()
    if name in built_in and not Path(ref).is_file():
        return built_in[name]
    path = Path(ref)
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ScenarioError(f"{ref}: cannot read: {exc}") from None
        scenario = parse_scenario(text, str(path))
        for other in scenario.closed_by:
            if other not in built_in:
                raise ScenarioError(
                    f"{path}: closed_by: scenario {scenario.name!r} names {other!r}, which is not "
                    "a catalog scenario (see `idemrace scenarios`)"
                )
        return scenario
    raise ScenarioNotFound(
        f"{ref}: neither a catalog scenario (see `idemrace scenarios`) nor a readable file"
    )
