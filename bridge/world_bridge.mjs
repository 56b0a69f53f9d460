#!/usr/bin/env node
// JSON-lines bridge from idemrace (Python) to a Vercel Workflow World package.
//
//   node world_bridge.mjs --kind local --data-dir DIR [--package NAME_OR_PATH]
//   node world_bridge.mjs --kind postgres --url postgres://... [--package NAME_OR_PATH]
//   node world_bridge.mjs --kind redis --url redis://127.0.0.1:PORT [--package NAME_OR_PATH]
//   node world_bridge.mjs --kind mongodb --url mongodb://127.0.0.1:PORT/DB [--package NAME_OR_PATH]
//
// An adapter per World generation (``ADAPTERS`` below), chosen from the World's specVersion and
// capabilities once it is constructed: "v4" (@workflow/world 4.x, spec 3), "v5" (the 5.0 betas,
// spec >= 6, capabilities), "community" (built on @workflow/world 4.1.0-beta.2, spec 2: no
// clear(), WorkflowAPIError{status}, no conflictingRunId). The ready line says which, and which
// driver fault points are armed.
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
// Fault points, in the package's own drivers. A request with "arm": "after" is paused right after
// its first durable write (world-local: the first rename/link/unlink of a data file;
// world-postgres: the first INSERT/UPDATE/DELETE through the package's pg; the redis World: the
// first write command or pipeline through its ioredis; the mongodb World: the first Collection
// write through its mongodb driver; with "match": "terminal", the write TERMINAL_WRITE names
// instead), with "arm": "before" right before it (after the reads the
// World validates with): the bridge writes {"id": n, "point": "after-first-write"} (or
// "before-first-write") and waits for {"id": n, "go": true}. If stdin closes while it waits (the client process was
// killed), the bridge SIGKILLs itself there, so the World's operation dies half done, as a
// World process killed between two writes would.
//
// We never call start() on world-postgres: it starts the graphile-worker job queue, which
// would re-run leftover runs. world-local's start() only prepares the data directory
// (recoverActiveRuns: false).

import { promises as fsp } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';

const DEFAULT_PACKAGES = {
  local: '@workflow/world-local',
  postgres: '@workflow/world-postgres',
  redis: '@workflow-worlds/redis',
  mongodb: '@workflow-worlds/mongodb',
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
    else if (flag === '--values') jsonValues = value === 'json';
    else {
      fatal(`unknown argument ${flag}`);
    }
    i++;
  }
  if (!(out.kind in DEFAULT_PACKAGES)) {
    fatal(`--kind must be one of ${Object.keys(DEFAULT_PACKAGES).join(', ')}, not ${out.kind}`);
  }
  out.package ??= DEFAULT_PACKAGES[out.kind];
  return out;
}

function oneLine(text) {
  return String(text).split('\n')[0].slice(0, 400);
}

// the innermost cause of an error, in one line ("Error: ... <- cause: ECONNREFUSED ...")
function innermost(err) {
  let e = err;
  const seen = new Set();
  while (e && e.cause && !seen.has(e.cause)) {
    seen.add(e);
    e = e.cause;
  }
  if (e && Array.isArray(e.errors) && e.errors.length) e = e.errors[0]; // AggregateError
  const name = (e && (e.code || e.name)) || 'Error';
  const outer = err && err !== e ? ` (${err.name}: ${oneLine(err.message)})` : '';
  return `${name}: ${oneLine(e && e.message)}${outer}`;
}

function fatal(message) {
  process.stdout.write(`${JSON.stringify({ fatal: oneLine(message) })}\n`);
  process.exit(2);
}

// -- tagging of bytes and dates ------------------------------------------------------------------

// --values json: a value is stored as {idemraceBytes: text} instead of a Uint8Array (for a store
// that cannot hold binary in an update, see backends/vercel/servers.py); read back as bytes
let jsonValues = false;

function revive(value) {
  if (Array.isArray(value)) return value.map(revive);
  if (value && typeof value === 'object') {
    if (typeof value.$bytes === 'string' && Object.keys(value).length === 1) {
      return jsonValues ? { idemraceBytes: value.$bytes } : new TextEncoder().encode(value.$bytes);
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
    if (typeof value.idemraceBytes === 'string' && Object.keys(value).length === 1) {
      return { $bytes: value.idemraceBytes };
    }
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

// the package's own directory: its drivers (pg, ioredis, mongodb) resolve from there
function packageDir(name) {
  const looksLikePath = name.startsWith('.') || name.startsWith('/') || name.startsWith('file:');
  if (looksLikePath) return name.startsWith('file:') ? new URL(name).pathname : path.resolve(name);
  return path.join(here, 'node_modules', name);
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

// construction per kind, --url mapped to the option the package takes
const CONSTRUCT = {
  local: (f, opts) => f({ dataDir: opts.dataDir, recoverActiveRuns: false }),
  postgres: (f, opts) => f({ connectionString: opts.url, maxPoolSize: 4 }),
  redis: (f, opts) => f({ redisUrl: opts.url }),
  // change streams need a replica set; the queue is never started either way
  mongodb: (f, opts) => {
    const u = new URL(opts.url);
    const databaseName = u.pathname.replace(/^\//, '') || 'workflow';
    return f({ mongoUrl: `${u.protocol}//${u.host}/`, databaseName, useChangeStreams: false });
  },
};

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
    } else if (!opts.url) {
      fatal(`--url is required for --kind ${opts.kind}`);
    }
    world = await CONSTRUCT[opts.kind](factory, opts);
    // world-local's start() only prepares the data dir; the others' start the job queue
    if (opts.kind === 'local' && typeof world.start === 'function') await world.start();
    // a cheap read proves the store is reachable (and, for postgres, the schema exists)
    if (opts.kind !== 'local') await world.runs.list({ pagination: { limit: 1 } });
  } catch (err) {
    fatal(`World from ${opts.package} failed to start: ${innermost(err)}`);
  }
  if (!world || !world.events || !world.runs || !world.hooks) {
    fatal(`package ${opts.package} did not construct a World (no events/runs/hooks)`);
  }
  return world;
}

// -- the adapter per World generation -------------------------------------------------------------

async function specVersionOf(world, dir) {
  if (typeof world.specVersion === 'number') return world.specVersion;
  // older Worlds do not stamp one: the @workflow/world their package depends on says it (found
  // by walking up node_modules: its "exports" map does not export package.json)
  for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) {
    const file = path.join(d, 'node_modules', '@workflow', 'world', 'dist', 'spec-version.js');
    const stat = await fsp.stat(file).catch(() => null);
    if (!stat) continue;
    try {
      const m = await import(pathToFileURL(file).href);
      return m.SPEC_VERSION_CURRENT ?? null;
    } catch {
      return null;
    }
  }
  return null;
}

// spec version 2 (@workflow/world 4.1.0-beta.2): the community Worlds; 3: the 4.x packages; newer,
// or any World advertising capabilities, or a 5.x package: the 5.0 betas
function generationOf(world, specVersion, version) {
  if (world.capabilities || (specVersion ?? 0) >= 4 || /^5\./.test(version ?? '')) return 'v5';
  if ((specVersion ?? 0) >= 3) return 'v4';
  return 'community';
}

// which write of a terminal event makes the run terminal (a hold of atomic_release = false stops
// right after it), per kind: the run's own record
const TERMINAL_WRITE = {
  local: /[\\/]runs[\\/]wrun_[^\\/]*\.json$/,
  postgres: /^\s*update\s+"?workflow"?\."?workflow_runs"?/i,
  redis: /hset \S*:runs:wrun_/,
  mongodb: /^runs\.(replaceOne|updateOne|findOneAndUpdate)/,
};

const ADAPTERS = {
  v4: { errors: 'classes', conflictOwner: 'reported', reset: 'clear', listByCorrelationIdRunId: false },
  v5: { errors: 'classes', conflictOwner: 'reported', reset: 'clear', listByCorrelationIdRunId: true },
  community: { errors: 'status', conflictOwner: 'lookup', reset: 'flush', listByCorrelationIdRunId: false },
};

// WorkflowAPIError{status} (community Worlds) -> the class names the current Worlds throw
function classOfStatus(err) {
  const msg = String(err.message || '');
  switch (err.status) {
    case 404:
      if (/^run\b|workflow run/i.test(msg)) return 'WorkflowRunNotFoundError';
      if (/^hook\b/i.test(msg)) return 'HookNotFoundError';
      return 'NotFoundError';
    case 409:
      return 'EntityConflictError';
    case 410:
      return 'RunExpiredError';
    case 425:
      return 'TooEarlyError';
    default:
      return null;
  }
}

// -- fault points --------------------------------------------------------------------------------

let armed = null; // {id, hit, when, match} while an armed request runs
const goWaiters = new Map(); // id -> resolve
let stdinClosed = false;

// one durable write of the World, described (a file path, a statement, a command list); an armed
// request pauses at its first write (or, with "match", at its first write the regex matches)
async function faultPoint(when, desc) {
  if (!armed || armed.hit || armed.when !== when) return;
  if (armed.match && !armed.match.test(desc)) return;
  armed.hit = true;
  const id = armed.id;
  const go = new Promise((resolve) => goWaiters.set(id, resolve));
  process.stdout.write(`${JSON.stringify({ id, point: `${when}-first-write`, write: oneLine(desc) })}\n`);
  if (stdinClosed) process.kill(process.pid, 'SIGKILL');
  await go;
}

// each fault point is "armed" (with the driver file patched) or "not applicable" (the kind does
// not use that driver); a driver the kind needs that cannot be patched is fatal, never silently off
const faults = {};

function instrumentFs() {
  // world-local commits a file with rename (write), link (writeExclusive) or unlink (delete)
  for (const name of ['rename', 'link', 'unlink']) {
    const original = fsp[name];
    fsp[name] = async function (...args) {
      // unlink of a temp file is cleanup, not a write of the World's state
      const file = String(args[1] ?? args[0]);
      const durable = !(name === 'unlink' && /\.tmp/.test(file));
      if (durable) await faultPoint('before', file);
      const result = await original.apply(this, args);
      if (durable) await faultPoint('after', file);
      return result;
    };
  }
  // ESM named imports of node:fs/promises see the patched functions only after this
  syncBuiltinESMExports();
  faults.fs = 'armed (node:fs/promises rename/link/unlink)';
}

function requireFrom(dir, name) {
  const req = createRequire(path.join(dir, 'package.json'));
  const file = req.resolve(name);
  return { mod: req(name), file };
}

function instrumentPg(dir) {
  let pg;
  try {
    pg = requireFrom(dir, 'pg');
  } catch (err) {
    fatal(`the World's pg driver cannot be found from ${dir} for its fault points: ${innermost(err)}`);
  }
  const proto = pg.mod.Client && pg.mod.Client.prototype;
  if (!proto) fatal(`the pg at ${pg.file} has no Client: its fault points cannot be armed`);
  faults.pg = `armed (${path.relative(here, pg.file)})`;
  if (proto.__idemraceWrapped) return;
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
      faultPoint('before', text).then(() =>
        original.call(this, config, vals, (err, res) => {
          faultPoint('after', text).then(() => cb(err, res));
        }),
      );
      return undefined;
    }
    return (async () => {
      await faultPoint('before', text);
      const rows = await original.call(this, config, values);
      await faultPoint('after', text);
      return rows;
    })();
  };
  proto.__idemraceWrapped = true;
}

const REDIS_WRITES = ['set', 'setnx', 'hset', 'hmset', 'del', 'zadd', 'zrem', 'sadd', 'srem', 'xadd', 'incr', 'expire', 'rpush', 'lpush'];

function instrumentIoredis(dir) {
  let Redis;
  let Pipeline;
  let file;
  try {
    const r = requireFrom(dir, 'ioredis');
    file = r.file;
    Redis = r.mod.Redis ?? r.mod.default ?? r.mod;
    const req = createRequire(path.join(dir, 'package.json'));
    const p = req(path.join(path.dirname(file), 'Pipeline.js'));
    Pipeline = p.default ?? p;
  } catch (err) {
    fatal(`the World's ioredis cannot be found from ${dir} for its fault points: ${innermost(err)}`);
  }
  faults.ioredis = `armed (${path.relative(here, file)}: write commands and pipelines)`;
  if (Redis.prototype.__idemraceWrapped) return;
  for (const cmd of REDIS_WRITES) {
    const original = Redis.prototype[cmd];
    if (typeof original !== 'function') continue;
    Redis.prototype[cmd] = async function (...args) {
      const desc = `${cmd} ${String(args[0])}`;
      await faultPoint('before', desc);
      const result = await original.apply(this, args);
      await faultPoint('after', desc);
      return result;
    };
  }
  const exec = Pipeline.prototype.exec;
  Pipeline.prototype.exec = async function (...args) {
    const cmds = (this._queue || []).map((c) => `${c.name} ${String((c.args || [])[0])}`);
    const desc = cmds.join('; ');
    const write = cmds.some((c) => REDIS_WRITES.includes(c.split(' ')[0]));
    if (write) await faultPoint('before', desc);
    const result = await exec.apply(this, args);
    if (write) await faultPoint('after', desc);
    return result;
  };
  Redis.prototype.__idemraceWrapped = true;
}

const MONGO_WRITES = ['insertOne', 'insertMany', 'updateOne', 'updateMany', 'replaceOne', 'deleteOne', 'deleteMany', 'findOneAndUpdate', 'findOneAndReplace', 'findOneAndDelete', 'bulkWrite'];

function instrumentMongodb(dir) {
  let mongodb;
  try {
    mongodb = requireFrom(dir, 'mongodb');
  } catch (err) {
    fatal(`the World's mongodb driver cannot be found from ${dir} for its fault points: ${innermost(err)}`);
  }
  const proto = mongodb.mod.Collection && mongodb.mod.Collection.prototype;
  if (!proto) fatal(`the mongodb at ${mongodb.file} has no Collection: its fault points cannot be armed`);
  faults.mongodb = `armed (${path.relative(here, mongodb.file)}: Collection writes)`;
  if (proto.__idemraceWrapped) return;
  for (const name of MONGO_WRITES) {
    const original = proto[name];
    if (typeof original !== 'function') continue;
    proto[name] = async function (...args) {
      const desc = `${this.collectionName}.${name}`;
      await faultPoint('before', desc);
      const result = await original.apply(this, args);
      await faultPoint('after', desc);
      return result;
    };
  }
  proto.__idemraceWrapped = true;
}

const DRIVERS = { local: 'fs', postgres: 'pg', redis: 'ioredis', mongodb: 'mongodb' };

function instrument(kind, dir) {
  for (const d of Object.values(DRIVERS)) faults[d] = 'not applicable';
  if (kind === 'local') instrumentFs();
  else if (kind === 'postgres') instrumentPg(dir);
  else if (kind === 'redis') instrumentIoredis(dir);
  else instrumentMongodb(dir);
}

// -- requests ------------------------------------------------------------------------------------

function lookup(world, call) {
  const [group, method] = call.split('.');
  const target = group === 'world' ? world : world[group];
  if (!target || typeof target[method] !== 'function') {
    throw Object.assign(new Error(`the World has no ${call}`), { name: 'BridgeError', adapter: true });
  }
  return target[method].bind(target);
}

// a fresh store for a World without clear(): its own driver empties what it owns
async function resetStore(world, opts, dir) {
  if (typeof world.clear === 'function') return world.clear();
  if (opts.kind === 'redis') {
    const Redis = requireFrom(dir, 'ioredis').mod;
    const client = new (Redis.Redis ?? Redis.default ?? Redis)(opts.url, { lazyConnect: false });
    try {
      await client.flushdb();
    } finally {
      client.disconnect();
    }
    return null;
  }
  if (opts.kind === 'mongodb') {
    const { MongoClient } = requireFrom(dir, 'mongodb').mod;
    const u = new URL(opts.url);
    const client = new MongoClient(`${u.protocol}//${u.host}/`);
    try {
      await client.connect();
      const db = client.db(u.pathname.replace(/^\//, '') || 'workflow');
      // delete the documents, keep the collections and the World's unique indexes
      for (const c of ['runs', 'steps', 'events', 'hooks']) await db.collection(c).deleteMany({});
    } finally {
      await client.close();
    }
    return null;
  }
  throw Object.assign(new Error(`the World has no clear() and kind ${opts.kind} no reset`), {
    name: 'BridgeError',
    adapter: true,
  });
}

function adaptArgs(ctx, call, args) {
  if (call === 'events.create' && args[1] && args[1].specVersion === undefined && ctx.specVersion != null) {
    args[1].specVersion = ctx.specVersion; // the World's own SPEC_VERSION_CURRENT
  }
  if (call === 'events.listByCorrelationId' && args[0] && !ctx.adapter.listByCorrelationIdRunId) {
    delete args[0].runId; // v5 requires it; the older ones do not take it
  }
  return args;
}

async function adaptResult(ctx, world, call, args, value) {
  // a conflict without its owner (community Worlds): look the owner up by token, as a caller
  // would; racy by nature (the owner may be released in between: then no owner, 0 in Python)
  if (call === 'events.create' && value && value.event && value.event.eventType === 'hook_conflict') {
    const data = value.event.eventData || (value.event.eventData = {});
    if (!data.conflictingRunId) {
      try {
        const hook = await world.hooks.getByToken(args[1].eventData.token);
        data.conflictingRunId = hook.runId;
        data.idemraceOwnerLookedUp = true;
      } catch {
        data.idemraceOwnerLookedUp = 'gone';
      }
    }
  }
  return value;
}

async function handle(ctx, world, request) {
  const { id } = request;
  if (request.call === 'idemrace.reset') {
    await resetStore(world, ctx.opts, ctx.dir);
    return { id, ok: null };
  }
  const fn = lookup(world, request.call);
  const args = adaptArgs(ctx, request.call, revive(request.args ?? []));
  if (request.arm) {
    armed = {
      id,
      hit: false,
      when: request.arm === 'before' ? 'before' : 'after',
      match: request.match === 'terminal' ? TERMINAL_WRITE[ctx.opts.kind] : null,
    };
  }
  try {
    const value = await fn(...args);
    return { id, ok: tag((await adaptResult(ctx, world, request.call, args, value)) ?? null) };
  } finally {
    armed = null;
  }
}

// an exception of the adapter's own making (a call the World does not take), not the World's
// answer: Python stops with exit 2 naming the call. A ZodError from a read is the World failing to
// parse its own data (an answer); from a write, our input did not validate
function isAdapterError(err, call) {
  if (!err) return false;
  if (err.adapter) return true;
  const name = (err.constructor && err.constructor.name) || err.name;
  const msg = String(err.message || '');
  if (/is not a function|is not iterable|Cannot read properties of undefined/.test(msg)) return true;
  if (name === 'TypeError' || name === 'ReferenceError' || name === 'SyntaxError') return true;
  if (name === 'ZodError' && call === 'events.create') return true;
  if (err.status === 400) return true;
  return false;
}

function errorOf(ctx, err, call) {
  let name = (err && err.constructor && err.constructor.name) || (err && err.name) || 'Error';
  if (name === 'Error' && err && err.name) name = err.name;
  let message = oneLine(err && err.message);
  if (ctx.adapter.errors === 'status' && err && typeof err.status === 'number') {
    const mapped = classOfStatus(err);
    if (mapped) {
      message = `${name} ${err.status}: ${message}`;
      name = mapped;
    }
  }
  const out = { name, message };
  if (isAdapterError(err, call)) out.adapter = true;
  return out;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const dir = packageDir(opts.package);
  instrument(opts.kind, dir);
  const world = await makeWorld(opts);
  const version = await packageVersion(opts.package);
  const specVersion = await specVersionOf(world, dir);
  const generation = generationOf(world, specVersion, version);
  const ctx = { opts, dir, specVersion, generation, adapter: ADAPTERS[generation] };
  process.stdout.write(
    `${JSON.stringify({
      ready: true,
      package: opts.package,
      version,
      pid: process.pid,
      node: process.version,
      specVersion,
      generation,
      capabilities: world.capabilities ?? null,
      clear: typeof world.clear === 'function',
      faults,
    })}\n`,
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
        response = await handle(ctx, world, request);
      } catch (err) {
        response = { id: request.id, error: errorOf(ctx, err, request.call) };
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

main().catch((err) => fatal(`bridge failed: ${innermost(err)}`));
