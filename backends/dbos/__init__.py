"""``dbos``: the real DBOS library (PyPI ``dbos`` 3.x) behind the ``dbos`` profile.

What is real here and what is not:

* **Admission is DBOS's own.** A keyed start is ``with SetWorkflowID(key): DBOS.start_workflow(
  body, request, nonce)`` (with ``workflow_id_reuse_policy="reject"`` under the profile's reject
  policy), the exact call an application makes. The answer is read back from what DBOS stored:
  the start is ``Started`` only when the stored arguments carry this call's nonce (a fresh
  per-call token, so a retried request is told apart from the one that created the workflow);
  otherwise it is ``Existing`` with the status from ``handle.get_status()`` and, once the
  workflow ended, the output from ``handle.get_result()``, or the stored error DBOS re-raises
  from it. ``DBOSConflictingWorkflowError`` and ``DBOSWorkflowIDInUseError`` come from DBOS;
  any other ``DBOSException`` is answered as ``Error(<its class name>)`` too (a discrepancy).
  Only a database error makes an operation unanswered (``BackendUnavailable``); a body that
  does not take its control message within ``WAIT_SECONDS`` answers ``Error(NO_BODY)``, so
  neither can pass as a lost response. (DBOS itself blocks and retries while its database is
  unreachable, ``_sys_db.db_retry``: a database lost mid-validation stalls it.)
* **The workflow body is a real DBOS workflow** that does what the model's client tells it,
  through DBOS messages (``DBOS.send`` / ``DBOS.recv``, durable): ``start`` (the model's
  ``StartRun``: the body records the phase ``running`` as a DBOS event and acknowledges with
  another), ``complete`` (returns the output) and ``fail`` (raises ``ModelFailure`` carrying the
  error). Who wins two concurrent ends is decided by the body, one message at a time: before it
  returns or raises it records the tag of the message it took as the DBOS event ``ended-by``. An
  end is ``Ok`` only if DBOS then stores that end (status, output or error) and ``ended-by``
  names this call's message; two clients may send equal outputs. A message to an ended
  workflow is never consumed: the caller sees the stored end and answers
  ``EntityConflictError``, like the model.
* **Stored errors.** A duplicate of a failed workflow answers the error ``handle.get_result()``
  *raises* (a ``ModelFailure`` DBOS deserialized from its row). If DBOS returned instead of
  raising, the answer is a value no model output equals, so the differential reports it.
* **Status.** DBOS's open statuses are ``PENDING`` and ``ENQUEUED`` (recovery re-enqueues a
  workflow on DBOS's internal queue: ``_recovery._recover_workflow``); the body's ``phase``
  event tells the model's ``pending`` (created, not yet started by its client) from
  ``running``. ``SUCCESS``/``ERROR``/``CANCELLED`` are ``completed``/``failed``/``cancelled``;
  any other status is answered as ``dbos:<STATUS>``, which no model status equals.
* **Cancel** is ``DBOS.cancel_workflow`` (a conditional update that leaves ended workflows
  alone); it answers ``Ok`` if the workflow is then cancelled, ``EntityConflictError`` otherwise.
* **Python-side, documented:** the integer run ids (a map from DBOS workflow id to 1, 2, ...
  in order of first sight, per ``reset`` and per process), the logical clock (the ``dbos``
  profile has no retention: DBOS keeps a workflow until it is deleted, so a tick changes nothing
  DBOS stores) and the application's effect log (``perform_effect`` answers ``Ok()``: it is
  ghost state the property checks read in the model, not something DBOS stores; that answer
  cannot fail). ``snapshot`` is not offered (``SNAPSHOT = False``): the differential compares
  every answer, not the final world, and the fault harness (which observes the store through
  ``snapshot``) has nothing to observe, so ``FAULTS`` is empty: faults are "not applicable"
  in ``idemrace validate``. The DBOS faults that are injected for real live in
  ``tests/test_backend_dbos.py``: a client process SIGKILLed inside the admission transaction
  (before its commit) or right after it, and that client's executor restarted (DBOS recovers
  its pending workflow on launch).
* **A fresh world** (``reset``) is a new id prefix in the same system database: workflow ids are
  ``<tag>-<epoch>/<key>``, so no key of an earlier world (or of another validation on the same
  database) can collide. The open bodies of the old world are told to stop (message
  ``abandon``) so their threads end.
* **Other processes** (``client_spec``, ``python -m backends.dbos.client``): a client process has
  its own DBOS instance on the same system database with its own executor id, joined to the
  parent's world: truly concurrent admissions, one per DBOS instance. Each backend instance has
  its own executor id (``idemrace-<tag>``), because DBOS recovers the pending workflows of its
  executor id on launch and the default (``local``) would make one validation re-run another's.

The system database is SQLite in a temporary directory by default (``workdir`` to keep it), or
the PostgreSQL database ``url`` names (``postgresql://...``). DBOS is one instance per process:
only one ``DbosBackend`` can be started at a time.

The package, by job: ``app`` (the DBOS workflow body, its registration and DBOS's launch),
``session`` (one method per world op), ``backend`` (``DbosBackend``: ids, lifecycle, the one DBOS
instance per process), ``client`` (``python -m backends.dbos.client``: a client in its own
process, and the kill points the DBOS fault tests use).
"""
