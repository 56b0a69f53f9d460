"""Race reports: every catalog scenario renders; structure is checked, not pixels."""

from __future__ import annotations

import json

import networkx as nx
import pytest

from idemrace.cli import main
from idemrace.loader import catalog
from reports.render import FILES_VIOLATED, featured, write_reports
from simulator.explorers import check
from simulator.system import Arrive, Crash

STAMP = "fixed for tests"


@pytest.fixture(scope="module")
def results():
    return [check(s, "bfs") for s in catalog().values()]


@pytest.fixture(scope="module")
def rendered(results, tmp_path_factory):
    out = tmp_path_factory.mktemp("race-reports")
    written = write_reports(results, out, STAMP)
    return out, {w.scenario: w for w in written}


def actors_in(steps):
    names = set()
    for step in steps:
        if isinstance(step.op, (Arrive, Crash)):
            names.add(step.op.actor)
        elif step.actor not in ("env", "world"):
            names.add(step.actor)
    return names


def test_every_catalog_scenario_has_a_report(results, rendered):
    out, written = rendered
    assert sorted(written) == sorted(catalog())
    for result in results:
        folder = out / result.scenario.name
        expected = FILES_VIOLATED if result.violations else ("report.md",)
        assert sorted(p.name for p in folder.iterdir()) == sorted(expected)
        text = (folder / "report.md").read_text()
        assert f"**{result.verdict}**" in text
        assert "## What closes it" in text and "## Search" in text
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp folders left


def test_story_mentions_every_step_and_lanes_match_processes(results, rendered):
    _, written = rendered
    for result in results:
        violation = featured(result)
        if violation is None:
            continue
        w = written[result.scenario.name]
        assert len(w.story) == len(violation.steps)
        for line, step in zip(w.story, violation.steps, strict=True):
            if isinstance(step.op, (Arrive, Crash)):
                assert step.op.actor in line, line
            elif step.actor in ("env",):
                assert "clock" in line, line
            else:
                assert step.actor in line or "runtime" in line, line
        assert w.lanes[-1] == "world"
        assert set(w.lanes[:-1]) == actors_in(violation.steps)
        assert len(w.lanes) == len(set(w.lanes))  # one lane per process, plus the world


def test_state_graph_and_trace(results, rendered):
    out, _ = rendered
    for result in results:
        violation = featured(result)
        if violation is None:
            continue
        folder = out / result.scenario.name
        graph = nx.read_graphml(folder / "state-graph.graphml")
        path_edges = [d["action"] for _, _, d in graph.edges(data=True) if d["on_path"]]
        assert sorted(path_edges) == sorted(violation.schedule)
        assert sum(1 for _, d in graph.nodes(data=True) if d["on_path"]) == len(violation.steps) + 1
        assert json.loads((folder / "trace.json").read_text())["schedule"] == violation.schedule


def test_trace_json_replays(rendered, capsys):
    out, _ = rendered
    for name in ("supersede-aba", "temporal-terminate-existing", "dbos-stored-error"):
        assert main(["replay", str(out / name / "trace.json")]) == 0
    capsys.readouterr()


def test_output_is_deterministic_and_a_rerun_replaces_cleanly(results, tmp_path):
    subset = [r for r in results if r.scenario.name in ("signal-forward-race", "keyed-start-safe")]
    first, second = tmp_path / "a", tmp_path / "b"
    write_reports(subset, first, STAMP)
    write_reports(subset, second, STAMP)
    for path in sorted(first.rglob("*")):
        if path.is_file():
            assert path.read_bytes() == (second / path.relative_to(first)).read_bytes(), path
    # a second run with fewer scenarios replaces the folder cleanly
    write_reports(subset[:1], first, "another time")
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted([subset[0].scenario.name, "index.html", "index.md", "manifest.json"])


def test_index_carries_the_matrix_on_top(results, tmp_path):
    from reports.matrix import DESIGNS, compute_matrix

    matrix = compute_matrix(designs=tuple(d for d in DESIGNS if d.label == "Vercel today"))
    write_reports(
        [r for r in results if r.scenario.name == "non-atomic-admission"], tmp_path, STAMP, matrix
    )
    index = (tmp_path / "index.md").read_text()
    assert index.index("## Comparison matrix") < index.index("## Scenarios")
    assert "(non-atomic-admission/report.md)" in index
    page = (tmp_path / "index.html").read_text()
    assert "<h2>Comparison matrix</h2>" in page and "non-atomic-admission/report.md" in page
