"""The real Restate handlers the ``restate`` backend deploys (``python -m backends.restate.service
--port PORT``), written with the Python SDK ``restate-sdk`` and served by Hypercorn.

* ``IdemSvc0`` ... ``IdemSvc{POOL-1}``: services with one handler ``run``, called with an
  ``Idempotency-Key`` (profile ``api = "idempotency-key"``); ``IdemWf0`` ...: workflows whose
  ``run`` is the workflow's main handler (``api = "workflow-send"``). The backend gives the model
  workflows that share a key a service each, so Restate's scoping of keys by service is what is
  exercised. Retention is the server's default (1 day) unless ``--retention-seconds`` is given,
  which the retention tests use (``idempotency_retention`` / ``workflow_retention`` on the
  services, the SDK's own settings).
* The body does what the model's client tells it, one command at a time, through awakeables: it
  creates one, publishes its id to the ``IdemRegistry`` virtual object (keyed by the invocation
  id: Restate stores it, any client process reads it) and waits. A command is ``start`` (the
  model's ``StartRun``: acknowledged ``ok`` once, ``conflict`` after), ``complete`` (the handler
  returns the text) or ``fail`` (it raises ``TerminalError`` with the text: Restate stores the
  failure as the invocation's response). Before ending it records which command ended it
  (``ended_by``), so a client can tell whose end Restate stored.
* ``effect`` (the model's ``PerformEffect``) runs a ``ctx.run`` step that appends a line to the
  effect log the endpoint was started with (``--effects FILE``): the journal-replay tests count
  those lines after killing the endpoint mid-invocation.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from datetime import timedelta
from typing import Any

import restate
from restate.exceptions import TerminalError

POOL = 16
REGISTRY = "IdemRegistry"
EFFECTS: list[str] = []  # the effect log file, from --effects


def service_name(index: int) -> str:
    return f"IdemSvc{index}"


def workflow_name(index: int) -> str:
    return f"IdemWf{index}"


registry = restate.VirtualObject(REGISTRY)


@registry.handler()
async def put(ctx: restate.ObjectContext, fields: dict[str, Any]) -> None:
    for name, value in sorted(fields.items()):
        ctx.set(name, value)


@registry.handler(kind="shared")
async def get(ctx: restate.ObjectSharedContext) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in await ctx.state_keys():
        out[name] = await ctx.get(name)
    return out


def _append_effect(line: str) -> str:
    # the effect outside Restate's log (a card charged): one line per execution of the closure
    if EFFECTS:
        with open(EFFECTS[0], "a") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
    return line


async def body(ctx: restate.Context, request: dict[str, Any]) -> str:
    inv = ctx.request().id
    started = False
    effects = 0
    # the invocation's input, for a reader that never saw its admission answered (a snapshot)
    ctx.object_send(put, key=inv, arg={"input": request})
    while True:
        name, command = ctx.awakeable()
        ctx.object_send(put, key=inv, arg={"next": name})
        cmd = await command
        kind, tag = cmd["kind"], cmd["tag"]
        if kind == "start":
            ctx.object_send(put, key=inv, arg={f"ack:{tag}": "conflict" if started else "ok"})
            started = True
            continue
        if kind == "effect":
            effects += 1
            line = f"{inv} {effects}"
            await ctx.run("effect", lambda line=line: _append_effect(line))
            ctx.object_send(put, key=inv, arg={f"ack:{tag}": "ok"})
            continue
        ctx.object_send(put, key=inv, arg={"ended_by": tag})
        if kind == "fail":
            raise TerminalError(cmd["text"])
        return cmd["text"]


def services(retention: timedelta | None) -> list[Any]:
    out: list[Any] = [registry]
    for index in range(POOL):
        svc = restate.Service(service_name(index), idempotency_retention=retention)
        svc.handler("run")(_service_run)
        wf = restate.Workflow(workflow_name(index))
        wf.main("run", workflow_retention=retention)(_workflow_run)
        out += [svc, wf]
    return out


async def _service_run(ctx: restate.Context, request: dict[str, Any]) -> str:
    return await body(ctx, request)


async def _workflow_run(ctx: restate.WorkflowContext, request: dict[str, Any]) -> str:
    return await body(ctx, request)


def main() -> None:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--retention-seconds", type=float, default=None)
    parser.add_argument("--effects", default=None)
    args = parser.parse_args()
    if args.effects:
        EFFECTS.append(args.effects)
    retention = (
        None if args.retention_seconds is None else timedelta(seconds=args.retention_seconds)
    )
    app = restate.app(services(retention))
    config = Config()
    config.bind = [f"127.0.0.1:{args.port}"]
    config.loglevel = "WARNING"
    config.h2_max_concurrent_streams = 1000
    asyncio.run(serve(app, config))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
