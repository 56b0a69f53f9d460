"""Every pinned World generation through its adapter (issue 17): the 5.0 betas of world-local and
world-postgres against vercel-v5, the community redis and mongodb Worlds against vercel-today,
each for real (bridge/worlds/*, a throwaway server where the World needs one; bash
scripts/test.sh installs them). The 4.x packages are tests/test_backend_vercel.py's.

Kept cheap: one fixed sequence per World, the findings' forced interleavings, a bounded
differential on one World, the CLI's one-line errors. The version matrix's currency is
tests/test_world_matrix.py."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from backends import make_backend
from backends.protocol import BackendUnavailable
from backends.validate.linearizability import LINEARIZABLE, NOT_LINEARIZABLE
from backends.vercel.bridge import AdapterCallError, WorldError
from backends.vercel.findings import HOLDS, outcome
from model import ops as O
from model.profiles import make_profile

ROOT = Path(__file__).resolve().parents[1]
FINDINGS = ROOT / "race-reports" / "backends"

# (backend, package, generation, profile)
WORLDS = [
    ("vercel-local", "@workflow/world-local@5.0.0-beta.46", "v5", "vercel-v5"),
    ("vercel-postgres", "@workflow/world-postgres@5.0.0-beta.29", "v5", "vercel-v5"),
    ("vercel-redis", "@workflow-worlds/redis@0.2.2", "community", "vercel-today"),
    ("vercel-mongodb", "@workflow-worlds/mongodb@0.2.1", "community", "vercel-today"),
]
IDS = [w[1].split("/")[-1] for w in WORLDS]


@pytest.fixture(scope="module", params=WORLDS, ids=IDS)
def world(request):
    name, package, generation, profile = request.param
    b = make_backend(name, package=package)
    try:
        b.start()
    except BackendUnavailable as exc:
        pytest.fail(f"{package}: {exc} (run bash scripts/test.sh)", pytrace=False)
    yield b, generation, profile
    b.close()


# the sequence of tests/test_backend_vercel.py minus the two answers the community Worlds give
# differently (their findings below): a replayed own claim and run_started on an ended run
SEQUENCE = [
    O.CreateRun("wf", 1),
    O.CreateRun("wf", 2),
    O.StartRun(1),
    O.StartRun(1),
    O.ClaimHook(1, "h1", "tok"),
    O.StartRun(2),
    O.ClaimHook(2, "h1", "tok"),  # held by run 1
    O.GetHookByToken("tok"),
    O.PollPayload(1, "h1"),
    O.DeliverPayload(1, "h1", "p1"),
    O.DeliverPayload(1, "h1", "p2"),
    O.ConsumePayload(1, "h1"),
    O.PollPayload(1, "h1"),
    O.DeliverPayload(2, "h1", "lost"),
    O.AdvanceClock(),
    O.PerformEffect("tok", 1),
    O.AppRecordPut("tok", 1),
    O.ListRuns("wf"),
    O.ListRuns("wf", "running"),
    O.CompleteRun(1, ("out", 1)),
    O.GetHookByToken("tok"),
    O.ClaimHook(1, "h2", "tok"),  # ended run
    O.CompleteRun(1, "again"),
    O.GetRun(1),
    O.ClaimHook(2, "h1", "tok"),
    O.DisposeHook(2, "h1"),
    O.DisposeHook(2, "h1"),
    O.FailRun(2, ("err", 2)),
    O.GetRun(2),
    O.CreateRun("wf", 3),
    O.CancelRun(3),
    O.CancelRun(3),
    O.CompleteRun(3, "late"),
    O.GetRun(3),
    O.ListRuns("wf", "completed"),
    O.GetRun(9),
]


def test_the_adapter_is_chosen_from_the_worlds_generation_and_arms_its_driver(world):
    backend, generation, profile = world
    info = backend.world_info
    assert info["generation"] == generation
    assert backend.profile_name == profile
    faults = info["faults"]
    driver = {"local": "fs", "postgres": "pg", "redis": "ioredis", "mongodb": "mongodb"}[
        backend.KIND
    ]
    # the package's own driver, never the bridge's copy; every other one said not applicable
    assert faults[driver].startswith("armed")
    if driver != "fs":
        assert "worlds/" in faults[driver]
    assert all(v == "not applicable" for k, v in faults.items() if k != driver)
    line = backend.describe_world()
    assert f"{driver} armed" in line and "not applicable" in line


def test_every_op_maps_to_the_model_on_a_fixed_sequence(world):
    backend, _generation, profile_name = world
    backend.configure(make_profile(profile_name))
    backend.reset()
    session = backend.session()
    profile = backend.profile
    state = profile.initial()
    try:
        got, want = [], []
        for op in SEQUENCE:
            if type(op) is O.AdvanceClock:
                state = profile.tick(state)
                expected = O.Ok(state.clock)
            else:
                state, expected = profile.apply(state, op)
            want.append(O.describe(expected))
            got.append(O.describe(session.apply(op)))
        assert got == want
        assert "HookConflict(1)" in got and "Payload('p1')" in got
        assert session.snapshot() == state
    finally:
        session.close()


def test_an_exception_of_the_adapters_own_call_is_not_the_worlds_answer(world):
    """A call the World does not take (here: a method it lacks, and a TypeError from arguments
    it cannot read) is AdapterCallError naming the call, never Error(...) as an answer."""
    backend, _g, profile_name = world
    backend.configure(make_profile(profile_name))
    backend.reset()
    session = backend.session()
    try:
        with pytest.raises(AdapterCallError, match=r"the adapter's call hooks\.noSuchCall"):
            session.call("hooks.noSuchCall")
        bridge = session._bridge()
        with pytest.raises(WorldError) as info:
            bridge.call("events.create", "wrun_01J00000000000000000000000", None)
        assert info.value.adapter, info.value
    finally:
        session.close()


def test_v5_hook_received_on_an_ended_run_without_retention(world):
    """world-local 5.0.0-beta.46 checks the hook exists before the run's terminal state
    (dist/storage/events-storage.js line 989 before 2077): a hook without minimum retention is
    deleted with the run's end, so a late delivery is HookNotFoundError; RunExpiredError is for a
    hook still stored (retained, or between the end's two writes). vercel-v5
    (model/profiles/vercel_v5.py) answers the same; world-postgres 5.0.0-beta.29 looks the hook up
    first too (dist/storage.js, "Hook-related event validation")."""
    backend, generation, profile_name = world
    if generation != "v5":
        pytest.skip("a v5 semantics check")
    backend.configure(make_profile(profile_name))
    backend.reset()
    session = backend.session()
    try:
        for op in (O.CreateRun("wf", 1), O.StartRun(1), O.ClaimHook(1, "h1", "t")):
            session.apply(op)
        session.apply(O.CompleteRun(1, "x"))
        got = session.apply(O.DeliverPayload(1, "h1", "late"))
        assert got == O.HOOK_NOT_FOUND
        profile, w = backend.profile, backend.profile.initial()
        for op in (O.CreateRun("wf", 1), O.StartRun(1), O.ClaimHook(1, "h1", "t")):
            w, _ = profile.apply(w, op)
        w, _ = profile.apply(w, O.CompleteRun(1, "x"))
        assert profile.apply(w, O.DeliverPayload(1, "h1", "late"))[1] == got
    finally:
        session.close()


# -- findings on these Worlds ----------------------------------------------------------------------


def _finding(slug: str):
    path = FINDINGS / slug / "repro.py"
    spec = importlib.util.spec_from_file_location(f"finding_{slug.replace('-', '_')}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("backend,package", [(w[0], w[1]) for w in WORLDS[2:]], ids=IDS[2:])
def test_new_finding_start_ended_conflict(backend, package):
    module = _finding("vercel-community-start-ended-conflict")
    r = module.reproduce(backend, package=package)
    assert r["verdict"] == NOT_LINEARIZABLE
    assert r["raw"]["started"] == O.ENTITY_CONFLICT  # the model: RunExpiredError
    assert r["raw"]["after"].status == "completed"
    assert module.EXPECTED[f"{r['package']}@{r['version']}"] == HOLDS


@pytest.mark.parametrize("backend,package", [(w[0], w[1]) for w in WORLDS[2:]], ids=IDS[2:])
def test_new_finding_own_claim_conflict(backend, package):
    module = _finding("vercel-community-own-claim-conflict")
    r = module.reproduce(backend, package=package)
    assert r["verdict"] == NOT_LINEARIZABLE
    assert r["raw"]["first"] == O.HookCreated()
    assert r["raw"]["again"] == O.HookConflict(1)  # itself; the model: EntityConflictError
    assert r["raw"]["holder"] == O.HookInfo(1, "h1")


def test_new_findings_do_not_reproduce_on_the_vercel_packages():
    for slug in ("vercel-community-own-claim-conflict", "vercel-community-start-ended-conflict"):
        r = _finding(slug).reproduce("vercel-local", package="@workflow/world-local@5.0.0-beta.46")
        assert r["verdict"] == LINEARIZABLE, (slug, r["steps"])


def test_a_finding_on_a_v5_world_knows_its_expected_outcome():
    """The release gap of 4.x is closed in world-local 5: the finding does not reproduce there,
    and the repro says that is what it expects."""
    module = _finding("vercel-release-not-atomic")
    r = module.reproduce("vercel-local", package="@workflow/world-local@5.0.0-beta.46")
    assert outcome(r) == module.EXPECTED[f"{r['package']}@{r['version']}"]


# -- the command line ------------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "idemrace", "validate", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_validate_a_v5_world_by_name_and_version_reports_its_adapter_and_faults():
    proc = _cli(
        "vercel-local",
        "--package",
        "@workflow/world-local@5.0.0-beta.46",
        "--mode",
        "differential",
        "--bfs-states",
        "5",
        "--walks",
        "0",
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert "v5 adapter" in proc.stderr and "fs armed" in proc.stderr
    assert "differential" in proc.stdout and "@vercel-v5" not in proc.stderr


def test_a_version_not_installed_is_one_line_naming_what_is():
    proc = _cli("vercel-local", "--package", "@workflow/world-local@9.9.9", "--mode", "concurrent")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "@workflow/world-local@9.9.9 not found" in lines[0]
    assert "5.0.0-beta.46" in lines[0] and "Traceback" not in proc.stderr


def test_a_startup_error_shows_the_innermost_cause_in_one_line():
    # nothing listens on port 1: the World's own driver fails to connect
    proc = _cli("vercel-redis", "--url", "redis://127.0.0.1:1/0", "--mode", "concurrent")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "ECONNREFUSED" in lines[0] and "Traceback" not in proc.stderr


# -- a finding as a standalone node:test file --------------------------------------------------------


def test_export_finding_is_a_node_test_that_fails_on_the_bug_and_passes_without_it(tmp_path):
    out = tmp_path / "claim.test.mjs"
    proc = subprocess.run(
        [sys.executable, "-m", "idemrace", "export-finding", "vercel-claim-after-end-leaks-token",
         "--package", "@workflow/world-local@4.4.1", "-o", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "node:test" in text and "import('" not in text.split("META")[0]

    def node_test(folder: Path) -> subprocess.CompletedProcess[str]:
        target = folder / "idemrace-finding.test.mjs"
        target.write_text(text)
        try:
            return subprocess.run(
                ["node", "--test", target.name], cwd=folder, capture_output=True, text=True,
                timeout=300,
            )  # fmt: skip
        finally:
            target.unlink()

    # world-local 4.4.1 (bridge/node_modules): the finding holds, the test fails saying why
    bad = node_test(ROOT / "bridge")
    assert bad.returncode != 0, bad.stdout
    assert "GetHookByToken answered HookInfo(1,h1)" in bad.stdout
    # world-local 5.0.0-beta.46 closed it: the same file passes there
    good = node_test(ROOT / "bridge" / "worlds" / "world-local-5.0.0-beta.46")
    assert good.returncode == 0, good.stdout
