"""Trace files: a counterexample saved as JSON, replayable with ``idemrace replay``.

A trace records the scenario it came from (where to find it, and a digest of what it meant), the
schedule (the list of actions) and, per step, actor / op / result as rendered text. Replay re-runs
the schedule against the scenario as it is now: a changed scenario is refused, and a step that comes
out differently is reported as model nondeterminism at that step.

Format version 2 (issue 18) changed only the digest: it covers what is explored, not the prose
(``description``, ``why``, ``closed_by``, the recommended ``explorer``), so editing a description no
longer invalidates a scenario's traces. Version 1 traces are still read and compared with the
digest they were made with (every key); a changed scenario is refused either way.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from catalog.parse import scenario_from_dict
from model.ops import describe
from simulator.explorers import CheckResult, Violation
from simulator.scenario import Scenario, ScenarioError

TRACE_FORMAT = "idemrace-trace"
TRACE_VERSION = 2
READABLE_VERSIONS = (1, 2)

# scenario keys that say what a scenario is for, not what is explored: outside the digest
PROSE_KEYS = frozenset({"description", "why", "closed_by", "explorer"})


class TraceError(ValueError):
    """A trace file that cannot be used: unreadable, another format or version, or stale."""


def scenario_digest(scenario: Scenario, version: int = TRACE_VERSION) -> str:
    """The fingerprint a trace of format ``version`` records: of what the scenario explores
    (version 2), or of every key (version 1, ``Scenario.digest``)."""
    if version == 1:
        return scenario.digest
    meaning = {k: v for k, v in scenario.raw.items() if k not in PROSE_KEYS}
    canonical = json.dumps(meaning, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def step_rows(steps) -> list[dict[str, Any]]:
    return [
        {
            "step": k,
            "action": s.label,
            "actor": s.actor,
            "op": describe(s.op),
            "result": describe(s.result),
        }
        for k, s in enumerate(steps, start=1)
    ]


def trace_document(result: CheckResult, violation: Violation) -> dict[str, Any]:
    scenario = result.scenario
    return {
        "format": TRACE_FORMAT,
        "version": TRACE_VERSION,
        "scenario": {
            "name": scenario.name,
            "source": scenario.source,
            "digest": scenario_digest(scenario),
            "definition": scenario.raw,
        },
        "explorer": result.explorer,
        "seed": result.seed,
        "property": violation.property,
        "message": violation.message,
        "schedule": list(violation.schedule),
        "steps": step_rows(violation.steps),
    }


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600; give the file the mode a plain open() would (0666 - umask)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_trace(path: Path, document: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")


def load_trace(path: str | Path) -> dict[str, Any]:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TraceError(f"{path}: no such trace file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TraceError(f"{path}: not a readable JSON trace: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != TRACE_FORMAT:
        raise TraceError(f'{path}: not an idemrace trace (no "format": "{TRACE_FORMAT}")')
    if document.get("version") not in READABLE_VERSIONS:
        raise TraceError(
            f"{path}: trace format version {document.get('version')!r}; this idemrace reads "
            f"versions {', '.join(map(str, READABLE_VERSIONS))}: re-run "
            "`idemrace check --trace-out` to record it again"
        )
    try:
        schedule = document["schedule"]
        steps = document["steps"]
        scenario = document["scenario"]
        scenario["name"], scenario["digest"], scenario["definition"]
        document["property"]
        if not all(isinstance(a, str) for a in schedule):
            raise TypeError("schedule")
        for row in steps:
            row["actor"], row["op"], row["result"]
    except (KeyError, TypeError) as exc:
        raise TraceError(f"{path}: trace is missing or has a malformed field: {exc}") from None
    if len(steps) != len(schedule):
        # every step is checked against its recorded answer; a trace with fewer steps than
        # actions would replay unchecked actions and could "reproduce" what it never showed
        raise TraceError(
            f"{path}: the trace records {len(steps)} steps for a schedule of {len(schedule)} "
            "actions; it is truncated or edited: re-run `idemrace check --trace-out`"
        )
    return document


def resolve_scenario(document: dict[str, Any], path: str | Path) -> tuple[Scenario, str]:
    """The scenario a trace belongs to, as it is now, and a note on where it came from.

    The recorded source (catalog name or file) is read again; if it now means something else the
    trace is refused. If the source is gone, the definition embedded in the trace is used."""
    from catalog import ScenarioNotFound, load_scenario

    recorded = document["scenario"]
    try:
        scenario = load_scenario(recorded["source"])
    except ScenarioNotFound:
        try:
            scenario = scenario_from_dict(recorded["definition"], f"{path} (embedded scenario)")
        except ScenarioError as exc:
            raise TraceError(f"{path}: the embedded scenario no longer loads: {exc}") from None
        note = (
            f"scenario source {recorded['source']} not found; used the copy embedded in the trace"
        )
    except ScenarioError as exc:
        # the source is there but no longer loads: say so (falling back to the embedded copy
        # would replay something the file no longer says)
        raise TraceError(
            f"{path}: the trace's scenario source {recorded['source']} is malformed now: {exc}"
        ) from None
    else:
        note = f"scenario {recorded['source']}"
    now = scenario_digest(scenario, document["version"])
    if now != recorded["digest"]:
        older = (
            " (a format version 1 trace: its digest covers the prose too)"
            if document["version"] == 1
            else ""
        )
        raise TraceError(
            f"{path}: scenario {recorded['name']!r} has changed since this trace was recorded "
            f"(digest {recorded['digest']}, now {now}){older}; re-run `idemrace check` "
            "to record a new trace"
        )
    return scenario, note
