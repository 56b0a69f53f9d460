"""A client in its own process, for the kill fault: ``python -m backends.validate.worker SPEC``.

SPEC (JSON): the store (``Backend.client_spec()``), the profile and options, keys, client
number, how many operations, the seed, ``kill_at`` (SIGKILL ourselves inside that write
transaction, after its writes, before its commit), ``out`` (the record file) and ``path`` (the
driver's folders user code is found from, absolute). Each call and each return is appended to
``out`` as a pickle and flushed before the next step, so the parent knows exactly which operation
was in flight when the process died.

The worker runs in the driver's folder with idemrace's own packages first on ``sys.path``; user
code (``mymodule:MyBackend``) is found through ``path`` (every folder the driver imports from) and
an absolute PYTHONPATH (``spawn``), as in the driver. A worker that cannot load the backend, or that
finished without reaching its ``kill_at``-th fault point, exits with its own code and one line on
stderr, and ``explain_exit`` turns that into the message the run reports (issue 16: both used to
read "the client process did not die").
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# exit codes of a worker that did not die where it should have
EXIT_CANNOT_LOAD = 3  # the backend class (or its store) could not be loaded in this process
EXIT_NO_FAULT_POINT = 4  # every operation ran and the kill_at-th fault point never came

ROOT = Path(__file__).resolve().parents[2]  # idemrace's own folder: ours win on sys.path


def _absolute(entries: list[str]) -> list[str]:
    out: list[str] = []
    for entry in entries:
        absolute = str(Path(entry or ".").resolve())
        if absolute not in out:
            out.append(absolute)
    return out


def user_paths() -> list[str]:
    """The driver's folders user code is found from, absolute: PYTHONPATH's entries (relative
    ones resolved against the driver's working directory, as the driver resolved them) and the
    working directory itself (``model.registry.ensure_user_path``)."""
    return _absolute([e for e in os.environ.get("PYTHONPATH", "").split(os.pathsep) if e] + [""])


def spawn(spec: dict[str, Any]) -> subprocess.Popen:
    """Start a worker for ``spec``, stderr captured as text. The worker's PYTHONPATH is the
    driver's made absolute, and ``path`` (appended to the worker's ``sys.path``, after ours) is
    every folder the driver imports from, so a class the driver loaded loads there too."""
    paths = user_paths()
    spec = {**spec, "path": _absolute([*paths, *(p for p in sys.path if p and Path(p).is_dir())])}
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(paths)
    # in the driver's folder (relative paths and messages mean what they meant there), with our
    # own packages first on sys.path: ``-m`` would put that folder first instead
    boot = (
        "import runpy, sys; sys.path[0] = sys.argv.pop(1); "
        "runpy.run_module('backends.validate.worker', run_name='__main__')"
    )
    return subprocess.Popen(
        [sys.executable, "-c", boot, str(ROOT), json.dumps(spec)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )


def explain_exit(returncode: int, stderr: str) -> str:
    """The one-line reason a worker did not die mid-transaction (for ``BackendError``)."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    if returncode == EXIT_CANNOT_LOAD:
        return f"kill: the client process cannot load the backend: {last}"
    if returncode == EXIT_NO_FAULT_POINT:
        return f"kill: {last}"
    return (
        f"kill: the client process did not die mid-transaction (exit {returncode}"
        + (f": {last}" if last else "")
        + ")"
    )


def admission(profile: Any, key: str, request: int) -> Any:
    """A fresh admission of ``key``: a write transaction on any conforming store."""
    from backends.validate.history import workflow_of
    from model import ops as O

    if profile.supports(O.KeyedStart):
        return O.KeyedStart(workflow_of(key), request, key)
    return O.CreateRun(workflow_of(key), request)


def wait_for_go(go: str, interval: float = 0.0002) -> dict[str, Any]:
    """Say ready, then wait for the go file (written atomically by the driver, ``faults``, at
    the barrier before the burst) and return what it says: the key and request of the admission
    to contend with."""
    go_path = Path(go)
    go_path.with_suffix(".ready").touch()
    while not go_path.exists():
        time.sleep(interval)
    return json.loads(go_path.read_text())


def _fail(code: int, message: str) -> int:
    print(" ".join(message.split()), file=sys.stderr)
    return code


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    for entry in spec.get("path", ()):
        if entry not in sys.path:
            sys.path.append(entry)  # after our own packages, as in the driver
    from backends import from_spec
    from backends.protocol import BackendError, BackendUnavailable
    from backends.validate.history import answer
    from backends.validate.workload import Knowledge, Workload
    from model.profiles import make_profile

    try:
        profile = make_profile(spec["profile"], **spec["options"])
        backend = from_spec(spec["backend"])
        backend.configure(profile)
        backend.start()
    except (BackendError, BackendUnavailable) as exc:
        return _fail(EXIT_CANNOT_LOAD, str(exc) or type(exc).__name__)
    except Exception as exc:  # the user's class raised while being built: say what, in one line
        return _fail(EXIT_CANNOT_LOAD, f"{type(exc).__name__}: {exc}")
    writes = [0]

    def fault_point(_session, _name) -> None:
        writes[0] += 1
        if writes[0] == spec["kill_at"]:
            os.kill(os.getpid(), signal.SIGKILL)

    backend.fault_point = fault_point
    session = backend.session()
    # only the operations the backend performs (``Backend.OPS``), as the threads draw them
    work = Workload(spec["client"], spec["keys"], spec["seed"], profile, backend.OPS)
    knowledge = Knowledge()
    with open(spec["out"], "ab") as out:

        def record(item) -> None:
            pickle.dump(item, out)
            out.flush()

        if spec.get("go"):
            # started ahead (issue 16): wait for the driver, then contend in the threads' burst
            go = wait_for_go(spec["go"])
            op = admission(profile, go["key"], go["request"])
            record(("call", 0, spec["client"], go["key"], op, time.monotonic_ns()))
            try:
                result = answer(session, op)
                record(("ret", 0, result, time.monotonic_ns()))
                knowledge.learn(go["key"], result)
            except BackendUnavailable:
                pass  # no response: stays a call without a return
        for i in range(1, spec["ops"] + 1):
            key, op = work.next_op(knowledge)
            record(("call", i, spec["client"], key, op, time.monotonic_ns()))
            try:
                result = answer(session, op)
            except BackendUnavailable:
                continue  # no response: stays a call without a return
            record(("ret", i, result, time.monotonic_ns()))
            knowledge.learn(key, result)
        # Still alive: the workload's operations were all read-only answers (under load the
        # worker can start after the threads ended every run, so its starts meet held keys and its
        # completions ended runs; about 1 run in 20 under load, which used to exit 2). Admissions
        # on keys of its own are write transactions, so the kill still lands in one.
        for n in range(1, 4 * spec["kill_at"] + 1):
            key = f"victim-c{spec['client']}-{n}"
            op = admission(profile, key, 8_000_000 + n)
            record(("call", spec["ops"] + n, spec["client"], key, op, time.monotonic_ns()))
            try:
                result = answer(session, op)
            except BackendUnavailable:
                continue
            record(("ret", spec["ops"] + n, result, time.monotonic_ns()))
    return _fail(
        EXIT_NO_FAULT_POINT,
        f"{backend.name}: {spec['ops']} operations and admissions ran and only {writes[0]} called "
        f"Backend.fault_point (the kill lands at call {spec['kill_at']}): the backend does not "
        "call fault_point inside its write transactions",
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
