"""``restate``: the real Restate server (npm ``@restatedev/restate-server`` 1.7.12) and real handlers
written with the Python SDK (``restate-sdk`` 1.2.0) behind the ``restate`` profile.

What is real here and what is not:

* **The server is Restate's own**, started as a throwaway on loopback (``server.py``: random
  ports, TCP only, ``--bind-ip 127.0.0.1``, telemetry off, its data in a temporary directory)
  and stopped with ``close()``. A missing binary or a server that will not start is a one-line
  ``BackendUnavailable`` (exit 2).
* **The handlers are real Restate services and workflows** (``service.py``), served by Hypercorn
  in a process of their own and registered through the admin API (``POST /deployments``). They
  do what the model's client tells them, one command at a time, through awakeables whose ids
  they publish to a virtual object (``IdemRegistry``, keyed by invocation id).
* **Admission is Restate's own.** A keyed start is ``POST /<service>/run/send`` with an
  ``Idempotency-Key`` header (``api = "idempotency-key"``) or ``POST /<workflow>/<key>/run/send``
  (``api = "workflow-send"``); ``Started`` / ``Existing`` is the server's ``Accepted`` /
  ``PreviouslyAccepted``. The model workflows that share a key each submit it to a Restate
  service of their own (a pool of 16), so the server's scoping of keys by service is what answers.
* **Answers are read back from what Restate stored**: a run's end and output from ``GET
  /restate/invocation/<id>/output`` (the stored response, or the stored failure of a handler that
  raised ``TerminalError``), ``pending`` vs ``running`` from the body's acknowledgements in the
  registry object, an end is ``Ok`` only if the body says this command ended it and Restate
  stored exactly its output.
* **Python-side, documented:** the integer run ids (1, 2, ... in the order the server answered
  ``Accepted``, per ``reset``), the model workflow name and request of a run, the logical clock,
  the ticks of admissions and ends, and the effect log (``perform_effect`` answers ``Ok()``:
  ghost state). ``SNAPSHOT = False``: the differential compares answers, not final worlds.
* **Retention** is wall clock (1 day by default), never a few logical ticks: ``adapt_scenario``
  replays a catalog scenario whose invocations could expire within its bounds with ``retention
  = DAY_TICKS``, renamed ``<name>@retention=86400``. Retention itself, the cleaner that enforces
  it, stored failures, scoping, workflow calls and journal replay after the endpoint is killed are
  checked against the server by ``tests/test_backend_restate.py``.
* **Not driven:** ``api = "workflow-call"`` (its first call blocks until the workflow ends, which
  no model op waits for; its 409 is checked by the tests), hooks, cancel, ``runs.list``.
* **Faults.** ``restart``: a keyed start calls ``fault_point`` between the server's answer and
  its caller's, and the server this backend started is stopped and started again over its data
  (new random ports; the deployment, the invocations and their journals persist) while the start
  holds its answer. The final read-back (``snapshot``) lists this world's invocations from the
  admin API's SQL introspection (``sys_invocation``), their input from the registry and their
  ends from the stored responses. Not claimed: ``kill`` (a client in another process would need
  this process's run numbering) and ``drop`` (a start is one HTTP request: no transaction to drop
  a connection in). The endpoint killed mid-invocation, with journal replay on its restart, is a
  test of its own (``tests/test_backend_restate.py``).
* **A fresh world** (``reset``) is a new key prefix (``<tag>-<epoch>/``) on the same server.
"""
