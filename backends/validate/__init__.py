"""The three validations of a backend against the model, each reported separately.

1. ``differential``: explorer schedules replayed step by step (``differential.py``);
2. ``concurrent``: N client threads at once, the history checked for linearizability per key
   against the model (``workload.py``, ``linearizability.py``);
3. ``faults``: kill a client, drop a connection, restart the store (``faults.py``).

``validate`` runs the chosen ones and returns a JSON-able report; a mode's verdict is
``conformant``, ``discrepancy`` or ``unknown`` (the linearizability budget ran out: never a pass).
A check that could not run (a fault that needs ``Backend.fault_point`` from a backend that calls
none, a mode with nothing to exercise) is listed in ``Report.not_run``, which the verdict line
names. A real backend's interleavings differ from run to run, so ``Settings.rounds`` runs the
modes again (seed, seed + 1, ...), reports how many rounds ran and in which a discrepancy showed,
and ``until_found`` stops at the first one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backends.protocol import Backend, BackendError
from backends.validate.history import Observe, Operation
from backends.validate.linearizability import (
    LINEARIZABLE,
    NOT_LINEARIZABLE,
    Core,
    HistoryVerdict,
    check_history,
)
from model import ops as O
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
    rounds: int = 1  # run the modes this many times (seed, seed + 1, ...)
    until_found: bool = False  # stop at the first round with a discrepancy


# the faults that land inside a write transaction, through the backend's ``fault_point`` calls
NEEDS_FAULT_POINT = ("kill", "drop")


@dataclass
class Report:
    backend: str
    modes: dict[str, dict[str, Any]] = field(default_factory=dict)
    # checks that could not run, one line each ("faults kill: ...")
    not_run: list[str] = field(default_factory=list)
    # rounds: how many ran, of how many asked for, and the ones with a discrepancy
    rounds: dict[str, Any] = field(default_factory=lambda: {"run": 1, "of": 1, "found_in": []})

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

    def verdict_line(self) -> str:
        """``verdict: conformant`` and, when some checks could not run, which."""
        line = f"verdict: {self.verdict}"
        if self.not_run:
            line += f" (not run: {'; '.join(self.not_run)})"
        return line

    def to_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "verdict": self.verdict,
            "not_run": self.not_run,
            "rounds": self.rounds,
            **self.modes,
        }


def _peer_profiles(backend: Backend) -> list[Profile]:
    """The backend's own profiles at their defaults, for a backend none of whose
    ``CONCURRENT_PROFILES`` it supports (one that keeps only a peer profile, such as Temporal's):
    it gets a concurrent history under what it does support rather than no verdict."""
    out = []
    for name in backend.PROFILES:
        try:
            profile = make_profile(name)
        except (KeyError, ValueError):
            continue  # a name the model does not know: configure() will say so elsewhere
        if backend.supports(profile):
            out.append(profile)
    return out


def concurrent_profile(backend: Backend) -> Profile:
    for name, options in backend.CONCURRENT_PROFILES:
        profile = make_profile(name, **options)
        if backend.supports(profile):
            return profile
    peers = _peer_profiles(backend)
    if peers:
        return peers[0]
    raise BackendError(f"{backend.name}: supports no profile the concurrent workload uses")


def concurrent_profiles(backend: Backend) -> list[Profile]:
    """The profiles the concurrent mode runs under: the first supported one, or every supported
    one when the backend asks for it (``Backend.CONCURRENT_ALL``: a real system whose settings
    each decide admission differently, such as Temporal's conflict x reuse policies). A backend
    that keeps the protocol's default list gets every profile and declared option value
    (``workload.concurrent_variants``)."""
    from backends.validate.workload import concurrent_variants

    variants = concurrent_variants(backend)
    if variants:
        return variants
    if not backend.CONCURRENT_ALL:
        return [concurrent_profile(backend)]
    profiles = [make_profile(name, **options) for name, options in backend.CONCURRENT_PROFILES]
    chosen = [p for p in profiles if backend.supports(p)] or _peer_profiles(backend)
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


def render_ops(
    ops: list[Operation] | tuple[Operation, ...], core: Core | None = None
) -> list[dict[str, Any]]:
    """Rows for the report (``operation`` in ``describe``'s stable text, as trace files keep it);
    with a ``core``, each row also has ``label`` (fields named, for the text report), what the
    model answered in its linearization (``model``, ``model_label``), and the culprit row is
    marked (``breaks``)."""
    from backends.validate.timeline import label, readable, readable_label

    t0 = min((o.call for o in ops), default=0)
    rows = []
    for o in sorted(ops, key=lambda o: o.index):
        row: dict[str, Any] = {
            "client": o.client,
            "call_us": (o.call - t0) // 1000,
            "return_us": None if o.ret is None else (o.ret - t0) // 1000,
            "operation": label(o),
        }
        if core is not None:
            row["label"] = readable_label(o)
            row["breaks"] = o.index == core.culprit
            if o.index in core.model and type(o.op) is not Observe:
                row["model"] = O.describe(core.model[o.index])
                row["model_label"] = readable(core.model[o.index])
        rows.append(row)
    return rows


def failing_json(verdict: HistoryVerdict) -> dict[str, Any] | None:
    """The failing partition as the report shows it: its minimal non-linearizable core (the op
    that breaks it marked, the model's answers beside the backend's)."""
    if verdict.failing is None:
        return None
    core = verdict.core
    if core is None:
        return {"key": verdict.failing.key, "operations": render_ops(verdict.failing.ops)}
    from backends.validate.timeline import readable

    return {
        "key": core.key,
        "core_of": core.of,
        "operations": render_ops(core.ops, core),
        "allowed": [O.describe(a) for a in core.allowed],
        "allowed_labels": [readable(a) for a in core.allowed],
        "observed_diff": core.observed_diff,
        "minimal": core.minimal,
    }


def draw_core(verdict: HistoryVerdict, path: Path, where: str = "") -> None:
    from backends.validate.timeline import render_timeline

    core = verdict.core
    if core is not None:
        title = (
            f"{where}not linearizable: key {core.key}, a minimal core of {len(core.ops)} of "
            f"{core.of} operations"
            + (" (no one can be dropped)" if core.minimal else " (shrinking ran out of budget)")
        )
        render_timeline(
            core.ops, title, path, culprit=core.culprit, model=core.model, allowed=core.allowed
        )
    elif verdict.failing is not None:
        failing = verdict.failing
        render_timeline(
            failing.ops,
            f"{where}not linearizable: key {failing.key} ({len(failing.ops)} ops)",
            path,
        )


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
        out["failing_partition"] = failing_json(verdict)
        if settings.timeline is not None:
            draw_core(verdict, settings.timeline)
            out["timeline"] = str(settings.timeline)
    return out


Progress = Callable[[str, dict[str, Any]], None]


def validate(
    backend: Backend,
    settings: Settings,
    on_mode: Progress | None = None,
    on_round: Callable[[int, int], None] | None = None,
) -> Report:
    """Run the chosen validations against a started backend, ``settings.rounds`` times (stopping
    at the first discrepancy with ``until_found``). ``on_mode(name, entry)`` is called as each
    mode finishes, ``on_round(r, seed)`` as each round begins, so a caller can print verdicts as
    they come. The report holds the first round with a discrepancy (or the last round)."""
    from dataclasses import replace

    rounds = max(1, settings.rounds)
    reports: list[tuple[int, Report]] = []
    for r in range(1, rounds + 1):
        seed = settings.seed + r - 1
        if on_round is not None:
            on_round(r, seed)
        found = any(rep.verdict == DISCREPANCY for _s, rep in reports)
        # the picture is of the first round with a discrepancy, the one the report shows
        this = replace(settings, seed=seed, timeline=None if found else settings.timeline)
        reports.append((seed, validate_once(backend, this, on_mode)))
        if settings.until_found and reports[-1][1].verdict == DISCREPANCY:
            break
    found_in = [r for r, (_s, rep) in enumerate(reports, 1) if rep.verdict == DISCREPANCY]
    # the report shown: the first round with a discrepancy, else the first unknown one (never
    # hidden behind a conformant round), else the last
    unknown = [r for r, (_s, rep) in enumerate(reports, 1) if rep.verdict == UNKNOWN]
    shown = (found_in or unknown or [len(reports)])[0]
    seed, report = reports[shown - 1]
    report.rounds = {
        "run": len(reports),
        "of": rounds,
        "until_found": settings.until_found,
        "found_in": found_in,
        "shown": shown,
        "seed": seed,
    }
    return report


def _faults_mode(backend: Backend, settings: Settings, report: Report) -> dict[str, Any]:
    """Each fault the backend declares, on its own: a fault that lands inside a write transaction
    needs the backend to call ``fault_point`` there (``Backend.FAULT_POINTS``); without it that
    fault is not run and says so, rather than being faked by a restart between operations."""
    from backends.validate.faults import FAULT_KINDS, faults

    profile = concurrent_profile(backend)
    declared = [k for k in FAULT_KINDS if k in backend.FAULTS]
    hookless = [k for k in declared if k in NEEDS_FAULT_POINT and not backend.FAULT_POINTS]
    if hookless:
        report.not_run.append(
            f"faults {' and '.join(hookless)}: {backend.name} calls no Backend.fault_point inside "
            "its write transactions (set FAULT_POINTS = True once it does)"
        )
    kinds = tuple(k for k in declared if k not in hookless)
    cases = (
        faults(
            backend,
            profile,
            # the default run's size (4 clients, 80 operations), growing with --clients / --ops
            clients=settings.clients,
            ops=max(min(settings.ops, 80), settings.ops // 5),
            keys=settings.keys,
            seed=settings.seed,
            budget=settings.budget,
            kinds=kinds,
            workdir=settings.workdir,
        )
        if kinds
        else []
    )
    verdicts = [c.verdict for c in cases]
    if not cases:
        mode = NOT_APPLICABLE
        if not declared:
            report.not_run.append(f"faults: {backend.name} declares none it can inject (FAULTS)")
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
            entry["failing_partition"] = failing_json(c.history)
            drawn = any("timeline" in e for e in entries) or "timeline" in report.modes.get(
                "concurrent", {}
            )
            if settings.timeline is not None and not drawn:
                # no concurrent failure was drawn: the picture is of this fault's core
                draw_core(c.history, settings.timeline, f"{c.kind}: ")
                entry["timeline"] = str(settings.timeline)
        if c.kind == "restart" and not backend.FAULT_POINTS:
            entry["note"] = "restarted between operations (no fault_point: not mid-transaction)"
        entries.append(entry)
    return {"verdict": mode, "cases": entries, "not_run": hookless}


def validate_once(backend: Backend, settings: Settings, on_mode: Progress | None = None) -> Report:
    """One round of the chosen validations."""
    from backends.validate.differential import differential
    from backends.validate.workload import run_concurrent

    def done(name: str) -> None:
        if on_mode is not None:
            on_mode(name, report.modes[name])

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
            report.not_run.append(
                f"differential: no catalog schedule uses only operations {backend.name} performs"
            )
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
            "transitions_covered": result.transitions_covered,
            "transitions_explored": result.transitions_explored,
            "seconds": round(result.seconds, 3),
            "divergence": None if result.divergence is None else result.divergence.to_json(),
        }
        done("differential")
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
            if out["verdict"] == DISCREPANCY:
                break  # decided: the other profiles' histories would repeat the shrinking's cost
        report.modes["concurrent"] = outs[0] if len(outs) == 1 else _merge_concurrent(outs)
        done("concurrent")
    if "faults" in settings.modes:
        report.modes["faults"] = _faults_mode(backend, settings, report)
        done("faults")
    return report
