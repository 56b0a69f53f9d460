"""``idemrace export-finding SLUG``: a finding as a standalone Node test file (``node:test``) a
World author drops into their own repository and runs against their package with no Python:

    idemrace export-finding vercel-postgres-token-race --package @workflow/world-postgres@4.3.7 -o token-race.test.mjs
    WORKFLOW_POSTGRES_URL=postgres://... node --test token-race.test.mjs

The finding is run once here (on the World ``--package`` names, by default the first one it
holds on) to record its forced interleaving: every call, which client made it, where a call was
held inside its first durable write, and the model's answers for the op whose answer breaks
linearizability (the checker's culprit). The file replays that interleaving on two World
instances in one Node process, holding a call by patching the World's own driver (the bridge's
instrumentation, copied verbatim), and asserts the culprit answers as the model allows: it
fails while the finding holds and passes once the World is fixed. A killed client is a held call
never released (its process gone, from the store's side)."""

from __future__ import annotations

import json
from typing import Any

from backends.protocol import encode
from backends.vercel.bridge import BRIDGE
from model import ops as O


def canon(result: Any) -> str:
    """An answer as the exported test compares it (run ids are the creation order, 1, 2, ...)."""
    if result is None:
        return "none"
    if isinstance(result, O.Error):
        return f"Error({result.name})"
    name = type(result).__name__
    if name == "HookConflict":
        return f"HookConflict({result.owner})"
    if name == "HookInfo":
        return f"HookInfo({result.run_id},{result.hook_id})"
    if name == "RunInfo":
        return f"RunInfo({result.status})"
    if name == "Ok":
        return "Ok" if result.value is None else f"Ok({result.value})"
    return name


def op_json(op: Any) -> dict[str, Any]:
    """The op as the exported test replays it, values pre-encoded as the bridge stores them."""
    out: dict[str, Any] = {"type": type(op).__name__}
    for field, value in op._asdict().items():
        if field in ("request", "output", "payload"):
            out[field] = encode(value)
        elif field == "error":
            out[field] = encode(value)
        else:
            out[field] = value
    if "hook_id" in out:
        out["hook_hex"] = str(out["hook_id"]).encode().hex()
    return out


def _instrumentation() -> str:
    """The bridge's driver patches (fs, pg, ioredis, mongodb), verbatim."""
    src = BRIDGE.read_text()
    start = src.index("// each fault point is")
    end = src.index("// -- requests")
    return src[start:end]


KIND_OF = {
    "vercel-local": "local",
    "vercel-postgres": "postgres",
    "vercel-redis": "redis",
    "vercel-mongodb": "mongodb",
}


def export(slug: str, package: str | None = None) -> str:
    from backends.vercel.findings import HOLDS, backend_for
    from backends.vercel.matrix import load_finding

    module = load_finding(slug)
    expected = getattr(module, "EXPECTED", {})
    if package is None:
        package = next((p for p, v in expected.items() if v == HOLDS), None)
        if package is None:
            raise SystemExit(
                f"export-finding: {slug} holds on no recorded World; name one with --package"
            )
    backend = backend_for(package)
    result = module.reproduce(backend, package=package)
    core = result.get("core")
    actions = result["actions"]
    culprit = None
    allowed: list[str] = []
    if core is not None and core.culprit is not None:
        culprit = core.culprit
        allowed = [canon(a) for a in core.allowed]
        if not allowed and culprit in core.model:
            allowed = [canon(core.model[culprit])]
    steps = []
    for a in actions:
        step = {"do": a["do"], "client": a["client"], "op": op_json(a["op"])}
        if "when" in a:
            step["when"] = a["when"]
        if "index" in a:
            step["index"] = a["index"]
        if "answer" in a:
            step["recorded"] = canon(a["answer"])
        steps.append(step)
    meta = {
        "finding": slug,
        "recorded_on": f"{result['package']}@{result['version']}",
        "verdict": result["verdict"],
        "kind": KIND_OF[backend],
        "package": result["package"],
        "culprit": culprit,
        "allowed": allowed,
        "steps": steps,
    }
    return TEMPLATE.replace("/*META*/", json.dumps(meta, indent=1)).replace(
        "/*INSTRUMENTATION*/", _instrumentation()
    )


TEMPLATE = r"""// A finding of idemrace (race-reports/backends/<finding>/README.md) as a standalone node:test
// file: it replays the finding's forced interleaving of World calls on two World instances and
// asserts the answer the contract requires. It fails while the World has the bug.
//
//   node --test this-file.mjs            (from a folder where the World package is installed)
//
// Environment: WORLD_PACKAGE (default: the package below), WORLD_DIR (the package's directory;
// default node_modules/<package>), and the store: WORKFLOW_POSTGRES_URL (postgres),
// WORKFLOW_REDIS_URI (redis), WORKFLOW_MONGODB_URI (mongodb); world-local uses a temp dir.
// Generated by `idemrace export-finding`; the instrumentation below is the bridge's.

import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const META = /*META*/;

const PACKAGE = process.env.WORLD_PACKAGE ?? META.package;
const here = process.cwd();
const DIR = process.env.WORLD_DIR ?? path.join(here, 'node_modules', PACKAGE);

function oneLine(text) {
  return String(text).split('\n')[0].slice(0, 400);
}
function innermost(err) {
  let e = err;
  while (e && e.cause) e = e.cause;
  return `${(e && (e.code || e.name)) || 'Error'}: ${oneLine(e && e.message)}`;
}
function fatal(message) {
  throw new Error(message);
}

// -- holding a call inside its first durable write --------------------------------------------
let armed = null;
async function faultPoint(when, desc) {
  if (!armed || armed.hit || armed.when !== when) return;
  armed.hit = true;
  armed.reached();
  await armed.go;
}

/*INSTRUMENTATION*/

// -- the World ----------------------------------------------------------------------------------
async function loadWorldModule() {
  const pkg = JSON.parse(await fsp.readFile(path.join(DIR, 'package.json'), 'utf8'));
  const dot = pkg.exports && (pkg.exports['.'] ?? pkg.exports);
  const entry =
    (typeof dot === 'string' ? dot : dot && (dot.import ?? dot.default)) ?? pkg.module ?? pkg.main ?? 'index.js';
  return import(pathToFileURL(path.join(DIR, typeof entry === 'string' ? entry : entry.default)).href);
}

async function makeWorld(mod, dataDir) {
  const f = mod.createWorld ?? mod.createLocalWorld ?? mod.default;
  let world;
  if (META.kind === 'local') {
    world = await f({ dataDir, recoverActiveRuns: false });
    if (world.start) await world.start();
  } else if (META.kind === 'postgres') {
    world = await f({ connectionString: process.env.WORKFLOW_POSTGRES_URL });
  } else if (META.kind === 'redis') {
    world = await f({ redisUrl: process.env.WORKFLOW_REDIS_URI });
  } else {
    world = await f({ mongoUrl: process.env.WORKFLOW_MONGODB_URI, useChangeStreams: false });
  }
  return world;
}

const C = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
function ulid() {
  let v = (BigInt(Date.now()) << 80n) | BigInt(Math.floor(Math.random() * 2 ** 48));
  let s = '';
  for (let i = 25; i >= 0; i--) s += C[Number((v >> BigInt(5 * i)) & 31n)];
  return s;
}
const bytes = (text) => new TextEncoder().encode(text);

function classOf(err) {
  let name = (err && err.constructor && err.constructor.name) || (err && err.name) || 'Error';
  if (typeof err?.status === 'number' && name === 'WorkflowAPIError') {
    name = { 404: /^run\b|workflow run/i.test(err.message) ? 'WorkflowRunNotFoundError' : 'HookNotFoundError', 409: 'EntityConflictError', 410: 'RunExpiredError' }[err.status] ?? name;
  }
  return `Error(${name})`;
}

const runs = [null]; // run number -> runId, in creation order
const corr = (n, o) => `hook_${runs[n].slice(5)}_${o.hook_hex}`;

async function apply(world, o) {
  const sv = world.specVersion;
  const ev = (runId, data) => world.events.create(runId, { specVersion: sv, ...data });
  try {
    switch (o.type) {
      case 'CreateRun': {
        const runId = `wrun_${ulid()}`;
        runs.push(runId);
        await ev(runId, { eventType: 'run_created', eventData: { deploymentId: 'idemrace', workflowName: o.workflow, input: bytes(o.request) } });
        return `Ok(${runs.length - 1})`;
      }
      case 'StartRun':
        await ev(runs[o.run_id], { eventType: 'run_started' });
        return 'Ok';
      case 'CompleteRun':
        await ev(runs[o.run_id], { eventType: 'run_completed', eventData: { output: bytes(o.output) } });
        return 'Ok';
      case 'FailRun':
        await ev(runs[o.run_id], { eventType: 'run_failed', eventData: { error: o.error } });
        return 'Ok';
      case 'CancelRun':
        await ev(runs[o.run_id], { eventType: 'run_cancelled' });
        return 'Ok';
      case 'ClaimHook': {
        const res = await ev(runs[o.run_id], { eventType: 'hook_created', correlationId: corr(o.run_id, o), eventData: { token: o.token } });
        if (res.event?.eventType === 'hook_conflict') {
          let owner = res.event.eventData?.conflictingRunId;
          if (!owner) owner = (await world.hooks.getByToken(o.token).catch(() => null))?.runId;
          return `HookConflict(${Math.max(0, runs.indexOf(owner))})`;
        }
        return 'HookCreated';
      }
      case 'DisposeHook':
        await ev(runs[o.run_id], { eventType: 'hook_disposed', correlationId: corr(o.run_id, o) });
        return 'Ok';
      case 'DeliverPayload':
        await ev(runs[o.run_id], { eventType: 'hook_received', correlationId: corr(o.run_id, o), eventData: { payload: bytes(o.payload) } });
        return 'Ok';
      case 'GetHookByToken': {
        const h = await world.hooks.getByToken(o.token);
        const hex = h.hookId.split('_')[2] ?? '';
        return `HookInfo(${runs.indexOf(h.runId)},${Buffer.from(hex, 'hex').toString()})`;
      }
      case 'GetRun': {
        const r = await world.runs.get(runs[o.run_id], { resolveData: 'none' });
        return `RunInfo(${r.status})`;
      }
      default:
        throw new Error(`the exported test has no replay for ${o.type}`);
    }
  } catch (err) {
    if (/the exported test has no replay/.test(err.message)) throw err;
    return classOf(err);
  }
}

test(`${META.finding} (recorded on ${META.recorded_on}: ${META.verdict})`, async () => {
  instrument(META.kind, DIR);
  const mod = await loadWorldModule();
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'idemrace-finding-'));
  const worlds = [await makeWorld(mod, dataDir), await makeWorld(mod, dataDir)];
  const held = new Map(); // client -> {promise, go}
  const answers = new Map(); // op index -> answer
  for (const step of META.steps) {
    const world = worlds[step.client];
    if (step.do === 'call') {
      answers.set(step.index, await apply(world, step.op));
    } else if (step.do === 'hold') {
      let reached;
      let go;
      const hit = new Promise((r) => (reached = r));
      armed = { hit: false, when: step.when, reached, go: new Promise((r) => (go = r)) };
      const promise = apply(world, step.op);
      await Promise.race([hit, promise]);
      held.set(step.client, { promise, go });
    } else if (step.do === 'release') {
      const h = held.get(step.client);
      h.go();
      answers.set(step.index, await h.promise);
      armed = null;
      held.delete(step.client);
    } else if (step.do === 'kill') {
      armed = null; // the held call never finishes: its process is gone, from the store's side
      held.delete(step.client);
    }
  }
  if (META.culprit !== null) {
    const got = answers.get(META.culprit);
    const step = META.steps.find((s) => s.index === META.culprit);
    assert.ok(
      META.allowed.includes(got),
      `${step.op.type} answered ${got}; the contract allows ${META.allowed.join(' or ')} here (idemrace finding ${META.finding})`,
    );
  }
  for (const w of worlds) {
    try {
      await w.close?.();
    } catch {
      // closing is best effort
    }
  }
});

// some Worlds keep a client connection open (the redis World's module-level ioredis)
after(() => setTimeout(() => process.exit(), 300));
"""
