"""The ``dbos`` backend: the real DBOS library (``dbos`` 3.x) against the ``dbos`` profile.

Every test runs twice, on a SQLite system database (a temporary file) and on PostgreSQL (a
throwaway server from ``backends.pgserver``). DBOS is one instance per process, so one module
fixture holds the backend of the storage under test; processes of their own (``python -m
backends.dbos.client``, the CLI) are the other DBOS instances. In CI (``CI`` set) a missing ``dbos``
package or a PostgreSQL server that cannot start fails the tests; elsewhere they are skipped,
saying why.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from backends import BackendUnavailable, make_backend
from backends.pgserver import ThrowawayServer, find_bin
from backends.validate.differential import differential
from backends.validate.history import Operation
from backends.validate.linearizability import LINEARIZABLE, NOT_LINEARIZABLE, check_history
from backends.validate.workload import run_concurrent
from catalog import catalog
from model import ops as O
from model.profiles import make_profile
from model.profiles.dbos import CONFLICTING, IN_USE
from model.state import CANCELLED, COMPLETED, FAILED, PENDING, RUNNING

ROOT = Path(__file__).resolve().parents[1]
IN_CI = bool(os.environ.get("CI"))
DBOS_SCENARIOS = [
    "dbos-different-workflow",
    "dbos-reject-retry",
    "dbos-stored-error",
    "dbos-stored-result",
]


def _unavailable(why: str) -> None:
    if IN_CI:
        pytest.fail(f"CI: {why}")
    pytest.skip(why)


@pytest.fixture(scope="module")
def pg_server():
    if find_bin("initdb") is None:
        _unavailable("PostgreSQL binaries not installed (scripts/test.sh installs them)")
    try:
        server = ThrowawayServer.launch()
    except BackendUnavailable as exc:
        _unavailable(f"the throwaway PostgreSQL server did not start: {exc}")
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def dbos(request, tmp_path_factory):
    try:
        import dbos as _  # noqa: F401
    except ImportError:
        _unavailable("the dbos package is not installed (pip install '.[real]')")
    url = None
    if request.param == "postgres":
        url = request.getfixturevalue("pg_server").url
    backend = make_backend("dbos", url=url, workdir=tmp_path_factory.mktemp("dbos"))
    backend.storage = request.param  # for the tests' own messages
    backend.start()
    yield backend
    backend.close()


def model_answers(profile, ops: list[Any]) -> list[Any]:
    world = profile.initial()
    out = []
    for op in ops:
        if type(op) is O.AdvanceClock:
            world = profile.tick(world)
            out.append(O.Ok(world.clock))
        else:
            world, result = profile.apply(world, op)
            out.append(result)
    return out


def run_sequence(backend, profile, ops: list[Any]) -> list[Any]:
    backend.configure(profile)
    backend.reset()
    session = backend.session()
    try:
        return [session.apply(op) for op in ops]
    finally:
        session.close()


# -- the cases, one at a time -------------------------------------------------------------


def test_duplicate_start_gets_the_existing_workflow_then_its_stored_result(dbos):
    profile = make_profile("dbos")
    ops = [
        O.KeyedStart("order", 1, "order:1"),
        O.KeyedStart("order", 2, "order:1"),  # the duplicate's argument is ignored
        O.StartRun(1),
        O.KeyedStart("order", 3, "order:1"),
        O.CompleteRun(1, ("paid", 1)),
        O.KeyedStart("order", 4, "order:1"),
        O.CompleteRun(1, ("paid", 2)),  # a second end: the stored one stays
        O.GetRun(1),
        O.ListRuns("order"),
    ]
    got = run_sequence(dbos, profile, ops)
    assert got == model_answers(profile, ops)
    assert got == [
        O.Started(1),
        O.Existing(1, PENDING, None),
        O.Ok(),
        O.Existing(1, RUNNING, None),
        O.Ok(),
        O.Existing(1, COMPLETED, ("paid", 1)),
        O.ENTITY_CONFLICT,
        O.RunInfo(1, "order", COMPLETED, ("paid", 1), 1),
        O.RunList((1,)),
    ]


def test_a_stored_error_is_re_raised_to_every_duplicate(dbos):
    from dbos import DBOS

    from backends.dbos.app import ModelFailure

    profile = make_profile("dbos")
    ops = [
        O.KeyedStart("order", 1, "order:1"),
        O.FailRun(1, ("card declined", 1)),
        O.KeyedStart("order", 2, "order:1"),
        O.KeyedStart("order", 3, "order:1"),
    ]
    got = run_sequence(dbos, profile, ops)
    assert got == model_answers(profile, ops)
    assert got[2:] == [O.Existing(1, FAILED, ("card declined", 1))] * 2
    # straight from DBOS, without the backend: the handle of the stored workflow re-raises it
    with pytest.raises(ModelFailure) as raised:
        DBOS.retrieve_workflow(dbos.workflow_id("order:1")).get_result()
    assert raised.value.args == ("('card declined', 1)",)


def test_a_different_workflow_under_the_same_id_is_a_conflict(dbos):
    profile = make_profile("dbos")
    ops = [
        O.KeyedStart("charge", 1, "123"),
        O.KeyedStart("refund", 2, "123"),  # running owner
        O.CompleteRun(1, ("charged",)),
        O.KeyedStart("refund", 3, "123"),  # ended owner: still a conflict, not its result
        O.KeyedStart("charge", 4, "123"),
        O.ListRuns("refund"),
    ]
    got = run_sequence(dbos, profile, ops)
    assert got == model_answers(profile, ops)
    assert got[1] == got[3] == O.Error(CONFLICTING, 1)
    assert got[4] == O.Existing(1, COMPLETED, ("charged",))
    assert got[5] == O.RunList(())


def test_reject_policy_rejects_any_existing_row(dbos):
    profile = make_profile("dbos", reuse_policy="reject")
    ops = [
        O.KeyedStart("order", 1, "order:1"),
        O.KeyedStart("order", 2, "order:1"),  # running
        O.KeyedStart("refund", 3, "order:1"),  # reject is checked before the function name
        O.CompleteRun(1, ("paid",)),
        O.KeyedStart("order", 4, "order:1"),  # finished: still in use
        O.KeyedStart("order", 5, "order:2"),
    ]
    got = run_sequence(dbos, profile, ops)
    assert got == model_answers(profile, ops)
    assert got == [
        O.Started(1),
        O.Error(IN_USE, 1),
        O.Error(IN_USE, 1),
        O.Ok(),
        O.Error(IN_USE, 1),
        O.Started(2),
    ]


@pytest.mark.parametrize("policy", ["return-existing", "reject"])
def test_a_cancelled_workflow_keeps_its_id(dbos, policy):
    """DBOS.cancel_workflow ends the workflow but keeps its row: a later start under the same id
    gets the cancelled workflow (or InUse under reject), never a new run."""
    profile = make_profile("dbos", reuse_policy=policy)
    ops = [
        O.KeyedStart("order", 1, "order:1"),
        O.CancelRun(1),
        O.CancelRun(1),  # re-cancelling is accepted
        O.CompleteRun(1, ("late",)),
        O.KeyedStart("order", 2, "order:1"),
        O.GetRun(1),
    ]
    got = run_sequence(dbos, profile, ops)
    assert got == model_answers(profile, ops)
    again = O.Existing(1, CANCELLED, None) if policy == "return-existing" else O.Error(IN_USE, 1)
    assert got[1:5] == [O.Ok(), O.Ok(), O.ENTITY_CONFLICT, again]


def _threaded_starts(backend, profile, n: int, key: str = "k0") -> list[Operation]:
    """``n`` threads, each its own session, issue one keyed start of ``key`` at once."""

    backend.configure(profile)
    backend.reset()
    sessions = [backend.session() for _ in range(n)]
    barrier = threading.Barrier(n)
    history: list[Operation] = []
    lock = threading.Lock()

    def client(c: int) -> None:
        op = O.KeyedStart(f"wf-{key}", 100 + c, key)
        barrier.wait()
        call = time.monotonic_ns()
        result = sessions[c].apply(op)
        ret = time.monotonic_ns()
        with lock:
            history.append(Operation(c + 1, c, key, op, result, call, ret))

    threads = [threading.Thread(target=client, args=(c,)) for c in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for s in sessions:
        s.close()
    return sorted(history)


@pytest.mark.parametrize("policy", ["return-existing", "reject"])
def test_concurrent_starts_of_one_id_in_threads_make_one_run(dbos, policy):
    profile = make_profile("dbos", reuse_policy=policy)
    history = _threaded_starts(dbos, profile, 8)
    started = [o for o in history if type(o.result) is O.Started]
    assert len(started) == 1, history
    loser = O.Existing(1, PENDING, None) if policy == "return-existing" else O.Error(IN_USE, 1)
    assert sorted(o.result for o in history if o not in started) == [loser] * 7
    assert check_history(profile, history).verdict == LINEARIZABLE
    # and DBOS holds exactly one workflow under that id, with the winner's argument
    from dbos import DBOS

    (stored,) = DBOS.list_workflows(workflow_id_prefix=dbos.prefix)
    assert stored.input["args"][0] == started[0].op.request


def _client_processes(
    backend, profile, ops_per_client: list[list[Any]], kill: list[str | None]
) -> list[subprocess.Popen]:
    """One process per client, each its own DBOS instance (own executor id) on the backend's
    system database, joined to its current world; all launched before any starts."""
    procs = []
    for c, ops in enumerate(ops_per_client):
        spec = {
            "backend": {**backend.client_spec(), "executor": f"client-{c}"},
            "profile": profile.name,
            "options": profile.options,
            "ops": base64.b64encode(pickle.dumps(ops)).decode(),
            "kill": kill[c],
        }
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "backends.dbos.client", json.dumps(spec)],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for p in procs:
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
    for p in procs:  # go: every client is launched, the starts now overlap
        p.stdin.write("go\n")
        p.stdin.flush()
    return procs


def _collect(procs, ops_per_client) -> list[Operation]:
    history = []
    for c, (p, ops) in enumerate(zip(procs, ops_per_client, strict=True)):
        out, err = p.communicate(timeout=120)
        if p.returncode == -9:  # killed mid-start: its first op has no response
            history.append(Operation(0, c, ops[0].key, ops[0], None, 0, None))
            continue
        assert p.returncode == 0, err
        for op, result, call, ret in pickle.loads(base64.b64decode(out)):
            history.append(Operation(0, c, ops[0].key, op, result, call, ret))
    return history


def _renumber(history: list[Operation]) -> list[Operation]:
    ordered = sorted(history, key=lambda o: (o.call, o.client))
    return [o._replace(index=i) for i, o in enumerate(ordered, start=1)]


def test_concurrent_starts_of_one_id_from_separate_processes_make_one_run(dbos):
    """The truly concurrent case: three processes, three DBOS instances, one system database."""
    profile = make_profile("dbos")
    dbos.configure(profile)
    dbos.reset()
    # each client resends its start twice more (a caller retrying), so the processes' calls
    # interleave for longer
    ops = [[O.KeyedStart("wf-k0", 100 + c, "k0")] * 3 for c in range(3)]
    history = _collect(_client_processes(dbos, profile, ops, [None] * 3), ops)
    # calls of different processes really overlap in time (one in flight when another begins)
    assert any(
        a.client != b.client and a.call < b.ret and b.call < a.ret for a in history for b in history
    )
    results = sorted(o.result for o in history)
    assert results == [O.Started(1)] + [O.Existing(1, PENDING, None)] * 8
    # the parent process sees the same one workflow
    session = dbos.session()
    after = session.apply(O.KeyedStart("wf-k0", 999, "k0"))
    assert after == O.Existing(1, PENDING, None)
    winner = next(o for o in history if type(o.result) is O.Started)
    assert session.apply(O.GetRun(1)).request == winner.op.request

    now = time.monotonic_ns()
    history.append(Operation(0, 9, "k0", O.KeyedStart("wf-k0", 999, "k0"), after, now, now + 1))
    assert check_history(profile, _renumber(history)).verdict == LINEARIZABLE


@pytest.mark.parametrize("point", ["before-commit", "after-commit"])
def test_a_client_killed_mid_start(dbos, point, monkeypatch):
    """SIGKILL inside DBOS's admission: before its commit nothing was stored (the next start
    is admitted); after it the workflow exists, PENDING, owned by the dead executor, and the next
    start gets it. Either way the history with the unanswered start is linearizable."""

    profile = make_profile("dbos")
    dbos.configure(profile)
    dbos.reset()
    ops = [[O.KeyedStart("wf-k0", 100, "k0")]]
    history = _collect(_client_processes(dbos, profile, ops, [point]), ops)
    assert [o.pending for o in history] == [True]
    session = dbos.session()
    call = time.monotonic_ns()
    after = session.apply(O.KeyedStart("wf-k0", 200, "k0"))
    info = session.apply(O.GetRun(1))
    ret = time.monotonic_ns()
    if point == "before-commit":
        assert after == O.Started(1) and info.request == 200
    else:
        assert after == O.Existing(1, PENDING, None) and info.request == 100
    history[0] = history[0]._replace(call=call - 1)
    history += [
        Operation(0, 9, "k0", O.KeyedStart("wf-k0", 200, "k0"), after, call, ret),
        Operation(0, 9, "k0", O.GetRun(1), info, ret + 1, ret + 2),
    ]
    assert check_history(profile, _renumber(history)).verdict == LINEARIZABLE
    if point == "after-commit":
        # nobody runs the dead executor's workflow until that executor restarts (next test):
        # a start sent to it is never taken, and the backend says so rather than passing
        import backends.dbos.session as app

        monkeypatch.setattr(app, "WAIT_SECONDS", 1.0)
        stuck = session.apply(O.StartRun(1))
        assert stuck == O.Error(app.NO_BODY, "start: no answer within 1.0s")
        assert stuck != model_answers(profile, [O.KeyedStart("wf-k0", 100, "k0"), O.StartRun(1)])[1]


def test_the_killed_clients_executor_restarted_recovers_its_workflow(dbos):
    """Kill a client right after DBOS committed its admission (the workflow is PENDING, its body
    never ran), then restart that client: a new process with the same executor id. DBOS's
    launch recovers the executor's pending workflows (``DBOS._launch`` ->
    ``get_pending_workflows``), so the body runs again and the run behaves as the model's pending
    run: one start is acknowledged, later duplicates see it running, the request is the dead
    client's."""

    from backends.dbos.app import workflow_function

    profile = make_profile("dbos")
    dbos.configure(profile)
    dbos.reset()
    # this process's queue worker may be the one that dequeues the recovered workflow: it must
    # know the function too
    workflow_function("wf-k0")
    first = [[O.KeyedStart("wf-k0", 100, "k0")]]
    history = _collect(_client_processes(dbos, profile, first, ["after-commit"]), first)
    assert [o.pending for o in history] == [True]
    # the same executor id as the dead client ("client-0"): DBOS's restart of that process
    again = [[O.KeyedStart("wf-k0", 300, "k0"), O.StartRun(1), O.StartRun(1)]]
    history += _collect(_client_processes(dbos, profile, again, [None]), again)
    assert [o.result for o in history[1:]] == [
        O.Existing(1, PENDING, None),
        O.Ok(),  # the recovered body took the start
        O.ENTITY_CONFLICT,
    ]
    session = dbos.session()
    call = time.monotonic_ns()
    info = session.apply(O.KeyedStart("wf-k0", 400, "k0"))
    ret = time.monotonic_ns()
    assert info == O.Existing(1, RUNNING, None)
    assert session.apply(O.GetRun(1)).request == 100
    history[0] = history[0]._replace(call=history[1].call - 1)
    history.append(Operation(0, 9, "k0", O.KeyedStart("wf-k0", 400, "k0"), info, call, ret))
    assert check_history(profile, _renumber(history)).verdict == LINEARIZABLE


# -- the validations ------------------------------------------------------------------------------


class _Recording:
    """Counts the kinds of answers sessions give (to show what a run exercised)."""

    def __init__(self, monkeypatch) -> None:
        from backends.dbos.session import DbosSession

        self.kinds: dict[str, int] = {}
        original = DbosSession.apply

        def apply(session, op):
            result = original(session, op)
            kind = type(result).__name__
            if type(result) is O.Existing:
                kind += f":{result.status}"
            elif type(result) is O.Error:
                kind += f":{result[0]}"
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
            return result

        monkeypatch.setattr(DbosSession, "apply", apply)


def test_differential_on_the_dbos_catalog_scenarios(dbos, monkeypatch):
    seen = _Recording(monkeypatch)
    scenarios = [catalog()[n] for n in DBOS_SCENARIOS]
    result = differential(dbos, scenarios=scenarios, bfs_states=30, walks=3)
    assert result.divergence is None, result.divergence
    assert result.scenarios == DBOS_SCENARIOS
    assert result.skipped_schedules == 0
    assert not result.final_state_compared  # no snapshot: answers only, and the report says so
    # the schedules are the model's, so the same on both storages
    assert (result.schedules, result.backend_ops) == (SCHEDULES, BACKEND_OPS)
    for kind in (
        "Started",
        "Existing:pending",
        "Existing:completed",
        "Existing:failed",
        f"Error:{CONFLICTING}",
        f"Error:{IN_USE}",
    ):
        assert seen.kinds.get(kind, 0) > 0, (kind, seen.kinds)


SCHEDULES, BACKEND_OPS = 66, 249  # every transition of the explored graphs replayed


@pytest.mark.parametrize("policy", ["return-existing", "reject"])
def test_concurrent_workload_is_linearizable(dbos, policy):
    profile = make_profile("dbos", reuse_policy=policy)
    history = run_concurrent(dbos, profile, clients=4, ops=60, keys=2, seed=3)
    assert sum(1 for o in history if type(o.result) is O.Started) >= 2
    assert all(not o.pending for o in history)
    assert check_history(profile, history).verdict == LINEARIZABLE


# -- the harness can fail against this backend ------------------------------------------------------


def test_a_backend_ignoring_the_reject_policy_is_caught(dbos, monkeypatch):
    """The backend configured under reuse_policy=reject, but starting with DBOS's default
    (return-existing): the differential must point at the resent start."""
    from backends.dbos.backend import DbosBackend

    monkeypatch.setattr(
        DbosBackend,
        "options",
        property(lambda self: {**self.profile.options, "reuse_policy": "return-existing"}),
    )
    result = differential(dbos, scenarios=[catalog()["dbos-reject-retry"]], bfs_states=30, walks=0)
    d = result.divergence
    assert d is not None
    # the caller's own start resent after a lost response: reject says in use, DBOS's default
    # hands back the caller's workflow
    assert (d.schedule, d.prefix, d.step) == ("bfs #3", ["arrive req1", "req1 lost", "req1"], 3)
    assert d.op == O.describe(O.KeyedStart("order", 1, "order:1", (), "req1"))
    assert d.model == O.describe(O.Error(IN_USE, 1))
    assert d.backend == O.describe(O.Existing(1, PENDING, None))


def test_a_session_claiming_every_start_is_caught(dbos, monkeypatch):
    """A session that reports every keyed start as its own admission (a lie about DBOS's answer):
    the threaded history of one id is not linearizable, the differential diverges."""
    from backends.dbos.session import DbosSession

    honest = DbosSession.keyed_start

    def lying(session, op):
        result = honest(session, op)
        return O.Started(result.run_id) if type(result) is O.Existing else result

    monkeypatch.setattr(DbosSession, "keyed_start", lying)
    profile = make_profile("dbos")
    history = _threaded_starts(dbos, profile, 4)
    assert [type(o.result) for o in history] == [O.Started] * 4
    assert check_history(profile, history).verdict == NOT_LINEARIZABLE
    result = differential(dbos, scenarios=[catalog()["dbos-stored-result"]], bfs_states=30, walks=0)
    assert result.divergence is not None
    assert (
        result.divergence.model.startswith("Existing(1")
        and result.divergence.backend == "Started(1)"
    )


def test_a_stored_error_that_is_not_re_raised_is_caught(dbos, monkeypatch):
    """If DBOS handed a duplicate the failed workflow's handle whose ``get_result`` returned
    instead of raising, the stored-error scenario must diverge at that duplicate."""
    from dbos._core import WorkflowHandlePolling

    from backends.dbos.session import NOT_RERAISED

    def returns(handle, *args, **kwargs):
        return "'no error here'"

    monkeypatch.setattr(WorkflowHandlePolling, "get_result", returns)
    result = differential(dbos, scenarios=[catalog()["dbos-stored-error"]], bfs_states=60, walks=0)
    d = result.divergence
    assert d is not None and d.op.startswith("KeyedStart")
    assert d.model.startswith("Existing(1, 'failed', ")
    assert d.backend.startswith(f"Existing(1, 'failed', ({NOT_RERAISED!r}")


# -- the CLI ----------------------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "idemrace.cli", "validate", "dbos", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


SMALL = ["--bfs-states", "10", "--walks", "1", "--clients", "3", "--ops", "30", "--keys", "2"]


def test_cli_conformant_exits_0(dbos, request):
    if dbos.storage == "sqlite":
        proc = _cli(*SMALL)
    else:
        # a database of its own on the throwaway server (DBOS creates it): nothing shared with
        # the fixture's DBOS instance
        server = request.getfixturevalue("pg_server")
        proc = _cli("--url", server.url.rsplit("/", 1)[0] + "/idemrace_cli", *SMALL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # every dbos scenario of the catalog is replayed (the count follows the catalog)
    dbos_scenarios = sum(1 for s in catalog().values() if s.profile_name == "dbos")
    assert f"differential  conformant   {dbos_scenarios} scenarios" in proc.stdout
    assert "concurrent    conformant   3 clients" in proc.stdout
    # no fault is injected through the harness (no snapshot to observe with): said, not passed
    assert "faults        not applicable none supported" in proc.stdout
    assert "verdict: conformant" in proc.stdout


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://nobody@127.0.0.1:1/nothing",  # nothing listens on port 1
        "postgresql://nobody@127.0.0.1:1",  # no database name
        "mysql://somewhere/db",
    ],
)
def test_cli_unreachable_or_bad_url_exits_2_with_one_line(url):
    proc = _cli("--url", url, "--mode", "concurrent")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("idemrace: error: dbos: "), proc.stderr
    assert "Traceback" not in proc.stderr
