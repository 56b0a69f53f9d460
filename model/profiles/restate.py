"""``restate``: Restate's idempotent invocations and workflow keys (``restate-server`` 1.7.12).

Facts, each checked against the running server (``backends/restate``, ``tests/test_backend_restate.py``)
and cited from what ships offline: the server's own configuration (``restate-server
--dump-config`` of the npm package ``@restatedev/restate-server-linux-x64`` 1.7.12), the Python SDK
``restate-sdk`` 1.2.0 (``restate/service.py``, ``restate/workflow.py``, ``restate/client.py``) and
the ingress answers themselves:

* **Key.** An idempotent invocation is keyed by (service, handler, ``Idempotency-Key`` header)
  (``restate/client.py`` sends the header; the ingress answers the same ``invocationId`` for the
  same triple); a workflow is keyed by (workflow name, workflow key), and its ``run`` handler runs
  once per key. Both include the service or workflow name: two services that use the same key
  never collide (unlike Temporal's and DBOS's flat id namespaces). Modelled as
  ``"<workflow>|<key>"`` in key memory.
* **Blanks around an Idempotency-Key are not part of it** (found on the server, a finding:
  ``race-reports/backends/restate-idempotency-key-blanks``): the key is an HTTP header value, and
  the server drops the spaces and tabs around it (HTTP's optional whitespace), so ``"order:1 "``
  and ``"order:1"`` are one key; a workflow key is part of the URL path and keeps them.
* **Admission is atomic** (the partition processor that owns the key decides; checked with
  concurrent submissions: one invocation id, one ``Accepted``, every other ``PreviouslyAccepted``).
* **In-flight duplicates attach.** ``POST /<svc>/<handler>/send`` with the same key answers the
  same invocation id with ``status: PreviouslyAccepted``; ``POST /<svc>/<handler>`` (request-
  response) with the same key waits for the original invocation and gets *its* response (the
  duplicate's body is ignored) or its stored failure. ``api = "idempotency-key"`` models both as
  ``Existing(run, status, output)``: the strategies attach (adopt, wait) or reject.
* **Workflows differ by call style** (found on the server, see ``api``): a workflow submitted
  with ``/send`` again answers ``PreviouslyAccepted`` with the same invocation id
  (``api = "workflow-send"``: ``Existing``, the caller attaches with ``/restate/workflow/<wf>/<key>/
  attach`` for the output), but a *request-response* call of ``run`` for a key that already ran
  answers HTTP 409 "the workflow method was already invoked", while it runs and after it
  completed (``api = "workflow-call"``: ``Error("WorkflowAlreadyInvoked", run)``). A caller
  that retries its own call after a lost response gets the same 409: there is no request id.
* **Memory after completion is bounded** by ``idempotency_retention`` (services) and
  ``workflow_retention`` (workflows), both 1 day by default (``default-idempotency-retention =
  "1d"`` and ``default-workflow-completion-retention = "1d"`` in ``--dump-config``), settable per
  service and handler in the SDK (``restate.Service(idempotency_retention=...)``,
  ``@workflow.main(workflow_retention=...)``). Counted from completion: ``retention`` ticks after
  the invocation ended its key is free and a new submission is ``Accepted`` as a new invocation
  (the id is derived from the key, so the new invocation has the *same* invocation id). While
  the invocation runs the key never expires.
* **Result reuse within retention**: a duplicate of a completed invocation gets the stored
  response, or the stored failure (a handler that raised ``TerminalError``) re-raised, without the
  handler running again.
* **Crashes** replay the journal: a ``ctx.run`` step's result is journaled after the closure ran,
  so a crash between the effect and its journal entry re-runs the closure (at-least-once:
  ``Profile.AT_LEAST_ONCE``, as for every engine here); completed steps are replayed from the
  journal and never run again.

What the server does that its configuration does not say (a finding, ``race-reports/backends/
restate-retention-cleanup``): retention is enforced by the partition's cleaner, which runs every
``worker.cleanup-interval`` (``"1h"`` by default). A duplicate that arrives after retention but
before the next cleaner pass is still ``PreviouslyAccepted`` and gets the stored result. So the
memory lasts *at least* ``retention`` and up to ``retention + cleanup-interval``; this profile
models the documented lower bound (the key is free at ``retention``), which is the bound a caller
can rely on.

Not modelled: cancellation and kill of invocations, virtual objects' per-key queueing, delayed
sends, and retryable errors (Restate retries them, then pauses the invocation; only a terminal
error ends it as failed, which is ``FailRun``). Expiry is evaluated when a submission looks the
key up.
"""

from __future__ import annotations

from model import ops as O
from model.profiles.base import MatrixRow, Option, V4World
from model.state import TERMINAL, KeyEntry, WorldState

ALREADY_INVOKED = "WorkflowAlreadyInvoked"  # HTTP 409 "the workflow method was already invoked"
APIS = ("idempotency-key", "workflow-send", "workflow-call")


# HTTP's optional whitespace around a field value (RFC 9110 5.5): not part of the header's value
HEADER_OWS = " \t"


def scoped_key(workflow: str, key: str, api: str = "idempotency-key") -> str:
    """Restate's key includes the service (or workflow) name: ``<workflow>|<key>``. An
    ``Idempotency-Key`` is an HTTP header, whose surrounding blanks the server drops (a workflow
    key travels in the URL path and keeps them)."""
    if api == "idempotency-key":
        key = key.strip(HEADER_OWS)
    return f"{workflow}|{key}"


class Restate(V4World):
    name = "restate"
    description = "Restate: idempotency keys and workflow keys, attach to the original, retention"
    FAMILIES = frozenset({"keyed-start", "peer-start"})
    MATRIX_ROWS = tuple(
        MatrixRow(
            f"Restate ({api})",
            (("api", api), ("retention", 2)),
            ("keyed-adopt", "keyed-execute"),
            rank=35,
        )
        for api in APIS
    )
    OPTIONS = {
        **V4World.OPTIONS,
        "api": Option(
            "idempotency-key",
            choices=APIS,
            doc="a service handler with an Idempotency-Key header (call or send), a workflow "
            "submitted with /send, or a workflow's run called request-response",
        ),
        "retention": Option(
            2,
            kind=int,
            doc="ticks a completed invocation's key and result are kept (idempotency or workflow "
            "completion retention, 1 day by default)",
        ),
    }
    HANDLERS = {**V4World.HANDLERS, O.KeyedStart: "keyed_start"}

    def keyed_start(self, world: WorldState, op: O.KeyedStart):
        key = scoped_key(op.workflow, op.key, self.options["api"])
        entry = world.key_entry(key)
        if entry is not None:
            run = world.runs[entry.run_id - 1]
            kept = (
                run.status not in TERMINAL or world.clock < run.ended_at + self.options["retention"]
            )
            if kept:
                if self.options["api"] == "workflow-call":
                    return world, O.Error(ALREADY_INVOKED, run.id)
                return world, O.Existing(run.id, run.status, run.output)
        world, run = self.new_run(world, op)
        return world.with_key(KeyEntry(key, run.id, world.clock)), O.Started(run.id)
