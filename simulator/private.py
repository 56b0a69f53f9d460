"""Private steps: a persistent-set reduction for requests that contend on one key.

The key reduction (``simulator/por.py``) gets nothing when every request shares a key, yet most
of a one-key space is still interleavings of steps that cannot affect each other: a caller reading
a run that has ended, a body starting or ending its own run before anyone else has learned the
run's id. This reduction finds such a step and explores it alone.

A process's next step ``a`` is *private* at a state when nothing any other process can do before
``a`` depends on it (in the audited model: profile ``vercel-today``, the strategies declared
``symmetric``, whose world ops are ``START_OPS`` and ``CancelRun``):

* **a step on an ended run**: ``GetRun``, ``AwaitRun``, ``CancelRun``, ``StartRun``,
  ``CompleteRun``, ``FailRun`` or ``ClaimHook`` naming (``run_id``) a run whose status is
  terminal. A terminal run is never written again, and on one these ops change nothing
  (``V4World._end``, ``start_run`` and ``claim_hook`` refuse; ``cancel_run`` records a cancel only
  of a live run), so the step's result is fixed and it changes only its own process (a
  cancelled run's body, which goes on not knowing, meets this at every step);
* **a body's step on its own run while the run is unknown to others**: ``StartRun``,
  ``CompleteRun``, ``FailRun``, ``GetRun`` or ``AwaitRun`` of run ``r`` by ``r``'s body, when no
  hook names ``r`` and no other process names ``r`` (in its local state's ``RUN_IDS`` or its
  pending op's run ids), except processes blocked in ``AwaitRun(r)`` on a run that has not ended.
  Other processes learn a run id only from a hook (``ClaimHook`` conflicts: only ``r``'s body
  claims for ``r``), from its own ``CreateRun`` (the client, which then only awaits it), or from
  ``ListRuns`` (not an op of the audited strategies); so until ``r``'s body moves, no other step
  touches run ``r``, and the step touches nothing else (``r`` holds no hook to release).

Then ``{a}`` is a *persistent set* (Godefroid): every step on a path that avoids ``a`` is
independent of ``a`` (it neither reads nor writes what ``a`` writes, ``a`` stays enabled with the
same result, and ``a`` enables nothing such a path could fire). Exploring only ``a`` therefore
keeps every reachable deadlock, hence every FINAL and ``settle`` verdict. It also keeps every
invariant violation, one step later at worst: ``a`` only finishes a process that had not
finished, or moves a run from pending to running or from live to ended, and each audited
invariant (``AUDITED_INVARIANTS``) is violated by a witness ``a`` cannot take away (two hooks of
one token, two effects, a cancel entry, a completed run's output, a finished request's answer).
A path that reaches a violation without ``a`` is matched by the path that fires ``a`` first, whose
states are the same states with ``a`` applied.

Two more persistent sets, tried when no private step is enabled:

* **arrivals**: with no ticks left and no ``after``/``during`` guard, every request that can still
  arrive can arrive now and stays able to; no process reads arrivals or their order, so the set
  of enabled arrivals is persistent (one arrival alone when the order is not recorded). An
  arrival adds an arrival tick, a place in the order and a client that has not acted: a witness
  of an audited invariant is about effects, cancels, completed runs or finished requests, which
  it does not change;
* **run creation**: once every request has arrived no new ``CreateRun`` can become enabled, and a
  ``CreateRun`` conflicts only with another (run ids are allocation order), so the enabled ones
  form a persistent set. A new pending run is no witness either.

Preconditions checked here: the process has no other enabled action (no crash or lost-response
alternative), and no more clock ticks can happen (``tick`` would change what a step records). The
cycle proviso is the explorers' own (BFS: a reduced expansion with an edge back to its own level
or an earlier one is made full; DFS: one reaching a known state).

Not preserved: shortest counterexample lengths (the violation may be met one step later), so
``check`` searches violated properties again without this reduction (``explore_reduced``); and a
violation exactly at the depth bound may then be reported ``unknown``, never ``holds``.
"""

from __future__ import annotations

from typing import Any

from model import ops as O
from model.state import TERMINAL
from properties import INVARIANT, PROPERTIES
from simulator.engine import Engine, Key, forget_if_full
from simulator.process import Phase
from simulator.symmetry import unaudited

# invariants whose violations no private step can take away (module docstring)
AUDITED_INVARIANTS = frozenset(
    {
        "single-owner",
        "at-most-once-effect",
        "newest-wins",
        "result-matches-owner",
        "no-wasted-run",
        "no-failed-request",
        "no-reclaim-race",
    }
)
# ops that change nothing when the run they name (``run_id``) has ended, with a result fixed by
# that run alone: reads, and writes the profile refuses on an ended run (``V4World._end``,
# ``start_run``, ``claim_hook``; ``cancel_run`` records a cancel only of a live run)
_ON_ENDED_RUN = frozenset(
    {O.GetRun, O.AwaitRun, O.CancelRun, O.StartRun, O.CompleteRun, O.FailRun, O.ClaimHook}
)
_OWN_RUN_OPS = frozenset({O.StartRun, O.CompleteRun, O.FailRun, O.GetRun, O.AwaitRun})
_ID_FIELDS = ("run_id", "by")


def why_not(system, extra_properties: tuple = ()) -> str | None:
    """Why private steps cannot be used on this system, or None."""
    reason = unaudited(system, extra_properties, "private steps", strategies=True)
    if reason:
        return reason
    for r in system.requests:
        if r.after is not None or r.during is not None:
            return f"req{r.index} arrives on a guard (after/during): arrivals read the world"
    for name in system.scenario.properties:
        prop = PROPERTIES[name]
        if prop.kind == INVARIANT and name not in AUDITED_INVARIANTS:
            return f"invariant {name!r} is not audited for private steps"
    return None


class PrivateSteps:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.n = engine.n
        self.max_ticks = engine.max_ticks
        self.track_order = engine.track_order
        self._arrive_labels = frozenset(engine.arrive_labels)
        self.reduced = 0  # states expanded with a proper subset of their actions
        self._mentions: dict[int, frozenset[int]] = {}
        # (wid, pids) -> the slots whose next step is private there
        self._choice: dict[tuple[int, tuple[int, ...]], tuple[int, ...]] = {}

    def _named(self, pid: int) -> frozenset[int]:
        """Run ids process state ``pid`` names: its phase's ``RUN_IDS``, its pending op's."""
        out = self._mentions.get(pid)
        if out is None:
            ids: set[int] = set()
            entry = self.engine.entries[pid]
            if entry is not None:
                local, pending = entry
                if isinstance(local, Phase):
                    for name in local.RUN_IDS:
                        value = getattr(local, name)
                        if type(value) is int:
                            ids.add(value)
                for name in _ID_FIELDS:
                    value = getattr(pending, name, None)
                    if type(value) is int:
                        ids.add(value)
            out = self._mentions[pid] = frozenset(ids)
        return out

    def _unknown_to_others(self, world, pids: tuple[int, ...], slot: int, run_id: int) -> bool:
        if any(hook.run_id == run_id for hook in world.hooks):
            return False
        entries = self.engine.entries
        for other, pid in enumerate(pids):
            if other == slot or run_id not in self._named(pid):
                continue
            pending = entries[pid][1]
            if type(pending) is O.AwaitRun and pending.run_id == run_id:
                continue  # blocked until the run ends (it has not: checked by the caller)
            return False
        return True

    def _private_slots(self, wid: int, pids: tuple[int, ...]) -> tuple[int, ...]:
        """The slots whose next step is private in (world, processes)."""
        engine = self.engine
        world = engine.worlds[wid]
        n = self.n
        entries = engine.entries
        out = []
        for slot, pid in enumerate(pids):
            entry = entries[pid]
            if entry is None:
                continue
            pending = entry[1]
            kind = type(pending)
            if kind in _ON_ENDED_RUN:
                run = world.run(pending.run_id)
                if run is not None and run.status in TERMINAL:
                    out.append(slot)
                    continue
            if slot < n or kind not in _OWN_RUN_OPS:
                continue
            run_id = slot - n + 1
            if pending.run_id != run_id:
                continue
            run = world.run(run_id)
            if run is None:
                continue
            if run.status in TERMINAL or self._unknown_to_others(world, pids, slot, run_id):
                out.append(slot)
        return tuple(out)

    def expand(self, key: Key, nexts: list | None = None) -> tuple[list[tuple[str, Key]], bool]:
        """(successors to explore, whether they are a proper subset of all of them); ``nexts``:
        the state's successors when the caller has them."""
        engine = self.engine
        if nexts is None:
            nexts = engine.successors(key)
        if len(nexts) < 2 or engine.w_clock[key[0]] < self.max_ticks:
            return nexts, False
        if None in key[2]:
            # arrivals: every request that can still arrive can arrive now (no ticks left, no
            # guards), and no process reads arrivals or their order, so the set of arrival
            # steps is persistent; one of them alone when their order is not recorded
            arrivals = [move for move in nexts if move[0] in self._arrive_labels]
            if arrivals and len(arrivals) < len(nexts):
                self.reduced += 1
                return (arrivals if self.track_order else arrivals[:1]), True
        pair = (key[0], key[1])
        slots = self._choice.get(pair)
        if slots is None:
            forget_if_full(self._choice)
            slots = self._choice[pair] = self._private_slots(*pair)
        by_label = dict(nexts)
        n = self.n
        for slot in slots:
            nxt = by_label.get(engine._name(slot))
            if nxt is None:  # not enabled (a blocked op)
                continue
            # the step must be its process's only action (no crash, no lost response beside it)
            other = engine.lost_labels[slot] if slot < n else engine._crash_label(slot)
            if other in by_label:
                continue
            self.reduced += 1
            return [(engine._name(slot), nxt)], True
        if None not in key[2]:
            # run creation: once every request has arrived no new CreateRun can become enabled,
            # and a CreateRun conflicts only with another (run ids are allocation order), so
            # the set of enabled ones is persistent (without lost responses beside them)
            creates = self._creates(key[1], by_label)
            if creates and len(creates) < len(nexts):
                self.reduced += 1
                return creates, True
        return nexts, False

    def _creates(self, pids: tuple[int, ...], by_label: dict) -> list | None:
        engine = self.engine
        entries = engine.entries
        out = []
        for slot in range(self.n):
            entry = entries[pids[slot]]
            if entry is None or type(entry[1]) is not O.CreateRun:
                continue
            if engine.lost_labels[slot] in by_label:
                return None
            name = engine._name(slot)
            out.append((name, by_label[name]))
        return out


def make_private_steps(engine: Engine, extra_properties: tuple = ()) -> tuple[Any, str]:
    """The reduction for this system, or None and why not."""
    reason = why_not(engine.system, extra_properties)
    if reason is not None:
        return None, reason
    return PrivateSteps(engine), "steps nobody else can observe are explored alone"


__all__ = ["AUDITED_INVARIANTS", "PrivateSteps", "make_private_steps", "why_not"]
