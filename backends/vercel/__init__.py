"""``vercel-local`` / ``vercel-postgres`` / ``vercel-redis`` / ``vercel-mongodb``: the real Vercel
Workflow World packages, every pinned generation: the 4.x packages behind ``vercel-today``, the
5.0 betas behind ``vercel-v5``, the community Worlds (spec version 2) behind ``vercel-today``.

The World generation decides the adapter (``bridge/world_bridge.mjs``, ``ADAPTERS``; chosen from
the World's ``specVersion`` and ``capabilities``): construction and options per kind, the reset
of a World without ``clear()``, error classes from HTTP statuses, the conflict owner looked up
where the World does not report it, each call's signature; ``VercelBackend.atomic_release`` says
whether its release is atomic with the end, the bridge's ``TERMINAL_WRITE`` which write is a
run's terminal one. ``backends.vercel.worlds`` resolves ``--package`` (``NAME@VERSION``) to a
pinned install and its Node; ``backends.vercel.servers`` starts redis-server / nx-27017;
``matrix`` is the version matrix, ``export`` a finding as a node:test file.

The World runs in Node (``bridge/world_bridge.mjs``, JSON lines over stdio). Every ``Session``
owns one bridge process, so N concurrent clients are N World instances over one data directory or
one database, which is how the World packages behave under several processes.

What is real here and what is not:

* **Every world operation is the World's own event or read**: ``CreateRun`` is
  ``events.create(null, run_created)``, ``StartRun`` ``run_started``, ``ClaimHook``
  ``hook_created {token}`` (answered ``HookCreated`` or, from the ``hook_conflict`` event's
  ``conflictingRunId``, ``HookConflict(owner)``), ``DeliverPayload`` ``hook_received``,
  ``DisposeHook`` ``hook_disposed``, ``CompleteRun``/``FailRun``/``CancelRun``
  ``run_completed``/``run_failed``/``run_cancelled``, ``GetHookByToken`` ``hooks.getByToken``,
  ``GetRun`` ``runs.get``, ``ListRuns`` ``runs.list({workflowName, status})``. Errors are the
  World's thrown classes by name (``Error("EntityConflictError")``, ...); the detail is dropped,
  as the model's errors carry none.
* **Values**: run inputs (the model's request number), outputs, errors and payloads are stored in
  the World as the UTF-8 bytes of their ``repr`` (``protocol.encode``) and decoded when read back.
  A failed run's error is the World's ``error.message``.
* **Hooks**: the model's hook id is run-local, the World's ``correlationId`` is global (world-local
  keeps ``hooks/<correlationId>.json``), so the correlation id is
  ``hook_<run ulid>_<hex of the model's hook id>``, decoded back in ``hooks.getByToken`` answers.
* **Consumption** (``PollPayload``/``ConsumePayload``) is the runtime's replay position in a hook's
  ``hook_received`` events, not something the World stores: the payloads come from the World's
  event log (``events.listByCorrelationId``), the cursor from the sidecar (below). A poll reads the
  events, then the run's hooks (``hooks.list``; world-postgres's ``hooks.get`` of a missing hook
  throws a TypeError): gone -> ``Ok(None)``; else the next unconsumed payload.
* **Python-side, documented** (a SQLite "sidecar" file next to the data, shared by every process
  of one backend, so a client in another process sees the same): the integer run ids (``wrun_...``
  -> 1, 2, ... per ``reset``; ``CreateRun`` picks the run's ulid itself, as the runtime's
  ``start()`` does, and numbers it before the call, so numbers follow the calls' order, a valid
  admission order even for a run whose creator was killed), the consumption cursors and consumed log,
  the logical clock (and the wall-clock millisecond of every tick: a run's admission and end ticks
  are read from the World's ``createdAt``/``completedAt`` against them), the app's effect log
  (``PerformEffect``), its record table (``AppRecordGet``/``Put``) and the ghost cancel log.
* ``snapshot`` reads the World back: every run (``runs.list``), every live hook (``hooks.list``),
  every delivery (``hook_received`` events of every run); the sidecar adds what the World does not
  store (above). So ``SNAPSHOT = True``: the World part of the state is the World's.
* ``atomic_release``: both packages end a run and delete its hooks in two separate writes of the
  same ``events.create`` call (world-local 4.4.1 ``dist/storage/events-storage.js``:
  ``writeJSON(run)`` then ``deleteAllHooksForRun``; world-postgres 4.3.7 ``dist/storage.js``:
  ``UPDATE workflow_runs`` then ``DELETE FROM workflow_hooks``, autocommitted, not one
  transaction). That is the model's ``atomic_release = false``: the differential replays every
  vercel-today catalog scenario with it (``adapt_scenario``, renamed ``@atomic_release=false``),
  and a terminal event of a run with live hooks is then held inside the World between its two
  writes (on a spare session, ``hold_end``) until the model's ``ReleaseHooks`` step lets it finish
  (``finish_end``). ``true`` is honoured as the whole call being one op; the concurrent and fault
  validations use it (the linearizability checker cannot place the world's own release steps), so
  there the gap between the writes is reported as the discrepancy it is.
* ``Paused`` and ``Script`` force an interleaving of real World calls (an ``events.create`` held
  before or after its first durable write in one World process while others run): the findings'
  reproductions under ``race-reports/backends/vercel-*`` use them.

Faults: ``kill`` (a client process SIGKILLed inside a World write: the bridge pauses an armed
``events.create`` after its first durable write, the worker kills itself there, the bridge sees its
stdin close and SIGKILLs itself, so the operation dies half done) and ``restart`` (every bridge
process is killed and started again over the same data directory; for postgres the throwaway
server is restarted too). ``fault_point`` is called at that pause.

A fresh world (``reset``): world-local ``world.clear()`` through every live bridge (the data
directory emptied, each instance's caches dropped); world-postgres ``TRUNCATE`` of the World's
tables. The sidecar is emptied.

The package, by job (besides those above): ``bridge`` (the Node process and its JSON-lines protocol), ``sidecar`` (the
SQLite file of what the World does not store), ``session`` (one method per world op, and
``Paused``), ``backend`` (``VercelLocalBackend``, ``VercelPostgresBackend``), ``findings`` (the
reproductions' ``Script``, ``run_finding`` and ``finding_main``).
"""
