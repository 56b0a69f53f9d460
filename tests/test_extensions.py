"""Extension points a user plugs into without forking, and registrations checked where they happen.

- The worked example in ``tests/examples/`` (a user's own engine profile, strategy and two
  scenarios) runs from a temporary folder outside the checkout, by ``python -m idemrace`` and by the
  ``idemrace`` script, with pinned state counts.
- Our packages cannot be shadowed by a user's ``model/`` or ``reports/``; a user reference into a
  package of that name is a one-line clash error.
- A wrong declaration fails at import (or registration), naming the file to edit.
- What strategies declare (the ops they issue) is what they do.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from catalog import catalog
from model import ops as O
from model.profiles.base import V4World
from model.registry import RegistrationError
from properties import INVARIANT, register
from simulator.actions import ActionKind, parse_action
from simulator.strategies.base import STRATEGIES, StrategySpec
from simulator.strategies.base import register as register_strategy
from simulator.strategies.vercel_today import RejectBody, StartClient
from simulator.system import System

EXAMPLES = Path(__file__).parent / "examples"
PYTHON = sys.executable
SCRIPT = Path(sys.executable).parent / "idemrace"
# the worked example's pinned counts: (verdict, states, transitions)
EXAMPLE_PINS = {
    "concurrent-duplicates": ("holds", 22, 32),
    "retry-after-completion": ("violated", 51, 76),
}


def _run(args: list[str], cwd: Path, **env) -> subprocess.CompletedProcess:
    import os

    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    environment.update(env)
    return subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=300, env=environment, check=False
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's project folder outside the checkout, holding the worked example."""
    folder = tmp_path / "project"
    shutil.copytree(EXAMPLES, folder)
    return folder


@pytest.mark.parametrize("launcher", ["module", "script"])
def test_worked_example_runs_from_a_folder_outside_the_checkout(project: Path, launcher: str):
    files = [f"{name}.toml" for name in EXAMPLE_PINS]
    command = [PYTHON, "-m", "idemrace"] if launcher == "module" else [str(SCRIPT)]
    done = _run([*command, "check", *files, "--json"], project)
    assert done.returncode == 0, done.stderr
    results = {r["scenario"]: r for r in json.loads(done.stdout)["results"]}
    for name, (verdict, states, transitions) in EXAMPLE_PINS.items():
        r = results[name]
        assert r["matches"], r
        assert (r["verdict"], r["stats"]["states"], r["stats"]["transitions"]) == (
            verdict,
            states,
            transitions,
        )
    # the violation is the forgetful engine's: the retry admitted as a new run does the work
    trace = results["retry-after-completion"]["violations"][0]["trace"]
    assert [s["op"].split("(")[0] for s in trace].count("PerformEffect") == 2


def test_our_packages_win_over_a_users_model_and_reports(project: Path):
    for name in ("model", "reports", "simulator", "properties"):
        (project / name).mkdir()
        (project / name / "__init__.py").write_text(f"raise RuntimeError('user {name} imported')\n")
    done = _run([PYTHON, "-m", "idemrace", "check", "reject-retry-after-completion"], project)
    assert done.returncode == 0, done.stderr
    out = project / "out"
    done = _run(
        [PYTHON, "-m", "idemrace", "report", "reject-retry-after-completion", "--out", str(out)],
        project,
    )
    assert done.returncode == 0, done.stderr
    assert "user" not in done.stderr
    # the user's own modules beside them are still found
    done = _run([PYTHON, "-m", "idemrace", "check", "retry-after-completion.toml"], project)
    assert done.returncode == 0, done.stderr


def test_a_user_module_named_like_ours_is_a_one_line_clash(project: Path):
    (project / "model").mkdir()
    (project / "model" / "mine.py").write_text("class Engine: ...\n")
    scenario = (project / "retry-after-completion.toml").read_text()
    (project / "clash.toml").write_text(
        scenario.replace("myengine.profile:ForgetfulEngine", "model.mine:Engine")
    )
    done = _run([PYTHON, "-m", "idemrace", "check", "clash.toml"], project)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "clashes with idemrace's own package 'model'" in lines[0]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("myengine.nope:Engine", "cannot import 'myengine.nope'"),
        ("myengine.profile:Nope", "has no 'Nope'"),
        ("myengine.strategy:START_AND_WAIT", "is not a profile"),
    ],
)
def test_bad_user_references_are_one_line(project: Path, reference: str, expected: str):
    scenario = (project / "retry-after-completion.toml").read_text()
    (project / "bad.toml").write_text(
        scenario.replace("myengine.profile:ForgetfulEngine", reference)
    )
    done = _run([PYTHON, "-m", "idemrace", "check", "bad.toml"], project)
    assert done.returncode == 2, done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], lines


# -- registrations are checked where they happen --------------------------------------------------


def test_a_profile_with_a_wrong_declaration_fails_at_definition_naming_its_file():
    with pytest.raises(RegistrationError) as info:

        class Wrong(V4World):
            name = "wrong-families"
            description = "declares a family nobody knows"
            FAMILIES = frozenset({"vercel-v9"})

    message = str(info.value)
    assert message.startswith(__file__) and "vercel-v9" in message


def test_a_profile_name_registered_twice_fails():
    with pytest.raises(RegistrationError, match="registered twice"):

        class Twice(V4World):
            name = "vercel-today"
            description = "a second profile under a taken name"
            FAMILIES = frozenset({"vercel-v4"})


def test_a_strategy_issuing_ops_its_profiles_lack_fails_naming_its_file():
    spec = StrategySpec(
        name="needs-keyed-on-v4",
        description="issues KeyedStart, which v4 profiles do not handle",
        needs=frozenset({"vercel-v4"}),
        client=StartClient,
        body=RejectBody,
        ops=frozenset({O.KeyedStart}),
    )
    with pytest.raises(RegistrationError) as info:
        register_strategy(spec)
    assert str(info.value).startswith(__file__) and "KeyedStart" in str(info.value)
    assert "needs-keyed-on-v4" not in STRATEGIES


def test_a_property_reading_an_unknown_part_fails_naming_its_file():
    with pytest.raises(RegistrationError) as info:

        @register("reads-nothing-real", INVARIANT, "a property", reads=("clock",))
        def _check(system, state):
            return None

    assert str(info.value).startswith(__file__) and "clock" in str(info.value)


def test_a_new_profile_module_needs_no_other_file(tmp_path: Path):
    """A profile file dropped into model/profiles/ registers itself: the folder is scanned, no
    list elsewhere names it (tried on a copy of the model package)."""
    shutil.copytree(Path(__file__).parent.parent / "model", tmp_path / "model")
    (tmp_path / "model" / "profiles" / "zz_extra.py").write_text(
        textwrap.dedent(
            """
            from model.profiles.base import V4World

            class Extra(V4World):
                name = "zz-extra"
                description = "a profile added as one file"
                FAMILIES = frozenset({"vercel-v4"})
            """
        )
    )
    code = "import model.profiles as p; print(' '.join(p.PROFILES.builtin_names()))"
    done = _run([PYTHON, "-c", code], tmp_path, PYTHONPATH=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "zz-extra" in done.stdout.split() and "vercel-today" in done.stdout.split()


# -- declarations are true ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(catalog()))
def test_strategies_issue_only_the_ops_they_declare(name: str):
    scenario = catalog()[name]
    system = System(scenario)
    rng = random.Random(name)
    for _ in range(30):
        state = system.initial()
        for _ in range(scenario.bounds.max_depth):
            actions = system.actions(state)
            if not actions:
                break
            label = rng.choice(actions)
            state, step = system.step(state, label)
            action = parse_action(label)
            if action.kind is not ActionKind.PROCESS:
                continue
            if action.request is not None:
                request = action.request
            else:
                request = state.world.runs[action.run - 1].request
            spec = system.spec(request)
            assert type(step.op) in spec.ops, (
                f"{spec.name} issued {type(step.op).__name__}, not among its declared ops"
            )


def test_validate_help_names_every_built_in_backend():
    from backends import BUILTIN
    from idemrace.commands.validate import DESCRIPTION

    listed = DESCRIPTION.split("BACKEND:", 1)[1].split("(", 1)[0]
    names = {n.strip() for n in listed.replace("\n", " ").split(",")}
    # the deliberately broken backend is the harness's own test, not a user's choice
    assert names == set(BUILTIN.builtin_names()) - {"broken"}
