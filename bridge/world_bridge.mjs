#!/usr/bin/env node
// JSON-lines bridge from idemrace (Python) to a Vercel Workflow World package.
//
//   node world_bridge.mjs --kind local --data-dir DIR [--package NAME_OR_PATH]
//   node world_bridge.mjs --kind postgres --url postgres://... [--package NAME_OR_PATH]
//
// One request line on stdin -> one response line on stdout, ids echoed:
//   {"id": 1, "call": "events.create", "args": [runId, data, params]}
//   -> {"id": 1, "ok": <the World's return value>}
//   -> {"id": 1, "error": {"name": "EntityConflictError", "message": "..."}}
// The first line written is {"ready": true, "package": ..., "version": ...} once the World is
// constructed (and, for world-local, started), or {"fatal": "one line"} before exit 2.
//
// Values that JSON cannot carry are tagged both ways: {"$bytes": "utf-8 text"} is a Uint8Array
// (run input, outputs, hook payloads are byte arrays in the World's current spec) and a Date
// comes back as {"$date": "ISO"}.
//
// Fault points. A request with "arm": "after" is paused right after its first durable write
// (world-local: the first rename/link/unlink of a data file; world-postgres: the first
// INSERT/UPDATE/DELETE statement), with "arm": "before" right before it (after the reads the
// World validates with): the bridge writes {"id": n, "point": "after-first-write"} (or
// "before-first-write") and waits for {"id": n, "go": true}. If stdin closes while it waits (the client process was
// killed), the bridge SIGKILLs itself there, so the World's operation dies half done, as a
// World process killed between two writes would.
//
// We never call start() on world-postgres: it starts the graphile-worker job queue, which
// would re-run leftover runs. world-local's start() only prepares the data directory
// (recoverActiveRuns: false).

import { promises as fsp } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';

const DEFAULT_PACKAGES = {
  local: '@workflow/world-local',
  postgres: '@workflow/world-postgres',
};

function parseArgs(argv) {
  const out = { kind: 'local' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === '--kind') out.kind = value;
    else if (flag === '--package') out.package = value;
    else if (flag === '--data-dir') out.dataDir = value;
    else if (flag === '--url') out.url = value;
    else {
      fatal(`unknown argument ${flag}`);
    }
    i++;
  }
  if (!(out.kind in DEFAULT_PACKAGES)) fatal(`--kind must be local or postgres, not ${out.kind}`);
  out.package ??= DEFAULT_PACKAGES[out.kind];
  return out;
}

function oneLine(text) {
  return String(text).split('\n')[0].slice(0, 400);
}

function fatal(message) {
  process.stdout.write(`${JSON.stringify({ fatal: oneLine(message) })}\n`);
  process.exit(2);
}

// -- tagging of bytes and dates ------------------------------------------------------------------

function revive(value) {
  if (Array.isArray(value)) return value.map(revive);
  if (value && typeof value === 'object') {
    if (typeof value.$bytes === 'string' && Object.keys(value).length === 1) {
      return new TextEncoder().encode(value.$bytes);
    }
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = revive(v);
    return out;
  }
  return value;
}

function tag(value) {
  if (value instanceof Uint8Array) return { $bytes: new TextDecoder().decode(value) };
  if (value instanceof Date) return { $date: value.toISOString() };
  if (Array.isArray(value)) return value.map(tag);
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      if (v !== undefined) out[k] = tag(v);
    }
    return out;
  }
  return value;
}

// -- loading the World ---------------------------------------------------------------------------

const here = path.dirname(new URL(import.meta.url).pathname);
const requireHere = createRequire(path.join(here, 'package.json'));

async function loadPackage(name) {
  // a path (./my-world, /abs/dir, file:...) or a package name resolved from bridge/node_modules
  let spec = name;
  const looksLikePath = name.startsWith('.') || name.startsWith('/') || name.startsWith('file:');
  try {
    if (looksLikePath) {
      let file = name.startsWith('file:') ? new URL(name).pathname : path.resolve(name);
      const stat = await fsp.stat(file).catch(() => null);
      if (stat && stat.isDirectory()) {
        // a package directory: its ESM entry point ("exports" ".", else "module"/"main")
        const pkg = JSON.parse(await fsp.readFile(path.join(file, 'package.json'), 'utf8'));
        const dot = pkg.exports && (pkg.exports['.'] ?? pkg.exports);
        const entry =
          (typeof dot === 'string' ? dot : dot && (dot.import ?? dot.default)) ??
          pkg.module ??
          pkg.main ??
          'index.js';
        file = path.join(file, typeof entry === 'string' ? entry : entry.default);
      }
      spec = pathToFileURL(file).href;
    } else {
      spec = pathToFileURL(requireHere.resolve(name)).href;
    }
  } catch {
    // ESM-only packages have no "require" condition: let import() resolve it by name
    spec = name;
  }
  try {
    return await import(spec);
  } catch (err) {
    if (err && (err.code === 'ERR_MODULE_NOT_FOUND' || err.code === 'MODULE_NOT_FOUND')) {
      fatal(`package ${name} not found (run: cd bridge && npm install)`);
    }
    fatal(`package ${name} failed to load: ${err && err.message}`);
  }
}

async function packageVersion(name) {
  // read the file: packages with an "exports" map do not export ./package.json
  const candidates = [path.join(here, 'node_modules', name, 'package.json'), path.join(name, 'package.json')];
  for (const file of candidates) {
    try {
      return JSON.parse(await fsp.readFile(file, 'utf8')).version ?? null;
    } catch {
      // not this one
    }
  }
  return null;
}

async function makeWorld(opts) {
  const mod = await loadPackage(opts.package);
  const factory =
    (opts.kind === 'local' ? mod.createLocalWorld : mod.createWorld) ??
    mod.createWorld ??
    mod.createLocalWorld ??
    mod.default;
  if (typeof factory !== 'function') {
    fatal(`package ${opts.package} exports no createLocalWorld/createWorld/default function`);
  }
  let world;
  try {
    if (opts.kind === 'local') {
      if (!opts.dataDir) fatal('--data-dir is required for --kind local');
      world = await factory({ dataDir: opts.dataDir, recoverActiveRuns: false });
      if (typeof world.start === 'function') await world.start();
    } else {
      if (!opts.url) fatal('--url is required for --kind postgres');
      world = await factory({ connectionString: opts.url, maxPoolSize: 4 });
      // a cheap read proves the database is reachable and the schema exists
      await world.runs.list({ pagination: { limit: 1 } });
    }
  } catch (err) {
    fatal(`World from ${opts.package} failed to start: ${err && err.name}: ${err && err.message}`);
  }
  if (!world || !world.events || !world.runs || !world.hooks) {
    fatal(`package ${opts.package} did not construct a World (no events/runs/hooks)`);
  }
  return world;
}

// -- fault points --------------------------------------------------------------------------------

let armed = null; // {id, hit: false, waiting: Promise} while an armed request runs
const goWaiters = new Map(); // id -> resolve
let stdinClosed = false;

async function faultPoint(when) {
  if (!armed || armed.hit || armed.when !== when) return;
  armed.hit = true;
  const id = armed.id;
  const go = new Promise((resolve) => goWaiters.set(id, resolve));
  process.stdout.write(`${JSON.stringify({ id, point: `${when}-first-write` })}\n`);
  if (stdinClosed) process.kill(process.pid, 'SIGKILL');
  await go;
}

function instrumentLocal() {
  // world-local commits a file with rename (write), link (writeExclusive) or unlink (delete)
  for (const name of ['rename', 'link', 'unlink']) {
    const original = fsp[name];
    fsp[name] = async function (...args) {
      // unlink of a temp file is cleanup, not a write of the World's state
      const file = String(args[1] ?? args[0]);
      const durable = !(name === 'unlink' && /\.tmp/.test(file));
      if (durable) await faultPoint('before');
      const result = await original.apply(this, args);
      if (durable) await faultPoint('after');
      return result;
    };
  }
}

async function instrumentPostgres() {
  let pg;
  try {
    pg = requireHere('pg');
  } catch {
    return; // another World package: no fault points, operations still work
  }
  const proto = pg.Client && pg.Client.prototype;
  if (!proto || proto.__idemraceWrapped) return;
  const original = proto.query;
  proto.query = function (config, values, callback) {
    const text = typeof config === 'string' ? config : config && config.text;
    const write = typeof text === 'string' && /^\s*(insert|update|delete)\b/i.test(text);
    if (!write || !armed || armed.hit) {
      return original.call(this, config, values, callback);
    }
    const cb = typeof values === 'function' ? values : callback;
    if (typeof cb === 'function') {
      // pg.Pool#query passes a callback
      const vals = typeof values === 'function' ? undefined : values;
      faultPoint('before').then(() =>
        original.call(this, config, vals, (err, res) => {
          faultPoint('after').then(() => cb(err, res));
        }),
      );
      return undefined;
    }
    return (async () => {
      await faultPoint('before');
      const rows = await original.call(this, config, values);
      await faultPoint('after');
      return rows;
    })();
  };
  proto.__idemraceWrapped = true;
}

// -- requests ------------------------------------------------------------------------------------

function lookup(world, call) {
  const [group, method] = call.split('.');
  const target = group === 'world' ? world : world[group];
  if (!target || typeof target[method] !== 'function') {
    throw Object.assign(new Error(`the World has no ${call}`), { name: 'BridgeError' });
  }
  return target[method].bind(target);
}

async function handle(world, request) {
  const { id } = request;
  const fn = lookup(world, request.call);
  const args = revive(request.args ?? []);
  if (request.call === 'events.create' && args[1] && args[1].specVersion === undefined) {
    args[1].specVersion = world.specVersion; // the World's own SPEC_VERSION_CURRENT
  }
  if (request.arm) armed = { id, hit: false, when: request.arm === 'before' ? 'before' : 'after' };
  try {
    const value = await fn(...args);
    return { id, ok: tag(value ?? null) };
  } finally {
    armed = null;
  }
}

function errorOf(err) {
  const name = (err && err.constructor && err.constructor.name) || (err && err.name) || 'Error';
  return { name: name === 'Error' && err && err.name ? err.name : name, message: oneLine(err && err.message) };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.kind === 'local') instrumentLocal();
  else await instrumentPostgres();
  const world = await makeWorld(opts);
  const version = await packageVersion(opts.package);
  process.stdout.write(
    `${JSON.stringify({ ready: true, package: opts.package, version, pid: process.pid })}\n`,
  );

  const rl = readline.createInterface({ input: process.stdin });
  let chain = Promise.resolve(); // one request at a time: a session is one client
  rl.on('line', (line) => {
    if (!line.trim()) return;
    let request;
    try {
      request = JSON.parse(line);
    } catch {
      process.stdout.write(`${JSON.stringify({ id: null, error: { name: 'BridgeError', message: 'bad JSON' } })}\n`);
      return;
    }
    if (request.go) {
      const resolve = goWaiters.get(request.id);
      goWaiters.delete(request.id);
      if (resolve) resolve();
      return;
    }
    chain = chain.then(async () => {
      let response;
      try {
        response = await handle(world, request);
      } catch (err) {
        response = { id: request.id, error: errorOf(err) };
      }
      process.stdout.write(`${JSON.stringify(response)}\n`);
    });
  });
  rl.on('close', async () => {
    stdinClosed = true;
    if (goWaiters.size > 0) process.kill(process.pid, 'SIGKILL'); // killed mid-operation
    await chain;
    try {
      await world.close?.();
    } catch {
      // closing is best effort: the process ends either way
    }
    process.exit(0);
  });
}

main().catch((err) => fatal(`bridge failed: ${err && err.message}`));
