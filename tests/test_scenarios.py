"""Scenario files: the catalog loads, and bad files fail with one line naming file and key."""

from __future__ import annotations

import pytest

from catalog import catalog, load_scenario
from catalog.parse import parse_scenario
from simulator.scenario import ScenarioError

GOOD = """
name = "s"
profile = "vercel-today"
[bounds]
max_ticks = 2
[[requests]]
strategy = "reject"
key = "k"
arrive = [0, 2]
"""


def test_catalog_loads_and_names_match_files():
    scenarios = catalog()
    assert "reject-retry-after-completion" in scenarios
    for name, scenario in scenarios.items():
        assert scenario.name == name
        assert scenario.description


def test_defaults():
    s = parse_scenario(GOOD, "f.toml")
    (req,) = s.requests
    assert (req.workflow, req.payload, req.arrive_min, req.arrive_max) == ("wf", "p1", 0, 2)
    assert s.expect is None
    assert "single-owner" in s.properties


@pytest.mark.parametrize(
    "text, message",
    [
        ("name = ", "f.toml: not valid TOML"),
        ("bogus = 1\n" + GOOD, "f.toml: bogus: unknown key; allowed: name"),
        (
            GOOD.replace("vercel-today", "vercel-tomorrow"),
            "f.toml: profile: unknown profile 'vercel-tomorrow'; allowed: ",
        ),
        (
            GOOD.replace('strategy = "reject"', 'strategy = "yolo"'),
            "f.toml: requests[1].strategy: unknown strategy 'yolo'; allowed: ",
        ),
        (
            GOOD.replace("arrive = [0, 2]", "arrive = [2, 0]"),
            "f.toml: requests[1].arrive: min 2 is after max 0",
        ),
        (
            GOOD.replace("arrive = [0, 2]", "arrive = [0, 5]"),
            "f.toml: requests[1].arrive: max 5 is past bounds.max_ticks = 2",
        ),
        (
            GOOD.replace("arrive = [0, 2]", 'arrive = "soon"'),
            "f.toml: requests[1].arrive: must be [min, max] ticks",
        ),
        (
            GOOD.replace("max_ticks = 2", "max_ticks = -1"),
            "f.toml: bounds.max_ticks: must be an integer >= 0, got -1",
        ),
        (
            GOOD.replace("max_ticks = 2", "max_tick = 2"),
            "f.toml: bounds.max_tick: unknown key; allowed: max_depth",
        ),
        (
            'expect = "maybe"\n' + GOOD,
            "f.toml: expect: 'maybe' is not 'holds' or 'violated:<property>'",
        ),
        ('expect = "violated:nope"\n' + GOOD, "f.toml: expect: 'violated:nope'"),
        ('properties = ["nope"]\n' + GOOD, "f.toml: properties: unknown property 'nope'"),
        (
            GOOD + "\n[profile_options]\natomic_release = 3\n",
            "f.toml: profile_options: option 'atomic_release' must be true or false",
        ),
        (
            GOOD + "\n[profile_options]\nwhat = 3\n",
            "f.toml: profile_options: profile 'vercel-today' has no option 'what'",
        ),
        (
            GOOD.replace('key = "k"', 'key = "k"\ncolour = 1'),
            "f.toml: requests[1].colour: unknown key",
        ),
        (
            GOOD.replace('key = "k"', "key = 5"),
            "f.toml: requests[1].key: must be a non-empty string",
        ),
        (
            'name = "s"\nprofile = "vercel-today"\n',
            "f.toml: requests: needs at least one [[requests]] table",
        ),
        (
            GOOD.replace('key = "k"', 'key = "k"\noptions = {x = 1}'),
            "f.toml: requests[1].options.x: unknown option; allowed: ends, hold",
        ),
    ],
)
def test_bad_scenarios_fail_with_one_line(text, message):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "f.toml")
    text_of_error = str(info.value)
    assert text_of_error.startswith(message), text_of_error
    assert "\n" not in text_of_error


def test_unknown_reference(tmp_path):
    with pytest.raises(ScenarioError, match="neither a catalog scenario"):
        load_scenario(str(tmp_path / "missing.toml"))


def test_digest_ignores_formatting_but_not_meaning():
    a = parse_scenario(GOOD)
    b = parse_scenario(GOOD.replace("max_ticks = 2", "max_ticks   =   2  # comment"))
    c = parse_scenario(GOOD.replace('key = "k"', 'key = "j"'))
    assert a.digest == b.digest != c.digest


def test_closed_by_names_catalog_scenarios():
    scenarios = catalog()
    linked = [(s.name, other) for s in scenarios.values() for other in s.closed_by]
    assert linked, "the catalog links races to the designs that close them"
    for name, other in linked:
        assert other in scenarios, (name, other)
    with pytest.raises(ScenarioError, match="closed_by: must be a list of scenario names"):
        parse_scenario('closed_by = "x"\n' + GOOD, "f.toml")
