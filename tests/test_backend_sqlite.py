"""The sqlite reference backend passes all three validations; the harness can fail: a broken
variant is caught by the concurrent check, an off-by-one retention by differential replay, a
store that forgets on restart by the fault check."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends import make_backend
from backends.memory import MemoryBackend, MemorySession
from backends.protocol import StoreUnreadable
from backends.sqlite import SqliteBackend, SqliteSession
from backends.validate.differential import bfs_schedules, differential
from backends.validate.faults import STORE_UNREADABLE, faults
from backends.validate.linearizability import LINEARIZABLE, NOT_LINEARIZABLE, check_history
from backends.validate.workload import run_concurrent
from catalog import catalog
from model import ops as O
from model.profiles import PROFILES, make_profile
from simulator.system import System

SHM = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
KEYED = make_profile("vercel-keyed-start", retention=1)
SUBSET = [
    "keyed-start-after-retention",
    "stranded-waiter",
    "just-completed-window",
    "supersede-aba",
]


@pytest.fixture
def sqlite():
    backend = make_backend("sqlite", workdir=SHM)
    backend.start()
    yield backend
    backend.close()


@pytest.fixture
def broken():
    backend = make_backend("broken", workdir=SHM)
    backend.start()
    yield backend
    backend.close()


def test_bfs_schedules_cover_the_spanning_tree():
    system = System(catalog()["keyed-start-after-retention"])
    schedules = bfs_schedules(system, 40, 40)
    assert len(schedules) == 23
    assert schedules[0][:1] == ["arrive req1"]
    # every schedule replays in the model
    for labels in schedules:
        system.replay(labels)


def test_differential_replay_sqlite_conforms_on_pinned_subset(sqlite):
    scenarios = [catalog()[n] for n in SUBSET]
    result = differential(sqlite, scenarios=scenarios, bfs_states=40, walks=5)
    assert result.divergence is None
    # leaf paths and walks (102 schedules), plus the chains that take every other transition
    assert (result.schedules, result.steps, result.backend_ops) == (135, 886, 630)
    assert result.transitions_covered == result.transitions_explored == 208


def test_differential_replay_sqlite_conforms_on_every_supported_catalog_scenario(sqlite):
    result = differential(sqlite, bfs_states=30, walks=3)
    assert result.divergence is None
    assert set(result.scenarios) >= set(SUBSET) | {"keyed-start-safe", "entity-pattern"}
    # the peers' scenarios are not the sqlite store's (it implements the Vercel profiles)
    assert all(
        "peer-start" not in PROFILES[catalog()[n].profile_name].FAMILIES for n in result.scenarios
    )


class OffByOneSession(SqliteSession):
    """Retention judged with <= instead of <: the key is held one tick too long."""

    def _reserved(self, owner, claimed_at, clock):
        if owner is None or owner[2] not in ("completed", "failed", "cancelled"):
            return True
        return clock <= owner[5] + self.opts["retention"]


class OffByOne(SqliteBackend):
    def session(self):
        return OffByOneSession(self)


def test_differential_replay_reports_the_first_divergence_with_its_prefix():
    backend = OffByOne(workdir=SHM)
    backend.start()
    try:
        result = differential(
            backend, scenarios=[catalog()["keyed-start-after-retention"]], bfs_states=5000, walks=0
        )
    finally:
        backend.close()
    d = result.divergence
    assert d is not None
    assert d.scenario == "keyed-start-after-retention"
    assert d.op.startswith("KeyedStart(")
    assert d.model.startswith("Started(") and d.backend.startswith("Existing(")
    assert d.schedule == "bfs #41"
    assert d.prefix == ["arrive req1", "req1", "r1", "r1", "r1", "arrive req2", "tick", "req2"]
    assert d.step == len(d.prefix)
    assert d.backend == "Existing(1, 'completed', ('result', 'order', 'order:1', 1))"


def test_concurrent_history_on_sqlite_is_linearizable(sqlite):
    history = run_concurrent(sqlite, KEYED, clients=4, ops=240, keys=2, seed=3)
    bursts = [o for o in history if (o.key or "").lower().startswith("b")]
    assert bursts  # every epoch opens with a burst on a fresh key, on top of the operations
    assert len(history) - len(bursts) == 240 + 12  # operations + one tick per epoch (240 // 20)
    assert sum(1 for o in history if type(o.result) is O.Started) >= 2
    verdict = check_history(KEYED, history)
    assert verdict.verdict == LINEARIZABLE
    assert {"k1", "K1", "b1", "B1"} <= {p.key for p in verdict.partitions}  # near-collisions


def test_broken_check_then_insert_is_caught_by_the_concurrent_check(broken):
    # one client at a time it looks right ...
    ok = differential(broken, scenarios=[catalog()["keyed-start-safe"]], bfs_states=40, walks=3)
    assert ok.divergence is None
    # ... clients at once admit twice under one key
    history = run_concurrent(broken, KEYED, clients=4, ops=120, keys=1, seed=0)
    verdict = check_history(KEYED, history)
    assert verdict.verdict == NOT_LINEARIZABLE
    failing = verdict.failing
    assert failing is not None and failing.key in ("k1", "b1", "B1", "b1 ", "b10", "b")
    started = [o for o in failing.ops if type(o.result) is O.Started]
    assert len(started) >= 2  # the double admission is in the reported partition
    assert failing.operations < len(history)


@pytest.mark.parametrize("kind", ["kill", "drop", "restart"])
def test_sqlite_survives_faults(sqlite, kind):
    (case,) = faults(sqlite, KEYED, kinds=(kind,), clients=3, ops=45, keys=2, workdir=SHM)
    assert case.kind == kind
    assert case.unanswered == 1  # the victim never learned its outcome
    assert case.lost == []
    assert case.verdict == LINEARIZABLE, case.history.failing


class Forgetful(MemoryBackend):
    """A store whose restart loses everything: acknowledged admissions vanish."""

    def restart(self):
        self.world = self.profile.initial()


def test_fault_check_catches_a_store_that_forgets_on_restart():
    backend = Forgetful()
    (case,) = faults(backend, KEYED, kinds=("restart",), clients=3, ops=45, keys=2)
    assert case.verdict == NOT_LINEARIZABLE
    assert case.lost and all(line.startswith(("admission", "delivery")) for line in case.lost)


class _UnreadableSession(MemorySession):
    def snapshot(self):
        raise StoreUnreadable("the store's own read throws ParseError: bad row")


class Unreadable(MemoryBackend):
    """A store whose own read-back throws on what it holds (as world-postgres's runs.list does on
    the row the run_started race leaves): every answer is right, the state cannot be read."""

    def session(self):
        return _UnreadableSession(self)


def test_a_store_that_cannot_read_itself_back_is_a_discrepancy_in_faults_and_differential():
    backend = Unreadable()
    (case,) = faults(backend, KEYED, kinds=("restart",), clients=2, ops=20, keys=1)
    assert case.verdict == STORE_UNREADABLE and not case.conformant
    assert case.problem == (
        "after the fault the store cannot be read back: "
        "the store's own read throws ParseError: bad row"
    )
    result = differential(
        backend, scenarios=[catalog()["keyed-start-safe"]], bfs_states=20, walks=0
    )
    d = result.divergence
    assert d is not None and d.op == "final state"
    assert d.backend == "unreadable: the store's own read throws ParseError: bad row"
