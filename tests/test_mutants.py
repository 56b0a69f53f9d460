"""Every mutant backend (``tests/mutants/zoo.py``: the sqlite reference with one behaviour
wrong) is caught by the validation that is built to catch it, at default settings and a fixed
seed. ``benchmarks/validate_power.py`` measures the same over many seeds and whole default runs;
this pins the catch per mutant, plus what the catch is made of where it is deterministic (the
near-collision keys, the drop at the second fault point, the probe before the restart)."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.validate import DISCREPANCY, Settings, validate
from backends.validate.faults import run_fault
from backends.validate.workload import concurrent_variants, key_names
from model.profiles import make_profile
from tests.mutants.zoo import MUTANTS, CaseInsensitiveKeys, SplitAdmission, WriteBehind

SHM = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
KEYED = make_profile("vercel-keyed-start", retention=1)

# the validation that catches each mutant: a race needs the concurrent bursts, a wrong answer
# to one client is the differential's, a lost or torn write needs a fault
CAUGHT_BY = {
    "ClaimRace": "concurrent",
    "TokenRace": "concurrent",
    "EndRace": "concurrent",
    "DoubleTake": "concurrent",
    "CancelKeepsHooks": "differential",
    "RetentionOffByOne": "concurrent",
    "KeyForgottenAtEnd": "differential",
    "IgnoresDuplicate": "concurrent",
    "IgnoresRetentionFrom": "concurrent",
    "ReleasesAnyway": "concurrent",
    "CaseInsensitiveKeys": "concurrent",
    "TrimmedKeys": "concurrent",
    "SplitAdmission": "faults",
    "WriteBehind": "faults",
    "StaleRunCache": "concurrent",
}


def test_the_zoo_has_a_mutant_per_promise():
    assert set(CAUGHT_BY) == set(MUTANTS)
    assert len(MUTANTS) >= 10
    kinds = {cls.PROMISE.split(":")[0] for cls in MUTANTS.values()}
    assert kinds >= {
        "uniqueness",
        "release",
        "retention",
        "key memory",
        "atomicity",
        "durability",
        "read consistency",
        "declared options",
        "key identity",
    }


@pytest.fixture
def start():
    started = []

    def make(cls):
        backend = cls(workdir=SHM)
        backend.start()
        started.append(backend)
        return backend

    yield make
    for backend in started:
        backend.close()


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_each_mutant_is_caught_by_the_default_workload(start, name):
    backend = start(MUTANTS[name])
    mode = CAUGHT_BY[name]
    # the default workload; a 10 s budget bounds the shrinking of the failure found (the check
    # itself takes a fraction of a second), which otherwise takes up to the default 30 s
    report = validate(backend, Settings(seed=7, modes=(mode,), workdir=SHM, budget=10.0))
    assert report.modes[mode]["verdict"] == DISCREPANCY, report.to_json()
    assert report.verdict == DISCREPANCY


def test_the_reference_runs_every_profile_and_option_value(start):
    backend = start(MUTANTS["ClaimRace"].__mro__[1])  # the Mutant base: the reference sessions
    shown = [repr(p) for p in concurrent_variants(backend)]
    assert len(shown) == 10
    for option in ("duplicate='conflict-error'", "retention_from='claim'", "retention=0"):
        assert any(option in s and s.startswith("vercel-keyed-start") for s in shown)
    assert any(s == "vercel-today(atomic_release=False)" for s in shown)


def test_near_collision_keys():
    assert key_names(5) == ["k1", "K1", "k1 ", "k10", "k"]
    assert len(set(key_names(40))) == 40


def test_a_loose_key_match_is_caught_in_the_burst_of_its_near_collision(start):
    from backends.validate.linearizability import NOT_LINEARIZABLE, check_history
    from backends.validate.workload import run_concurrent

    backend = start(CaseInsensitiveKeys)
    history = run_concurrent(backend, KEYED, clients=4, ops=200, keys=1, seed=1)
    verdict = check_history(KEYED, history)
    assert verdict.verdict == NOT_LINEARIZABLE
    assert verdict.failing.key in ("B1", "K1")  # the relative of a held b1 / k1


def test_a_split_admission_is_torn_by_the_drop_at_its_second_fault_point(start):
    backend = start(SplitAdmission)
    case = run_fault(backend, KEYED, "drop", clients=3, ops=45, keys=2, seed=0, workdir=SHM)
    assert case.verdict == "not-linearizable"
    assert case.history.failing.key == "victim2"  # the victim dropped at fault point 2


def test_an_acknowledged_delivery_lost_on_restart_is_reported_lost(start):
    backend = start(WriteBehind)
    case = run_fault(backend, KEYED, "restart", clients=3, ops=45, keys=2, seed=0, workdir=SHM)
    assert not case.conformant
    assert any(
        line.startswith("delivery DeliverPayload(") and "'probe'" in line for line in case.lost
    )
