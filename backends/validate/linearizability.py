"""Linearizability of a concurrent history against the model (Wing & Gong, with Lowe's cache).

The model's ``Profile.apply`` is the sequential specification. The search (as in Lowe, "Testing
for linearizability", 2017, and porcupine) walks a doubly linked list of call/return events in
time order, tentatively linearizes any call whose result the model reproduces, backtracks when it
meets a return whose call it could not linearize, and caches every (linearized set, state) pair it
has been in: a pair seen before cannot lead anywhere new. A history is linearizable iff the search
linearizes every call.

Partitioning by key. The history is checked one key at a time: the operations on that key plus
the clock ticks (which the harness issues at barriers, when no client operation is in flight, so a
tick's place relative to every operation is fixed and it can belong to every partition). Ops of
different keys touch disjoint runs, hooks and key entries, with one exception: run ids are drawn
from one global counter. Each partition therefore checks its key *up to a renaming of run ids*:
the search state is (model world, the backend id of each model run), and a backend id is bound
to a model id the first time a result names it; a result that would bind an id twice, or two ids
to one, does not match. Distinctness across keys is checked separately (``global_id_check``).

Pending operations (no response) may be linearized anywhere after their call, with whatever
result the model gives; linearizing one after everything else is how "it never took effect"
is expressed.

Exhausting the time budget gives ``UNKNOWN``, never a pass.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from itertools import pairwise
from operator import attrgetter
from typing import Any, NamedTuple

from backends.validate.history import Observe, Operation
from model import ops as O
from model.profiles.base import Profile
from model.state import WorldState

LINEARIZABLE, NOT_LINEARIZABLE, UNKNOWN = "linearizable", "not-linearizable", "unknown"

# results whose fields name run ids, by position
_ID_FIELDS: dict[type, tuple[int, ...]] = {
    O.Started: (0,),
    O.Existing: (0,),
    O.HookConflict: (0,),
    O.HookInfo: (0,),
    O.RunInfo: (0,),
}
# ops whose ``Ok(value)`` is a run id (or None)
_OK_IS_ID = frozenset({O.CreateRun, O.AppRecordGet, O.AppRecordPut})
# op fields that are run ids, by op type
_OP_ID_FIELDS: dict[type, tuple[str, ...]] = {
    O.StartRun: ("run_id",),
    O.ClaimHook: ("run_id",),
    O.DeliverPayload: ("run_id",),
    O.ConsumePayload: ("run_id",),
    O.PollPayload: ("run_id",),
    O.DisposeHook: ("run_id",),
    O.CompleteRun: ("run_id",),
    O.FailRun: ("run_id",),
    O.CancelRun: ("run_id", "by"),
    O.ReleaseHooks: ("run_id",),
    O.GetRun: ("run_id",),
    O.AwaitRun: ("run_id",),
    O.PerformEffect: ("run_id",),
    O.AppRecordPut: ("run_id",),
}

Mapping = tuple[int | None, ...]  # model run id m -> backend id at position m - 1 (None: unknown)


# -- the renaming --------------------------------------------------------------------------------


def bind(mapping: Mapping, m: int, b: int) -> Mapping | None:
    """``mapping`` with model id ``m`` bound to backend id ``b``, or None if that contradicts it."""
    if m <= len(mapping):
        have = mapping[m - 1]
        if have is not None:
            return mapping if have == b else None
        if b in mapping:
            return None
        return (*mapping[: m - 1], b, *mapping[m:])
    if b in mapping:
        return None
    return (*mapping, *([None] * (m - 1 - len(mapping))), b)


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_run_id(value: Any) -> bool:
    """A backend run id (positive): ``CancelRun.by = 0`` is code outside any run, not an id."""
    return _is_id(value) and value > 0


def to_model(mapping: Mapping, b: Any) -> Any:
    """The model id of backend id ``b`` (an id the model never saw becomes a non-existent one)."""
    if not isinstance(b, int) or isinstance(b, bool) or b <= 0:
        return b
    try:
        return mapping.index(b) + 1
    except ValueError:
        return -b


def to_backend(op: Any, result: Any, mapping: Mapping) -> Any:
    """``result`` (the model's) with its run ids in the backend's names, where bound."""

    def b(m: Any) -> Any:
        if _is_id(m) and 1 <= m <= len(mapping) and mapping[m - 1] is not None:
            return mapping[m - 1]
        return m

    kind = type(result)
    if kind is WorldState:  # an observation's projection: every run id renamed
        return result._replace(
            runs=tuple(sorted(r._replace(id=b(r.id)) for r in result.runs)),
            hooks=tuple(sorted(h._replace(run_id=b(h.run_id)) for h in result.hooks)),
            keys=tuple(sorted(e._replace(run_id=b(e.run_id)) for e in result.keys)),
            delivered=tuple((p, b(r)) for p, r in result.delivered),
            consumed=tuple((p, b(r)) for p, r in result.consumed),
        )
    if kind is O.Ok and type(op) in _OK_IS_ID:
        return O.Ok(b(result.value))
    if kind is O.RunList:
        return result._replace(run_ids=tuple(b(m) for m in result.run_ids))
    if kind is O.Error and _is_id(result.detail):
        return result._replace(detail=b(result.detail))
    positions = _ID_FIELDS.get(kind)
    if positions is None:
        return result
    return kind(*(b(v) if i in positions else v for i, v in enumerate(result)))


# the same, by position (``translate_op`` runs once per search step)
_OP_ID_POSITIONS: dict[type, tuple[int, ...]] = {
    kind: tuple(kind._fields.index(f) for f in fields) for kind, fields in _OP_ID_FIELDS.items()
}


# ops with exactly one id field: its position (``Checker.step`` renames it inline)
_ONE_ID_POSITION: dict[type, int] = {
    kind: positions[0] for kind, positions in _OP_ID_POSITIONS.items() if len(positions) == 1
}
# results that never name a run id (``unify`` compares them as a whole); Ok is one but for the
# ops in ``_OK_IS_ID``, and an Error is one unless its detail is an int
_NO_ID_RESULTS = frozenset({O.HookCreated, O.Payload})
# results whose one id is their first field
_FIRST_ID_RESULTS = frozenset(kind for kind, positions in _ID_FIELDS.items() if positions == (0,))


def translate_op(op: Any, mapping: Mapping) -> Any:
    positions = _OP_ID_POSITIONS.get(type(op))
    if not positions:
        return op
    values = list(op)
    for i in positions:
        values[i] = to_model(mapping, values[i])
    return type(op)._make(values)


def unify(op: Any, model: Any, backend: Any, mapping: Mapping) -> Mapping | None:
    """Does ``backend`` equal ``model`` up to the renaming? The (possibly extended) renaming."""
    if type(model) is not type(backend):
        return None
    kind = type(model)
    if kind is O.Ok and type(op) in _OK_IS_ID and model.value is not None:
        return (
            None
            if not isinstance(backend.value, int)
            else bind(mapping, model.value, backend.value)
        )
    if kind is O.RunList:
        if len(model.run_ids) != len(backend.run_ids):
            return None
        pairs = _pair_ids(list(model.run_ids), list(backend.run_ids), mapping)
        if pairs is None:
            return None
        for m, b in pairs:
            mapping = bind(mapping, m, b)
            if mapping is None:
                return None
        return mapping
    if kind is O.Error and _is_id(model.detail):
        # an error's integer detail names a run (HookConflictError's owner, Temporal's
        # WorkflowExecutionAlreadyStarted, DBOS's conflicts): the workload's ``Knowledge``
        # reads it the same way
        if backend.name != model.name or not _is_id(backend.detail):
            return None
        return bind(mapping, model.detail, backend.detail)
    positions = _ID_FIELDS.get(kind)
    if positions is None:
        return mapping if model == backend else None
    for i, (m, b) in enumerate(zip(model, backend, strict=True)):
        if i in positions:
            if not isinstance(b, int):
                return None
            mapping = bind(mapping, m, b)
            if mapping is None:
                return None
        elif m != b:
            return None
    return mapping


# -- observations (the fault harness's final read) ---------------------------------------------


def project(world: WorldState, key: str, workflow: str) -> WorldState:
    """The part of ``world`` that belongs to ``key`` (runs of its workflow and what hangs off
    them). The ghost logs of effects, cancels and app records are not part of it."""
    runs = tuple(r for r in world.runs if r.workflow == workflow)
    ids = {r.id for r in runs}
    return WorldState(
        clock=world.clock,
        runs=runs,
        hooks=tuple(h for h in world.hooks if h.run_id in ids),
        keys=tuple(e for e in world.keys if e.key == key),
        delivered=tuple(d for d in world.delivered if d[1] in ids),
        consumed=tuple(c for c in world.consumed if c[1] in ids),
    )


def _pair_ids(model_ids: list[int], backend_ids: list[int], mapping: Mapping):
    """Pair two sets of run ids under the renaming: ids already bound pair with their image
    (a run list is a set: a backend that numbers concurrent admissions in another order than
    the linearization's is not wrong), the rest in id order. None if a bound id is missing."""
    remaining = sorted(backend_ids)
    if len(set(remaining)) != len(remaining):
        return None
    pairs, unbound = [], []
    for m in model_ids:
        b = mapping[m - 1] if m <= len(mapping) else None
        if b is None:
            unbound.append(m)
        elif b in remaining:
            remaining.remove(b)
            pairs.append((m, b))
        else:
            return None
    return pairs + list(zip(unbound, remaining, strict=True))


def unify_world(model: WorldState, backend: WorldState, mapping: Mapping) -> Mapping | None:
    """Are the two projected worlds equal up to the renaming (runs pair up as ``_pair_ids``)?"""
    if model.clock != backend.clock or len(model.runs) != len(backend.runs):
        return None
    by_id = {r.id: r for r in backend.runs}
    pairs = _pair_ids([r.id for r in model.runs], list(by_id), mapping)
    if pairs is None:
        return None
    model_runs = {r.id: r for r in model.runs}
    for m, b in pairs:
        mapping = bind(mapping, m, b)
        if mapping is None or model_runs[m][1:] != by_id[b][1:]:
            return None

    def rename(world: WorldState) -> tuple:
        def r(b: int) -> Any:
            return to_model(mapping, b)

        return (
            tuple(sorted(h._replace(run_id=r(h.run_id)) for h in world.hooks)),
            tuple(sorted(e._replace(run_id=r(e.run_id)) for e in world.keys)),
            tuple((p, r(run)) for p, run in world.delivered),
            tuple((p, r(run)) for p, run in world.consumed),
        )

    ours = (model.hooks, model.keys, model.delivered, model.consumed)
    return mapping if rename(backend) == ours else None


# -- the search ----------------------------------------------------------------------------------


@dataclass
class PartitionResult:
    key: str
    verdict: str
    operations: int
    explored: int  # search steps
    seconds: float
    ops: tuple[Operation, ...] = field(default=(), repr=False)


# the search's step memo starts over at this many entries (a search can take millions of steps)
STEP_MEMO_ENTRIES = 65_536
# ... and is given up for the rest of a search where, over MEMO_WINDOW lookups, fewer than one
# in MEMO_MIN_HITS found its step
MEMO_WINDOW = 4096
MEMO_MIN_HITS = 16
_MISSING = object()  # no step memoized


class Checker:
    """The step function: the model under renaming. ``workflow`` maps a key to its workflow."""

    def __init__(self, profile: Profile, workflow=None) -> None:
        from backends.validate.history import workflow_of

        self.profile = profile
        self.workflow = workflow or workflow_of
        # ``allowed``: the op (by index) whose result is not compared, and the model results
        # it must not take (to enumerate what the model allows in its place)
        self.free: int | None = None
        self.excluded: frozenset[str] = frozenset()
        self._apply = profile.apply
        # the search's step memo (``_search``) starts over at this many entries; 0: no memo
        self.step_memo_entries = STEP_MEMO_ENTRIES
        self._clock_only_ticks = type(profile).tick is Profile.tick
        self._tick_answers: dict[tuple[int, int], tuple] = {}
        # the handlers ``Profile.apply`` dispatches to (one call a step fewer), unless a profile
        # overrides apply
        self._handlers: dict[type, Any] = (
            {kind: getattr(profile, method) for kind, method in profile.HANDLERS.items()}
            if type(profile).apply is Profile.apply
            else {}
        )

    def model_result(self, state: tuple[WorldState, Mapping], o: Operation) -> Any:
        """What the model answers ``o`` in ``state`` (the op's ids renamed into the model's)."""
        world, mapping = state
        if type(o.op) is Observe:
            return project(world, o.op.key, self.workflow(o.op.key))
        if type(o.op) is O.AdvanceClock:
            return O.Ok(self.profile.tick(world).clock)
        return self.profile.apply(world, translate_op(o.op, mapping))[1]

    def step(self, state: tuple[WorldState, Mapping], o: Operation) -> tuple | None:
        """The state after ``o`` takes effect in ``state``, or None if the model cannot give
        its answer there (up to the renaming, which the answer may extend).

        The same as ``Profile.apply`` on ``translate_op`` and then ``unify``, with their common
        cases inlined (the search's step is a few microseconds, and the calls and checks that
        do not depend on the state were a third of it): an op with one id field, the handler
        taken from the profile's table, an answer that names no run id compared as a whole."""
        op = o.op
        kind = type(op)
        if kind in _NOT_APPLIED or o.index == self.free:
            return self._special_step(state, o)
        world, mapping = state
        position = _ONE_ID_POSITION.get(kind)
        if position is not None:
            b = op[position]
            if type(b) is int:
                if b > 0:  # ``to_model``
                    try:
                        m = mapping.index(b) + 1
                    except ValueError:
                        m = -b
                    # ``_make`` without its Python frame (the fields are the op's own)
                    op = tuple.__new__(kind, (*op[:position], m, *op[position + 1 :]))
            elif isinstance(b, int):  # an int subclass (a bool stays as it is): the general path
                op = translate_op(op, mapping)
        elif kind in _OP_ID_POSITIONS:
            op = translate_op(op, mapping)
        handler = self._handlers.get(kind)
        world2, result = self._apply(world, op) if handler is None else handler(world, op)
        if o.ret is None:
            return world2, mapping
        backend = o.result
        answer = type(backend)
        if type(result) is not answer:
            return None
        if (
            answer in _NO_ID_RESULTS
            or (answer is O.Ok and kind not in _OK_IS_ID)
            or (answer is O.Error and (result.detail is None or not _is_id(result.detail)))
        ):
            if result != backend:
                return None
            return state if world2 is world else (world2, mapping)
        if answer in _FIRST_ID_RESULTS:
            b = backend[0]
            if not isinstance(b, int) or result[1:] != backend[1:]:
                return None
            m = result[0]
            if m <= len(mapping) and mapping[m - 1] == b:  # ``bind``: bound already
                return state if world2 is world else (world2, mapping)
            new_mapping = bind(mapping, m, b)
            return None if new_mapping is None else (world2, new_mapping)
        new_mapping = unify(o.op, result, backend, mapping)
        return None if new_mapping is None else (world2, new_mapping)

    def _special_step(self, state: tuple[WorldState, Mapping], o: Operation) -> tuple | None:
        """``step`` for an op whose answer is not compared (``free``), an observation, and
        clock ticks (one, or a run of them: ``_Ticks``)."""
        world, mapping = state
        op = o.op
        if o.index == self.free and type(op) is Observe:
            return state  # any observed state: the model's is read off the linearization
        if o.index == self.free:
            if type(op) is O.AdvanceClock:
                world2 = self.profile.tick(world)
                result: Any = O.Ok(world2.clock)
            else:
                world2, result = self.profile.apply(world, translate_op(op, mapping))
            return None if O.describe(result) in self.excluded else (world2, mapping)
        if type(op) is Observe:
            if o.pending:
                return state
            model = project(world, op.key, self.workflow(op.key))
            backend = project(o.result, op.key, self.workflow(op.key))
            new_mapping = unify_world(model, backend, mapping)
            return None if new_mapping is None else (world, new_mapping)
        if type(op) is _Ticks:
            if self._clock_only_ticks:
                # ``Profile.tick`` moves the clock alone: the run's answers are the clocks that
                # follow this one, the same in every partition (ticks are the clock's only
                # writers), so worked out once per (clock, count)
                answers = (world.clock, op.count)
                expected = self._tick_answers.get(answers)
                if expected is None:
                    expected = self._tick_answers[answers] = tuple(
                        O.Ok(world.clock + k) for k in range(1, op.count + 1)
                    )
                if expected != o.result:
                    return None
                return world._replace(clock=world.clock + op.count), mapping
            ticks = []
            for _ in range(op.count):
                world = self.profile.tick(world)
                ticks.append(O.Ok(world.clock))
            return (world, mapping) if tuple(ticks) == o.result else None
        world2 = self.profile.tick(world)
        if o.pending:
            return world2, mapping
        return (world2, mapping) if O.Ok(world2.clock) == o.result else None

    def _fifo(self) -> bool:
        """Are hook inboxes first in, first out here (``V4World``'s delivery and reads)?"""
        from model.profiles.base import V4World

        kind = type(self.profile)
        return (
            isinstance(self.profile, V4World)
            and kind.consume_payload is V4World.consume_payload
            and kind.poll_payload is V4World.poll_payload
        )

    def check(
        self, key: str, ops: Iterable[Operation], deadline: float | None = None
    ) -> PartitionResult:
        ops = tuple(ops)
        started = time.perf_counter()
        verdict, explored, _order = self._search(ops, deadline, explain=False)
        return PartitionResult(key, verdict, len(ops), explored, time.perf_counter() - started, ops)

    def linearization(
        self, ops: Iterable[Operation], deadline: float | None = None
    ) -> list[tuple[Operation, Any, Any]] | None:
        """One linearization of ``ops``: each op with the model's result, in the model's run ids
        and in the backend's; None if there is none (or the budget ran out)."""
        verdict, _explored, order = self._search(tuple(ops), deadline)
        return order if verdict == LINEARIZABLE else None

    def _in_deadline_order(
        self,
        ops: tuple[Operation, ...],
        deadline_of: list[float],
        initial: tuple,
        memo: dict[int, tuple[tuple, dict[int, tuple | None]]],
    ) -> int:
        """Try the one order the search would most likely take first, with none of its
        machinery: every op at its deadline (``_deadlines``: within its own interval, so the
        order respects real time), from state ``initial``. The number of steps it took:
        positive if every op gave its answer there (a linearization: the history is
        linearizable), negative if one did not (the search decides; those steps were spent,
        and are left in ``memo``, the search's step memo: it starts down the same path).
        Most partitions of a correct store's history linearize this way, and then the search's
        event list, candidate lists and cache, a third of the time on them, are never built."""
        order = sorted(range(len(ops)), key=deadline_of.__getitem__)
        state: tuple | None = initial
        states = [initial]
        step = self.step
        for taken, i in enumerate(order, 1):
            state = step(state, ops[i])
            states.append(state)
            if state is None:
                if self.step_memo_entries >= taken:
                    for before, after, i in zip(states, states[1:], order, strict=False):
                        memo.setdefault(id(before), (before, {}))[1][i] = after
                return -taken
        return max(1, len(order))

    def _search(
        self, ops: tuple[Operation, ...], deadline: float | None, explain: bool = True
    ) -> tuple[str, int, list[tuple[Operation, Any, Any]]]:
        """Wing & Gong's search with Lowe's cache, trying the candidates of each step in
        deadline order (``_deadlines``).

        The candidates at a step are the calls before the first return not yet matched (any of
        them may be linearized next; the rest must wait). Which one is tried first does not
        change the verdict, only how soon a linearization is found. Classic WGL tries them in
        list order and, after each success, restarts from the head: every DeliverPayload
        succeeds, so it took a burst's deliveries in call order, and a 70-op partition (10
        concurrent deliveries to one hook, then polls reading them back in another order)
        searched 840,000 steps for 5 s without a verdict. Here each step sorts its candidates
        by deadline: a delivery by when its payload is first read back, any other op by its
        own return (Lowe's just-in-time order)."""
        fast_steps = 0
        initial: tuple = (self.profile.initial(), ())
        # the step by the identity of the state it starts from (below)
        memo: dict[int, tuple[tuple, dict[int, tuple | None]]] = {}
        if not explain:
            ops = _merge_ticks(ops, self.free)
            deadline_of = _deadlines(ops)
            fast_steps = self._in_deadline_order(ops, deadline_of, initial, memo)
            if fast_steps > 0:
                return LINEARIZABLE, fast_steps, []
            fast_steps = -fast_steps
        # The event list, doubly linked over two int tables (an entry object per event was a
        # third of the setup, and a refuted partition's search is mostly setup): event i is op
        # i's call, n + i its return; HEAD and TAIL close the list, and TAIL is past every
        # call, so a walk over calls stops there as at a return. Time order, calls before
        # returns at equal times (touching operations are concurrent), then by op: the stable
        # sort of the events in that numbering by time alone.
        n = len(ops)
        inf = float("inf")
        times = [o.call for o in ops]
        times += [inf if o.ret is None else o.ret for o in ops]
        head, tail = 2 * n, 2 * n + 1
        events = [head, *sorted(range(2 * n), key=times.__getitem__), tail]
        nxt = dict(pairwise(events))
        prv = dict(zip(events[1:], events, strict=False))
        if explain:
            deadline_of = _deadlines(ops)
        # per delivery, the deliveries to linearize before it: worked out when a delivery is
        # first a candidate (a partition refuted before any is, never does)
        required: dict[int, int] | None = None if self._fifo() else {}

        def lift(bit: int) -> None:
            for event in (bit, n + bit):
                before, after = prv[event], nxt[event]
                nxt[before] = after
                prv[after] = before

        def unlift(bit: int) -> None:
            for event in (n + bit, bit):
                nxt[prv[event]] = event
                prv[nxt[event]] = event

        by_deadline = deadline_of.__getitem__

        def candidates() -> list[int]:
            """The calls before the first return, by deadline (ties in list order)."""
            out = []
            event = nxt[head]
            while event < n:
                out.append(event)
                event = nxt[event]
            out.sort(key=by_deadline)
            return out

        state = initial
        linearized = 0
        # Lowe's cache, keyed on the linearized set first (as porcupine does): a state is
        # compared only with the states met with the same set, and hashed never. On a history
        # that linearizes without backtracking every set is new, and hashing the world (every
        # run, hook and key entry of the partition) was a fifth of the cost of a step.
        cache: dict[int, list[tuple]] = {}
        # one frame per linearized call: (its position, the state before it, the candidates of
        # that step, the position of the next one to try there)
        frames: list[tuple] = []
        # The step by the identity of the state it starts from: an op that changes neither the
        # world nor the renaming (a read, a duplicate start answered with the existing run)
        # returns its state object, so a run of them leaves every candidate of the next steps
        # facing the same state, and the ones that failed there fail again (a burst of
        # concurrent starts was tried once per order of its reads). ``memo`` maps the id of a
        # state to (the state, its steps by op position); each entry keeps its state alive, so
        # an id is never reused while it is a key. ``here``: the current state's steps. Where
        # states seldom recur (a search over many orders of writes) the memo only costs, an
        # entry a step for the garbage collector to walk (a quarter slower): a search where
        # fewer than one lookup in MEMO_MIN_HITS finds its step, over MEMO_WINDOW of them,
        # stops memoizing.
        memo_entries = self.step_memo_entries
        memo_size = 0
        no_memo: dict[int, tuple | None] = {}  # ``here`` when not memoizing: never written
        here = memo.setdefault(id(state), (state, {}))[1] if memo_entries else no_memo
        lookups = hits = 0
        todo = candidates()
        position = 0
        explored = fast_steps
        step = self.step
        missing = _MISSING
        while nxt[head] != tail:
            explored += 1
            if explored % 512 == 0:
                if deadline is not None and time.monotonic() > deadline:
                    return UNKNOWN, explored, []
                if memo_entries and lookups >= MEMO_WINDOW:
                    if hits * MEMO_MIN_HITS < lookups:
                        memo_entries = 0
                        memo.clear()
                        here = no_memo
                    lookups = hits = 0
            if position < len(todo):
                bit = todo[position]
                position += 1
                o = ops[bit]
                if type(o.op) is O.DeliverPayload:
                    if required is None:
                        required = _fifo_predecessors(ops, self.free)
                    needs = required.get(bit)
                    if needs is not None and needs & ~linearized:
                        continue  # a delivery read back earlier is not in the inbox yet
                lookups += 1
                new_state = here.get(bit, missing)
                if new_state is missing:
                    new_state = step(state, o)
                    if memo_entries:
                        here[bit] = new_state
                        memo_size += 1
                else:
                    hits += 1
                if new_state is None:
                    continue
                new_linearized = linearized | (1 << bit)
                seen = cache.get(new_linearized)
                if seen is None:
                    cache[new_linearized] = [new_state]
                elif new_state in seen:
                    continue
                else:
                    seen.append(new_state)
                frames.append((bit, state, todo, position, here))
                if new_state is not state:
                    if not memo_entries:
                        here = no_memo
                    else:
                        if memo_size >= memo_entries:  # start over (frames keep theirs)
                            memo.clear()
                            memo_size = 0
                        here = memo.setdefault(id(new_state), (new_state, {}))[1]
                state = new_state
                linearized = new_linearized
                lift(bit)
                todo = candidates()
                position = 0
                continue
            # every candidate of this step failed: undo the last linearized call
            if not frames:
                return NOT_LINEARIZABLE, explored, []
            bit, state, todo, position, here = frames.pop()
            linearized &= ~(1 << bit)
            unlift(bit)
        if not explain:
            return LINEARIZABLE, explored, []
        # the linearization: the calls in the order taken, each with the model's answer in the
        # backend's run ids (the renaming the whole linearization settled on)
        final = state[1]
        order = []
        for bit, before, *_ in frames:
            o = ops[bit]
            raw = self.model_result(before, o)
            order.append((o, raw, to_backend(o.op, raw, final)))
        return LINEARIZABLE, explored, order


class _Ticks(NamedTuple):
    """Consecutive clock ticks that no other operation of the partition can be linearized
    between, taken as one step (``_merge_ticks``); its result is the tuple of theirs."""

    count: int


# ops ``Checker.step`` does not hand to ``Profile.apply``
_NOT_APPLIED = frozenset({Observe, O.AdvanceClock, _Ticks})


def _merge_ticks(ops: tuple[Operation, ...], free: int | None) -> tuple[Operation, ...]:
    """``ops`` with every run of clock ticks that nothing else overlaps merged into one op.

    Every partition holds every tick (``partitions``), and a key busy in a few epochs of a long
    history spent two thirds of the search stepping ticks one at a time. A tick is *clean* when
    no other op's interval meets its own (the harness ticks at barriers, when no client op is in
    flight; an op with no response stays open to the end): nothing can be linearized just before
    or after it but the neighbouring ticks. Clean ticks adjacent in call order have nothing
    between them in any linearization, so taking them as one step (each tick's answer still
    compared) loses no linearization and admits none. A tick with no response, or the op whose
    answer is not compared (``free``), stays alone."""
    # in call order (a stable sort: equal calls keep the partition's order), in one pass (a
    # partition's setup is a good part of a refuted one's time): a tick is clean when every op
    # called before it has returned when it is called, and the next op in call order (the
    # first called after it) is called after it returns
    order = sorted(ops, key=attrgetter("call"))
    inf = float("inf")
    out: list[Operation] = []
    run: list[Operation] = []
    merged_any = False
    open_until = -inf
    last = len(order) - 1
    for i, o in enumerate(order):
        ret = o.ret
        if (
            type(o.op) is O.AdvanceClock
            and open_until < o.call
            and ret is not None
            and (i == last or ret < order[i + 1].call)
            and o.index != free
        ):
            run.append(o)
        else:
            if run:
                merged_any |= len(run) > 1
                out.append(_merged(run))
                run = []
            out.append(o)
        if ret is None:
            open_until = inf
        elif ret > open_until:
            open_until = ret
    if run:
        merged_any |= len(run) > 1
        out.append(_merged(run))
    if not merged_any:
        return ops
    return tuple(sorted(out, key=attrgetter("index")))


def _merged(run: list[Operation]) -> Operation:
    """One op for a run of clean ticks (itself, if it is one tick)."""
    if len(run) == 1:
        return run[0]
    first, last = run[0], run[-1]
    results = tuple(t.result for t in run)
    return Operation(
        first.index, first.client, None, _Ticks(len(run)), results, first.call, last.ret
    )


def _fifo_predecessors(ops: tuple[Operation, ...], free: int | None) -> dict[int, int]:
    """Per delivery (by position), a bit mask of the deliveries that must be linearized before
    it, from a FIFO inbox and the reads' answers: if a read of payload ``p`` returned before any
    read of payload ``q`` (same hook) was called, ``p`` left the inbox first, so it was
    delivered first. A pruning that loses no linearization, and the one that makes a
    non-linearizable burst cheap to refute (without it, every order of 10 concurrent
    deliveries, 10! of them, was tried). Used only when each payload is delivered once per
    hook; ``free`` (an op whose answer is not compared) is not read."""
    delivered: dict[tuple, int] = {}  # (run id, hook id, payload) -> position
    for position, o in enumerate(ops):
        if type(o.op) is O.DeliverPayload:
            target = (o.op.run_id, o.op.hook_id, o.op.payload)
            if target in delivered:
                return {}  # a payload delivered twice: reads cannot tell which
            delivered[target] = position
    if not delivered:
        return {}
    first_return: dict[tuple, float] = {}
    first_call: dict[tuple, float] = {}
    for o in ops:
        if o.index == free or type(o.result) is not O.Payload:
            continue
        if type(o.op) not in (O.PollPayload, O.ConsumePayload):
            continue
        target = (o.op.run_id, o.op.hook_id, o.result.value)
        if target not in delivered:
            continue
        first_call[target] = min(first_call.get(target, float("inf")), o.call)
        if o.ret is not None:
            first_return[target] = min(first_return.get(target, float("inf")), o.ret)
    out: dict[int, int] = {}
    for q, called in first_call.items():
        mask = 0
        for p, returned in first_return.items():
            if p != q and p[:2] == q[:2] and returned < called:
                mask |= 1 << delivered[p]
        if mask:
            out[delivered[q]] = mask
    return out


def _deadlines(ops: tuple[Operation, ...]) -> list[float]:
    """Per op (by position), the time by which it is best linearized: a delivery, the call of
    the first op that reads its payload back (the inbox order is the order of those reads); any
    other op, its return (an op with no response, its call). Always within the op's own
    interval (a delivery's is clamped into it), so ops in deadline order respect real time: an
    op that returned before another was called comes first."""
    first_read: dict[Any, float] = {}
    for o in ops:
        if type(o.result) is O.Payload:
            value = o.result.value
            if value not in first_read or o.call < first_read[value]:
                first_read[value] = o.call
    # an op with no response: by its call, as if it took effect when called (the likelier
    # story, and the one an explanation should tell first); times as they are (ints stay
    # ints: a float of a nanosecond clock past 2**53 would round)
    out = [o.call if o.ret is None else o.ret for o in ops]
    if first_read:
        for position, o in enumerate(ops):
            if type(o.op) is O.DeliverPayload and o.op.payload in first_read:
                # not its own return: concurrent deliveries are ordered by their readers alone
                read = first_read[o.op.payload]
                out[position] = max(o.call, read if o.ret is None else min(read, o.ret))
    return out


def partitions(history: Iterable[Operation]) -> dict[str, list[Operation]]:
    """Operations by key; operations with no key (clock ticks) go into every partition."""
    history = list(history)
    shared = [o for o in history if o.key is None]
    own: dict[str, list[Operation]] = {}
    for o in history:  # one pass: a workload touches hundreds of keys
        if o.key is not None:
            own.setdefault(o.key, []).append(o)
    by_index = attrgetter("index")
    return {k: sorted(own[k] + shared, key=by_index) for k in sorted(own)}


def global_id_check(history: Iterable[Operation]) -> str | None:
    """Across partitions: no backend run id is admitted twice. A one-line problem, or None."""
    seen: dict[int, Operation] = {}
    for o in history:
        if o.pending:
            continue
        fresh = None
        if type(o.result) is O.Started:
            fresh = o.result.run_id
        elif type(o.op) is O.CreateRun and type(o.result) is O.Ok:
            fresh = o.result.value
        if fresh is None:
            continue
        if fresh in seen:
            first = seen[fresh]
            return (
                f"run id {fresh} admitted twice: by client {first.client} ({O.describe(first.op)}) "
                f"and client {o.client} ({O.describe(o.op)})"
            )
        seen[fresh] = o
    return None


@dataclass
class Core:
    """A minimal non-linearizable core of a failing partition: no operation of ``ops`` can be
    dropped and the rest stay non-linearizable. ``culprit`` (an op index) is the op whose answer
    closes the contradiction: everything answered before it is still linearizable. ``model`` is
    the model's answer to each op in one linearization where every op but the culprit answers as
    the backend did, so the two can be shown side by side; ``allowed`` the culprit's answers
    the model allows there (up to three)."""

    key: str
    ops: tuple[Operation, ...]
    culprit: int | None
    model: dict[int, Any] = field(default_factory=dict)
    allowed: list[Any] = field(default_factory=list)
    of: int = 0  # operations of the partition it was shrunk from
    # the culprit is the final observation (faults): what differs between the state the model
    # reaches and the one the store holds (``statediff``), in the store's run ids
    observed_diff: list[str] = field(default_factory=list)
    # False when the budget ran out while shrinking: no op of it *was shown* droppable, but not
    # every one was tried
    minimal: bool = True


@dataclass
class HistoryVerdict:
    verdict: str
    partitions: list[PartitionResult]
    failing: PartitionResult | None = None  # smallest failing partition, shortest failing prefix
    problem: str | None = None
    seconds: float = 0.0
    core: Core | None = None  # ``failing`` shrunk to a minimal non-linearizable core


def without_uncertain_answers(profile: Profile, history: list[Operation]) -> list[Operation]:
    """An answer the profile declares uncertain (``Profile.UNCERTAIN``; vercel-v5: the claim
    lock's ``WorkflowWorldError``, "may or may not have claimed") is no answer: the op may have
    taken effect or not, like a killed client's. Recording it as the World's answer would blame
    the World for a reply its own contract says to treat as unknown."""
    uncertain = getattr(profile, "UNCERTAIN", None) or {}
    if not uncertain:
        return history
    return [
        o._replace(result=None, ret=None)
        if isinstance(o.result, O.Error) and o.result.name in uncertain.get(type(o.op), ())
        else o
        for o in history
    ]


# A first pass gives each partition at most this long, so a partition no search decides cannot
# hold up a refutation in another; once one is refuted the verdict is decided and the undecided
# ones stay unknown (they only competed to be the smallest failing partition shown); otherwise a
# second pass gives them the rest of the budget. Checked in one pass, a store with a race in every
# key had the user wait out the whole budget: 30 s for a 2,320-op history whose refuted
# partitions took milliseconds.
FIRST_PASS_SECONDS = 1.0


def check_history(
    profile: Profile, history: list[Operation], budget: float | None = 10.0, workflow=None
) -> HistoryVerdict:
    """Check every key partition (in two passes: ``FIRST_PASS_SECONDS``); report the smallest
    failing one, cut to its shortest failing prefix (a prefix keeps the ops called before a
    time, those still running become pending: linearizability is prefix-closed, so the shortest
    failing prefix is found by bisection)."""
    checker = Checker(profile, workflow)
    started = time.perf_counter()
    deadline = None if budget is None else time.monotonic() + budget
    history = without_uncertain_answers(profile, history)
    parts = partitions(history)
    by_key: dict[str, PartitionResult] = {}

    def search(key: str, cap: float | None) -> bool:
        """Search ``key``'s partition (at most ``cap`` seconds); refuted?"""
        limit = deadline
        if cap is not None:
            limit = (
                time.monotonic() + cap
                if deadline is None
                else min(deadline, time.monotonic() + cap)
            )
        result = checker.check(key, parts[key], limit)
        first = by_key.get(key)
        if first is not None:  # the first pass's search counts too
            result = replace(
                result,
                explored=first.explored + result.explored,
                seconds=first.seconds + result.seconds,
            )
        by_key[key] = result
        return result.verdict == NOT_LINEARIZABLE

    refuted = False
    for key in parts:
        refuted |= search(key, FIRST_PASS_SECONDS)
    for key in parts:
        if refuted or (deadline is not None and time.monotonic() > deadline):
            break
        if by_key[key].verdict == UNKNOWN:
            refuted |= search(key, None)
    results = list(by_key.values())
    seconds = time.perf_counter() - started
    problem = global_id_check(history)
    failing = [r for r in results if r.verdict == NOT_LINEARIZABLE]
    if failing:
        smallest = min(failing, key=lambda r: (r.operations, r.key))
        smallest = shortest_failing_prefix(checker, smallest, deadline)
        # the verdict is decided; the core is its explanation, and shrinking a long history can
        # take the whole budget (a mutant's run took 2 minutes, 4 histories x 30 s of shrinking):
        # it gets at most SHRINK_SECONDS, and a core cut short says it may not be minimal
        cap = time.monotonic() + SHRINK_SECONDS
        core = shrink(checker, smallest, cap if deadline is None else min(deadline, cap))
        return HistoryVerdict(NOT_LINEARIZABLE, results, smallest, problem, seconds, core)
    if problem is not None:
        return HistoryVerdict(NOT_LINEARIZABLE, results, None, problem, seconds)
    if any(r.verdict == UNKNOWN for r in results):
        return HistoryVerdict(UNKNOWN, results, None, "time budget exhausted", seconds)
    return HistoryVerdict(LINEARIZABLE, results, None, None, seconds)


def prefix(ops: tuple[Operation, ...], cut: int) -> tuple[Operation, ...]:
    """Ops called before time ``cut``; those that had not returned by then become pending."""
    out = []
    for o in ops:
        if o.call >= cut:
            continue
        if o.ret is not None and o.ret > cut:
            o = o._replace(result=None, ret=None)
        out.append(o)
    return tuple(out)


def shortest_failing_prefix(
    checker: Checker, failing: PartitionResult, deadline: float | None
) -> PartitionResult:
    ops = failing.ops
    cuts = sorted({o.call + 1 for o in ops} | {o.ret + 1 for o in ops if o.ret is not None})
    lo, hi = 0, len(cuts) - 1  # cuts[hi] keeps everything and fails
    best = failing
    while lo < hi:
        mid = (lo + hi) // 2
        candidate = checker.check(failing.key, prefix(ops, cuts[mid]), deadline)
        if candidate.verdict == NOT_LINEARIZABLE:
            hi = mid
            best = candidate
        elif candidate.verdict == LINEARIZABLE:
            lo = mid + 1
        else:
            break  # out of time: keep the smallest failing one found so far
    return best


# -- shrinking -----------------------------------------------------------------------------------

# ops that never change the world: a read can be dropped without changing what the others allow
_READS = frozenset({O.GetRun, O.ListRuns, O.GetHookByToken, O.PollPayload, O.AwaitRun, Observe})
# each removal's search gets at most this long (a removal it cannot decide in time is kept)
SHRINK_STEP_SECONDS = 5.0
# the whole shrink of one failing history gets at most this long (within the check's budget)
SHRINK_SECONDS = 10.0


def result_ids(o: Operation) -> set[int]:
    """The backend run ids ``o``'s answer names (how a client learns an id)."""
    if o.pending or type(o.op) is Observe:
        return set()
    r = o.result
    ids: set[int] = set()
    positions = _ID_FIELDS.get(type(r))
    if positions is not None:
        ids |= {r[i] for i in positions if _is_run_id(r[i])}
    elif type(r) is O.RunList:
        ids |= {i for i in r.run_ids if _is_run_id(i)}
    elif type(r) is O.Error and _is_run_id(r.detail):
        ids.add(r.detail)
    elif type(r) is O.Ok and type(o.op) in _OK_IS_ID and _is_run_id(r.value):
        ids.add(r.value)
    return ids


def op_ids(o: Operation) -> set[int]:
    """The backend run ids ``o``'s op names (ids it learned from earlier answers)."""
    return {v for f in _OP_ID_FIELDS.get(type(o.op), ()) if _is_run_id(v := getattr(o.op, f))}


def _with_dependents(kept: list[Operation], victim: Operation) -> set[int]:
    """``victim`` and the ops that name a run id no other kept op had answered before their call
    (a session only names an id it has learned: dropping where it learned it drops the use)."""
    gone = {victim.index}
    changed = True
    while changed:
        changed = False
        for o in kept:
            if o.index in gone:
                continue
            for b in op_ids(o):
                learned = any(
                    p.index not in gone
                    and p.ret is not None
                    and p.ret <= o.call
                    and b in result_ids(p)
                    for p in kept
                )
                if not learned:
                    gone.add(o.index)
                    changed = True
                    break
    return gone


def pending(o: Operation) -> Operation:
    return o._replace(result=None, ret=None)


def shrink(checker: Checker, failing: PartitionResult, deadline: float | None) -> Core:
    """Drop operations while the partition stays non-linearizable; deterministic (latest first).

    A dropped operation stays in the searched history as an unanswered one (it may have taken
    effect anywhere after its call, or not at all), so every history tried is *weaker* than the
    backend's: the core's answers cannot all be right whatever the dropped operations did, and a
    core is never an artefact of forgetting an admission an ``Existing`` relied on. Real-time order
    is kept (times are never changed). Reads, which cannot change the world, are dropped outright.

    An op is not dropped while other kept ops depend on it (they name a run id only its answer
    told): dropped with it, their effects would go too, effects the rest of the core may rely on
    (a conflict naming that run's claim, say), and the core would fail by construction, blaming
    answers the backend got right (seen on world-local: a core of 21 operations marking a claim,
    where the real contradiction was a cancel and a fail of one run, both ``Ok``)."""
    kept = sorted(failing.ops, key=lambda o: o.index)
    maybe: list[Operation] = []  # dropped writes, searched as unanswered
    minimal = True
    for victim in reversed(list(kept)):
        if victim not in kept:
            continue
        gone = _with_dependents(kept, victim)
        if len(gone) > 1:
            continue
        rest = [o for o in kept if o.index not in gone]
        weaker = [] if type(victim.op) in _READS or victim.pending else [pending(victim)]
        step_deadline = time.monotonic() + SHRINK_STEP_SECONDS
        if deadline is not None:
            step_deadline = min(step_deadline, deadline)
            if time.monotonic() > deadline:
                minimal = False
                break  # out of budget: what is kept so far is still a failing core
        trial = sorted(rest + maybe + weaker, key=lambda o: o.index)
        verdict = checker.check(failing.key, trial, step_deadline).verdict
        if verdict == NOT_LINEARIZABLE:
            kept = rest
            maybe = sorted(maybe + weaker, key=lambda o: o.index)
        elif verdict == UNKNOWN:
            minimal = False  # undecided in time: kept, so the core may hold one too many
    core = tuple(kept)
    culprit = _culprit(checker, failing.key, core, maybe, deadline)
    model, allowed = _model_side(checker, core, maybe, culprit, deadline)
    observed: list[str] = []
    last = next((o for o in core if o.index == culprit), None)
    if last is not None and type(last.op) is Observe and culprit in model:
        from backends.validate.statediff import state_diff

        key = last.op.key
        store = project(last.result, key, checker.workflow(key))
        observed = state_diff(model[culprit], store)
        allowed = []  # a world is shown as its diff, not as one more answer
    return Core(failing.key, core, culprit, model, allowed, failing.operations, observed, minimal)


def _culprit(checker, key, core, maybe, deadline) -> int | None:
    """The op whose answer closes the contradiction: the earliest response after which the core's
    answers so far are already non-linearizable (later responses become unanswered)."""
    answered = sorted((o for o in core if o.ret is not None), key=lambda o: (o.ret, o.index))
    for o in answered:
        trial = [x if x.ret is not None and x.ret <= o.ret else pending(x) for x in core]
        trial = sorted(trial + maybe, key=lambda x: x.index)
        if checker.check(key, trial, deadline).verdict == NOT_LINEARIZABLE:
            return o.index
    return answered[-1].index if answered else None


def _model_side(checker, core, maybe, culprit, deadline) -> tuple[dict[int, Any], list[Any]]:
    """The model's answer to each core op in one linearization where only the culprit's answer
    is free, and the culprit's answers the model allows (up to three, each found by excluding
    the ones before)."""
    if culprit is None:
        return {}, []
    trial = sorted([*core, *maybe], key=lambda o: o.index)
    core_ids = {o.index for o in core}
    model: dict[int, Any] = {}
    allowed: list[Any] = []
    excluded: set[str] = set()  # in the model's run ids, as the step compares them
    checker.free = culprit
    try:
        for _ in range(3):
            checker.excluded = frozenset(excluded)
            order = checker.linearization(trial, deadline)
            if order is None:
                break
            answers = {o.index: named for o, _raw, named in order if o.index in core_ids}
            if not model:
                model = answers
            raw = next((r for o, r, _named in order if o.index == culprit), None)
            if raw is None or O.describe(raw) in excluded:
                break
            excluded.add(O.describe(raw))
            if answers[culprit] not in allowed:  # model runs differ, the backend's name is one
                allowed.append(answers[culprit])
    finally:
        checker.free = None
        checker.excluded = frozenset()
    return model, allowed
