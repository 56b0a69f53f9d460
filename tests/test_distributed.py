"""Campaigns on Dask: same result whatever the number of workers, and a dead worker loses nothing."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time

import pytest
from distributed import Client, LocalCluster

from catalog import catalog
from simulator.explorers import SearchOptions, check
from simulator.explorers.distributed import CHUNK, check_distributed


def _cluster(n):
    return LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
    )


@pytest.fixture(scope="module")
def two_workers():
    with _cluster(2) as cluster, Client(cluster) as client:
        yield client


def summary(result):
    return (
        result.verdict,
        result.properties,
        [(v.property, v.message, v.schedule) for v in result.violations],
        (result.stats.states, result.stats.transitions, result.stats.schedules),
    )


@pytest.mark.parametrize("explorer", ["random", "pct"])
def test_seeded_campaign_is_independent_of_worker_count(two_workers, explorer):
    scenario = catalog()["signal-forward-race"]
    with _cluster(1) as cluster, Client(cluster) as one_worker:
        alone = check_distributed(
            scenario, SearchOptions(explorer, seed=5, walks=800), client=one_worker
        )
    together = check_distributed(
        scenario, SearchOptions(explorer, seed=5, walks=800), client=two_workers
    )
    assert summary(alone) == summary(together)
    assert together.properties["no-lost-signal"] == "violated"


@pytest.mark.parametrize("name", ["stranded-waiter", "keyed-start-safe", "flat-namespace"])
def test_distributed_bfs_agrees_with_single_process_bfs(two_workers, name):
    scenario = catalog()[name]
    # the level-synchronous search runs without the state-space reductions
    local = check(scenario, SearchOptions("bfs", reductions=frozenset()))
    spread = check_distributed(scenario, "bfs", client=two_workers, level_synchronous=True)
    assert spread.properties == local.properties
    assert spread.stats.states == local.stats.states
    assert spread.stats.transitions == local.stats.transitions
    assert {v.property: len(v.steps) for v in spread.violations} == {
        v.property: len(v.steps) for v in local.violations
    }
    assert spread.matches == local.matches


@pytest.mark.parametrize("name", ["stranded-waiter", "supersede-older-cancels-newer"])
def test_bfs_on_a_worker_is_the_in_process_search(two_workers, name):
    """``--workers`` runs each BFS whole on a worker, with the reductions: the same result as
    in-process BFS, counts and counterexamples included."""
    scenario = catalog()[name]
    assert summary(check_distributed(scenario, "bfs", client=two_workers)) == summary(
        check(scenario, "bfs")
    )


def test_a_worker_killed_mid_run_loses_no_result(two_workers):
    scenario = catalog()["keyed-start-safe"]  # holds: every chunk must run
    walks = 16 * CHUNK
    undisturbed = check_distributed(
        scenario, SearchOptions("random", seed=2, walks=walks), client=two_workers
    )
    pids = two_workers.run(os.getpid)
    killed_at = []

    def kill_one():
        time.sleep(0.4)
        killed_at.append(time.monotonic())
        os.kill(next(iter(pids.values())), signal.SIGKILL)

    killer = threading.Thread(target=kill_one)
    started = time.monotonic()
    killer.start()
    disturbed = check_distributed(
        scenario, SearchOptions("random", seed=2, walks=walks), client=two_workers
    )
    finished = time.monotonic()
    killer.join()
    assert started < killed_at[0] < finished, "the kill must land while the campaign runs"
    assert summary(disturbed) == summary(undisturbed)
    assert disturbed.stats.schedules == walks
    assert set(two_workers.run(os.getpid).values()) != set(pids.values())  # one was replaced


def test_unreachable_scheduler_is_a_one_line_error(capsys):
    from idemrace.cli import main

    code = main(
        ["check", "flat-namespace", "--scheduler", "tcp://127.0.0.1:9", "--explorer", "random"]
    )
    _, err = capsys.readouterr()
    assert code == 2
    assert err.startswith("idemrace: error: cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert err.count("\n") == 1


def test_an_address_that_answers_but_is_not_a_scheduler_is_a_one_line_error(capsys):
    """Something listens there (here a server that sends garbage and hangs up): one line, exit 2,
    never the Dask client's traceback."""
    import socket
    import threading

    from idemrace.cli import main

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    stop = threading.Event()

    def answer_garbage() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\nnot dask\r\n" * 64)

    thread = threading.Thread(target=answer_garbage, daemon=True)
    thread.start()
    try:
        code = main(
            [
                "check",
                "flat-namespace",
                "--scheduler",
                f"tcp://127.0.0.1:{port}",
                "--explorer",
                "random",
            ]
        )
    finally:
        stop.set()
        thread.join()
        server.close()
    _, err = capsys.readouterr()
    assert code == 2, err
    assert err.startswith(
        f"idemrace: error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}"
    )
    assert err.count("\n") == 1 and "Traceback" not in err, err


def _check_json(capsys, *argv) -> tuple[int, dict]:
    from idemrace.cli import main

    code = main(["check", *argv, "--json", "--stable"])
    document = json.loads(capsys.readouterr().out)
    for result in document["results"]:
        result.pop("seconds", None)
        result.get("stats", {}).pop("seconds", None)
    return code, document


@pytest.mark.parametrize(
    "after", [None, 0.0, 3600.0], ids=["forked", "cluster-started-midway", "never-started"]
)
def test_workers_on_several_scenarios_give_the_in_process_results(capsys, monkeypatch, after):
    """``check --workers 2`` on several scenarios searches them on forked workers side by side
    (``after`` None); where no process can be forked it starts its local Dask cluster only once
    the in-process searches have taken ``LOCAL_CLUSTER_AFTER`` seconds (the catalog ran 1.8x
    slower when the cluster came first). Each way each result is the in-process one."""
    import idemrace.commands.check as check_command

    names = ["supersede-aba", "reject-retry-after-completion", "keyed-start-safe", "flat-namespace"]
    forked = []
    real_pool = check_command._fork_pool

    def fork_pool(workers):
        if after is not None:
            return None  # as where fork is not there
        pool = real_pool(workers)
        forked.append(pool is not None)
        return pool

    monkeypatch.setattr(check_command, "_fork_pool", fork_pool)
    if after is not None:
        monkeypatch.setattr(check_command, "LOCAL_CLUSTER_AFTER", after)
    started = []
    real_start = check_command._Cluster.start

    def start(self):
        started.append(True)
        return real_start(self)

    monkeypatch.setattr(check_command._Cluster, "start", start)
    spread = _check_json(capsys, *names, "--workers", "2")
    assert bool(started) == (after == 0.0)
    assert forked == ([True] if after is None else [])
    assert spread == _check_json(capsys, *names)
