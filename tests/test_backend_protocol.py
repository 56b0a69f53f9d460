"""The backend protocol: loading backends, values, and each reference backend answering exactly
as the model does on hand-written sequences (retention by logical clock, options)."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends import BackendError, backend_class, make_backend
from backends.memory import MemoryBackend
from backends.protocol import decode, encode
from backends.sqlite import SqliteBackend
from model import ops as O
from model.profiles import make_profile

SHM = Path("/dev/shm") if Path("/dev/shm").is_dir() else None


def test_backend_class_resolves_builtin_and_dotted_names():
    assert backend_class("memory") is MemoryBackend
    assert backend_class("backends.sqlite:SqliteBackend") is SqliteBackend


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("nope", "unknown backend 'nope'; built-in: memory, sqlite, postgres, broken"),
        ("no.such.module:X", "cannot import 'no.such.module'"),
        ("model.ops:CreateRun", "'CreateRun' is not a backends.protocol.Backend"),
    ],
)
def test_backend_class_rejects_bad_references(ref, message):
    with pytest.raises(BackendError, match=message):
        backend_class(ref)


def test_values_round_trip_and_non_literals_are_refused():
    for value in (None, "p", 3, ("out", "c1-2"), ("err", ("x", 1))):
        assert decode(encode(value)) == value
    with pytest.raises(BackendError, match="not a Python literal"):
        encode(object())


def test_unsupported_profile_is_a_one_line_error():
    backend = make_backend("memory")
    with pytest.raises(BackendError, match="profile 'dbos' unsupported; supported: vercel-"):
        backend.configure(make_profile("dbos"))


def _run(backend_name, profile, ops):
    backend = make_backend(backend_name, workdir=SHM)
    backend.start()
    try:
        backend.configure(profile)
        backend.reset()
        session = backend.session()
        results = [session.apply(op) for op in ops]
        snapshot = session.snapshot()
        session.close()
        return results, snapshot
    finally:
        backend.close()


def _model(profile, ops):
    world = profile.initial()
    results = []
    for op in ops:
        if type(op) is O.AdvanceClock:
            world = profile.tick(world)
            results.append(O.Ok(world.clock))
        else:
            world, result = profile.apply(world, op)
            results.append(result)
    return results, world


KEYED = [
    O.KeyedStart("wf", 1, "k"),
    O.KeyedStart("wf", 2, "k"),
    O.StartRun(1),
    O.DeliverPayload(1, "h1", "p1"),
    O.DeliverPayload(1, "h1", "p2"),
    O.PollPayload(1, "h1"),
    O.ClaimHook(1, "h2", "k"),
    O.ClaimHook(1, "h2", "side"),
    O.CompleteRun(1, ("done", 1)),
    O.CancelRun(1),
    O.KeyedStart("wf", 3, "k"),
    O.AdvanceClock(),
    O.KeyedStart("wf", 4, "k"),
    O.AdvanceClock(),
    O.KeyedStart("wf", 5, "k"),
    O.GetHookByToken("k"),
    O.GetRun(2),
    O.ListRuns("wf", "completed"),
    O.DisposeHook(2, "h1"),
    O.DisposeHook(2, "h1"),
    O.PerformEffect("k", 2),
    O.AppRecordPut("k", 2),
    O.AppRecordPut("k", 1),
    O.AppRecordGet("k"),
    O.CancelRun(2, by=1),
    O.GetRun(9),
]

GOLDEN_KEYED = [
    O.Started(1),
    O.Existing(1, "pending", None),
    O.Ok(),
    O.Ok(),
    O.Ok(),
    O.Payload("p1"),
    O.HookConflict(1),
    O.HookCreated(),
    O.Ok(),
    O.ENTITY_CONFLICT,
    O.Existing(1, "completed", ("done", 1)),
    O.Ok(1),
    O.Existing(1, "completed", ("done", 1)),
    O.Ok(2),
    O.Started(2),
    O.HookInfo(2, "h1"),
    O.RunInfo(2, "wf", "pending", None, 5),
    O.RunList((1,)),
    O.Ok(),
    O.HOOK_NOT_FOUND,
    O.Ok(),
    O.Ok(2),
    O.Ok(2),
    O.Ok(2),
    O.Ok(),
    O.RUN_NOT_FOUND,
]


@pytest.mark.parametrize("name", ["memory", "sqlite"])
def test_keyed_start_sequence_matches_the_model(name):
    profile = make_profile("vercel-keyed-start", retention=2)
    want, world = _model(profile, KEYED)
    assert want == GOLDEN_KEYED  # the model's answers, pinned
    got, snapshot = _run(name, profile, KEYED)
    assert got == want
    assert snapshot == world


@pytest.mark.parametrize(
    ("profile_name", "options", "ops"),
    [
        (
            "vercel-keyed-start",
            {"retention": 1, "retention_from": "claim", "duplicate": "conflict-error"},
            [
                O.KeyedStart("wf", 1, "k"),
                O.AdvanceClock(),
                O.AdvanceClock(),
                O.KeyedStart("wf", 2, "k"),
                O.FailRun(1, "boom"),
                O.KeyedStart("wf", 3, "k"),
            ],
        ),
        (
            "vercel-today",
            {"atomic_release": False},
            [
                O.CreateRun("wf", 1),
                O.ClaimHook(1, "h1", "k"),
                O.CompleteRun(1, "r"),
                O.GetHookByToken("k"),
                O.ReleaseHooks(1),
                O.GetHookByToken("k"),
                O.ConsumePayload(1, "h1"),
            ],
        ),
        (
            "vercel-attribute-lookup",
            {"retention": 1},
            [
                O.CreateRun("wf", 1, (("idempotency", "k"),)),
                O.CompleteRun(1, "r"),
                O.ListRuns("wf", "completed", ("idempotency", "k")),
                O.AdvanceClock(),
                O.ListRuns("wf", "completed", ("idempotency", "k")),
                O.ListRuns("wf", None, None),
            ],
        ),
    ],
)
@pytest.mark.parametrize("name", ["memory", "sqlite"])
def test_profile_options_are_honoured(name, profile_name, options, ops):
    profile = make_profile(profile_name, **options)
    want, world = _model(profile, ops)
    got, snapshot = _run(name, profile, ops)
    assert got == want
    assert snapshot == world


def test_claim_retention_and_conflict_error_answers_are_pinned():
    profile = make_profile(
        "vercel-keyed-start", retention=1, retention_from="claim", duplicate="conflict-error"
    )
    got, _ = _run(
        "sqlite",
        profile,
        [
            O.KeyedStart("wf", 1, "k"),
            O.AdvanceClock(),
            O.KeyedStart("wf", 2, "k"),
            O.FailRun(1, "boom"),
            O.KeyedStart("wf", 3, "k"),
        ],
    )
    # live owner: conflict even after the window; ended and past the window: admitted again
    assert got == [
        O.Started(1),
        O.Ok(1),
        O.Error("HookConflictError", 1),
        O.Ok(),
        O.Started(2),
    ]
