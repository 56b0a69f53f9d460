"""The comparison matrix: computed, not typed. Checks that every cell is backed by a search, that
violated cells replay, and that the computed answers agree with the seed's table where they
should (the seed's table is the expectation here, the matrix is computed)."""

from __future__ import annotations

import json

import pytest

from analysis.matrix import LIFECYCLE, _own_properties, compute_matrix
from properties import PROPERTIES
from reports.matrix import matrix_json, matrix_markdown
from simulator.system import System


@pytest.fixture(scope="module")
def matrix():
    return compute_matrix()


def row(matrix, label):
    return next(r for r in matrix.rows if r.design.label == label).cells


def test_every_cell_is_backed_by_a_check(matrix):
    assert matrix.columns == LIFECYCLE + tuple(sorted(PROPERTIES))
    for r in matrix.rows:
        for column in matrix.columns:
            cell = r.cells[column]
            assert cell.verdict in (
                "violated",
                "holds",
                "not exercised",
                "unknown",
                "n/a",
                "observed",
            ), cell
            if cell.verdict in ("violated", "holds", "observed"):
                assert cell.scenario, (r.design.label, column)


def test_a_holds_cell_has_evidence_that_exercised_it(matrix):
    # the evidence rule: holds only where a search of a scenario that exercises the property
    # (a payload sent, a crash injected, a failure possible) was exhausted; the cell names it
    from catalog import catalog

    cat = catalog()
    holds = 0
    for r in matrix.rows:
        for column in matrix.columns:
            cell = r.cells[column]
            if cell.verdict != "holds":
                continue
            holds += 1
            assert cell.evidence, (r.design.label, column, cell)
            assert cell.scenario, (r.design.label, column)
            if column in PROPERTIES:
                scenario = cat[cell.scenario] if cell.catalog else None
                if scenario is not None:
                    assert PROPERTIES[column].evidence_in(System(scenario)) == cell.evidence
    assert holds >= 20


def test_a_violated_cell_names_a_scenario_whose_own_report_says_violated(matrix):
    from catalog import catalog

    cat = catalog()
    for r in matrix.rows:
        for column in matrix.columns:
            cell = r.cells[column]
            if cell.verdict != "violated" or not cell.catalog:
                continue
            own = cat[cell.scenario]
            # the cell's search is the scenario's own check (its properties, its report)
            assert cell.result.scenario.properties == _own_properties(own)
            assert cell.result.properties[cell.property] == "violated", (r.design.label, column)
            if own.properties:
                assert cell.property in own.properties, (r.design.label, column)


def test_cells_nothing_exercises_say_so(matrix):
    # nothing in Temporal's rows sends a payload: no-lost-signal cannot be shown to hold there
    for label in ("Temporal (fail, allow-duplicate)", "DBOS", "App-record pattern"):
        assert row(matrix, label)["no-lost-signal"].verdict == "not exercised", label
    # the entity pattern's violated cells used to name a catalog report that says holds
    entity = row(matrix, "Entity pattern")
    for column in ("no-lost-signal", "no-wasted-run"):
        assert entity[column].scenario.startswith("matrix:"), column


def test_v5_and_upstream_atomic_start_against_p0(matrix):
    v5 = row(matrix, "Vercel v5 (hook min retention)")
    up = row(matrix, "Vercel upstream atomic start (min retention)")
    p0 = row(matrix, "Vercel P0 keyed start")
    # v5 keeps start()'s queue hop: duplicates are still created; retention gives memory
    assert v5["admission"].verdict == "violated"
    assert v5["memory"].text == "forgets within 2 ticks"
    assert v5["reuse"].text.startswith("yes")
    assert v5["no-failed-request"].scenario == "v5-supersede-retention"  # supersede + retention
    # upstream's atomic start closes admission like P0, and neither closes the signal race
    assert up["admission"].text == p0["admission"].text == "yes"
    assert up["no-lost-signal"].verdict == p0["no-lost-signal"].verdict == "violated"
    assert up["tokens-eventually-freed"].verdict == "holds"
    p1 = row(matrix, "Vercel P1 on analytics (lag 1)")
    assert p1["at-most-once-effect"].scenario == "attribute-lookup-stale-read"


def test_a_row_never_says_at_most_once_holds_beside_a_memory_cell_that_broke_it(matrix):
    # the memory probe's late retry falls inside its own dedupe window: a violation there is a
    # violation of at-most-once-effect for the row (Temporal use-existing + reject-duplicate and
    # Restate's workflow rows said holds before)
    for r in matrix.rows:
        if r.cells["memory"].verdict == "violated":
            assert r.cells["at-most-once-effect"].verdict == "violated", r.design.label
    temporal = row(matrix, "Temporal (use-existing, reject-duplicate)")
    assert temporal["at-most-once-effect"].scenario.endswith(":late-2")


def test_lapsed_retained_rows_show_in_the_token_liveness_columns(matrix):
    base = row(matrix, "Vercel v5 (hook min retention)")
    kept = row(matrix, "Vercel v5, lapsed rows kept (world-postgres)")
    blocking = row(matrix, "Vercel v5, lapsed rows block claims")
    assert base["no-retained-row-outlives-window"].verdict == "holds"
    assert base["tokens-eventually-freed"].verdict == "holds"
    # world-postgres (the PR #3276 review): the token is freed, the row is never deleted
    assert kept["no-retained-row-outlives-window"].scenario == "v5-lapsed-row-kept"
    assert kept["no-retained-row-outlives-window"].verdict == "violated"
    assert kept["tokens-eventually-freed"].verdict == "holds"
    assert kept["memory"].text == "forgets within 2 ticks"
    # a World whose claim still conflicts on a lapsed row never frees the token
    assert blocking["tokens-eventually-freed"].scenario == "v5-lapsed-row-blocking"
    assert blocking["tokens-eventually-freed"].verdict == "violated"
    assert blocking["memory"].verdict == "holds"


def test_violated_cells_replay_to_the_same_violation(matrix):
    checked = 0
    for r in matrix.rows:
        for column in matrix.columns:
            cell = r.cells[column]
            if cell.verdict != "violated":
                continue
            violation = next(v for v in cell.result.violations if v.property == cell.property)
            system = System(cell.result.scenario)
            state, _ = system.replay(violation.schedule)
            prop = PROPERTIES[cell.property]
            message = prop.check(system, state)
            if message is None and prop.settle is not None:
                message = prop.settle(system, state)
            assert message == violation.message
            checked += 1
    assert checked >= 10


def test_vercel_today_matches_the_seed(matrix):
    cells = row(matrix, "Vercel today")
    assert cells["admission"].text.startswith("no")  # start() always creates a run
    assert cells["memory"].text == "none"  # hook released at terminal state
    assert cells["reuse"].text.startswith("no")  # only while the owner is running
    assert "the owner's result" in cells["in-flight"].text  # adopt: conflict.returnValue
    assert cells["at-most-once-effect"].verdict == "violated"


def test_p0_keyed_start_closes_gaps_1_and_2_within_retention(matrix):
    cells = row(matrix, "Vercel P0 keyed start")
    assert cells["admission"].text == "yes"
    assert cells["memory"].text == "forgets within 2 ticks"  # retention = 2 in the row
    assert cells["reuse"].text.startswith("yes")
    assert cells["no-wasted-run"].verdict == "holds"


def test_patterns(matrix):
    entity = row(matrix, "Entity pattern")
    assert entity["memory"].text.startswith("the owner never ends")
    assert entity["at-most-once-effect"].verdict == "holds"
    app = row(matrix, "App-record pattern")
    assert app["memory"].text.startswith("at least")
    assert app["reuse"].text.startswith("yes")
    p1 = row(matrix, "Vercel P1 attribute lookup")
    assert p1["at-most-once-effect"].scenario == "just-completed-window"


def test_renderings(matrix, tmp_path):
    data = json.loads(json.dumps(matrix_json(matrix), default=str))
    assert [r["design"] for r in data["rows"]] == [r.design.label for r in matrix.rows]
    violated = [c for r in data["rows"] for c in r["cells"].values() if c["verdict"] == "violated"]
    assert all(c["trace"] for c in violated)
    text = matrix_markdown(matrix)
    assert text.count("\n| ") == len(matrix.rows)  # the header is the first line
    assert "(race-reports/just-completed-window/report.md)" in text


def test_rendering_reads_the_computed_value_and_never_searches():
    # layer rule: reports/ renders a Matrix; the searches live in analysis/
    import ast
    from pathlib import Path

    import reports.matrix

    tree = ast.parse(Path(reports.matrix.__file__).read_text())
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not {m for m in imported if m.startswith("simulator")}, imported
    assert not hasattr(reports.matrix, "compute_matrix")
