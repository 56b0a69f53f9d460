"""``idemrace validate``: exit codes, the JSON contract, one-line errors, the timeline picture."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from backends.memory import MemoryBackend
from idemrace.cli import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_memory_is_conformant_json_contract(capsys):
    code, out, err = run_cli(capsys, "validate", "memory", "--json", "--ops", "100", "--keys", "2")
    assert code == 0, err
    report = json.loads(out)
    assert report["backend"] == "memory"
    assert report["verdict"] == "conformant"
    d = report["differential"]
    assert d["verdict"] == "conformant" and d["divergence"] is None
    assert "temporal-reject-duplicate" in d["skipped_scenarios"]
    c = report["concurrent"]
    assert c["verdict"] == "conformant" and c["linearizability"] == "linearizable"
    assert c["profile"].startswith("vercel-keyed-start(")
    # one partition per key the workload used (near-collisions of the two keys included)
    assert len(c["partitions"]) >= 2
    assert c["operations"] >= 100  # plus the clock ticks
    f = report["faults"]
    assert f["verdict"] == "conformant"
    assert [case["fault"] for case in f["cases"]] == ["restart"]
    assert report["not_run"] == []
    assert report["rounds"] == {
        "run": 1, "of": 1, "until_found": False, "found_in": [], "shown": 1, "seed": 0
    }  # fmt: skip


def test_dotted_backend_reference(capsys):
    code, out, _ = run_cli(
        capsys, "validate", "backends.memory:MemoryBackend", "--mode", "concurrent", "--ops", "40"
    )
    assert code == 0
    assert out.splitlines()[0] == "backend memory"
    assert out.splitlines()[-1] == "verdict: conformant"


def test_broken_backend_exits_1_with_failing_partition_and_timeline(capsys, tmp_path):
    png = tmp_path / "timeline.png"
    code, out, _ = run_cli(
        capsys,
        "validate",
        "broken",
        "--mode",
        "concurrent",
        "--ops",
        "120",
        "--keys",
        "1",
        "--timeline",
        str(png),
    )
    assert code == 1
    assert "concurrent    discrepancy" in out
    # the failing partition shrunk to its core: two admissions of one key, the second marked
    core = [line for line in out.splitlines() if "minimal failing core: key" in line]
    assert len(core) == 1 and ", 2 of " in core[0]
    marked = [line for line in out.splitlines() if line.startswith("    !!client")]
    assert len(marked) == 1 and "KeyedStart(" in marked[0] and "-> Started(" in marked[0]
    assert "    !! breaks it: the model allows here Existing(" in out
    assert out.splitlines()[-2].startswith("rounds: 1 ")
    assert out.splitlines()[-1] == "verdict: discrepancy"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_input_and_unreachable_backends_exit_2_in_one_line(capsys):
    cases = [
        (["validate", "nope"], "idemrace: error: unknown backend 'nope'"),
        (["validate", "model.ops:Ok"], "is not a backends.protocol.Backend"),
        (
            [
                "validate",
                "postgres",
                "--url",
                "postgresql://nobody@127.0.0.1:1/x",
                "--mode",
                "concurrent",
            ],
            "idemrace: error: postgres: cannot connect",
        ),
        (["validate", "memory", "--budget", "0"], "--budget must be > 0"),
    ]
    for argv, message in cases:
        code, _, err = run_cli(capsys, *argv)
        assert code == 2, argv
        assert message in err
        assert len(err.strip().splitlines()) == 1, err


class _Crashing:
    """A session whose backend fails every op in a way it does not map (third-party code)."""

    def apply(self, op):
        raise RuntimeError("driver\nexploded")

    def close(self):
        pass


class CrashingBackend(MemoryBackend):
    def session(self):
        return _Crashing()


def test_an_unmapped_exception_is_a_discrepancy_naming_the_op_and_the_message(capsys):
    code, out, err = run_cli(
        capsys, "validate", f"{__name__}:CrashingBackend", "--mode", "concurrent", "--ops", "10"
    )
    assert code == 1, err
    assert "concurrent    discrepancy" in out
    breaking = [line for line in out.splitlines() if line.startswith("    !!client")]
    assert len(breaking) == 1
    assert breaking[0].endswith("-> Raised(name='RuntimeError', message='driver exploded')")
    assert out.splitlines()[-1] == "verdict: discrepancy"


class NoSessionBackend(MemoryBackend):
    def session(self):
        raise RuntimeError("driver\nexploded")


def test_a_backend_failing_outside_an_op_is_one_line_and_exit_2_not_a_traceback(capsys):
    code, out, err = run_cli(
        capsys, "validate", f"{__name__}:NoSessionBackend", "--mode", "concurrent", "--ops", "10"
    )
    assert code == 2
    assert out == "backend memory\n"  # printed before any mode ran
    assert err.strip().splitlines() == [
        "idemrace: error: memory: the backend failed unexpectedly, no verdict: "
        "RuntimeError: driver exploded"
    ]


USER_BACKEND = textwrap.dedent(
    """
    from backends.sqlite import SqliteBackend


    class MyBackend(SqliteBackend):
        name = "mine"
    """
)


def _idemrace_in(folder, *argv, pythonpath=None):
    """The CLI as a user runs it: its own process, in their folder (outside the checkout)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    return subprocess.run(
        [sys.executable, "-m", "idemrace", *argv],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_user_backend_is_found_from_the_current_folder_also_by_the_kill_worker(tmp_path):
    (tmp_path / "mymodule.py").write_text(USER_BACKEND)
    proc = _idemrace_in(tmp_path, "validate", "mymodule:MyBackend", "--mode", "faults")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "backend mine"
    assert "kill linearizable" in proc.stdout  # the worker process loaded mymodule too
    assert lines[-1] == "verdict: conformant"


def test_a_user_backend_on_a_relative_pythonpath_reaches_the_kill_worker(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "theirs.py").write_text(USER_BACKEND)
    proc = _idemrace_in(
        tmp_path, "validate", "theirs:MyBackend", "--mode", "faults", pythonpath="lib"
    )
    assert proc.returncode == 0, proc.stderr
    assert "kill linearizable" in proc.stdout
    assert "did not die" not in proc.stdout + proc.stderr


def test_a_class_the_worker_cannot_import_is_reported_as_exactly_that(tmp_path):
    (tmp_path / "unloadable.py").write_text(
        USER_BACKEND
        + textwrap.dedent(
            """

            class Elsewhere(MyBackend):
                def client_spec(self):
                    return {**super().client_spec(), "class": "gone_16b:Gone"}
            """
        )
    )
    proc = _idemrace_in(tmp_path, "validate", "unloadable:Elsewhere", "--mode", "faults")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "idemrace: error: kill: the client process cannot load the backend: backend "
        "'gone_16b:Gone': cannot import 'gone_16b': No module named 'gone_16b' (user modules "
        f"are found from the current folder {os.path.realpath(tmp_path)} and PYTHONPATH)"
    ]


def test_rounds_are_said_and_until_found_stops_at_the_discrepancy(capsys):
    code, out, _ = run_cli(
        capsys, "validate", "memory", "--mode", "concurrent", "--ops", "40", "--rounds", "2"
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "backend memory"
    assert lines[1] == "round 1 of 2 (seed 0)" and "round 2 of 2 (seed 1)" in lines
    assert lines[-2] == "rounds: 2 of 2 ran: no discrepancy"
    code, out, _ = run_cli(
        capsys,
        "validate",
        "broken",
        "--mode",
        "concurrent",
        "--ops",
        "120",
        "--keys",
        "1",
        "--until-found",
    )
    assert code == 1
    summary = out.splitlines()[-2]
    assert summary.startswith("rounds: ") and " of 10 ran (stopped at the first discrepancy): "
    assert "a discrepancy in round " in summary
