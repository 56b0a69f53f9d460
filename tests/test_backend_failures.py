"""Failing output a backend author can act on, and honest verdicts (issue 16): an exception the
backend does not map is a discrepancy naming the op and the message; a final-state divergence
is a diff; a backend with only a peer profile gets a verdict; a fault that needs
``fault_point`` from a backend that calls none is not run and the verdict says so; a worker that
cannot load the backend says exactly that; rounds are counted; modes are reported as they end."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from backends.memory import MemoryBackend, MemorySession
from backends.protocol import BackendError
from backends.sqlite import SqliteBackend, SqliteSession
from backends.validate import CONFORMANT, DISCREPANCY, NOT_APPLICABLE, Settings, validate
from backends.validate.differential import differential
from backends.validate.history import Raised
from backends.validate.statediff import state_diff
from model import ops as O
from model.state import KeyEntry, Run, WorldState

SMALL = Settings(clients=3, ops=60, keys=2, bfs_states=30, walks=3, budget=10.0)
SHM = Path("/dev/shm") if Path("/dev/shm").is_dir() else None


class IntegritySession(MemorySession):
    """A store whose driver raises on a duplicate key insert instead of answering Existing."""

    def apply(self, op: Any) -> Any:
        result = super().apply(op)
        if type(op) is O.KeyedStart and type(result) is O.Existing:
            raise sqlite3.IntegrityError("UNIQUE constraint failed: keys.key")
        return result


class IntegrityBackend(MemoryBackend):
    name = "integrity"
    FAULTS = ()

    def session(self) -> IntegritySession:
        return IntegritySession(self)


def test_an_unmapped_exception_is_a_discrepancy_naming_the_op_and_the_message() -> None:
    report = validate(IntegrityBackend(), SMALL)
    div = report.modes["differential"]["divergence"]
    assert report.modes["differential"]["verdict"] == DISCREPANCY
    assert div["op"].startswith("KeyedStart(")
    assert div["backend"] == (
        "Raised(name='IntegrityError', message='UNIQUE constraint failed: keys.key')"
    )
    assert div["model"].startswith("Existing(")
    concurrent = report.modes["concurrent"]
    assert concurrent["verdict"] == DISCREPANCY
    rows = concurrent["failing_partition"]["operations"]
    culprit = [r for r in rows if r["breaks"]]
    assert len(culprit) == 1
    assert culprit[0]["operation"].startswith("KeyedStart(")
    assert culprit[0]["operation"].endswith(
        "-> Raised(name='IntegrityError', message='UNIQUE constraint failed: keys.key')"
    )
    assert culprit[0]["model"].startswith("Existing(")
    assert report.verdict == DISCREPANCY


def test_a_raised_answer_is_never_a_model_result() -> None:
    assert Raised("IntegrityError", "x") != O.Error("IntegrityError", "x")


class TemporalOnly(MemoryBackend):
    """The model behind Temporal's profile only: none of the default CONCURRENT_PROFILES."""

    name = "temporal-only"
    PROFILES = {"temporal": ("conflict_policy", "reuse_policy", "retention")}


def test_a_backend_with_only_a_peer_profile_gets_a_verdict() -> None:
    settings = Settings(clients=3, ops=60, keys=2, modes=("concurrent", "faults"))
    report = validate(TemporalOnly(), settings)
    assert report.modes["concurrent"]["verdict"] == CONFORMANT
    assert report.modes["concurrent"]["profile"].startswith("temporal(")
    assert report.modes["faults"]["verdict"] == CONFORMANT
    assert report.verdict == CONFORMANT


class Hookless(SqliteBackend):
    """A store that never calls ``fault_point`` (and says so)."""

    FAULT_POINTS = False


def test_faults_that_need_fault_point_are_not_run_and_the_verdict_says_so() -> None:
    backend = Hookless(workdir=SHM)
    backend.start()
    try:
        report = validate(backend, Settings(clients=3, ops=40, keys=2, modes=("faults",)))
    finally:
        backend.close()
    faults = report.modes["faults"]
    assert [c["fault"] for c in faults["cases"]] == ["restart"]
    assert faults["cases"][0]["note"].startswith("restarted between operations")
    assert faults["not_run"] == ["kill", "drop"]
    assert report.not_run == [
        "faults kill and drop: sqlite calls no Backend.fault_point inside its write transactions "
        "(set FAULT_POINTS = True once it does)"
    ]
    assert report.verdict == CONFORMANT
    assert report.verdict_line().startswith("verdict: conformant (not run: faults kill and drop:")


class SilentSession(SqliteSession):
    def _fault(self, name: str) -> None:
        pass  # declares fault points, never calls them


class Silent(SqliteBackend):
    def session(self) -> SilentSession:
        return SilentSession(self)


def test_a_declared_fault_point_never_called_is_one_clear_line() -> None:
    backend = Silent(workdir=SHM)
    backend.start()
    try:
        with pytest.raises(BackendError) as info:
            validate(backend, Settings(clients=2, ops=20, keys=2, modes=("faults",)))
    finally:
        backend.close()
    message = str(info.value)
    assert message.startswith("kill: sqlite: ")
    assert "does not call fault_point inside its write transactions" in message
    assert "\n" not in message


class Unloadable(SqliteBackend):
    """Its clients in other processes name a class nobody can import."""

    def client_spec(self) -> dict[str, Any]:
        return {**super().client_spec(), "class": "no_such_module_16b:Gone"}


def test_a_class_the_worker_cannot_import_is_reported_as_that() -> None:
    backend = Unloadable(workdir=SHM)
    backend.start()
    try:
        with pytest.raises(BackendError) as info:
            validate(backend, Settings(clients=2, ops=20, keys=2, modes=("faults",)))
    finally:
        backend.close()
    message = str(info.value)
    assert message.startswith(
        "kill: the client process cannot load the backend: backend 'no_such_module_16b:Gone': "
        "cannot import 'no_such_module_16b'"
    )
    assert "did not die" not in message


def test_the_kill_lands_even_when_the_workload_writes_nothing(tmp_path) -> None:
    # under load the worker can start after the threads ended every run: all its workload
    # answers are read-only; its own admissions still reach the kill (the old 1-in-20 exit 2)
    from backends.validate import worker
    from backends.validate.faults import read_records
    from model.profiles import make_profile

    backend = SqliteBackend(workdir=tmp_path)
    backend.start()
    profile = make_profile("vercel-keyed-start", retention=1)
    backend.configure(profile)
    backend.reset()
    out = tmp_path / "records.pickle"
    spec = {
        "backend": backend.client_spec(),
        "profile": profile.name,
        "options": profile.options,
        "keys": ["k0"],
        "client": 5,
        "ops": 0,
        "seed": 0,
        "kill_at": 3,
        "out": str(out),
    }
    child = worker.spawn(spec)
    _, err = child.communicate(timeout=120)
    backend.close()
    assert child.returncode == -9, err
    records = read_records(out)
    assert [o.key for o in records] == ["victim-c5-1", "victim-c5-2", "victim-c5-3"]
    assert [o.pending for o in records] == [False, False, True]


class ForgetsDeliveries(MemoryBackend):
    """Answers right, but its snapshot has lost the delivery log."""

    name = "forgets-deliveries"

    def session(self) -> MemorySession:
        backend = self

        class _Session(MemorySession):
            def snapshot(self) -> WorldState:
                return backend.world._replace(delivered=())

        return _Session(self)


def test_a_final_state_divergence_is_a_diff_of_only_what_differs() -> None:
    from catalog import catalog

    # a scenario whose schedules deliver payloads (and on which the model backend conforms)
    scenario = catalog()["signal-forward-race"]
    assert differential(MemoryBackend(), scenarios=[scenario], bfs_states=30).conformant
    result = differential(ForgetsDeliveries(), scenarios=[scenario], bfs_states=30, walks=2)
    div = result.divergence
    assert div is not None and div.op == "final state"
    assert div.diff and all(
        line.startswith("delivered: model has ") and line.endswith(", backend lacks it")
        for line in div.diff
    )


def test_state_diff_names_fields_and_entries() -> None:
    model = WorldState(
        clock=2,
        runs=(Run(1, "wf", "completed", 1, "k", ("out", 1), 2),),
        keys=(KeyEntry("k", 1, 0, 3),),
        delivered=(("p", 1),),
    )
    backend = WorldState(clock=2, runs=(Run(1, "wf", "pending", 1, "k"),), delivered=(("p", 1),))
    assert state_diff(model, model) == []
    assert state_diff(model, backend) == [
        "run 1 status: model 'completed', backend 'pending'",
        "run 1 output: model ('out', 1), backend None",
        "run 1 ended_at: model 2, backend None",
        "key 'k': model KeyEntry('k', 1, 0, 3, None), backend absent",
    ]


def test_rounds_are_counted_and_until_found_stops_at_the_first_discrepancy() -> None:
    from dataclasses import replace

    from backends import make_backend

    conc = replace(SMALL, modes=("concurrent",), ops=40)
    report = validate(MemoryBackend(), replace(conc, rounds=3))
    assert report.rounds == {
        "run": 3, "of": 3, "until_found": False, "found_in": [], "shown": 3, "seed": 2
    }  # fmt: skip
    broken = make_backend("broken", workdir=SHM)
    broken.start()
    try:
        settings = replace(conc, clients=4, ops=120, keys=1, rounds=5, until_found=True)
        report = validate(broken, settings)
    finally:
        broken.close()
    assert report.verdict == DISCREPANCY
    found = report.rounds["found_in"]
    assert found == [report.rounds["run"]] and report.rounds["shown"] == found[0]
    assert report.rounds["seed"] == found[0] - 1


def test_each_mode_is_reported_as_it_finishes() -> None:
    seen: list[tuple[str, str]] = []
    rounds: list[tuple[int, int]] = []
    validate(
        MemoryBackend(),
        SMALL,
        on_mode=lambda name, entry: seen.append((name, entry["verdict"])),
        on_round=lambda r, seed: rounds.append((r, seed)),
    )
    assert seen == [
        ("differential", CONFORMANT),
        ("concurrent", CONFORMANT),
        ("faults", CONFORMANT),
    ]
    assert rounds == [(1, 0)]


def test_not_applicable_modes_are_listed_as_not_run() -> None:
    report = validate(IntegrityBackend(), Settings(modes=("faults",)))
    assert report.modes["faults"]["verdict"] == NOT_APPLICABLE
    assert report.not_run == ["faults: integrity declares none it can inject (FAULTS)"]


class Amnesiac(MemoryBackend):
    """Its restart forgets every run it had acknowledged (the clock survives)."""

    name = "amnesiac"

    def restart(self) -> None:
        with self.lock:
            self.world = self.profile.initial()._replace(clock=self.world.clock)


def test_a_fault_failure_shows_its_core_with_the_store_diff_and_its_timeline(tmp_path) -> None:
    png = tmp_path / "fault.png"
    settings = Settings(clients=3, ops=60, keys=2, modes=("faults",), timeline=png)
    report = validate(Amnesiac(), settings)
    case = report.modes["faults"]["cases"][0]
    assert case["fault"] == "restart" and case["verdict"] == "not-linearizable"
    assert case["lost"]  # acknowledged admissions missing, said directly too
    failing = case["failing_partition"]
    marked = [row for row in failing["operations"] if row["breaks"]]
    assert len(marked) == 1 and marked[0]["operation"].startswith("observe ")
    assert failing["observed_diff"] and all(
        line.endswith("backend absent") for line in failing["observed_diff"] if "run " in line
    )
    assert case["timeline"] == str(png) and png.read_bytes()[:4] == b"\x89PNG"
