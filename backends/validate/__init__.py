"""The three validations of a backend against the model, each reported separately.

1. ``differential``: explorer schedules replayed step by step (``differential.py``);
2. ``concurrent``: N client threads at once, the history checked for linearizability per key
   against the model (``workload.py``, ``linearizability.py``);
3. ``faults``: kill a client, drop a connection, restart the store (``faults.py``).

``validate`` runs the chosen ones and returns a JSON-able report; a mode's verdict is
``conformant``, ``discrepancy`` or ``unknown`` (the linearizability budget ran out: never a pass).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backends.protocol import Backend, BackendError
from backends.validate.history import Operation
from backends.validate.linearizability import LINEARIZABLE, NOT_LINEARIZABLE, check_history
from model.profiles import make_profile
from model.profiles.base import Profile

CONFORMANT, DISCREPANCY, UNKNOWN = "conformant", "discrepancy", "unknown"
# the backend offers nothing this mode can exercise (no fault it can inject): neither a pass
# nor a failure, and shown as such
NOT_APPLICABLE = "not applicable"
MODES = ("differential", "concurrent", "faults")


@dataclass
class Settings:
    clients: int = 4
    ops: int = 400
    keys: int = 3
    seed: int = 0
    budget: float = 30.0  # seconds for the linearizability search of one history
    bfs_states: int = 100
    walks: int = 10
    modes: tuple[str, ...] = MODES
    workdir: Path | None = None
    timeline: Path | None = None  # draw the failing partition here (PNG)


@dataclass
class Report:
    backend: str
    modes: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        verdicts = [m["verdict"] for m in self.modes.values() if m["verdict"] != NOT_APPLICABLE]
        if not verdicts:
            return UNKNOWN  # nothing was checked: never a pass
        if DISCREPANCY in verdicts:
            return DISCREPANCY
        if UNKNOWN in verdicts:
            return UNKNOWN
        return CONFORMANT

    def to_json(self) -> dict[str, Any]:
        return {"backend": self.backend, "verdict": self.verdict, **self.modes}


def concurrent_profile(backend: Backend) -> Profile:
    for name, options in backend.CONCURRENT_PROFILES:
        profile = make_profile(name, **options)
        if backend.supports(profile):
            return profile
    raise BackendError(f"{backend.name}: supports no profile the concurrent workload uses")


def concurrent_profiles(backend: Backend) -> list[Profile]:
    """The profiles the concurrent mode runs under: the first supported one, or every supported
    one when the backend asks for it (``Backend.CONCURRENT_ALL``: a real system whose settings
    each decide admission differently, such as Temporal's conflict x reuse policies)."""
    if not backend.CONCURRENT_ALL:
        return [concurrent_profile(backend)]
    profiles = [make_profile(name, **options) for name, options in backend.CONCURRENT_PROFILES]
    chosen = [p for p in profiles if backend.supports(p)]
    if not chosen:
        raise BackendError(f"{backend.name}: supports no profile the concurrent workload uses")
    return chosen


def _merge_concurrent(outs: list[dict[str, Any]]) -> dict[str, Any]:
    """One concurrent entry for several profiles: the worst verdict, operations and partitions
    summed, the first failure; ``profiles`` keeps each profile's own summary."""
    order = (DISCREPANCY, UNKNOWN, CONFORMANT)
    worst = min(outs, key=lambda o: order.index(o["verdict"]))
    merged = dict(worst)
    merged["profile"] = "; ".join(o["profile"] for o in outs)
    merged["operations"] = sum(o["operations"] for o in outs)
    merged["partitions"] = [p for o in outs for p in o["partitions"]]
    merged["check_seconds"] = round(sum(o["check_seconds"] for o in outs), 3)
    merged["profiles"] = [
        {k: o[k] for k in ("profile", "verdict", "linearizability", "operations", "check_seconds")}
        for o in outs
    ]
    return merged


def render_ops(ops: list[Operation] | tuple[Operation, ...]) -> list[dict[str, Any]]:
    from backends.validate.timeline import label

    t0 = min((o.call for o in ops), default=0)
    return [
        {
            "client": o.client,
            "call_us": (o.call - t0) // 1000,
            "return_us": None if o.ret is None else (o.ret - t0) // 1000,
            "operation": label(o),
        }
        for o in sorted(ops, key=lambda o: o.index)
    ]


def _history_json(verdict, profile: Profile, settings: Settings, n_ops: int) -> dict[str, Any]:
    mode = {
        LINEARIZABLE: CONFORMANT,
        NOT_LINEARIZABLE: DISCREPANCY,
    }.get(verdict.verdict, UNKNOWN)
    out: dict[str, Any] = {
        "verdict": mode,
        "linearizability": verdict.verdict,
        "profile": repr(profile),
        "operations": n_ops,
        "partitions": [
            {
                "key": r.key,
                "operations": r.operations,
                "verdict": r.verdict,
                "search_steps": r.explored,
            }
            for r in verdict.partitions
        ],
        "check_seconds": round(verdict.seconds, 3),
        "problem": verdict.problem,
    }
    if verdict.failing is not None:
        out["failing_partition"] = {
            "key": verdict.failing.key,
            "operations": render_ops(verdict.failing.ops),
        }
        if settings.timeline is not None:
            from backends.validate.timeline import render_timeline

            render_timeline(
                verdict.failing.ops,
                f"not linearizable: key {verdict.failing.key} ({len(verdict.failing.ops)} ops)",
                settings.timeline,
            )
            out["timeline"] = str(settings.timeline)
    return out


def validate(backend: Backend, settings: Settings) -> Report:
    """Run the chosen validations against a started backend."""
    from backends.validate.differential import differential
    from backends.validate.faults import faults
    from backends.validate.workload import run_concurrent

    report = Report(backend.name)
    if "differential" in settings.modes:
        result = differential(
            backend, bfs_states=settings.bfs_states, walks=settings.walks, seed=settings.seed
        )
        replayed = result.schedules - result.skipped_schedules
        if not result.conformant:
            verdict = DISCREPANCY
        elif replayed == 0:
            verdict = NOT_APPLICABLE  # no catalog schedule uses only ops this backend performs
        else:
            verdict = CONFORMANT
        report.modes["differential"] = {
            "verdict": verdict,
            "scenarios": len(result.scenarios),
            "skipped_scenarios": result.skipped,
            "schedules": result.schedules,
            "skipped_schedules": result.skipped_schedules,
            "unsupported_ops": sorted(result.unsupported_ops),
            "final_state_compared": result.final_state_compared,
            "steps": result.steps,
            "backend_operations": result.backend_ops,
            "seconds": round(result.seconds, 3),
            "divergence": None if result.divergence is None else result.divergence.to_json(),
        }
    if "concurrent" in settings.modes:
        outs = []
        for profile in concurrent_profiles(backend):
            history = run_concurrent(
                backend,
                profile,
                clients=settings.clients,
                ops=settings.ops,
                keys=settings.keys,
                seed=settings.seed,
            )
            verdict = check_history(profile, history, settings.budget)
            out = _history_json(verdict, profile, settings, len(history))
            out["clients"] = settings.clients
            outs.append(out)
        report.modes["concurrent"] = outs[0] if len(outs) == 1 else _merge_concurrent(outs)
    if "faults" in settings.modes:
        profile = concurrent_profile(backend)
        cases = faults(
            backend,
            profile,
            clients=min(settings.clients, 4),
            ops=min(settings.ops, 80),
            keys=settings.keys,
            seed=settings.seed,
            budget=settings.budget,
            workdir=settings.workdir,
        )
        verdicts = [c.verdict for c in cases]
        if not cases:
            mode = NOT_APPLICABLE
        elif any(not c.conformant and c.verdict != "unknown" for c in cases):
            mode = DISCREPANCY
        elif "unknown" in verdicts:
            mode = UNKNOWN
        else:
            mode = CONFORMANT
        entries = []
        for c in cases:
            entry = c.to_json()
            if c.history is not None and c.history.failing is not None:
                entry["failing_partition"] = {
                    "key": c.history.failing.key,
                    "operations": render_ops(c.history.failing.ops),
                }
            entries.append(entry)
        report.modes["faults"] = {"verdict": mode, "cases": entries}
    return report
