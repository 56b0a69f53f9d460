"""The real Vercel World packages (``vercel-local``, ``vercel-postgres``) against vercel-today.

These need Node >= 20 and ``bridge/node_modules`` (``bash scripts/test.sh`` installs both, and
PostgreSQL for ``vercel-postgres``). They are not skipped when those are missing: they fail,
saying what to install, because CI installs them and a silent skip would hide a broken setup.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from backends import make_backend
from backends.protocol import BackendUnavailable, StoreUnreadable
from backends.validate.differential import differential, supported_scenarios
from backends.validate.faults import run_fault
from backends.validate.linearizability import LINEARIZABLE, NOT_LINEARIZABLE, check_history
from backends.validate.workload import run_concurrent
from backends.vercel.backend import VercelBackend
from backends.vercel.bridge import BRIDGE_DIR
from catalog import catalog
from model import ops as O
from model.profiles import make_profile

ROOT = Path(__file__).resolve().parents[1]
FINDINGS = ROOT / "race-reports" / "backends"
BACKENDS = ("vercel-local", "vercel-postgres")


def _require_node() -> None:
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH: run bash scripts/test.sh (Node >= 20)", pytrace=False)
    if not (BRIDGE_DIR / "node_modules" / "@workflow" / "world-local").is_dir():
        pytest.fail(
            "bridge/node_modules is missing: run bash scripts/test.sh (or cd bridge && npm install)",
            pytrace=False,
        )


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request):
    _require_node()
    b = make_backend(request.param)
    try:
        b.start()
    except BackendUnavailable as exc:
        pytest.fail(f"{request.param}: {exc} (run bash scripts/test.sh)", pytrace=False)
    yield b
    b.close()


def fresh(backend: VercelBackend, **options):
    backend.configure(make_profile("vercel-today", **options))
    backend.reset()
    return backend.session()


# -- every op's mapping, against the model, on one fixed sequence --------------------------------

SEQUENCE = [
    O.CreateRun("wf", 1),
    O.CreateRun("wf", 2),
    O.StartRun(1),
    O.StartRun(1),  # idempotent on a running run
    O.ClaimHook(1, "h1", "tok"),
    O.ClaimHook(1, "h1", "tok"),  # our own claim replayed
    O.StartRun(2),
    O.ClaimHook(2, "h1", "tok"),  # held by run 1
    O.GetHookByToken("tok"),
    O.PollPayload(1, "h1"),
    O.DeliverPayload(1, "h1", "p1"),
    O.DeliverPayload(1, "h1", "p2"),
    O.PollPayload(1, "h1"),
    O.ConsumePayload(1, "h1"),
    O.PollPayload(1, "h1"),
    O.DeliverPayload(2, "h1", "lost"),  # run 2 has no hook
    O.AdvanceClock(),
    O.PerformEffect("tok", 1),
    O.AppRecordPut("tok", 1),
    O.AppRecordPut("tok", 2),
    O.AppRecordGet("tok"),
    O.ListRuns("wf"),
    O.ListRuns("wf", "running"),
    O.CompleteRun(1, ("out", 1)),
    O.GetHookByToken("tok"),  # released with the run's end
    O.ClaimHook(1, "h2", "tok"),  # ended run
    O.CompleteRun(1, "again"),
    O.StartRun(1),  # ended run
    O.GetRun(1),
    O.ClaimHook(2, "h1", "tok"),
    O.DisposeHook(2, "h1"),
    O.DisposeHook(2, "h1"),  # already disposed (one caller: HookNotFoundError)
    O.FailRun(2, ("err", 2)),
    O.GetRun(2),
    O.CreateRun("wf", 3),
    O.CancelRun(3),
    O.CancelRun(3),  # re-cancel is accepted
    O.CompleteRun(3, "late"),
    O.GetRun(3),
    O.ListRuns("wf", "completed"),
    O.ListRuns("other"),
    O.GetRun(9),
    O.StartRun(9),
]


def test_every_op_maps_to_the_model_on_a_fixed_sequence(backend):
    session = fresh(backend)
    profile = backend.profile
    world = profile.initial()
    try:
        got, want = [], []
        for op in SEQUENCE:
            if type(op) is O.AdvanceClock:
                world = profile.tick(world)
                expected = O.Ok(world.clock)
            else:
                world, expected = profile.apply(world, op)
            want.append(O.describe(expected))
            got.append(O.describe(session.apply(op)))
        assert got == want
        # the answers are not vacuous: conflicts, errors, payloads and lists all occur
        assert "HookConflict(1)" in got and "Payload('p2')" in got
        assert "Error('RunExpiredError', None)" in got and "RunList((1, 2))" in got
        assert session.snapshot() == world
    finally:
        session.close()


# -- concurrency: real bridge processes on one key -----------------------------------------------


def test_concurrent_clients_on_one_key_are_checked_for_linearizability(backend):
    """Three World processes, one key. The history must get a decisive verdict, and a
    not-linearizable one only with a failing partition to show for it (the findings below are
    real races, so some runs find one). The renaming search is exponential in overlapping
    admissions numbered out of their linearization order, so a history can exhaust the budget:
    up to three seeds are tried for a decisive one."""
    profile = make_profile("vercel-today", atomic_release=True)
    for seed in (0, 1, 2):
        history = run_concurrent(backend, profile, clients=3, ops=30, keys=1, seed=seed)
        assert len(history) >= 30
        assert {o.client for o in history} >= {0, 1, 2}
        verdict = check_history(profile, history, budget=10)
        if verdict.verdict != "unknown":
            break
    assert verdict.verdict in (LINEARIZABLE, NOT_LINEARIZABLE), verdict.problem
    assert all(r.operations > 0 for r in verdict.partitions)
    if verdict.verdict == NOT_LINEARIZABLE:
        assert verdict.failing is not None and verdict.failing.ops


def test_concurrent_checker_rejects_a_tampered_history(backend):
    """The same history with one answer changed must fail: the check is not vacuous."""
    profile = make_profile("vercel-today", atomic_release=True)
    backend.configure(profile)
    backend.reset()
    session = backend.session()
    try:
        from backends.validate.workload import Recorder, perform

        rec = Recorder()
        for op in (O.CreateRun("wf-k0", 1), O.StartRun(1), O.ClaimHook(1, "h1", "k0")):
            perform(session, rec, 0, "k0", op)
        ops = rec.history()
        assert check_history(profile, ops).verdict == LINEARIZABLE
        tampered = [*ops[:-1], ops[-1]._replace(result=O.HookConflict(1))]
        assert check_history(profile, tampered).verdict == NOT_LINEARIZABLE
    finally:
        session.close()


# -- the differential, bounded ---------------------------------------------------------------------


def test_differential_on_a_bounded_set(backend):
    names = ["reject-retry-after-completion", "supersede-aba", "signal-forward-race"]
    chosen, _ = supported_scenarios(backend, [n for n in names if n in catalog()])
    assert chosen, "no vercel-today scenario to replay"
    # every vercel-today scenario is replayed as the World does it: release after the end
    assert all(s.name.endswith("@atomic_release=false") for s in chosen)
    result = differential(backend, scenarios=chosen, bfs_states=25, walks=2)
    assert result.divergence is None, result.divergence
    assert result.schedules > 10 and result.backend_ops > 50
    assert result.final_state_compared


def test_release_is_held_to_the_model_step_under_atomic_release_false(backend):
    """Under atomic_release = false the World's terminal event is held between its two writes:
    the run is ended and its hook still live until ReleaseHooks, as in the model."""
    session = fresh(backend, atomic_release=False)
    try:
        for op in (O.CreateRun("wf", 1), O.StartRun(1), O.ClaimHook(1, "h1", "t")):
            session.apply(op)
        assert session.apply(O.CompleteRun(1, "x")) == O.Ok()
        assert session.apply(O.GetRun(1)).status == "completed"
        assert session.apply(O.GetHookByToken("t")) == O.HookInfo(1, "h1")
        assert session.apply(O.ReleaseHooks(1)) == O.Ok()
        assert session.apply(O.GetHookByToken("t")) == O.HOOK_NOT_FOUND
    finally:
        session.close()


# -- a fault ---------------------------------------------------------------------------------------


def test_restart_fault_keeps_every_acknowledged_admission(backend):
    if "restart" not in backend.FAULTS:
        pytest.fail(f"{backend.name} has no restart fault")
    profile = make_profile("vercel-today", atomic_release=True)
    case = run_fault(backend, profile, "restart", clients=2, ops=24, keys=1, seed=1, budget=20)
    assert case.lost == []
    assert case.operations >= 24
    # the harness's observation of the whole world is part of the history
    assert case.verdict in (LINEARIZABLE, NOT_LINEARIZABLE)


# -- the CLI ---------------------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "idemrace", "validate", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_package_naming_the_same_world_explicitly_works():
    _require_node()
    proc = _cli(
        "vercel-local",
        "--package",
        "@workflow/world-local",
        "--mode",
        "concurrent",
        "--ops",
        "16",
        "--clients",
        "2",
        "--keys",
        "2",
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert "concurrent" in proc.stdout and "2 clients" in proc.stdout


def test_package_as_a_path_to_a_world_directory_works():
    """A third-party World author points --package at their package directory."""
    _require_node()
    world_dir = BRIDGE_DIR / "node_modules" / "@workflow" / "world-local"
    proc = _cli(
        "vercel-local",
        "--package",
        str(world_dir),
        "--mode",
        "differential",
        "--bfs-states",
        "5",
        "--walks",
        "0",
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert "differential" in proc.stdout and "backend operations" in proc.stdout


def test_a_nonexistent_package_is_one_line_and_exit_2():
    _require_node()
    proc = _cli("vercel-local", "--package", "@nope/no-such-world", "--mode", "differential")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "@nope/no-such-world" in lines[0] and "not found" in lines[0]
    assert "Traceback" not in proc.stderr


# -- the findings, reproduced with exactly their minimal shape -------------------------------------


def _finding(slug: str):
    path = FINDINGS / slug / "repro.py"
    spec = importlib.util.spec_from_file_location(f"finding_{slug.replace('-', '_')}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _repro(slug: str, name: str) -> dict:
    _require_node()
    return _finding(slug).reproduce(name)


@pytest.mark.parametrize("name", BACKENDS)
def test_finding_run_started_resurrects_an_ended_run(name):
    r = _repro("vercel-run-started-resurrects", name)
    raw = r["raw"]
    assert r["verdict"] == NOT_LINEARIZABLE
    assert raw["completed"] == O.Ok() and raw["started"] == O.Ok()
    # the run was completed, then written back to running: a second completion succeeds
    assert raw["completed_again"] == O.Ok()
    if name == "vercel-local":
        assert raw["after"] == O.RunInfo(1, "wf-k", "running", None, 1)
    else:  # the row is running with a completion time: the World cannot parse its own run
        assert raw["after"] == O.Error("ZodError")


def test_after_the_resurrecting_race_world_postgres_cannot_read_itself_back(backend):
    """The row finding 1 leaves makes world-postgres's own runs.list throw: a snapshot is then
    ``StoreUnreadable`` (a discrepancy the fault and differential checks report), never an
    escaped World error; world-local reads the resurrected run back as running."""
    from backends.vercel.findings import Script

    backend.configure(make_profile("vercel-today", atomic_release=True))
    backend.reset()
    run = Script(backend, 2)
    try:
        run.do(0, O.CreateRun("wf-k", 1))
        start = run.hold(0, O.StartRun(1), "before")
        run.do(1, O.CompleteRun(1, "out"))
        assert run.release(0, start) == O.Ok()
        if backend.name == "vercel-postgres":
            with pytest.raises(StoreUnreadable, match=r"^the World's own read throws ZodError"):
                run.sessions[1].snapshot()
        else:
            assert [r.status for r in run.sessions[1].snapshot().runs] == ["running"]
    finally:
        run.close()


@pytest.mark.parametrize("name", BACKENDS)
def test_finding_double_terminal_is_world_local_only(name):
    r = _repro("vercel-local-double-terminal", name)
    raw = r["raw"]
    assert raw["cancelled"] == O.Ok()
    if name == "vercel-local":
        assert r["verdict"] == NOT_LINEARIZABLE
        assert raw["completed"] == O.Ok()
        assert raw["after"] == O.RunInfo(1, "wf-k", "completed", "out", 1)
    else:  # world-postgres guards the terminal UPDATE: the control case
        assert r["verdict"] == LINEARIZABLE
        assert raw["completed"] == O.ENTITY_CONFLICT


@pytest.mark.parametrize("name", BACKENDS)
def test_finding_dispose_race_answers_entity_conflict(name):
    r = _repro("vercel-dispose-race-conflict", name)
    raw = r["raw"]
    assert r["verdict"] == NOT_LINEARIZABLE
    assert raw["first"] == O.Ok()
    assert raw["second"] == O.ENTITY_CONFLICT  # the model (and one caller alone): not found
    assert raw["sequential"] == O.HOOK_NOT_FOUND


@pytest.mark.parametrize("name", BACKENDS)
def test_finding_token_race_is_world_postgres_only(name):
    r = _repro("vercel-postgres-token-race", name)
    raw = r["raw"]
    assert raw["second"] == O.HookCreated()
    if name == "vercel-postgres":
        assert r["verdict"] == NOT_LINEARIZABLE
        assert raw["first"] == O.HookCreated()
        assert sorted(h.run_id for h in raw["live_hooks"]) == [1, 2]
    else:  # world-local's exclusive token file: the control case
        assert r["verdict"] == LINEARIZABLE
        assert raw["first"] == O.HookConflict(2)
        assert [h.run_id for h in raw["live_hooks"]] == [2]


@pytest.mark.parametrize("name", BACKENDS)
def test_finding_claim_racing_the_end_leaks_the_token(name):
    r = _repro("vercel-claim-after-end-leaks-token", name)
    raw = r["raw"]
    assert r["verdict"] == NOT_LINEARIZABLE
    assert raw["completed"] == O.Ok() and raw["claimed"] == O.HookCreated()
    assert raw["run1"].status == "completed"
    assert raw["holder"] == O.HookInfo(1, "h1")
    assert raw["later_claim"] == O.HookConflict(1)  # the key is held by an ended run


@pytest.mark.parametrize("name", BACKENDS)
def test_finding_release_is_not_atomic_and_a_kill_leaks_the_token(name):
    r = _repro("vercel-release-not-atomic", name)
    raw = r["raw"]
    assert r["verdict"] == NOT_LINEARIZABLE  # against atomic_release = true
    assert raw["seen_run"].status == "completed" and raw["seen_hook"] == O.HookInfo(1, "h1")
    assert raw["completed"] == O.Ok()
    assert raw["run2_after_kill"].status == "completed"
    assert raw["k2_after_kill"] == O.HookInfo(2, "h1")


def test_the_read_back_keeps_each_hooks_deliveries_in_the_worlds_order():
    """On the 5.0 betas an event id is a per-run slot whose createdAt need not follow slot order:
    a hook's inbox is read back in the World's listing order, the log interleaves hooks by time."""
    from backends.vercel.session import _in_world_order

    listed = [
        (9, "s3", "h", "a", 1),
        (12, "s4", "h", "b", 1),
        (9, "s5", "h", "c", 1),  # stamped earlier than the slot before it
        (10, "x1", "g", "z", 2),
    ]
    ordered = _in_world_order(listed)
    assert [d[3] for d in ordered if d[2] == "h"] == ["a", "b", "c"]  # the World's order
    assert [d[3] for d in ordered] == ["a", "b", "z", "c"]  # hooks interleaved by time
    assert sorted(ordered) == sorted(listed)
