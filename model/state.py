"""World state: the storage a durable-workflow engine keeps, as frozen, hashable data.

Everything here is a ``NamedTuple``: immutable, hashable in C and cheap to copy-on-write, which is
what the explorers need (states are dedupe keys in a set). Collections are tuples kept in a canonical
order (runs by id, hooks by token then run), so two worlds that mean the same thing are equal.

Besides what the real system stores, the world carries *ghost* state: facts the properties need
about the history (which effects ran for which request, which payloads were sent, delivered and
consumed). Keeping history facts in the state, instead of reading them off the path, is what makes
state dedupe sound for trace properties: two paths that reach equal states have equal histories as
far as every property can tell.
"""

from __future__ import annotations

from typing import Any, NamedTuple

PENDING = "pending"
RUNNING = "running"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"
TERMINAL = frozenset({COMPLETED, FAILED, CANCELLED})
STATUSES = (PENDING, RUNNING, COMPLETED, FAILED, CANCELLED)


class Run(NamedTuple):
    """One workflow run. ``id`` is 1-based and equals its position in ``WorldState.runs`` + 1."""

    id: int
    workflow: str
    status: str
    # The run's input as the engine stores it. By convention the request that started the run
    # (ghost: lets properties attribute effects and results to requests).
    request: int
    key: str | None = None  # the key the run was admitted under (keyed profiles), else None
    output: Any = None  # return value once completed, error once failed
    ended_at: int | None = None  # clock tick of the terminal transition
    attributes: tuple[tuple[str, str], ...] = ()  # sorted (name, value) pairs
    started_at: int = 0  # clock tick of admission


class Hook(NamedTuple):
    """A live hook: ``token`` owned by run ``run_id`` under the run-local ``hook_id``.

    ``inbox`` holds payloads delivered (``hook_received``) but not yet consumed by the body.
    ``retain_until`` is the minimum-retention deadline (v5 ``experimental_minRetention``,
    ``Hook.tokenRetentionUntil``): once the run has ended the hook stays, readable but not
    resumable, until the clock reaches it. None = no retention (released with its run).
    """

    token: str
    run_id: int
    hook_id: str
    inbox: tuple[Any, ...] = ()
    retain_until: int | None = None


class KeyEntry(NamedTuple):
    """Profile-managed key memory (keyed start, dedupe windows, workflow ids).

    ``run_id`` is the run admitted under the key (0 when the profile keeps no run, e.g. a tombstone);
    ``expires_at`` is the first tick at which the entry no longer counts (None = never, or not until
    the run ends: profiles document which).
    """

    key: str
    run_id: int
    claimed_at: int
    expires_at: int | None = None
    extra: Any = None


class Effect(NamedTuple):
    """Ghost: one execution of a duplicate-sensitive effect."""

    key: str
    request: int  # the request on whose behalf the run that did it was started
    run_id: int
    tick: int


class WorldState(NamedTuple):
    clock: int = 0
    runs: tuple[Run, ...] = ()
    hooks: tuple[Hook, ...] = ()
    keys: tuple[KeyEntry, ...] = ()
    # ghost state
    effects: tuple[Effect, ...] = ()
    delivered: tuple[tuple[Any, int], ...] = ()  # (payload, run id) in delivery order
    consumed: tuple[tuple[Any, int], ...] = ()  # (payload, run id) in consumption order
    cancels: tuple[tuple[int, int], ...] = ()  # (cancelling run, cancelled run), in order
    # the application's own table (app-record pattern): sorted (key, run id) rows
    records: tuple[tuple[str, int], ...] = ()

    # -- reads (pure helpers shared by profiles and properties) --------------------------------

    def run(self, run_id: int) -> Run | None:
        if 1 <= run_id <= len(self.runs):
            return self.runs[run_id - 1]
        return None

    def hook_by_token(self, token: str) -> Hook | None:
        for hook in self.hooks:
            if hook.token == token:
                return hook
        return None

    def hook_of(self, run_id: int, hook_id: str) -> Hook | None:
        for hook in self.hooks:
            if hook.run_id == run_id and hook.hook_id == hook_id:
                return hook
        return None

    def key_entry(self, key: str) -> KeyEntry | None:
        for entry in self.keys:
            if entry.key == key:
                return entry
        return None

    # -- copy-on-write updates -----------------------------------------------------------------

    def with_run(self, run: Run) -> WorldState:
        runs = self.runs
        return self._replace(runs=(*runs[: run.id - 1], run, *runs[run.id :]))

    def with_hooks(self, hooks: tuple[Hook, ...] | list[Hook]) -> WorldState:
        return self._replace(hooks=tuple(sorted(hooks)))

    def with_key(self, entry: KeyEntry) -> WorldState:
        others = [e for e in self.keys if e.key != entry.key]
        others.append(entry)
        return self._replace(keys=tuple(sorted(others)))

    def without_key(self, key: str) -> WorldState:
        return self._replace(keys=tuple(e for e in self.keys if e.key != key))
