"""``idemrace validate``: exit codes, the JSON contract, one-line errors, the timeline picture."""

from __future__ import annotations

import json

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
    assert [p["key"] for p in c["partitions"]] == ["k0", "k1"]
    assert c["operations"] == 100 + 100 // (4 * 5)
    f = report["faults"]
    assert f["verdict"] == "conformant"
    assert [case["fault"] for case in f["cases"]] == ["restart"]


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
    assert "smallest failing partition: key k0" in out
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
    """A session whose backend fails in a way it does not map (third-party code raising)."""

    def __getattr__(self, name):
        def fail(*_args, **_kwargs):
            raise RuntimeError("driver\nexploded")

        return fail


class CrashingBackend(MemoryBackend):
    def session(self):
        return _Crashing()


def test_a_backend_failing_unexpectedly_is_one_line_and_exit_2_not_a_traceback(capsys):
    code, out, err = run_cli(
        capsys, "validate", f"{__name__}:CrashingBackend", "--mode", "concurrent", "--ops", "10"
    )
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        "idemrace: error: memory: the backend failed unexpectedly, no verdict: "
        "RuntimeError: driver exploded"
    ]
