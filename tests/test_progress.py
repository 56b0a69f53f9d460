"""Feedback on long work: progress rows, --fail-fast, --time-limit (issue 18).

The progress display is driven with an injected clock and a recording terminal console, so what
it shows is checked without depending on how fast this machine is; the CLI tests assert on
verdicts and counts, never on time.
"""

from __future__ import annotations

import json
import re

import pytest
from rich.console import Console

from catalog import catalog
from idemrace.cli import main
from idemrace.progress import SearchProgress, compact, time_limit_reason, verdict_line
from simulator.explorers import UNKNOWN, check


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def results():
    return [check(catalog()[name], "bfs") for name in ("keyed-start-safe", "non-atomic-admission")]


def test_finished_rows_collapse_to_their_verdict(results):
    console = Console(record=True, force_terminal=True, width=80)
    clock = FakeClock()
    display = SearchProgress(console, len(results), enabled=True, clock=clock)
    with display:
        for result in results:
            callback = display.start(result.scenario.name, "bfs", 2_000_000)
            clock.now += 2.0
            assert callback(50_000, 2_000_000) is None  # no time limit: never asks to stop
            rows = {t.description: t for t in display.progress.tasks}
            assert list(rows) == ["scenarios", f"{result.scenario.name} (bfs)"]
            search = rows[f"{result.scenario.name} (bfs)"]
            assert search.fields["rate"] == "25k/s"  # 50,000 states in 2 s
            assert search.fields["count"] == "50k/2M states"
            assert search.percentage == pytest.approx(2.5)  # share of the state budget
            display.finish(result)
            # the finished search's row is gone: only the overall row is left
            assert [t.description for t in display.progress.tasks] == ["scenarios"]
        overall = display.progress.tasks[0]
        assert overall.completed == overall.total == len(results)
        assert overall.fields["count"] == f"{len(results)}/{len(results)}"
    # what the terminal got (live frames without their cursor moves): each finished search left
    # one line with its verdict, and after the last one no search row is drawn again
    text = console.export_text()
    for result in results:
        line = rf"{result.verdict}\s+{result.scenario.name}  \(bfs, [\d,]+ states"
        assert re.search(line, text), result.scenario.name
    after = text.rsplit(f"{results[-1].scenario.name}  (bfs", 1)[1]
    assert "(bfs) " not in after and "2/2" in after


def test_no_bars_off_a_terminal(results):
    console = Console(record=True, force_terminal=False, width=80)
    display = SearchProgress(console, 1, enabled=False)
    with display:
        display.start("x", "bfs", 10)(5, 10)
        display.finish(results[0])
    assert display.progress is None and console.export_text() == ""


def test_the_callback_asks_to_stop_once_the_time_limit_is_spent():
    clock = FakeClock()
    display = SearchProgress(Console(file=None), 1, enabled=False, time_limit=5, clock=clock)
    callback = display.start("x", "bfs", 1000)
    clock.now += 4.9
    assert callback(10, 1000) is None
    clock.now += 0.2
    assert callback(20, 1000) == time_limit_reason(5) == "time limit 5 s reached"


def test_compact_counts_and_the_verdict_line(results):
    assert [compact(n) for n in (0, 950, 12_345, 1_000_000, 2_500_000)] == [
        "0",
        "950",
        "12.3k",
        "1M",
        "2.5M",
    ]
    line = verdict_line(results[1])
    assert "violated" in line and "non-atomic-admission" in line and "in 9 steps" in line


def test_fail_fast_stops_after_the_first_counterexample(capsys):
    names = ["keyed-start-safe", "non-atomic-admission", "supersede-aba"]
    code = main(["check", *names, "--fail-fast", "--json", "--stable"])
    out, err = capsys.readouterr()
    document = json.loads(out)
    ran = [r["scenario"] for r in document["results"]]
    assert ran == names[:2]  # the holding one, then the first violated one; not the third
    assert document["results"][1]["verdict"] == "violated"
    assert code == 0  # what ran matches its expectation
    assert "stopped at the first counterexample (--fail-fast): 2 of 3 scenarios run" in err
    # -x is the same option; without it every scenario runs
    assert main(["check", *names[1:], "-x", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["results"]) == 1
    main(["check", *names[:2], "--json"])
    assert len(json.loads(capsys.readouterr().out)["results"]) == 2


@pytest.mark.parametrize(
    ("explorer", "scenario", "extra"),
    [
        # far more than one progress report's worth of states (a crowd: its races are 40+ steps
        # deep, so BFS has found nothing when it is stopped) or of walks and examples
        ("bfs", "crowd-signal-forward", ["--max-states", "1000000"]),
        # DFS dives: it has counterexamples by then, and keeps them (supersede-aba, used here
        # before, is now exhausted within the first report's 8,192 states)
        ("dfs", "crowd-keyed-start-crashes", []),
        ("random", "keyed-start-safe", ["--walks", "100000"]),
        ("hypothesis", "keyed-start-safe", ["--max-examples", "5000"]),
    ],
)
def test_time_limit_gives_unknown_with_the_partial_result(capsys, explorer, scenario, extra):
    args = ["check", scenario, "--explorer", explorer, "--json", "--time-limit", "0.000001"]
    main([*args, *extra])
    (result,) = json.loads(capsys.readouterr().out)["results"]
    # the first progress report after the limit stops the search
    assert result["cut_off"] == "time limit 1e-06 s reached"
    assert result["verdict"] in (UNKNOWN, "violated")  # a counterexample found is kept
    if result["verdict"] == UNKNOWN:
        assert set(result["properties"].values()) == {UNKNOWN}
    else:  # what was found is reported, and the rest is not claimed to hold
        assert result["violations"] and "holds" not in result["properties"].values()
        assert {v["property"] for v in result["violations"]} == {
            name for name, verdict in result["properties"].items() if verdict == "violated"
        }
    stats = result["stats"]
    if explorer in ("bfs", "dfs"):
        assert stats["states"] >= 8192  # the partial statistics are kept
        if explorer == "bfs":  # 8,192 states in, no race of a crowd is reached yet
            assert result["verdict"] == UNKNOWN
    else:
        assert 0 < stats["schedules"] < int(extra[1])


def test_bad_time_limits_are_one_line_errors(capsys):
    for bad in ("0", "-1", "nan", "inf", "soon"):
        with pytest.raises(SystemExit) as info:
            main(["check", "keyed-start-safe", "--time-limit", bad])
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert "--time-limit" in err and "Traceback" not in err


def test_time_limit_is_for_in_process_searches(capsys):
    assert main(["check", "keyed-start-safe", "--time-limit", "5", "--workers", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "idemrace: error: --time-limit applies to in-process searches, not --workers/--scheduler"
    ]
