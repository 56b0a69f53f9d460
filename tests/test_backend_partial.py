"""The harness with a backend that has only part of the model's vocabulary (like Temporal and
DBOS: keyed starts, no hooks) and no fault it can inject: skipped schedules are counted and
named, the faults mode is "not applicable" (never a pass), and a discrepancy is still caught."""

from __future__ import annotations

from typing import Any

import pytest

from backends.memory import MemoryBackend, MemorySession
from backends.protocol import BackendError, UnsupportedOps
from backends.validate import CONFORMANT, DISCREPANCY, NOT_APPLICABLE, UNKNOWN, Settings, validate
from model import ops as O

KEYED_OPS = frozenset(
    {"keyed_start", "start_run", "complete_run", "fail_run", "get_run", "perform_effect",
     "advance_clock"}
)  # fmt: skip


class KeyedOnlySession(UnsupportedOps, MemorySession):
    def apply(self, op: Any) -> Any:
        if not self.backend.performs(op):
            return self._unsupported(op)
        return super().apply(op)


class KeyedOnlyBackend(MemoryBackend):
    """The model (so it conforms) behind the DBOS profile, performing keyed-start ops only."""

    name = "keyed-only"
    PROFILES = {"dbos": ("reuse_policy",)}
    CONCURRENT_PROFILES = (("dbos", {}),)
    OPS = KEYED_OPS
    FAULTS = ()

    def session(self) -> KeyedOnlySession:
        return KeyedOnlySession(self)


class ForgetfulSession(KeyedOnlySession):
    """Answers every duplicate start as a fresh admission (no key memory): must be caught."""

    def apply(self, op: Any) -> Any:
        result = super().apply(op)
        if type(op) is O.KeyedStart and type(result) is O.Existing:
            return O.Started(result.run_id + 100)
        return result


class ForgetfulBackend(KeyedOnlyBackend):
    name = "forgetful"

    def session(self) -> ForgetfulSession:
        return ForgetfulSession(self)


SMALL = Settings(clients=3, ops=60, keys=2, bfs_states=30, walks=3, budget=10.0)


def test_partial_backend_conforms_with_faults_not_applicable() -> None:
    report = validate(KeyedOnlyBackend(), SMALL)
    diff = report.modes["differential"]
    assert diff["verdict"] == CONFORMANT
    assert diff["scenarios"] >= 1 and diff["schedules"] > diff["skipped_schedules"]
    # the dbos scenarios' callers wait on the run (AwaitRun), which this backend does not perform
    assert diff["skipped_schedules"] > 0 and diff["unsupported_ops"] == ["AwaitRun"]
    assert report.modes["concurrent"]["verdict"] == CONFORMANT
    assert report.modes["concurrent"]["operations"] >= SMALL.ops  # plus the clock ticks
    assert report.modes["faults"] == {"verdict": NOT_APPLICABLE, "cases": [], "not_run": []}
    assert report.verdict == CONFORMANT
    # the verdict says what could not run
    assert report.not_run == ["faults: keyed-only declares none it can inject (FAULTS)"]
    assert report.verdict_line() == (
        "verdict: conformant (not run: faults: keyed-only declares none it can inject (FAULTS))"
    )


def test_concurrent_workload_draws_only_performed_ops() -> None:
    from backends.validate.workload import run_concurrent
    from model.profiles import make_profile

    history = run_concurrent(KeyedOnlyBackend(), make_profile("dbos"), clients=2, ops=40)
    methods = {type(o.op).__name__ for o in history}
    assert methods and methods <= {"KeyedStart", "StartRun", "CompleteRun", "FailRun",
                                   "GetRun", "AdvanceClock"}  # fmt: skip
    assert "KeyedStart" in methods


def test_partial_backend_discrepancy_is_still_caught() -> None:
    report = validate(ForgetfulBackend(), SMALL)
    assert report.modes["differential"]["verdict"] == DISCREPANCY
    assert report.verdict == DISCREPANCY


def test_nothing_checked_is_unknown_not_a_pass() -> None:
    settings = Settings(modes=("faults",))
    report = validate(KeyedOnlyBackend(), settings)
    assert report.modes["faults"]["verdict"] == NOT_APPLICABLE
    assert report.verdict == UNKNOWN


def test_unsupported_op_is_a_one_line_backend_error() -> None:
    backend = KeyedOnlyBackend()
    with pytest.raises(BackendError, match="ClaimHook is not supported") as info:
        backend.session().apply(O.ClaimHook(1, "h1", "k0"))
    assert "\n" not in str(info.value)


def test_package_is_refused_by_backends_that_load_none() -> None:
    with pytest.raises(BackendError, match="--package"):
        KeyedOnlyBackend(package="@acme/world")
