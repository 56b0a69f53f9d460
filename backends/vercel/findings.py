"""The findings' reproductions: ``Script`` forces an interleaving of real World calls by several
sessions and records it as a history; ``run_finding`` runs one on a fresh world and checks it;
``finding_main`` is the command line every ``race-reports/backends/vercel-*/repro.py`` shares."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

from backends.protocol import BackendUnavailable
from backends.vercel.backend import VercelBackend
from backends.vercel.session import Paused, VercelSession
from model import ops as O


class Script:
    """A forced interleaving of real World calls by ``clients`` sessions (separate World
    processes), recorded as a history the linearizability checker reads. Every op concerns one
    key (``key``), so the history is one partition."""

    def __init__(self, backend: VercelBackend, clients: int = 2, key: str = "k") -> None:
        self.backend = backend
        self.key = key
        self.sessions = [backend.session() for _ in range(clients)]
        self.ops: list[Any] = []  # backends.validate.history.Operation
        self.lines: list[str] = []

    def _record(self, client: int, op: Any, result: Any, call: int, ret: int | None) -> None:
        from backends.validate.history import Operation

        self.ops.append(Operation(len(self.ops) + 1, client, self.key, op, result, call, ret))

    def do(self, client: int, op: Any) -> Any:
        call = time.monotonic_ns()
        result = self.sessions[client].apply(op)
        self._record(client, op, result, call, time.monotonic_ns())
        self.lines.append(f"client {client}: {O.describe(op)} -> {O.describe(result)}")
        return result

    def hold(self, client: int, op: Any, when: str = "before") -> Paused:
        """Start ``op`` and hold it at its first World write (``when`` it)."""
        assert isinstance(self.sessions[client], VercelSession)
        paused = Paused(self.sessions[client], op, when)  # type: ignore[arg-type]
        where = "before" if when == "before" else "after"
        self.lines.append(f"client {client}: {O.describe(op)} ... held {where} its first write")
        return paused

    def release(self, client: int, paused: Paused) -> Any:
        result = paused.release()
        self._record(client, paused.op, result, paused.call, paused.ret)
        self.lines.append(f"client {client}: ... {O.describe(paused.op)} -> {O.describe(result)}")
        return result

    def kill(self, client: int, paused: Paused) -> None:
        """SIGKILL the client's World process while ``paused`` is held: it never answers."""
        session = self.sessions[client]
        assert isinstance(session, VercelSession) and session.bridge is not None
        session.bridge.proc.send_signal(signal.SIGKILL)
        try:
            paused.release()
        except BackendUnavailable:
            pass
        self._record(client, paused.op, None, paused.call, None)
        self.lines.append(f"client {client}: ... killed inside {O.describe(paused.op)}: no answer")

    def history(self) -> list[Any]:
        return sorted(self.ops, key=lambda o: o.call)

    def check(self, budget: float = 10.0) -> Any:
        from backends.validate.faults import renumber
        from backends.validate.linearizability import check_history

        assert self.backend.profile is not None
        return check_history(self.backend.profile, renumber(self.history()), budget)

    def close(self) -> None:
        for session in self.sessions:
            session.close()


def run_finding(backend_name: str, script: Any, clients: int = 2) -> dict[str, Any]:
    """Run ``script(Script) -> dict`` against a fresh ``backend_name`` world under vercel-today
    (``atomic_release = true``: each op one step) and check the recorded history. Returns the
    script's own facts plus ``steps`` (one line per call), ``verdict`` of the checker,
    ``history`` (the operations) and the World package versions."""
    from backends import make_backend
    from backends.validate import render_ops
    from model.profiles import make_profile

    backend = make_backend(backend_name)
    assert isinstance(backend, VercelBackend)
    try:
        backend.start()
        backend.configure(make_profile(backend.profile_name, atomic_release=True))
        backend.reset()
        run = Script(backend, clients)
        try:
            facts = script(run) or {}
            verdict = run.check()
            info = next(
                (s.bridge.info for s in run.sessions if isinstance(s, VercelSession) and s.bridge),
                {},
            )
        finally:
            run.close()
    finally:
        backend.close()
    return {
        "backend": backend_name,
        "package": info.get("package"),
        "version": info.get("version"),
        "profile": "vercel-today(atomic_release=True)",
        "steps": run.lines,
        "verdict": verdict.verdict,
        "history": render_ops(run.history()),
        "results": {name: O.describe(value) for name, value in facts.items()},
        "raw": facts,  # the result values themselves (not JSON)
    }


def finding_main(script: Any, backends: tuple[str, ...], trace_path: Path) -> None:
    """The command line every finding's ``repro.py`` shares: ``repro.py [BACKEND ...] [--write]``
    runs ``script`` on each named backend (default: all of ``backends``), prints the steps and the
    checker's verdict, and with ``--write`` refreshes ``trace_path`` (atomically)."""
    import json
    import sys

    from catalog.trace import write_atomic

    names = [a for a in sys.argv[1:] if not a.startswith("--")] or list(backends)
    unknown = [n for n in names if n not in backends]
    if unknown:
        raise SystemExit(
            f"repro: unknown backend {unknown[0]!r}; this finding runs on: {', '.join(backends)}"
        )
    out = {name: run_finding(name, script) for name in names}
    for name, result in out.items():
        result.pop("raw")
        print(f"{name} ({result['package']} {result['version']}): {result['verdict']}")
        for line in result["steps"]:
            print(f"  {line}")
    if "--write" in sys.argv:
        write_atomic(trace_path, json.dumps(out, indent=1) + "\n")
