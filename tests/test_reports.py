"""Race reports: every catalog scenario renders; structure is checked, not pixels.

The checks behind the reports run once per module. A report of a counterexample only needs a
counterexample, so each scenario is first checked under a small state budget: BFS (which finds
the same shortest counterexample under any budget that reaches it), then DFS (deep races in wide
spaces, e.g. the crowd scenarios); only if both miss the expected violation, or cannot prove
'holds', is it checked with its own bounds.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from html.parser import HTMLParser
from typing import NamedTuple

import networkx as nx
import pytest

from catalog import catalog
from idemrace.cli import main
from model import ops as O
from model.ops import describe
from reports.causal import marks, parties
from reports.graph import MAX_BRANCHES
from reports.index import index_matrix
from reports.page import changed
from reports.render import (
    FILES_NO_VIOLATION,
    FILES_VIOLATED,
    MAX_RELATED,
    _umask,
    featured,
    related_designs,
    write_reports,
)
from reports.story import VIOLATION_MARK, phrase, short, status_changes, story
from reports.swimlane import VIOLATION, WORLD
from reports.text import labelled, trace_lines
from simulator.explorers import HOLDS, VIOLATED, SearchOptions, check
from simulator.system import Arrive, Crash, Step, System

STAMP = "fixed for tests"
BUDGET = 20_000


def _check(scenario):
    budget = min(BUDGET, scenario.bounds.max_states)
    wanted = scenario.expected_property
    for explorer, max_states in (("bfs", budget), ("dfs", budget), ("bfs", None)):
        result = check(scenario, SearchOptions(explorer, max_states=max_states))
        if wanted and wanted in {v.property for v in result.violations}:
            return result
        if not wanted and (result.exhausted or max_states is None):
            return result
    return result


@pytest.fixture(scope="module")
def results():
    return [_check(s) for s in catalog().values()]


@pytest.fixture(scope="module")
def rendered(results, tmp_path_factory):
    out = tmp_path_factory.mktemp("race-reports")
    written = write_reports(results, out, STAMP)
    return out, {w.scenario: w for w in written}


def lane_of(step: Step) -> str:
    if isinstance(step.op, (Arrive, Crash)):
        return step.op.actor
    return WORLD if step.actor in ("env", WORLD) else step.actor


def test_every_catalog_scenario_has_a_report(results, rendered):
    out, written = rendered
    assert sorted(written) == sorted(catalog())
    assert any(r.violations for r in results) and any(not r.violations for r in results)
    for result in results:
        folder = out / result.scenario.name
        expected = FILES_VIOLATED if result.violations else FILES_NO_VIOLATION
        assert sorted(p.name for p in folder.iterdir()) == sorted(expected)
        text = (folder / "report.md").read_text()
        assert f"**{result.verdict}**" in text
        for name, verdict in result.properties.items():
            assert f"| `{name}` | {verdict} |" in text
        for section in ("## What this models", "## Verdict", "## What closes it", "## Search"):
            assert section in text, (result.scenario.name, section)
        assert f"{result.stats.states:,} distinct states" in text
        assert ("## The counterexample" in text) == bool(result.violations)
        assert ("## No counterexample" in text) != bool(result.violations)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp folders left
    # shareable like any file the user writes: the temporary files' 0600 is not kept
    mode = 0o666 & ~_umask()
    assert {p.stat().st_mode & 0o777 for p in out.rglob("*") if p.is_file()} == {mode}


def test_story_tells_every_step_in_order(results, rendered):
    out, written = rendered
    for result in results:
        violation = featured(result)
        if violation is None:
            continue
        lines = written[result.scenario.name].story
        assert len(lines) == len(violation.steps)
        for k, (line, step) in enumerate(zip(lines, violation.steps, strict=True), start=1):
            assert line.startswith(f"{k}. "), line
            if isinstance(step.op, O.AdvanceClock):
                assert f"clock advances to t={step.result}" in line, line
            elif lane_of(step) != WORLD:
                assert re.search(rf"\b{lane_of(step)}\b", line), line
        assert lines[-1].endswith(VIOLATION_MARK.replace("the property", f"`{violation.property}`"))
        assert sum(VIOLATION_MARK[-12:] in line for line in lines) == 1
        text = (out / result.scenario.name / "report.md").read_text()
        assert "\n".join(lines) in text


def test_swimlane_has_one_lane_per_process_plus_the_world(results, rendered):
    out, written = rendered
    for result in results:
        violation = featured(result)
        if violation is None:
            continue
        lanes = written[result.scenario.name].lanes
        processes = {lane_of(s) for s in violation.steps} - {WORLD}
        assert lanes[-1] == WORLD and set(lanes[:-1]) == processes
        assert len(lanes) == len(set(lanes))
        # the picture itself: the lane headers carry ids in the SVG
        svg = (out / result.scenario.name / "swimlane.svg").read_text()
        assert re.findall(r'id="lane-([^"]+)"', svg) == lanes
        png = (out / result.scenario.name / "swimlane.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width = int.from_bytes(png[16:20], "big")
        height = int.from_bytes(png[20:24], "big")
        assert width >= 100 * 1.9 * (len(lanes) + 3) - 2  # lanes are 1.9 in apart at 100 dpi
        assert height >= 42 * len(violation.steps)  # one row of 0.42 in per step


def test_state_graph_holds_the_path_and_bounded_alternatives(results, rendered):
    out, _ = rendered
    for result in results:
        violation = featured(result)
        if violation is None:
            continue
        graph = nx.read_graphml(out / result.scenario.name / "state-graph.graphml")
        steps = len(violation.schedule)
        path = [f"s{k}" for k in range(steps + 1)]
        assert [n for n, d in graph.nodes(data=True) if d["on_path"]] == path
        assert [
            graph.edges[a, b]["action"] for a, b in itertools.pairwise(path)
        ] == violation.schedule
        for node in path:
            off = [v for v in graph.successors(node) if not graph.edges[node, v]["on_path"]]
            assert len(off) <= MAX_BRANCHES
        assert graph.number_of_nodes() > len(path) or steps == 0


def test_every_trace_json_replays(results, rendered, capsys):
    out, _ = rendered
    for result in results:
        violation = featured(result)
        if violation is None:
            continue
        trace = out / result.scenario.name / "trace.json"
        assert json.loads(trace.read_text())["schedule"] == violation.schedule
        assert main(["replay", str(trace)]) == 0, result.scenario.name
    capsys.readouterr()


def test_what_closes_it_links_named_or_related_designs(results, rendered):
    out, _ = rendered
    scenarios = catalog()
    named = related = 0
    for result in results:
        violation = featured(result)
        if violation is None:
            continue
        scenario = result.scenario
        text = (out / scenario.name / "report.md").read_text().split("## What closes it")[1]
        if scenario.closed_by:
            named += 1
            for other in scenario.closed_by:
                assert f"[{other}](../{other}/report.md)" in text
                assert (out / other / "report.md").exists()
            continue
        others = related_designs(scenario, violation.property, scenarios)
        related += bool(others)
        for other in others[:MAX_RELATED]:
            assert scenarios[other].expect == HOLDS
            assert violation.property in scenarios[other].properties
            assert scenarios[other].profile_name != scenario.profile_name or (
                scenarios[other].profile_options != scenario.profile_options
            )
            assert f"[{other}](../{other}/report.md)" in text
        assert len(others) <= MAX_RELATED or f"and {len(others) - MAX_RELATED} more" in text
    assert named > 0 and related > 0


def test_index_matrix_from_the_checks(results, rendered):
    out, _ = rendered
    table = index_matrix(results)
    designs = {title for title, _ in table.rows}
    assert "vercel-today" in designs and len(designs) == len(table.rows)
    props = sorted({p for r in results for p in r.properties})
    assert table.columns == tuple(f"`{p}`" for p in props)
    for _title, cells in table.rows:
        for prop, cell in zip(props, cells, strict=True):
            if cell.scenario is None:
                assert cell.verdict == "n/a"
                continue
            shown = next(r for r in results if r.scenario.name == cell.scenario)
            assert shown.properties[prop] == cell.verdict
            assert (out / cell.scenario / "report.md").exists()
    index = (out / "index.md").read_text()
    assert index.index("## Comparison matrix") < index.index("## Scenarios")
    cell = next(c for _, cells in table.rows for c in cells if c.verdict == VIOLATED)
    assert f"]({cell.scenario}/report.md)" in index.split("## Scenarios")[0]
    page = (out / "index.html").read_text()
    assert page.index("Comparison matrix") < page.index("<h2>Scenarios</h2>")
    assert f"<a href='{cell.scenario}/report.html'>" in page


def test_index_with_the_computed_matrix_links_only_rendered_reports(results, tmp_path):
    from analysis.matrix import DESIGNS, compute_matrix

    matrix = compute_matrix(designs=tuple(d for d in DESIGNS if d.label == "DBOS"))
    cells = matrix.rows[0].cells
    linked = sorted({c.scenario for c in cells.values() if c.catalog})
    assert linked  # DBOS violates a property in a catalog scenario
    subset = [r for r in results if r.scenario.name == linked[0]]
    write_reports(subset, tmp_path, STAMP, matrix)
    top = (tmp_path / "index.md").read_text().split("## Scenarios")[0]
    assert "## Comparison matrix" in top and "| DBOS |" in top
    # only the report that is in the folder is linked, from every cell that stands on it
    # (a violated cell it shows, a holds cell it is among); the other cells are plain text
    standing = [c for c in cells.values() if linked[0] in (c.scenario or "").split(", ")]
    links = re.findall(r"\]\(([^)]+)/report\.md\)", top)
    assert set(links) == {linked[0]} and len(links) == len(standing) > 1
    page = (tmp_path / "index.html").read_text()
    assert re.findall(r"href='([^']+)/report\.html'", page.split("<h2>Scenarios")[0]) == links


def test_output_is_deterministic_and_a_rerun_replaces_cleanly(results, tmp_path):
    names = ("signal-forward-race", "keyed-start-safe")
    subset = [r for r in results if r.scenario.name in names]
    first, second = tmp_path / "a", tmp_path / "b"
    write_reports(subset, first, STAMP)
    write_reports(subset, second, "another time")
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for rel in files:
        a, b = (first / rel).read_bytes(), (second / rel).read_bytes()
        if rel.suffix in (".md", ".html"):  # the one generated-at line differs
            a, b = (x.replace(s.encode(), b"") for x, s in ((a, STAMP), (b, "another time")))
        assert a == b, rel
    # a second run over the folder: no stale scenario folders, no stale files inside ours,
    # and files that are not ours untouched
    (first / "signal-forward-race" / "stale.txt").write_text("old")
    (first / "notes.txt").write_text("mine")
    write_reports(subset[:1], first, STAMP)
    assert sorted(p.name for p in first.iterdir()) == sorted(
        [subset[0].scenario.name, "index.html", "index.md", "manifest.json", "notes.txt"]
    )
    assert not (first / "signal-forward-race" / "stale.txt").exists()


def test_report_command(tmp_path, capsys):
    out = tmp_path / "reports"
    code = main(["report", "dbos-reject-retry", "--out", str(out), "--generated-at", "T"])
    assert code == 0
    assert sorted(p.name for p in (out / "dbos-reject-retry").iterdir()) == sorted(FILES_VIOLATED)
    assert "Generated at: T" in (out / "index.md").read_text()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["report", "dbos-reject-retry", "--out", str(blocker)]) == 2
    assert main(["report", "no-such-scenario", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("idemrace: error:") for line in err)


class Teleport(NamedTuple):  # an op type the story has never heard of
    run_id: int


def test_story_phrases_and_a_generic_fallback():
    steps = [
        Step("arrive req1", "env", Arrive("req1"), 0),
        Step("req1", "req1", O.CreateRun("order", 1), O.Ok(1)),
        Step("r1", "r1", O.ClaimHook(1, "h1", "order:1"), O.HookCreated()),
        Step("r2", "r2", O.ClaimHook(2, "h1", "order:1"), O.HookConflict(1)),
        Step("r1", "r1", O.CompleteRun(1, ("result", "order", "order:1", 1)), O.Ok()),
        Step("req2", "req2", O.DeliverPayload(1, "h1", "p2"), O.HOOK_NOT_FOUND),
        Step("r1", "r1", Teleport(1), O.Ok()),
    ]
    lines = story(steps, "no-lost-signal")
    assert lines[:6] == [
        "1. request req1 arrives at t=0.",
        "2. req1 calls start() for workflow 'order': the world creates run r1.",
        "3. r1 claims hook token 'order:1' and becomes its owner.",
        "4. r2's claim of 'order:1' conflicts: r1 owns it.",
        "5. r1 completes with the result for 'order:1' (req1's), and its hooks are released.",
        "6. req2 delivers payload 'p2' to r1's hook: fails with HookNotFoundError.",
    ]
    # an op without a phrase is shown with its fields named (default-valued ones left out)
    assert lines[6] == "7. r1: Teleport(run_id=1) -> Ok(). **← `no-lost-signal` is violated here**"
    assert phrase(steps[6]) == "r1: Teleport(run_id=1) -> Ok()"
    assert short(steps[6]) == ("Teleport(run_id=1)", "ok")
    assert short(steps[3]) == ("claim hook 'order:1'", "conflict: r1 owns it")


def test_story_tells_status_changes_the_result_does_not_show():
    # Temporal terminate-existing: the second start's result is just "a new run"; the world also
    # cancelled the running owner, which the story must say
    scenario = catalog()["temporal-terminate-existing"]
    violation = featured(check(scenario, "bfs"))
    system = System(scenario)
    lines = story(violation.steps, violation.property, status_changes(system, violation.schedule))
    told = [line for line in lines if "(r1 is now cancelled)" in line]
    assert len(told) == 1 and "req2 starts 'order' with key 'order:1'" in told[0]
    # a change the phrase already tells is not repeated
    assert not [line for line in lines if "is now running" in line]


# -- the HTML pages, the marks in the pictures, labelled ops (issue 18) -------------------------


def _links(page: str) -> list[str]:
    return re.findall(r"""(?:href|src)=['"]([^'"#]+)(?:#[^'"]*)?['"]""", page)


def test_every_report_has_an_html_page_and_its_links_resolve(results, rendered):
    out, _ = rendered
    index = (out / "index.html").read_text()
    for result in results:
        name = result.scenario.name
        assert f"<a href='{name}/report.html'>{name}</a>" in index
        page = (out / name / "report.html").read_text()
        assert "report.md" not in index.split("<h2>Scenarios")[1]  # the pages, not raw Markdown
        assert f"<h1>{name}</h1>" in page and "<a href='../index.html'>" in page
        for link in _links(page):
            target = (out / name / link).resolve()
            assert target.exists(), (name, link)
        # links to other reports go to their pages
        assert not re.search(r"href=\"\.\./[^\"]+/report\.md\"", page)
        # the pictures are inline (no CDN, no external script): the swimlane's steps and the
        # graph's nodes are in the page itself
        assert "<script src" not in page and "<link" not in page
        assert not [link for link in _links(page) if "://" in link]
        if result.violations:
            assert 'id="swimlane-step-1"' in page and 'id="node-s0"' in page
            assert "id='steps-data'" in page and "<img" not in page
        else:
            assert "steps-data" not in page


def test_the_step_explorer_has_every_step_with_the_states_around_it(results, rendered):
    out, _ = rendered
    for result in results:
        violation = featured(result)
        if violation is None:
            continue
        page = (out / result.scenario.name / "report.html").read_text()
        data = page.split("id='steps-data'>", 1)[1].split("</script>", 1)[0]
        rows = json.loads(data.replace("<\\/", "</"))
        assert [r["k"] for r in rows] == list(range(1, len(violation.steps) + 1))
        for row, step in zip(rows, violation.steps, strict=True):
            assert row["op"] == labelled(step.op) and row["result"] == labelled(step.result)
            assert row["world_before"][0].startswith("clock t=")
        for before, after in itertools.pairwise(rows):
            assert before["world_after"] == after["world_before"]
            assert before["procs_after"] == after["procs_before"]
        assert rows[-1]["causal"]
        bodies = [r for r in rows if "workflow body" in r["who"]]
        assert all("op chosen by " in r["code"] and ".py:" in r["code"] for r in bodies)


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.ids += [value for name, value in attrs if name == "id"]


def test_the_explorer_is_wired_after_the_graph_and_follows_the_anchor(results, rendered):
    out, _ = rendered
    for result in results:
        if featured(result) is None:
            continue
        page = (out / result.scenario.name / "report.html").read_text()
        parser = _Ids()
        parser.feed(page)
        ids = parser.ids
        assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
        # #step-N is the explorer's: no element of the page (the swimlane's rows included) has
        # that id, or the browser would jump to it instead of the explorer
        assert not [i for i in ids if re.fullmatch(r"step-\d+", i)]
        n = len(featured(result).steps)
        assert re.findall(r'<g id="swimlane-step-(\d+)"><title>', page) == [
            str(k) for k in range(1, n + 1)
        ]
        # the script runs once the state graph's nodes exist (it binds their hover), last
        script = page.rindex("<script>")
        assert page.index('id="node-s0"') < script and page.index("id='steps-data'") < script
        assert page[script:].count("</script>") == 1 and page.endswith(
            "</script>\n</body></html>\n"
        )
        tail = page[script:]
        assert "addEventListener('hashchange'" in tail
        assert "scrollIntoView" in tail and 'g[id^="node-s"]' in tail
        assert 'g[id^="swimlane-step-"]' in tail and 'g[id^="step-"]' not in tail


def test_the_step_diff_counts_repeated_lines():
    assert changed(["a", "b", "a"], ["a", "b"]) == [2]  # the second copy is new
    assert changed(["a", "b"], ["a", "b", "a"]) == []
    assert changed(["x", "a", "a", "a"], ["a"]) == [0, 2, 3]
    assert changed([], ["a"]) == [] and changed(["a"], []) == [0]


def test_the_step_explorer_marks_a_repeated_effect_as_added(results, rendered):
    out, _ = rendered
    repeated, crowd = 0, False
    for result in results:
        if featured(result) is None:
            continue
        page = (out / result.scenario.name / "report.html").read_text()
        data = page.split("id='steps-data'>", 1)[1].split("</script>", 1)[0]
        for row in json.loads(data.replace("<\\/", "</")):
            for part in ("world", "procs"):
                before, after = row[f"{part}_before"], row[f"{part}_after"]
                added = [after[i] for i in row[f"{part}_added"]]
                removed = [before[i] for i in row[f"{part}_removed"]]
                assert Counter(added) == Counter(after) - Counter(before)
                assert Counter(removed) == Counter(before) - Counter(after)
                # a line already there before, added once more (a duplicate effect)
                repeated += any(line in before for line in added)
        if result.scenario.name == "crowd-reject-crashes":
            last = json.loads(data.replace("<\\/", "</"))[-1]
            effect = last["world_after"][-1]
            assert effect.startswith("effect ") and last["world_after"].count(effect) == 2
            assert last["world_added"] == [len(last["world_after"]) - 1]
            crowd = True
    assert repeated > 0 and crowd


def test_ops_are_labelled_in_renderings_and_positional_in_traces(results, rendered):
    out, _ = rendered
    step = Step("r2", "r2", O.ClaimHook(2, "h1", "order:1"), O.HookConflict(1))
    assert labelled(step.op) == "ClaimHook(run_id=2, hook_id='h1', token='order:1')"
    assert labelled(O.Ok()) == "Ok()" and labelled(O.CreateRun("wf", 1)) == (
        "CreateRun(workflow='wf', request=1)"  # a field at its default is left out
    )
    assert trace_lines([step]) == [
        "  1. r2  ClaimHook(run_id=2, hook_id='h1', token='order:1') -> HookConflict(owner=1)"
    ]
    for result in results:
        violation = featured(result)
        if violation is None:
            continue
        folder = out / result.scenario.name
        text = (folder / "report.md").read_text()
        trace = json.loads((folder / "trace.json").read_text())
        for row, s in zip(trace["steps"], violation.steps, strict=True):
            assert row["op"] == describe(s.op)  # the trace file keeps the replayed text
            assert f"{labelled(s.op)} -> {labelled(s.result)}" in text


def test_swimlane_marks_the_causal_steps_and_colours_keys(results, rendered):
    out, _ = rendered
    selective = multi_key = 0
    for result in results:
        violation = featured(result)
        if violation is None:
            continue
        scenario = result.scenario
        marked = marks(scenario, violation)
        n = len(violation.steps)
        svg = (out / scenario.name / "swimlane.svg").read_text()
        bands = {int(k) for k in re.findall(r'id="causal-(\d+)"', svg)}
        assert bands == set(marked.causal) - {n}  # the last step has the violation's band
        assert n in marked.causal
        assert re.findall(r'<g id="step-(\d+)"><title>', svg) == [str(k) for k in range(1, n + 1)]
        # the parties are named in the message, and their own steps are all marked
        for k, step in enumerate(violation.steps, start=1):
            if lane_of(step) in marked.parties:
                assert k in marked.causal
        selective += len(marked.causal) < n
        colours = list(marked.colours.values())
        assert len(set(colours)) == len(colours) == len({r.key for r in scenario.requests})
        assert VIOLATION not in colours
        assert len(re.findall(r'id="key-\d+"', svg)) == len(colours)
        for colour in colours:
            assert colour in svg
        multi_key += len(colours) > 1
    assert selective > 0 and multi_key > 0  # the crowds: a thread out of many, several keys


def test_causal_parties_follow_the_message_and_one_hop():
    from types import SimpleNamespace

    from model.state import Run, WorldState

    world = WorldState(
        runs=(
            Run(1, "wf", "running", 1),
            Run(2, "wf", "running", 2),
            Run(3, "wf", "running", 3),
        )
    )
    steps = [
        Step("r2", "r2", O.ClaimHook(2, "h1", "k"), O.HookConflict(1)),  # r2 meets r1
        Step("r3", "r3", O.ClaimHook(3, "h1", "k"), O.HookConflict(1)),
    ]
    assert parties("r2 waits forever", steps, world) == {"r2", "req2", "r1", "req1"}
    assert parties("nothing named", steps, world) == set()
    violation = SimpleNamespace(
        message="nothing named", steps=steps, state=SimpleNamespace(world=world), schedule=[]
    )
    scenario = SimpleNamespace(requests=())
    assert marks(scenario, violation).causal == {1, 2}  # no party: nothing hidden on a guess


def test_state_graph_nodes_say_their_state(results, rendered):
    out, _ = rendered
    for result in results:
        if featured(result) is None:
            continue
        folder = out / result.scenario.name
        graph = nx.read_graphml(folder / "state-graph.graphml")
        svg = (folder / "state-graph.svg").read_text()
        for node, data in graph.nodes(data=True):
            assert data["short"] and data["detail"].startswith("clock t=")
            assert re.search(rf'<g id="node-{node}"><title>{node} \(step \d+\):\s*clock t=', svg)
        # a path state's words start with who moved into it
        first = graph.edges["s0", "s1"]["action"]
        said = graph.nodes["s1"]["short"].splitlines()[0]
        assert (
            said == f"{first[7:]} arrived"
            if first.startswith("arrive ")
            else said.startswith(first)
        )


def test_check_table_keeps_names_whole_at_80_columns(results):
    from rich.console import Console

    from reports.text import print_check_table

    console = Console(record=True, width=80, force_terminal=True)
    print_check_table(console, results, stable=True)
    text = console.export_text()
    table = text.split("└")[0]
    assert all(len(line) <= 80 for line in text.splitlines())
    for result in results:  # each name whole on one row, never folded into pieces
        assert re.search(rf"│ {re.escape(result.scenario.name)}\s+│", table), result.scenario.name
    assert "not shown at 80 columns: explorer" in text


def test_piped_check_output_honours_columns(capsys, monkeypatch):
    names = ["reject-retry-after-completion", "keyed-start-safe"]
    monkeypatch.setenv("COLUMNS", "90")
    main(["check", *names])
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 90
    monkeypatch.delenv("COLUMNS")
    main(["check", *names])
    out = capsys.readouterr().out
    table = [line for line in out.splitlines() if line.startswith("│")]
    assert "transitions" in out and 100 <= max(len(line) for line in table) < 160
