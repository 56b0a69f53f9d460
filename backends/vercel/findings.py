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
        # what the script did, in order (do / hold / release / kill), for ``export``: each with
        # the client, the op and, once answered, its Operation index and answer
        self.actions: list[dict[str, Any]] = []

    def _record(self, client: int, op: Any, result: Any, call: int, ret: int | None) -> int:
        from backends.validate.history import Operation

        index = len(self.ops) + 1
        self.ops.append(Operation(index, client, self.key, op, result, call, ret))
        return index

    def do(self, client: int, op: Any) -> Any:
        call = time.monotonic_ns()
        result = self.sessions[client].apply(op)
        index = self._record(client, op, result, call, time.monotonic_ns())
        self.actions.append(
            {"do": "call", "client": client, "op": op, "index": index, "answer": result}
        )
        self.lines.append(f"client {client}: {O.describe(op)} -> {O.describe(result)}")
        return result

    def hold(self, client: int, op: Any, when: str = "before") -> Paused:
        """Start ``op`` and hold it at its first World write (``when`` it)."""
        assert isinstance(self.sessions[client], VercelSession)
        paused = Paused(self.sessions[client], op, when)  # type: ignore[arg-type]
        where = "before" if when == "before" else "after"
        paused.action = {"do": "hold", "client": client, "op": op, "when": where}  # type: ignore[attr-defined]
        self.actions.append(paused.action)  # type: ignore[attr-defined]
        self.lines.append(f"client {client}: {O.describe(op)} ... held {where} its first write")
        return paused

    def release(self, client: int, paused: Paused) -> Any:
        result = paused.release()
        index = self._record(client, paused.op, result, paused.call, paused.ret)
        self.actions.append(
            {"do": "release", "client": client, "op": paused.op, "index": index, "answer": result}
        )
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
        index = self._record(client, paused.op, None, paused.call, None)
        self.actions.append({"do": "kill", "client": client, "op": paused.op, "index": index})
        self.lines.append(f"client {client}: ... killed inside {O.describe(paused.op)}: no answer")

    def history(self) -> list[Any]:
        return sorted(self.ops, key=lambda o: o.call)

    def check(self, budget: float = 10.0) -> Any:
        from backends.validate.faults import renumber
        from backends.validate.linearizability import check_history

        profile = self.backend.profile
        assert profile is not None
        # an answer the profile calls uncertain (vercel-v5: the claim lock's WorkflowWorldError,
        # "may or may not have claimed") is no answer, like a killed client's
        uncertain = getattr(profile, "UNCERTAIN", {})
        history = [
            o._replace(result=None, ret=None)
            if isinstance(o.result, O.Error) and o.result.name in uncertain.get(type(o.op), ())
            else o
            for o in self.history()
        ]
        return check_history(profile, renumber(history), budget)

    def close(self) -> None:
        for session in self.sessions:
            session.close()


HOLDS = "holds"
NOT_REPRODUCED = "does not reproduce"

# the World packages a finding is run on, by the backend that drives them
PACKAGE_BACKENDS = {
    "@workflow/world-local": "vercel-local",
    "@workflow/world-postgres": "vercel-postgres",
    "@workflow-worlds/redis": "vercel-redis",
    "@workflow-worlds/mongodb": "vercel-mongodb",
}


def backend_for(package: str) -> str:
    """The backend that drives ``package`` (a name, name@version, or a directory)."""
    from backends.vercel.worlds import _read_json

    name = package
    if package.startswith((".", "/")) or Path(package).is_dir():
        name = _read_json(Path(package) / "package.json").get("name", package)
    base = "@" + name[1:].split("@")[0] if name.startswith("@") else name.split("@")[0]
    if base in PACKAGE_BACKENDS:
        return PACKAGE_BACKENDS[base]
    raise SystemExit(
        f"repro: cannot tell which backend drives {package} (one of: {', '.join(PACKAGE_BACKENDS)})"
    )


def outcome(result: dict[str, Any]) -> str:
    """A finding holds on a World when its forced interleaving is not linearizable there."""
    from backends.validate.linearizability import NOT_LINEARIZABLE

    return HOLDS if result["verdict"] == NOT_LINEARIZABLE else NOT_REPRODUCED


def run_finding(
    backend_name: str,
    script: Any,
    clients: int = 2,
    package: str | None = None,
    url: str | None = None,
) -> dict[str, Any]:
    """Run ``script(Script) -> dict`` against a fresh ``backend_name`` world (the World
    ``package``, on the store at ``url`` when given) under its semantics (vercel-today, or
    vercel-v5 for the 5.0 betas; ``atomic_release = true``: each op one step) and check the
    recorded history. Returns the script's own facts plus ``steps`` (one line per call),
    ``verdict`` of the checker, ``history`` (the operations) and the World package versions."""
    from backends import make_backend
    from backends.validate import render_ops
    from model.profiles import make_profile

    extra: dict[str, Any] = {}
    if package is not None:
        extra["package"] = package
    if url is not None:
        extra["url"] = url
    backend = make_backend(backend_name, **extra)
    assert isinstance(backend, VercelBackend)
    try:
        backend.start()
        backend.configure(make_profile(backend.profile_name, atomic_release=True))
        backend.reset()
        run = Script(backend, clients)
        try:
            facts = script(run) or {}
            verdict = run.check()
        finally:
            run.close()
    finally:
        backend.close()
    return {
        "backend": backend_name,
        "package": backend.world.name if backend.world else None,
        "version": backend.world.version if backend.world else None,
        "profile": f"{backend.profile_name}(atomic_release=True)",
        "steps": run.lines,
        "verdict": verdict.verdict,
        "history": render_ops(run.history()),
        "results": {name: O.describe(value) for name, value in facts.items()},
        "raw": facts,  # the result values themselves (not JSON)
        "actions": run.actions,  # not JSON either: for backends.vercel.export
        "core": verdict.core,
    }


def finding_main(
    script: Any,
    backends: tuple[str, ...],
    trace_path: Path,
    expected: dict[str, str] | None = None,
) -> None:
    """The command line every finding's ``repro.py`` shares:
    ``repro.py [BACKEND ...] [--package P] [--url U] [--write]`` runs ``script`` on each named
    backend (default: all of ``backends``, their default World packages) or on the World
    ``--package`` names (name, name@version or a directory; its backend inferred), prints the
    steps, the checker's verdict and, from ``expected`` (``"name@version" -> "holds" / "does not
    reproduce"``), whether that is what this finding is known to do there; exit 1 when it is
    not. ``--write`` refreshes ``trace_path`` (atomically, default packages only)."""
    import argparse
    import json

    from catalog.trace import write_atomic

    p = argparse.ArgumentParser(prog=Path(trace_path).parent.name + "/repro.py")
    p.add_argument("backend", nargs="*", help=f"one of {', '.join(backends)} (default: all)")
    p.add_argument("--package", help="the World package: name, name@version or a directory")
    p.add_argument("--url", help="the World's store (a database or server URL)")
    p.add_argument("--write", action="store_true", help="refresh trace.json")
    args = p.parse_args()
    if args.package is not None:
        names = args.backend or [backend_for(args.package)]
    else:
        names = args.backend or list(backends)
    unknown = [n for n in names if n not in backends and args.package is None]
    if unknown:
        raise SystemExit(
            f"repro: unknown backend {unknown[0]!r}; this finding runs on: {', '.join(backends)}"
        )
    try:
        out = {
            name: run_finding(name, script, package=args.package, url=args.url) for name in names
        }
    except BackendUnavailable as exc:
        raise SystemExit(f"repro: {exc}") from None
    mismatch = False
    for name, result in out.items():
        for key in ("raw", "actions", "core"):
            result.pop(key)
        label = f"{result['package']}@{result['version']}"
        got = outcome(result)
        want = (expected or {}).get(label)
        said = (
            "no expectation recorded for this package and version"
            if want is None
            else ("as expected" if want == got else f"UNEXPECTED: expected {want}")
        )
        mismatch |= want is not None and want != got
        print(f"{name} ({label}): {result['verdict']}: the finding {got} ({said})")
        for line in result["steps"]:
            print(f"  {line}")
    if args.write and args.package is None and args.url is None:
        write_atomic(trace_path, json.dumps(out, indent=1) + "\n")
    if mismatch:
        raise SystemExit(1)
