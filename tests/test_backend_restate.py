"""The ``restate`` backend and profile against the real Restate server (npm
``@restatedev/restate-server`` 1.7.12) with real handlers (PyPI ``restate-sdk`` 1.2.0).

One server per module at the server's defaults, started and stopped by the backend (the binary
comes with the pinned npm package that ``scripts/test.sh`` installs, so nothing here is skipped: a
missing binary fails with a message); two more with short retentions for the retention checks.
What each test checks is a claim of the ``restate`` profile's docstring:

* admission, in-flight attach, stored response and stored failure, scoping by service: op by op,
  model and server answers equal, for ``api = idempotency-key`` and ``workflow-send``;
* atomic admission under concurrent submissions of one key (one ``Accepted``), the workload's
  histories linearizable, a forged answer caught;
* a workflow's ``run`` called request-response a second time: HTTP 409 while it runs and after;
* retention: a duplicate within it gets the stored response; once the cleaner has purged the
  invocation a submission is a new invocation (same invocation id); and the finding that the key
  outlives its retention until the next cleaner pass (``worker.cleanup-interval``, 1 h);
* journal replay: the endpoint SIGKILLed after a ``ctx.run`` effect; the server re-invokes the
  handler on the restarted endpoint and the journaled step is not run again;
* the differential on the restate catalog; ``idemrace validate restate`` with a missing binary
  and with a server that will not start: exit 2, one line.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from backends.restate import service as svc
from backends.restate.backend import DAY_TICKS, HttpError, RestateBackend
from backends.restate.server import restate_binary
from backends.validate.differential import differential
from backends.validate.history import Operation
from backends.validate.linearizability import LINEARIZABLE, check_history
from backends.validate.workload import Recorder, perform, run_concurrent
from idemrace.cli import main
from model import ops as O
from model.profiles import make_profile
from model.profiles.restate import ALREADY_INVOKED
from model.state import COMPLETED, FAILED

DRIVEN = ("idempotency-key", "workflow-send")
# long enough for every check below to run well inside it, short enough to wait out
SHORT_RETENTION = 2.0


def _started(backend: RestateBackend) -> RestateBackend:
    try:
        restate_binary()
    except Exception as exc:  # a broken install must not pass silently
        pytest.fail(f"the restate-server binary from the npm package is missing: {exc}")
    backend.start()
    return backend


@pytest.fixture(scope="module")
def backend():
    b = _started(RestateBackend())
    try:
        yield b
    finally:
        b.close()


def profile(api: str, retention: int = DAY_TICKS):
    return make_profile("restate", api=api, retention=retention)


class Both:
    """Apply each op to the model and to the server; every answer must be equal."""

    def __init__(self, backend: RestateBackend, prof) -> None:
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


@pytest.mark.parametrize("api", DRIVEN)
def test_model_and_server_agree_op_by_op(backend, api):
    both = Both(backend, profile(api))
    result = ("result", "order", "k", 1)
    assert both(O.KeyedStart("order", 1, "k")) == O.Started(1)
    # in flight: the same invocation, whatever the duplicate's body
    assert both(O.KeyedStart("order", 2, "k")) == O.Existing(1, "pending", None)
    assert both(O.StartRun(1)) == O.Ok()
    assert both(O.StartRun(1)) == O.ENTITY_CONFLICT
    assert both(O.KeyedStart("order", 3, "k")) == O.Existing(1, "running", None)
    assert both(O.GetRun(1)).status == "running"
    assert both(O.CompleteRun(1, result)) == O.Ok()
    assert both(O.CompleteRun(1, ("other",))) == O.ENTITY_CONFLICT
    # within retention: the stored response, the handler does not run again
    assert both(O.KeyedStart("order", 4, "k")) == O.Existing(1, COMPLETED, result)
    # the same key under another service is another key
    assert both(O.KeyedStart("refund", 5, "k")) == O.Started(2)
    stored_error = ("ApplicationError", "refund", "k", 5)
    assert both(O.StartRun(2)) == O.Ok()
    assert both(O.FailRun(2, stored_error)) == O.Ok()
    # a terminal failure is the stored response too
    assert both(O.KeyedStart("refund", 6, "k")) == O.Existing(2, FAILED, stored_error)
    assert both(O.AwaitRun(2)) == O.RunInfo(2, "refund", FAILED, stored_error, 5)
    # a pending run can be ended without starting (the model allows it, so does the body)
    assert both(O.KeyedStart("order", 7, "k2")) == O.Started(3)
    assert both(O.CompleteRun(3, "early")) == O.Ok()
    assert both(O.StartRun(3)) == O.ENTITY_CONFLICT


def _burst(backend: RestateBackend, prof, clients: int, rounds: int) -> list[Operation]:
    """``clients`` threads submit one fresh key at the same moment, ``rounds`` times."""
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


@pytest.mark.parametrize("api", DRIVEN)
def test_concurrent_submissions_of_one_key_admit_one_invocation(backend, api):
    prof = profile(api)
    rounds = 4
    history = _burst(backend, prof, clients=6, rounds=rounds)
    verdict = check_history(prof, history, budget=20)
    assert verdict.verdict == LINEARIZABLE, verdict.problem
    for r in range(rounds):
        calls = [o for o in history if o.key == f"k{r}"]
        started = [o for o in calls if type(o.result) is O.Started]
        assert len(started) == 1, calls  # atomic admission: one Accepted
        owner = started[0].result.run_id
        assert {o.result for o in calls if o is not started[0]} == {
            O.Existing(owner, "pending", None)
        }


@pytest.mark.parametrize("api", DRIVEN)
def test_concurrent_workload_is_linearizable(backend, api):
    prof = profile(api)
    history = run_concurrent(backend, prof, clients=4, ops=60, keys=2, seed=5)
    verdict = check_history(prof, history, budget=20)
    assert verdict.verdict == LINEARIZABLE, verdict.problem
    assert any(type(o.op) is O.KeyedStart for o in history)


def test_the_linearizability_check_can_fail_on_server_answers(backend):
    prof = profile("idempotency-key")
    history = _burst(backend, prof, clients=3, rounds=1)
    loser = next(o for o in history if type(o.result) is O.Existing)
    forged = [o._replace(result=O.Started(999)) if o is loser else o for o in history]
    assert check_history(prof, forged, budget=20).verdict != LINEARIZABLE


def test_a_workflow_called_again_answers_409_while_running_and_after(backend):
    """The profile's ``workflow-call``: not "previously accepted" but 409, both times."""
    backend.configure(profile("workflow-send"))
    backend.reset()
    session = backend.session()
    model = make_profile("restate", api="workflow-call", retention=DAY_TICKS)
    world = model.initial()
    assert session.apply(O.KeyedStart("order", 1, "w")) == O.Started(1)
    world, _ = model.apply(world, O.KeyedStart("order", 1, "w"))
    index = backend.service_for("order", "w")
    url = f"{backend.ingress}/{svc.workflow_name(index)}/{urllib.parse.quote(backend.key_of('w'), safe='')}"

    def call_run() -> HttpError:
        with pytest.raises(HttpError) as caught:
            backend.http("POST", f"{url}/run", {"workflow": "order", "request": 2})
        return caught.value

    running = call_run()
    assert running.status == 409 and "already invoked" in running.body
    assert model.apply(world, O.KeyedStart("order", 2, "w"))[1] == O.Error(ALREADY_INVOKED, 1)
    assert session.apply(O.CompleteRun(1, "done")) == O.Ok()
    after = call_run()
    assert after.status == 409 and "already invoked" in after.body
    # the result is there for whoever attaches instead
    attach = f"{backend.ingress}/restate/workflow/{svc.workflow_name(index)}/{urllib.parse.quote(backend.key_of('w'), safe='')}/attach"
    assert backend.http("GET", attach) == repr("done")  # the stored output, as encoded


def _purged(backend: RestateBackend, invocation: str) -> bool:
    rows = backend.http(
        "POST",
        f"{backend.admin}/query",
        {"query": f"SELECT id FROM sys_invocation WHERE id = '{invocation}'"},
    )["rows"]
    return not rows


def _complete_one(backend: RestateBackend, api: str, key: str) -> str:
    backend.configure(profile(api, retention=1))
    backend.reset()
    session = backend.session()
    assert session.apply(O.KeyedStart("order", 1, key)) == O.Started(1)
    assert session.apply(O.CompleteRun(1, "first")) == O.Ok()
    return backend.known(1)[0]


@pytest.mark.parametrize("api", DRIVEN)
def test_retention_then_a_new_invocation_under_the_same_id(api, tmp_path):
    """Retention counted from completion; once the cleaner purged it, the key is free."""
    b = _started(RestateBackend(retention_seconds=SHORT_RETENTION, cleanup_interval="1s"))
    try:
        described = b.http("GET", f"{b.admin}/services/{svc.service_name(0)}")
        assert described["idempotency_retention"] == "2s"
        invocation = _complete_one(b, api, "r")
        session = b.session()
        # within retention: attached to the stored response
        assert session.apply(O.KeyedStart("order", 2, "r")) == O.Existing(1, COMPLETED, "first")
        deadline = time.monotonic() + 60
        while not _purged(b, invocation):
            assert time.monotonic() < deadline, "the cleaner never purged the invocation"
            time.sleep(0.2)
        # memory ended: a new invocation, with the very same invocation id (derived from the key)
        assert session.apply(O.KeyedStart("order", 3, "r")) == O.Started(2)
        assert b.known(2)[0] == invocation
    finally:
        b.close()


def test_finding_the_key_outlives_its_retention_until_the_cleaner_runs():
    """race-reports/backends/restate-retention-cleanup: retention 2 s, cleaner every hour (the
    server's default): well after the retention the duplicate is still deduplicated."""
    b = _started(RestateBackend(retention_seconds=SHORT_RETENTION, cleanup_interval="1h"))
    try:
        invocation = _complete_one(b, "idempotency-key", "c")
        ended = time.monotonic()
        time.sleep(3 * SHORT_RETENTION)  # past the retention by a margin; the cleaner: 1 h
        assert time.monotonic() - ended > SHORT_RETENTION
        session = b.session()
        assert session.apply(O.KeyedStart("order", 2, "c")) == O.Existing(1, COMPLETED, "first")
        assert not _purged(b, invocation)
    finally:
        b.close()


def test_journal_replay_after_the_endpoint_is_killed(backend):
    """A journaled ``ctx.run`` step is not run again when the server re-invokes the handler on a
    new endpoint process; the invocation completes with the later command's result."""
    backend.configure(profile("idempotency-key"))
    backend.reset()
    session = backend.session()
    assert session.apply(O.KeyedStart("order", 1, "j")) == O.Started(1)
    assert session.apply(O.StartRun(1)) == O.Ok()
    invocation = backend.known(1)[0]
    assert session._command(invocation, "effect") == "ok"
    effects = Path(backend.effects_path)

    def lines() -> list[str]:
        return [ln for ln in effects.read_text().splitlines() if ln.startswith(invocation)]

    assert lines() == [f"{invocation} 1"]
    backend.kill_endpoint()
    backend.launch_endpoint()  # same port: the deployment the server knows
    # the server retries the invocation on the new process: the replay reaches the same
    # awaiting point, the effect comes from the journal, a second effect is the next step
    assert session._command(invocation, "effect") == "ok"
    assert session.apply(O.CompleteRun(1, "after-replay")) == O.Ok()
    assert lines() == [f"{invocation} 1", f"{invocation} 2"]
    assert session.apply(O.GetRun(1)).output == "after-replay"


def test_differential_on_the_restate_catalog(backend):
    result = differential(backend, bfs_states=30, walks=3)
    assert result.divergence is None, result.divergence
    replayed = [n for n in result.scenarios if n.startswith("restate-")]
    assert f"restate-after-retention@retention={DAY_TICKS}" in replayed
    assert "restate-workflow-send" in replayed and "restate-idempotency-key" in replayed
    assert not any(n.startswith("restate-workflow-call") for n in replayed)  # not driven
    assert result.final_state_compared is False and result.backend_ops > 100


def test_configure_refuses_other_profiles_and_the_undriven_api():
    from backends.protocol import BackendError

    with pytest.raises(BackendError, match="unsupported"):
        RestateBackend().configure(make_profile("dbos"))
    with pytest.raises(BackendError, match="workflow-call"):
        RestateBackend().configure(make_profile("restate", api="workflow-call"))


def _one_line_exit_2(capsys, monkeypatch, binary: str) -> str:
    monkeypatch.setenv("IDEMRACE_RESTATE_SERVER", binary)
    code = main(["validate", "restate", "--mode", "differential"])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_missing_binary_is_one_line(capsys, monkeypatch, tmp_path):
    line = _one_line_exit_2(capsys, monkeypatch, str(tmp_path / "no-such-restate-server"))
    assert "restate" in line and "no-such-restate-server" in line


def test_a_server_that_will_not_start_is_one_line(capsys, monkeypatch, tmp_path):
    fake = tmp_path / "restate-server"
    fake.write_text("#!/bin/sh\necho 'cannot bind: address in use' >&2\nexit 3\n")
    fake.chmod(0o755)
    line = _one_line_exit_2(capsys, monkeypatch, str(fake))
    assert "exited with 3" in line and "address in use" in line


def test_status_read_back_matches_what_sys_invocation_stores(backend):
    """The answers come from what Restate stored: the admin SQL introspection agrees."""
    backend.configure(profile("idempotency-key"))
    backend.reset()
    session = backend.session()
    session.apply(O.KeyedStart("order", 1, "q"))
    session.apply(O.FailRun(1, ("ApplicationError", "order", "q", 1)))
    invocation = backend.known(1)[0]
    rows = backend.http(
        "POST",
        f"{backend.admin}/query",
        {
            "query": "SELECT status, completion_result, completion_failure, idempotency_key "
            f"FROM sys_invocation WHERE id = '{invocation}'"
        },
    )["rows"]
    assert rows == [
        {
            "status": "completed",
            "completion_result": "failure",
            "completion_failure": f"[500] {('ApplicationError', 'order', 'q', 1)!r}",
            "idempotency_key": backend.key_of("q"),
        }
    ]


@pytest.mark.parametrize("api", DRIVEN)
def test_blanks_around_a_key_are_dropped_from_the_header_not_the_path(backend, api):
    """race-reports/backends/restate-idempotency-key-blanks: the server drops the blanks around
    an Idempotency-Key (an HTTP header value); a workflow key in the URL path keeps them."""
    both = Both(backend, profile(api))
    assert both(O.KeyedStart("order", 1, "b1")) == O.Started(1)
    blank = both(O.KeyedStart("order", 2, "b1 "))
    tab = both(O.KeyedStart("order", 3, "\tb1"))
    if api == "idempotency-key":
        assert blank == tab == O.Existing(1, "pending", None)
    else:
        assert (blank, tab) == (O.Started(2), O.Started(3))
    assert both(O.KeyedStart("order", 4, "B1")) == O.Started(len(backend.refs))  # case counts


def test_restart_keeps_what_the_server_acknowledged(backend):
    both = Both(backend, profile("idempotency-key"))
    assert both(O.KeyedStart("order", 1, "a")) == O.Started(1)
    assert both(O.StartRun(1)) == O.Ok()
    assert both(O.KeyedStart("order", 2, "b")) == O.Started(2)
    assert both(O.CompleteRun(2, "two")) == O.Ok()
    pid = backend._server.pid
    backend.restart()
    assert backend._server.pid != pid
    # the same session on the new ports; the open invocation's body moves again
    assert both(O.KeyedStart("order", 3, "a")) == O.Existing(1, "running", None)
    assert both(O.KeyedStart("order", 4, "b")) == O.Existing(2, COMPLETED, "two")
    assert both(O.CompleteRun(1, "one")) == O.Ok()


def test_restart_fault_case_is_linearizable(backend):
    from backends.validate import concurrent_profile
    from backends.validate.faults import run_fault

    case = run_fault(
        backend, concurrent_profile(backend), "restart", clients=3, ops=45, keys=2, seed=2
    )
    assert case.verdict == LINEARIZABLE, case.problem
    assert case.lost == [] and case.unanswered == 0
    observed = [p for p in case.history.partitions if p.key == "victim"]
    assert observed and observed[0].operations >= 2  # the held start and the read-back


def test_read_back_is_checked_and_a_forged_one_is_caught(backend):
    from backends.validate.faults import observe
    from backends.validate.history import Observe

    prof = profile("idempotency-key")
    recorder = Recorder()
    run_concurrent(backend, prof, clients=3, ops=45, keys=2, seed=5, recorder=recorder)
    keys = sorted({o.key for o in recorder.history() if o.key is not None})
    snapshot = observe(backend, recorder, keys)
    history = recorder.history()
    assert snapshot.runs and snapshot.keys
    assert check_history(prof, history, budget=20).verdict == LINEARIZABLE
    victim = snapshot.runs[0]
    forged_world = snapshot._replace(
        runs=(victim._replace(status=COMPLETED, output="forged"), *snapshot.runs[1:])
    )
    forged = [o._replace(result=forged_world) if type(o.op) is Observe else o for o in history]
    assert check_history(prof, forged, budget=20).verdict != LINEARIZABLE
