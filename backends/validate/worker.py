"""A client in its own process, for the kill fault: ``python -m backends.validate.worker SPEC``.

SPEC (JSON): the store (``Backend.client_spec()``), the profile and options, keys, client
number, how many operations, the seed, ``kill_at`` (SIGKILL ourselves inside that write
transaction, after its writes, before its commit) and ``out`` (the record file). Each call and
each return is appended to ``out`` as a pickle and flushed before the next step, so the parent
knows exactly which operation was in flight when the process died.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import sys
import time

from backends import from_spec
from backends.protocol import BackendUnavailable
from backends.validate.workload import Knowledge, Workload
from model.profiles import make_profile


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    profile = make_profile(spec["profile"], **spec["options"])
    backend = from_spec(spec["backend"])
    backend.configure(profile)
    backend.start()
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

        for i in range(1, spec["ops"] + 1):
            key, op = work.next_op(knowledge)
            record(("call", i, spec["client"], key, op, time.monotonic_ns()))
            try:
                result = session.apply(op)
            except BackendUnavailable:
                continue  # no response: stays a call without a return
            record(("ret", i, result, time.monotonic_ns()))
            knowledge.learn(key, result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
