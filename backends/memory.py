"""``memory``: the model itself as a backend (the first implementation of the protocol).

The world is one ``WorldState`` behind a lock; every session applies the configured profile's
transition function to it. It conforms by construction, which makes it the harness's control: if
validation reports a discrepancy against ``memory``, the harness is wrong, not the backend.
"""

from __future__ import annotations

import threading
from typing import Any

from backends.protocol import Backend, Session
from model import ops as O
from model.state import WorldState


class MemorySession(Session):
    def __init__(self, backend: MemoryBackend) -> None:
        self.backend = backend

    def apply(self, op: Any) -> Any:
        b = self.backend
        assert b.profile is not None
        with b.lock:
            if type(op) is O.AdvanceClock:
                b.world = b.profile.tick(b.world)
                return O.Ok(b.world.clock)
            if type(op) is O.ConsumePayload and not b.profile.enabled(b.world, op):
                # a blocking take on an empty inbox: the non-blocking protocol answers "nothing"
                return O.Ok(None)
            b.world, result = b.profile.apply(b.world, op)
            return result

    def snapshot(self) -> WorldState:
        with self.backend.lock:
            return self.backend.world

    # the protocol's per-op methods all go through ``apply`` (the profile dispatches)
    def _op(self, op: Any) -> Any:
        return self.apply(op)

    create_run = start_run = complete_run = fail_run = cancel_run = get_run = _op
    list_runs = keyed_start = claim_hook = deliver_payload = poll_payload = _op
    dispose_hook = release_hooks = get_hook_by_token = perform_effect = _op
    app_record_get = app_record_put = advance_clock = consume_payload = await_run = _op


class MemoryBackend(Backend):
    name = "memory"
    FAULTS = ("restart",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lock = threading.Lock()
        self.world = WorldState()

    def reset(self) -> None:
        assert self.profile is not None, "configure() first"
        with self.lock:
            self.world = self.profile.initial()

    def session(self) -> Session:
        return MemorySession(self)

    def restart(self) -> None:
        """The model is a durable store by definition: a restart keeps the world."""
