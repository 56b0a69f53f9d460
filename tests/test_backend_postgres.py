"""The postgres reference backend on a throwaway server (Debian ``postgresql``: initdb into a
temporary directory, a free loopback port; stopped after the module). In CI (``CI`` set) a server
that cannot start fails the tests; elsewhere they are skipped without PostgreSQL binaries."""

from __future__ import annotations

import os

import pytest

from backends import BackendUnavailable, make_backend
from backends.pgserver import find_bin
from backends.validate.differential import differential
from backends.validate.faults import faults
from backends.validate.linearizability import LINEARIZABLE, check_history
from backends.validate.workload import run_concurrent
from catalog import catalog
from idemrace.cli import main
from model import ops as O
from model.profiles import make_profile

KEYED = make_profile("vercel-keyed-start", retention=1)


@pytest.fixture(scope="module")
def postgres():
    if find_bin("initdb") is None and not os.environ.get("CI"):
        pytest.skip("PostgreSQL binaries not installed (scripts/test.sh installs them)")
    backend = make_backend("postgres")
    try:
        backend.start()
    except BackendUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI: the throwaway PostgreSQL server did not start: {exc}")
        pytest.skip(f"no PostgreSQL server: {exc}")
    yield backend
    backend.close()


def test_keyed_sequence_and_snapshot_match_the_model(postgres):
    profile = make_profile("vercel-keyed-start", retention=1)
    postgres.configure(profile)
    postgres.reset()
    ops = [
        O.KeyedStart("wf", 1, "k"),
        O.KeyedStart("wf", 2, "k"),
        O.DeliverPayload(1, "h1", ("p", 1)),
        O.CompleteRun(1, ("done",)),
        O.AdvanceClock(),
        O.KeyedStart("wf", 3, "k"),
        O.ListRuns("wf"),
    ]
    session = postgres.session()
    got = [session.apply(op) for op in ops]
    world = profile.initial()
    want = []
    for op in ops:
        if type(op) is O.AdvanceClock:
            world = profile.tick(world)
            want.append(O.Ok(world.clock))
        else:
            world, result = profile.apply(world, op)
            want.append(result)
    assert got == want
    assert got[-2:] == [O.Started(2), O.RunList((1, 2))]
    assert session.snapshot() == world
    session.close()


def test_differential_replay_on_postgres(postgres):
    names = ["keyed-start-after-retention", "stranded-waiter", "supersede-aba"]
    result = differential(postgres, scenarios=[catalog()[n] for n in names], bfs_states=30, walks=3)
    assert result.divergence is None
    assert (result.schedules, result.backend_ops) == (76, 305)  # every transition replayed


def test_concurrent_history_on_postgres_is_linearizable(postgres):
    history = run_concurrent(postgres, KEYED, clients=6, ops=300, keys=2, seed=5)
    assert sum(1 for o in history if type(o.result) is O.Started) >= 2
    assert check_history(KEYED, history).verdict == LINEARIZABLE


@pytest.mark.parametrize("kind", ["kill", "drop", "restart"])
def test_postgres_survives_faults(postgres, kind):
    (case,) = faults(postgres, KEYED, kinds=(kind,), clients=3, ops=45, keys=2)
    assert case.unanswered == 1
    assert case.lost == []
    assert case.verdict == LINEARIZABLE, case.history.failing


def test_cli_validates_postgres_at_a_url(postgres, capsys):
    code = main(
        ["validate", "postgres", "--url", postgres.url, "--mode", "concurrent", "--ops", "80"]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "concurrent    conformant" in out
