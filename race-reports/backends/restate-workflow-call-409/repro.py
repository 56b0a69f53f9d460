"""A workflow's run called request-response a second time answers 409, not the original's response.

Run from the repository root: ``.venv/bin/python race-reports/backends/restate-workflow-call-409/repro.py
[--write]``. A throwaway restate-server 1.7.12 on loopback; the workflow ``IdemWf0`` of
``backends/restate/service.py`` (its ``run`` waits for a command, then returns it).
"""

from __future__ import annotations

import json
import sys
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from backends.restate import service as svc
from backends.restate.backend import DAY_TICKS, HttpError, RestateBackend
from model import ops as O
from model.profiles import make_profile


def main() -> None:
    b = RestateBackend()
    steps: list[str] = []
    try:
        b.configure(make_profile("restate", api="workflow-send", retention=DAY_TICKS))
        b.reset()
        s = b.session()
        index = b.service_for("order", "w")
        key = urllib.parse.quote(b.key_of("w"), safe="")
        base = f"{b.ingress}/{svc.workflow_name(index)}/{key}"

        def http(method: str, path: str, body=None) -> str:
            try:
                got = b.http(method, path, body)
                return f"200 {json.dumps(got)}"
            except HttpError as exc:
                return f"{exc.status} {exc.body}"

        steps.append(f"POST /run/send -> {O.describe(s.apply(O.KeyedStart('order', 1, 'w')))}")
        steps.append("POST /run (while running) -> " + http("POST", f"{base}/run", {"request": 2}))
        steps.append(
            "POST /run/send (while running) -> " + http("POST", f"{base}/run/send", {"request": 3})
        )
        steps.append(f"(the body completes) -> {O.describe(s.apply(O.CompleteRun(1, 'done')))}")
        steps.append(
            "POST /run (after completion) -> " + http("POST", f"{base}/run", {"request": 4})
        )
        attach = f"{b.ingress}/restate/workflow/{svc.workflow_name(index)}/{key}/attach"
        steps.append("GET /restate/workflow/<wf>/<key>/attach -> " + http("GET", attach))
    finally:
        b.close()
    for line in steps:
        print(line)
    if "--write" in sys.argv:
        (Path(__file__).parent / "trace.json").write_text(json.dumps(steps, indent=1) + "\n")


if __name__ == "__main__":
    main()
