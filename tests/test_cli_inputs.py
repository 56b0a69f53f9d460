"""Bad inputs, one table: each is one line on stderr, the right exit code, no traceback, and
nothing outside the command's output folder touched (issue 18). Then the answers that used to be
silent or wrong: exit 3, traces that survive a description edit, version-1 traces."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from idemrace.cli import main

DATA = Path(__file__).parent / "data"
CATALOG = Path(__file__).parent.parent / "catalog" / "scenarios"
GOOD = (DATA / "two-keys-holds.toml").read_text()


def scenario(**changes: str) -> str:
    """two-keys-holds with top-level keys replaced or added (values are TOML text)."""
    lines = [
        line for line in GOOD.splitlines() if not any(line.startswith(f"{k} =") for k in changes)
    ]
    head = [f"{k} = {v}" for k, v in changes.items()]
    return "\n".join(head + lines) + "\n"


def write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def recorded_trace(tmp: Path, source: Path) -> Path:
    """A trace of reject-retry-after-completion recorded from the file ``source``."""
    source.write_text((CATALOG / "reject-retry-after-completion.toml").read_text())
    traces = tmp / "traces"
    traces.mkdir(exist_ok=True)
    assert main(["check", str(source), "--trace-out", str(traces), "--json"]) == 0
    (trace,) = traces.glob("*.trace.json")
    return trace


def truncated_trace(tmp: Path) -> str:
    trace = recorded_trace(tmp, tmp / "rr.toml")
    doc = json.loads(trace.read_text())
    doc["steps"] = doc["steps"][:-3]
    trace.write_text(json.dumps(doc))
    return str(trace)


def trace_of_malformed_source(tmp: Path) -> str:
    source = tmp / "rr.toml"
    trace = recorded_trace(tmp, source)
    source.write_text(source.read_text().replace("[bounds]", "[bounds"))
    return str(trace)


# (id, setup(tmp) -> argv, exit code, what the one line says); tmp/out is the only folder a
# command may write in, tmp/sibling/ holds files that must survive every case
Case = tuple[str, Callable[[Path], list[str]], int, str]
CASES: list[Case] = [
    (
        "name-climbs-out",
        lambda t: [
            "report",
            write(t / "s.toml", scenario(name='"../sibling"')),
            "--out",
            str(t / "out"),
        ],
        2,
        "is not a plain name",
    ),
    (
        "name-dot",
        lambda t: ["report", write(t / "s.toml", scenario(name='"."')), "--out", str(t / "out")],
        2,
        "is not a plain name",
    ),
    (
        "name-slash",
        lambda t: ["check", write(t / "s.toml", scenario(name='"a/b"'))],
        2,
        "is not a plain name",
    ),
    (
        "name-hidden",
        lambda t: ["check", write(t / "s.toml", scenario(name='".x"'))],
        2,
        "is not a plain name",
    ),
    (
        "name-is-a-top-file",
        lambda t: [
            "report",
            write(t / "s.toml", scenario(name='"index.md"')),
            "--out",
            str(t / "out"),
        ],
        2,
        "cannot name a report folder",
    ),
    (
        "out-not-ours",
        lambda t: [
            "report",
            "keyed-start-safe",
            "--out",
            str(t / "sibling"),
        ],
        2,
        "was not written by `idemrace report`",
    ),
    (
        "out-is-a-file",
        lambda t: ["report", "keyed-start-safe", "--out", str(t / "sibling" / "keep.txt")],
        2,
        "exists and is not a folder",
    ),
    (
        "trace-out-is-a-file",
        lambda t: ["check", "keyed-start-safe", "--trace-out", str(t / "sibling" / "keep.txt")],
        2,
        "exists and is not a folder",
    ),
    (
        "trace-out-missing",
        lambda t: ["check", "keyed-start-safe", "--trace-out", str(t / "out" / "nope")],
        2,
        "no such folder",
    ),
    (
        "properties-empty",
        lambda t: ["check", write(t / "s.toml", scenario(properties="[]", expect='"holds"'))],
        2,
        "nothing would be checked",
    ),
    (
        "closed-by-unknown",
        lambda t: ["check", write(t / "s.toml", scenario(closed_by='["no-such-design"]'))],
        2,
        "scenario 'two-keys-holds' names 'no-such-design'",
    ),
    (
        "max-ticks-huge",
        lambda t: [
            "check",
            write(t / "s.toml", GOOD.replace("max_ticks = 1", "max_ticks = 1000000")),
        ],
        2,
        "bounds.max_ticks: 1000000 is more than bounds.max_depth",
    ),
    ("workers-0", lambda t: ["check", "keyed-start-safe", "--workers", "0"], 2, "must be >= 1"),
    ("max-examples-0", lambda t: ["check", "--max-examples", "0"], 2, "must be >= 1"),
    ("max-states-0", lambda t: ["check", "--max-states", "0"], 2, "must be >= 1"),
    ("pct-depth-0", lambda t: ["check", "--pct-depth", "0"], 2, "must be >= 1"),
    ("unknown-flag", lambda t: ["check", "--bogus"], 2, "unrecognized arguments: --bogus"),
    ("unknown-explorer", lambda t: ["check", "--explorer", "nope"], 2, "invalid choice: 'nope'"),
    (
        "scheduler-unreachable",
        lambda t: ["check", "keyed-start-safe", "--scheduler", "tcp://127.0.0.1:9"],
        2,
        "cannot reach the Dask scheduler at tcp://127.0.0.1:9",
    ),
    (
        "scheduler-malformed",
        lambda t: ["check", "keyed-start-safe", "--scheduler", "http://x"],
        2,
        "expected tcp://HOST:PORT",
    ),
    (
        "budget-nan",
        lambda t: ["validate", "memory", "--budget", "nan"],
        2,
        "--budget must be > 0 and finite",
    ),
    (
        "timeline-no-folder",
        lambda t: ["validate", "memory", "--timeline", str(t / "out" / "no" / "t.png")],
        2,
        "--timeline",
    ),
    ("url-not-a-url", lambda t: ["validate", "postgres", "--url", "notaurl"], 2, "postgresql://"),
    (
        "backend-class-missing",
        lambda t: ["validate", "json:NoSuchClass"],
        2,
        "has no 'NoSuchClass'",
    ),
    ("replay-truncated", lambda t: ["replay", truncated_trace(t)], 2, "steps for a schedule of"),
    (
        "replay-source-malformed",
        lambda t: ["replay", trace_of_malformed_source(t)],
        2,
        "is malformed now",
    ),
    ("list-unknown", lambda t: ["list", "colours"], 2, "invalid choice: 'colours'"),
]


def snapshot(root: Path, skip: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` (contents for files) except what is under ``skip``."""
    seen: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        if path == skip or skip in path.parents:
            continue
        seen[str(path.relative_to(root))] = path.read_bytes() if path.is_file() else None
    return seen


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_touches_nothing(case, tmp_path, capsys, monkeypatch):
    _, setup, code, said = case
    monkeypatch.chdir(tmp_path)
    sibling = tmp_path / "sibling"
    sibling.mkdir()
    (sibling / "keep.txt").write_text("keep me")
    (sibling / "index.md").write_text("someone's page")
    argv = setup(tmp_path)
    capsys.readouterr()  # what the setup printed
    before = snapshot(tmp_path, tmp_path / "out")
    try:
        got = main(argv)
    except SystemExit as exc:  # argparse
        got = exc.code
    out, err = capsys.readouterr()
    assert got == code, err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "error:" in err and said in err, err
    assert "Traceback" not in err + out
    assert snapshot(tmp_path, tmp_path / "out") == before


def test_report_writes_a_marked_folder_and_force_leaves_other_files(tmp_path, capsys):
    out = tmp_path / "reports"
    assert main(["report", "keyed-start-safe", "--out", str(out), "--generated-at", "T"]) == 0
    assert (out / ".idemrace-report").is_file()
    assert main(["report", "keyed-start-safe", "--out", str(out), "--generated-at", "T"]) == 0
    foreign = tmp_path / "site"
    foreign.mkdir()
    (foreign / "about.html").write_text("mine")
    assert main(["report", "keyed-start-safe", "--out", str(foreign)]) == 2
    assert main(["report", "keyed-start-safe", "--out", str(foreign), "--force"]) == 0
    assert (foreign / "about.html").read_text() == "mine"
    assert (foreign / "keyed-start-safe" / "report.md").is_file()
    # a scenario folder that is not a report folder is never replaced, even with --force
    (foreign / "backends").mkdir()
    (foreign / "backends" / "notes.md").write_text("curated")
    file = tmp_path / "backends.toml"
    file.write_text(scenario(name='"backends"'))
    capsys.readouterr()
    assert main(["report", str(file), "--out", str(foreign), "--force"]) == 2
    assert "is not a report folder" in capsys.readouterr().err
    assert (foreign / "backends" / "notes.md").read_text() == "curated"


def test_a_crafted_manifest_cannot_remove_anything_outside_out(tmp_path):
    out = tmp_path / "reports"
    assert main(["report", "keyed-start-safe", "--out", str(out), "--generated-at", "T"]) == 0
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "report.md").write_text("looks like a report folder")
    (out / "manifest.json").write_text(json.dumps(["../victim", "keyed-start-safe"]))
    assert main(["report", "keyed-start-safe", "--out", str(out), "--generated-at", "T"]) == 0
    assert (victim / "report.md").exists()


def test_a_sampling_explorer_on_a_holds_scenario_exits_3_and_says_why(capsys):
    argv = ["check", str(DATA / "two-keys-holds.toml"), "--explorer", "random", "--walks", "30"]
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert "random never proves `holds`" in err and "exit 3" in err
    # a real mismatch stays 1: a budget cut an exhaustive search short
    assert main(["check", str(DATA / "two-keys-holds.toml"), "--max-states", "10"]) == 1


def test_editing_prose_keeps_traces_valid_but_not_the_bounds(tmp_path, capsys):
    source = tmp_path / "rr.toml"
    trace = recorded_trace(tmp_path, source)
    text = source.read_text()
    edited = re.sub(r'(?m)^description = ".*"$', 'description = "reworded"', text)
    assert edited != text
    assert "explorer =" not in edited
    source.write_text(
        'explorer = "dfs"\n' + edited.replace("closed_by = [", 'closed_by = ["dbos-reject-retry", ')
    )
    capsys.readouterr()
    assert main(["replay", str(trace)]) == 0
    assert capsys.readouterr().out.startswith("reproduced:")
    source.write_text(edited.replace("dedupe_window = 2", "dedupe_window = 1"))
    assert main(["replay", str(trace)]) == 2
    assert "has changed since this trace was recorded" in capsys.readouterr().err


def test_version_1_traces_are_read_with_their_own_digest(tmp_path, capsys):
    from catalog import load_scenario

    source = tmp_path / "rr.toml"
    trace = recorded_trace(tmp_path, source)
    doc = json.loads(trace.read_text())
    assert doc["version"] == 2
    doc["version"] = 1
    doc["scenario"]["digest"] = load_scenario(str(source)).digest  # v1: every key
    trace.write_text(json.dumps(doc))
    capsys.readouterr()
    assert main(["replay", str(trace)]) == 0
    # a version-1 trace whose scenario's prose changed is refused, in one line that says so
    source.write_text('explorer = "dfs"\n' + source.read_text())
    assert main(["replay", str(trace)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has changed since this trace was recorded" in err
    assert "format version 1" in err


def test_the_catalog_digests_are_stable_across_the_prose():
    """Traces the catalog's reports ship with name the digest of what is explored."""
    from catalog import catalog
    from catalog.trace import scenario_digest

    for scenario in catalog().values():
        assert scenario_digest(scenario) == scenario_digest(
            type(scenario)(**{**scenario.__dict__, "raw": {**scenario.raw, "description": "x"}})
        )


@pytest.mark.parametrize(
    "what", ["profiles", "strategies", "properties", "options", "explorers", "backends"]
)
def test_list_reads_the_registries(what, capsys):
    assert main(["list", what, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)[what]
    assert rows
    if what == "options":
        from model.profiles import PROFILES

        temporal = {r["option"]: r for r in rows if r["of"] == "temporal"}
        assert set(temporal) == set(PROFILES["temporal"].OPTIONS)
        assert all(r["doc"] for r in temporal.values())
    if what == "explorers":
        assert {r["name"]: r["exhaustive"] for r in rows}["random"] is False


@pytest.mark.parametrize(
    "command",
    ["check", "report", "replay", "scenarios", "list", "validate", "matrix", "export-finding"],
)
def test_every_command_help_has_examples_and_exit_codes(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    assert "examples:" in text and "exit codes:" in text and "130" in text
    if command == "check":
        assert "bfs, dfs, random, pct, hypothesis" in text


def test_a_usage_error_loads_no_search_or_plotting_code():
    """Arguments are parsed before the model, the explorers or matplotlib load."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from idemrace.cli import main\n"
        "try:\n    main(['check', '--bogus'])\nexcept SystemExit:\n    pass\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=os.getcwd()
    )
    loaded = set(done.stdout.split())
    heavy = {"matplotlib", "hypothesis", "simulator", "model", "dask", "distributed", "rich"}
    heavy |= {"numpy", "networkx", "catalog", "reports", "backends"}
    assert "idemrace" in loaded and not (loaded & heavy), loaded & heavy


def test_the_readme_scenario_section_covers_every_key_and_option():
    """The README's "Scenario files" section is the reference: every key the parser accepts and
    every option a profile or strategy declares is in it."""
    from catalog.parse import _BOUND_KEYS, _REQUEST_KEYS, _TOP_KEYS
    from model.profiles import PROFILES
    from simulator.strategies import STRATEGIES

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("## Scenario files", 1)[1].split("\n## ", 1)[0]
    keys = [f"`{k}`" for k in _TOP_KEYS]
    keys += [f"`bounds.{k}`" for k in _BOUND_KEYS]
    keys += [f"`requests[].{k}`" for k in _REQUEST_KEYS]
    missing = [k for k in keys if k not in section]
    for owner, options in [(n, c.OPTIONS) for n, c in PROFILES.items()] + [
        (n, s.options) for n, s in STRATEGIES.items()
    ]:
        for option in options:
            rows = [line for line in section.splitlines() if line.startswith(f"| `{option}` |")]
            if not any(owner in row.split("|")[2].replace(" ", "").split(",") for row in rows):
                missing.append(f"{owner}.{option}")
    assert not missing, (
        f"README 'Scenario files' lacks: {', '.join(missing)}; paste the output of "
        "`idemrace list options --markdown` over its option tables"
    )
