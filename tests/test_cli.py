"""The command line: JSON contract, exit codes, determinism, traces and replay."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from idemrace.cli import main

DATA = Path(__file__).parent / "data"


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_json_contract(capsys):
    code, out, _ = run_cli(capsys, "check", "reject-retry-after-completion", "--json")
    assert code == 0
    (result,) = json.loads(out)["results"]
    assert result["scenario"] == "reject-retry-after-completion"
    assert result["profile"] == "vercel-today"
    assert result["explorer"] == "bfs"
    assert result["verdict"] == "violated"
    assert result["expected"] == "violated:at-most-once-effect"
    assert set(result["stats"]) >= {"states", "transitions", "max_depth", "seconds"}
    assert result["bounds"]["max_depth"] == 40
    (violation,) = result["violations"]
    assert violation["property"] == "at-most-once-effect"
    step = violation["trace"][3]
    assert step == {
        "step": 4,
        "action": "r1",
        "actor": "r1",
        "op": "ClaimHook(1, 'h1', 'order:1')",
        "result": "HookCreated()",
    }


@pytest.mark.parametrize("explorer", ["bfs", "dfs", "random", "pct"])
def test_same_seed_gives_byte_identical_json(capsys, explorer):
    argv = [
        "check",
        "reject-retry-after-completion",
        "--explorer",
        explorer,
        "--seed",
        "3",
        "--walks",
        "200",
        "--json",
        "--stable",
    ]
    _, first, _ = run_cli(capsys, *argv)
    _, second, _ = run_cli(capsys, *argv)
    assert first == second
    assert json.loads(first)["results"][0]["stats"]["seconds"] == 0


def test_exit_1_when_a_verdict_differs_from_expectation(capsys):
    code, out, _ = run_cli(capsys, "check", str(DATA / "two-keys-holds.toml"), "--max-states", "10")
    assert code == 1
    assert "not exhaustive" in out and "state budget 10" in out


def test_human_table(capsys):
    """The table for several scenarios (every catalog scenario matching its expectation under
    BFS is test_catalog.py's job; the whole catalog is the README's main job)."""
    code, out, _ = run_cli(capsys, "check", "reject-retry-after-completion", "keyed-start-safe")
    assert code == 0
    assert "reject-retry-after-completion" in out and "violated" in out and "holds" in out


def test_scenario_recommends_the_default_explorer(capsys, tmp_path):
    text = (DATA / "two-keys-holds.toml").read_text()
    scenario = tmp_path / "s.toml"
    scenario.write_text('explorer = "random"\n' + text.replace('expect = "holds"', ""))
    code, out, _ = run_cli(capsys, "check", str(scenario), "--walks", "20", "--json")
    assert code == 0  # no expectation, nothing violated
    assert json.loads(out)["results"][0]["explorer"] == "random"
    code, out, _ = run_cli(capsys, "check", str(scenario), "--explorer", "bfs", "--json")
    assert json.loads(out)["results"][0]["explorer"] == "bfs"


def test_bad_scenario_file_is_one_line_exit_2(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nprofile = "vercel-today"\nrequests = 3\n')
    code, out, err = run_cli(capsys, "check", str(bad))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"idemrace: error: {bad}: requests:")


def test_trace_out_and_replay(capsys, tmp_path):
    code, _, _ = run_cli(
        capsys, "check", "reject-retry-after-completion", "--trace-out", str(tmp_path), "--json"
    )
    assert code == 0
    (trace,) = tmp_path.glob("*.trace.json")
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write left no temp file
    code, out, _ = run_cli(capsys, "replay", str(trace))
    assert code == 0 and out.startswith("reproduced: at-most-once-effect violated after 11 steps")


def test_replay_detects_a_diverging_step(capsys, tmp_path):
    run_cli(
        capsys, "check", "reject-retry-after-completion", "--trace-out", str(tmp_path), "--json"
    )
    (trace,) = tmp_path.glob("*.trace.json")
    doc = json.loads(trace.read_text())
    doc["steps"][3]["result"] = "HookConflict(2)"
    trace.write_text(json.dumps(doc))
    code, out, _ = run_cli(capsys, "replay", str(trace))
    assert code == 1
    assert "step 4 (r1): the model is nondeterministic or has changed" in out
    assert "recorded r1: ClaimHook(1, 'h1', 'order:1') -> HookConflict(2)" in out


def test_replay_refuses_a_changed_scenario(capsys, tmp_path):
    scenario = tmp_path / "s.toml"
    scenario.write_text((Path("catalog/scenarios/reject-retry-after-completion.toml")).read_text())
    run_cli(capsys, "check", str(scenario), "--trace-out", str(tmp_path), "--json")
    (trace,) = tmp_path.glob("*.trace.json")
    scenario.write_text(scenario.read_text().replace("dedupe_window = 2", "dedupe_window = 1"))
    code, _, err = run_cli(capsys, "replay", str(trace))
    assert code == 2
    assert "has changed since this trace was recorded" in err and err.count("\n") == 1


def test_replay_uses_embedded_scenario_when_source_is_gone(capsys, tmp_path):
    scenario = tmp_path / "s.toml"
    scenario.write_text((Path("catalog/scenarios/reject-retry-after-completion.toml")).read_text())
    run_cli(capsys, "check", str(scenario), "--trace-out", str(tmp_path), "--json")
    (trace,) = tmp_path.glob("*.trace.json")
    scenario.unlink()
    code, out, _ = run_cli(capsys, "replay", str(trace))
    assert code == 0 and "embedded in the trace" in out


@pytest.mark.parametrize(
    "content, message",
    [
        ("{", "not a readable JSON trace"),
        ('{"format": "other"}', "not an idemrace trace"),
        ('{"format": "idemrace-trace", "version": 99}', "trace format version 99"),
        ('{"format": "idemrace-trace", "version": 1}', "missing or has a malformed field"),
    ],
)
def test_replay_rejects_bad_trace_files(capsys, tmp_path, content, message):
    trace = tmp_path / "t.json"
    trace.write_text(content)
    code, _, err = run_cli(capsys, "replay", str(trace))
    assert code == 2 and message in err and err.count("\n") == 1


def test_scenarios_lists_the_catalog(capsys):
    code, out, _ = run_cli(capsys, "scenarios", "--json")
    assert code == 0
    names = [s["name"] for s in json.loads(out)["scenarios"]]
    assert "reject-retry-after-completion" in names


def test_python_dash_m_works_like_the_script():
    done = subprocess.run(
        [sys.executable, "-m", "idemrace", "scenarios", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "reject-retry-after-completion" in done.stdout


@pytest.mark.parametrize("explorer", ["bfs", "pct"])
def test_output_does_not_depend_on_the_hash_seed(explorer):
    """Python randomizes str hashes per process; nothing we print may depend on set order."""
    outputs = []
    for hash_seed in ("1", "2"):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "idemrace",
                "check",
                "signal-forward-race",
                "--explorer",
                explorer,
                "--walks",
                "100",
                "--json",
                "--stable",
            ],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
