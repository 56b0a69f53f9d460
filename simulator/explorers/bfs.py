"""Breadth-first search: exhaustive, and the first counterexample per property is a shortest one.

Only parent pointers are kept during search (key -> index, index -> (parent index, action)); the
path is rebuilt and replayed when a violation is reported. No graph library in the loop.

The search runs over the engine's interned keys (``simulator/engine.py``), with the cyclic garbage
collector paused: the search allocates millions of acyclic tuples and keeps them all, so every
collection would walk the whole ``seen`` table for nothing.

With a ``canon`` function (symmetry reduction) ``seen`` holds canonical forms and BFS expands the
canonical forms themselves, not the member of the orbit it first met. Profiling showed why: the
engine memoizes moves on (world, processes), and the first-met members of 62,524 orbits of
supersede-aba carried 62,000 distinct pairs (the memo never hit), while the canonical forms share
about a sixth as many, so the reduced search paid the full per-state cost 6x less often only in
dedupe. The labels stored along a path were fired at canonical states, so a counterexample is
turned back into a real schedule by ``concretize`` (one orbit-matching step per label: the
canonical form is a function of the orbit, so some successor of the concrete state is in the next
stored state's orbit). BFS over orbits reaches each orbit at the depth of its nearest member, so
counterexample lengths are those of the unreduced search. With ``expand`` (partial-order
reduction) a state's successors are a persistent subset of all of them.
"""

from __future__ import annotations

import gc
import math
from array import array
from collections.abc import Callable, Sequence

from simulator.engine import CODE_BITS, CODE_MASK, Engine, Key, KeyBook, forget_if_full
from simulator.explorers.base import (
    EXPLORERS,
    Budget,
    Clock,
    Explored,
    Progress,
    PropertyBook,
    SearchOptions,
    Stats,
)
from simulator.explorers.reduced import check_reductions, explore_reduced
from simulator.reductions import DEFAULT
from simulator.system import System


def _path(parents: list[tuple[int, str | None]], index: int) -> list[str]:
    labels: list[str] = []
    while index > 0:
        index, label = parents[index]
        assert label is not None  # only the initial state (index 0) has no label
        labels.append(label)
    labels.reverse()
    return labels


def concretize(engine: Engine, canon: Callable[[Key], Key], labels: list[str]) -> list[str]:
    """The real schedule behind ``labels`` fired from canonical state to canonical state (what
    BFS stores under ``canon``): replays them over canonical forms and, beside them, picks at each
    step the successor of the concrete state that lies in the same orbit as the next canonical
    state. Raises RuntimeError if none does (``canon`` is then not a function of the orbit: a
    bug of ours, never a wrong trace)."""
    concrete = engine.initial()
    rep = canon(concrete)
    out = []
    for step, label in enumerate(labels):
        fired = next((nxt for name, nxt in engine.successors(rep) if name == label), None)
        if fired is None:
            raise RuntimeError(f"concretize: step {step}: {label!r} is not enabled in the orbit")
        target = canon(fired)
        for name, nxt in engine.successors(concrete):
            if canon(nxt) == target:
                out.append(name)
                concrete = nxt
                break
        else:
            raise RuntimeError(f"concretize: step {step}: no successor reaches the orbit")
        rep = target
    return out


def bfs(
    system: System,
    book: PropertyBook,
    budget: Budget,
    progress: Progress | None = None,
    *,
    engine: Engine | None = None,
    canon: Callable[[Key], Key] | None = None,
    expand: Callable[[Key], tuple[list[tuple[str, Key]], bool]] | None = None,
    storage: str = "full",
):
    paused = gc.isenabled()
    gc.disable()
    engine = engine or Engine(system)
    before = set(book.found)
    try:
        if storage != "full":
            out = _bfs_compact(system, book, budget, progress, engine, canon, expand, storage)
        elif expand is None and (canon is None or _code_canon(canon) is not None):
            out = _bfs_coded(system, book, budget, progress, engine, canon)
        else:
            out = _bfs(system, book, budget, progress, engine, canon, expand)
        if canon is not None:
            for name, (message, labels) in list(book.found.items()):
                if name not in before:
                    book.found[name] = (message, concretize(engine, canon, labels))
        return out
    finally:
        if paused:
            # what the search allocated and keeps (the engine's interned states and memos)
            # goes straight to the oldest generation, as two collections would move it: the
            # first young collection after ``enable`` traversed all of it (7% of an unreduced
            # supersede-aba). Unreachable cycles among it are still freed by a full collection.
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def _bfs(system, book, budget, progress, engine, canon, expand, resume=None):
    """The queue is implicit: states are numbered in discovery order and BFS expands them in that
    order, so ``keys[i]`` (the key of state ``i``) is the queue and a level ends where the next
    level's first state was numbered. No per-state queue tuples, no per-state depth.
    ``resume``: (keys, parents, index, depth, level_end, transitions, seconds) of a search
    begun by ``_bfs_coded``, continued here (``_resume_over_keys``)."""
    clock = Clock()
    stats = Stats()
    if resume is None:
        init = engine.initial()
        if canon is not None:
            init = canon(init)
        keys: list[Key] = [init]  # state index -> its key (its canonical form under ``canon``)
        parents: list[tuple[int, str | None]] = [(-1, None)]
    else:
        keys, parents = resume[0], resume[1]
        init = keys[0]
    seen: dict = {key: i for i, key in enumerate(keys)}
    successors = engine.successors
    setdefault = seen.setdefault
    append_key = keys.append
    append_parent = parents.append
    cut_off = None
    keybook = KeyBook(book, engine)
    check = keybook.check
    # the clean-token fast path of ``KeyBook.check``, inlined: one probe per new state
    token = keybook.token
    clean = keybook.clean
    all_found = resume is None and check(init, False, lambda: []) and book.done
    max_depth = budget.max_depth
    max_states = budget.max_states
    transitions = 0
    invariants = keybook.has_invariants
    index = 0
    depth = 0
    level_end = 1  # first index of the next level
    if resume is not None:
        index, depth, level_end, transitions = resume[2:6]
        clock.start -= resume[6]
    while index < len(keys) and not all_found:
        if index == level_end:
            depth += 1
            level_end = len(keys)
        key = keys[index]
        if expand is None:
            nexts = successors(key)
        else:
            nexts, reduced = expand(key)
            # cycle proviso (BFS form): a reduced expansion with an edge back to this level or
            # an earlier one is made full. Every cycle has such an edge, so every cycle has a
            # fully expanded state; an edge to a state this level already discovered (the next
            # level) closes no cycle. The form "any successor known" made full expansions of
            # those too, and kept 2x the states on one-key supersede.
            if reduced and any(
                seen.get(canon(nxt) if canon else nxt, level_end) < level_end for _, nxt in nexts
            ):
                nexts = successors(key)
        if not nexts:
            if check(key, True, _path, parents, index):
                all_found = book.done
            index += 1
            continue
        if depth >= max_depth:
            cut_off = cut_off or f"depth bound {max_depth} reached"
            index += 1
            continue
        stop = False
        transitions += len(nexts)
        for position, (label, nxt) in enumerate(nexts):
            child = len(parents)
            # one hash per successor: setdefault both tests and inserts
            dedupe = nxt if canon is None else canon(nxt)
            if setdefault(dedupe, child) != child:
                continue
            if child >= max_states:
                del seen[dedupe]
                cut_off = f"state budget {max_states} reached"
                transitions -= len(nexts) - position - 1  # the ones never fired
                stop = True
                break
            append_parent((index, label))
            append_key(dedupe)
            if invariants:
                if token is not None and token(dedupe) in clean:
                    continue
                # every property violated: this state's other successors are still numbered
                # (as before), then the search stops
                if check(dedupe, False, _path, parents, child) and book.done:
                    all_found = True
        if stop:
            break
        index += 1
        if progress is not None and not index & 0x1FFF:
            halt = progress(len(parents), max_states)
            if halt:
                cut_off = halt
                break
    stats.states = len(parents)
    stats.transitions = transitions
    stats.max_depth = depth if len(keys) <= level_end else depth + 1
    stats.seconds = clock.seconds()
    # stopping because every property is already violated leaves nothing unknown
    return stats, True, cut_off


def _code_canon(canon: Callable[[Key], Key]) -> Callable[[int], int] | None:
    """The coded form of ``canon`` when it has one: the symmetry's ``canon`` alone (its
    ``canon_code``); None for the key reduction's normal form, alone or composed."""
    owner = getattr(canon, "__self__", None)
    return getattr(owner, "canon_code", None)


def _coded_path(
    engine: Engine,
    canon: Callable[[Key], Key] | None,
    parents: list[int],
    codes: list[int],
    index: int,
) -> list[str]:
    """``_path`` of ``_bfs_coded``: parents are indices only, each label is found again."""
    labels = []
    while index > 0:
        parent = parents[index]
        labels.append(engine.label_of(codes[parent], codes[index], canon))
        index = parent
    labels.reverse()
    return labels


# Coded states pay where pairs recur: supersede-aba has 6 states a pair (the arrival order and
# times vary over the same processes and world). Where nearly every state has a pair of its own
# (the crowds with crashes: about one pair a state, most of them interned as successors only),
# interning them cost more than it saved: crowd-keyed-start-crashes took 1.9 s against 1.3 s
# over keys. So after ``ADAPT_AFTER`` expanded states the coded BFS measures interned pairs
# per numbered state, and above ``PAIRS_PER_STATE`` goes on over keys (``_resume_over_keys``).
ADAPT_AFTER = 1 << 11
PAIRS_PER_STATE = 0.5


def _resume_over_keys(
    system: System,
    book: PropertyBook,
    budget: Budget,
    progress: Progress | None,
    engine: Engine,
    codes: list[int],
    parents: list[int],
    index: int,
    depth: int,
    level_end: int,
    transitions: int,
    seconds: float,
    canon: Callable[[Key], Key] | None,
) -> tuple[Stats, bool, str | None]:
    """``_bfs`` from where ``_bfs_coded`` stands: the same numbering, each state's key and the
    label of the step that discovered it (a parent's children are numbered together, during its
    expansion: one ``successors`` call a parent labels them all, first label that reaches each)."""
    keys = [engine.decode(code) for code in codes]
    labeled: list[tuple[int, str | None]] = [(-1, None)]
    child = 1
    while child < len(codes):
        parent = parents[child]
        first: dict[Key, str] = {}
        for label, nxt in engine.successors(keys[parent]):
            first.setdefault(nxt if canon is None else canon(nxt), label)
        while child < len(codes) and parents[child] == parent:
            labeled.append((parent, first[keys[child]]))
            child += 1
    resume = (keys, labeled, index, depth, level_end, transitions, seconds)
    return _bfs(system, book, budget, progress, engine, canon, None, resume)


def _bfs_coded(
    system: System,
    book: PropertyBook,
    budget: Budget,
    progress: Progress | None,
    engine: Engine,
    canon: Callable[[Key], Key] | None = None,
) -> tuple[Stats, bool, str | None]:
    """``_bfs`` without a reduction, or under the symmetry alone (``canon``), over coded states
    (``Engine.encode``: one int a state): the same states in the same order, the same
    counterexamples, with a dedupe probe that hashes an int, a successor that is ``base |
    rest``, parents that are indices (a counterexample's labels are found again from them) and
    an invariant token that is an int too."""
    clock = Clock()
    stats = Stats()
    decode = engine.decode
    canon_code = None if canon is None else _code_canon(canon)
    # the symmetry's memos, read in the loop (emptied in place when full: these stay its own)
    code_pairs: dict[int, tuple[int | None, int]] = {}
    code_rests: dict[int, int] = {}
    if canon_code is not None:
        code_pairs = canon.__self__._code_pairs  # type: ignore[union-attr]
        code_rests = canon.__self__._code_rests  # type: ignore[union-attr]
    init = engine.encode(engine.initial())
    if canon_code is not None:
        init = canon_code(init)
    seen: set[int] = {init}  # no index needed: parents are indices, nothing looks one up
    codes: list[int] = [init]
    parents: list[int] = [-1]
    # local aliases: CPython looks a local up faster than an attribute (compiled by mypyc,
    # as ``benchmarks/compiled.py`` does, they cost nothing either)
    append_code = codes.append
    append_parent = parents.append
    rest_plain: list[bool] = engine.rest_plain
    pair_plain: list[tuple[int, ...] | None] = engine.pair_plain
    plain_bases = engine.plain_bases
    coded_successors = engine.coded_successors
    shift: int = CODE_BITS
    mask: int = CODE_MASK
    cut_off: str | None = None
    keybook = KeyBook(book, engine)
    # the clean-token probe is done here, on the int token; a miss is checked per property
    # on int tokens too (``check_code``)
    check = keybook._check
    keybook.use_codes()
    check_code = keybook.check_code
    tokens = keybook.token is not None  # every invariant memoized on what it reads
    pair_side: list[int] = []
    rest_side: list[int] = []
    if tokens:
        pair_side, rest_side = engine.coded_token(keybook.parts)
    clean: set[int] = set()
    token = 0
    all_found = keybook.check(decode(init), False, lambda: []) and book.done
    max_depth = budget.max_depth
    max_states = budget.max_states
    transitions = 0
    invariants = keybook.has_invariants
    index = 0
    depth = 0
    level_end = 1
    count = 1  # states numbered so far: len(codes)
    while index < count and not all_found:
        if index == level_end:
            depth += 1
            level_end = count
        code = codes[index]
        rest = code & mask
        # a successor is ``base | rest``; off the plain path the codes come whole (rest 0)
        bases: Sequence[int] | None
        if rest_plain[rest]:
            bases = pair_plain[code >> shift]
            if bases is None:
                bases = plain_bases(code >> shift)
        else:
            bases = coded_successors(code)
            rest = 0
        if canon_code is not None:  # each successor stands for its orbit: its canonical code
            # ``canon_code`` inlined where its memos answer: the permutation and renamed pair
            # of the successor's pair, the renamed counters of ``rest``
            canonical = []
            for base in bases:
                nxt = base | rest
                got = code_pairs.get(nxt >> shift)
                if got is not None:
                    k, pair2 = got
                    if k is not None:
                        if k < 0:
                            canonical.append(nxt)
                            continue
                        rest2 = code_rests.get((nxt & mask) << 32 | k)
                        if rest2 is not None:
                            canonical.append(pair2 << shift | rest2)
                            continue
                canonical.append(canon_code(nxt))
            bases = canonical
            rest = 0
        if not bases:
            if check(decode(code), True, _coded_path, engine, canon, parents, codes, index):
                all_found = book.done
            index += 1
            continue
        if depth >= max_depth:
            cut_off = cut_off or f"depth bound {max_depth} reached"
            index += 1
            continue
        stop = False
        transitions += len(bases)
        for position, base in enumerate(bases):
            nxt = base | rest
            # a set of ints: no index to keep, and an int hashes for free
            if nxt in seen:
                continue
            if count >= max_states:
                cut_off = f"state budget {max_states} reached"
                transitions -= len(bases) - position - 1
                stop = True
                break
            seen.add(nxt)
            append_parent(index)
            append_code(nxt)
            child = count
            count += 1
            if invariants:
                if tokens:
                    token = pair_side[nxt >> shift] << shift | rest_side[nxt & mask]
                    if token in clean:
                        continue
                if check_code(nxt, _coded_path, engine, canon, parents, codes, child):
                    all_found = book.done
                elif tokens:
                    forget_if_full(clean)
                    clean.add(token)
        if stop:
            break
        index += 1
        if index == ADAPT_AFTER and len(engine.pair_vec) > count * PAIRS_PER_STATE:
            return _resume_over_keys(
                system,
                book,
                budget,
                progress,
                engine,
                codes,
                parents,
                index,
                depth,
                level_end,
                transitions,
                clock.seconds(),
                canon,
            )
        if progress is not None and not index & 0x1FFF:
            halt = progress(count, max_states)
            if halt:
                cut_off = halt
                break
    stats.states = len(parents)
    stats.transitions = transitions
    stats.max_depth = depth if len(codes) <= level_end else depth + 1
    stats.seconds = clock.seconds()
    return stats, True, cut_off


STORAGES = ("full", "fingerprint", "bitstate")


class _Fingerprints:
    """Visited states as 64-bit fingerprints in an open-addressing ``array('q')`` table (load
    at most 1/2): 8 bytes a slot, 16-32 bytes a state, against about 100 for a dict entry and
    the key it holds. Hash compaction as TLC and SPIN's ``-DHC`` do it: a new state whose
    fingerprint equals a visited one's is taken as visited, with the probability ``omission``
    reports."""

    def __init__(self) -> None:
        self.mask = (1 << 16) - 1
        self.table = array("q", bytes(8 * (self.mask + 1)))
        self.count = 0

    def add(self, fp: int) -> bool:
        """Insert ``fp`` (nonzero); True when it was not there."""
        table = self.table
        mask = self.mask
        i = fp & mask
        while True:
            v = table[i]
            if v == 0:
                table[i] = fp
                self.count += 1
                if self.count * 2 > mask:
                    self._grow()
                return True
            if v == fp:
                return False
            i = (i + 1) & mask

    def __contains__(self, fp: int) -> bool:
        table = self.table
        mask = self.mask
        i = fp & mask
        while True:
            v = table[i]
            if v == 0:
                return False
            if v == fp:
                return True
            i = (i + 1) & mask

    def discard_last(self, fp: int) -> None:
        """Undo the ``add`` of ``fp`` (the state budget refused it): linear probing deletes by
        re-inserting the rest of the probe run."""
        table, mask = self.table, self.mask
        i = fp & mask
        while table[i] != fp:
            i = (i + 1) & mask
        table[i] = 0
        self.count -= 1
        j = (i + 1) & mask
        while table[j]:
            v = table[j]
            table[j] = 0
            self.count -= 1
            self.add(v)
            j = (j + 1) & mask

    def _grow(self) -> None:
        old = self.table
        self.mask = self.mask * 2 + 1
        self.table = array("q", bytes(8 * (self.mask + 1)))
        self.count = 0
        for v in old:
            if v:
                self.add(v)

    def nbytes(self) -> int:
        return len(self.table) * 8

    def omission(self) -> float:
        # probability that some two of n visited states share a fingerprint (birthday bound
        # over 2^64 values), the figure TLC prints as its collision probability
        n = self.count
        return min(1.0, n * (n - 1) / 2 / 2.0**64)


class _Bitstate:
    """Holzmann's bitstate hashing (SPIN's supertrace, ``-DBITSTATE``): each visited state sets
    ``K`` bits of a bit array, a state whose ``K`` bits are all set is taken as visited. Some
    states are never explored, so the verdict is never ``holds``; ``coverage`` estimates the
    share of new states that were not mistaken for visited ones."""

    K = 3

    def __init__(self, max_states: int) -> None:
        bits = 1 << 20
        while bits < 32 * max_states and bits < 1 << 34:
            bits <<= 1
        self.bits = bits
        self.mask = bits - 1
        self.array = bytearray(bits // 8)
        self.count = 0

    def _positions(self, fp: int) -> list[int]:
        h1 = fp & 0xFFFFFFFFF
        h2 = ((fp >> 28) | 1) & 0xFFFFFFFFF
        mask = self.mask
        return [(h1 + j * h2) & mask for j in range(self.K)]

    def add(self, fp: int) -> bool:
        arr = self.array
        new = False
        for p in self._positions(fp):
            byte, bit = p >> 3, 1 << (p & 7)
            if not arr[byte] & bit:
                arr[byte] |= bit
                new = True
        if new:
            self.count += 1
        return new

    def __contains__(self, fp: int) -> bool:
        arr = self.array
        return all(arr[p >> 3] & (1 << (p & 7)) for p in self._positions(fp))

    def discard_last(self, fp: int) -> None:
        """Bits cannot be cleared (others share them): the refused state stays marked."""

    def nbytes(self) -> int:
        return len(self.array)

    def coverage(self) -> float:
        # chance that a new state finds all K bits already set, averaged over the fill
        # (Holzmann's estimate): coverage is one minus it
        m, k, n = self.bits, self.K, max(self.count, 1)
        missed = sum((1 - math.exp(-k * i / m)) ** k for i in range(0, n, max(1, n // 64)))
        return 1 - missed / len(range(0, n, max(1, n // 64)))


def _bfs_compact(system, book, budget, progress, engine, canon, expand, storage):
    """``_bfs`` with visited states kept as fingerprints (``storage="fingerprint"``) or bits
    (``"bitstate"``), parents in two arrays (parent index, label id: 4 bytes each), and full
    keys only for the level being expanded and the next one. Same order of expansion and
    numbering as ``_bfs``: without a fingerprint collision, the same states, counts and
    counterexamples."""
    clock = Clock()
    stats = Stats()
    init = engine.initial()
    if canon is not None:
        init = canon(init)
    arrivals_ids: dict = {}

    def fingerprint(key: Key) -> int:
        # Python's hash of a tuple of ints is stable across runs; ``None`` (not yet arrived)
        # hashes by address, so arrival vectors are numbered first
        wid, pids, arrivals, crashes, lost, order = key
        aid = arrivals_ids.get(arrivals)
        if aid is None:
            aid = arrivals_ids[arrivals] = len(arrivals_ids)
        fp = hash((wid, pids, aid, crashes, lost, order)) & 0x7FFFFFFFFFFFFFFF
        return fp or 1

    seen = _Fingerprints() if storage == "fingerprint" else _Bitstate(budget.max_states)
    seen.add(fingerprint(init))
    parent_of = array("i", [-1])
    label_of = array("i", [-1])
    label_ids: dict[str, int] = {}
    labels: list[str] = []
    successors = engine.successors
    cut_off = None
    keybook = KeyBook(book, engine)
    check = keybook.check
    token = keybook.token
    clean = keybook.clean

    def path(index: int) -> list[str]:
        out = []
        while index > 0:
            out.append(labels[label_of[index]])
            index = parent_of[index]
        out.reverse()
        return out

    all_found = check(init, False, lambda: []) and book.done
    max_depth = budget.max_depth
    max_states = budget.max_states
    transitions = 0
    invariants = keybook.has_invariants
    level = [init]
    first = 0  # state index of level[0]
    depth = 0
    count = 1
    while level and not all_found:
        nxt_level: list[Key] = []
        next_fps: set[int] = set()  # the next level's fingerprints, for the proviso
        stop = False
        for offset, key in enumerate(level):
            index = first + offset
            if expand is None:
                nexts = successors(key)
            else:
                nexts, reduced = expand(key)
                if reduced:
                    # the proviso of ``_bfs``: full when an edge goes back to a known state that
                    # is not one of the next level's
                    for _, n in nexts:
                        fp = fingerprint(canon(n) if canon else n)
                        if fp in seen and fp not in next_fps:
                            nexts = successors(key)
                            break
            if not nexts:
                if check(key, True, path, index):
                    all_found = book.done
                    if all_found:
                        break
                continue
            if depth >= max_depth:
                cut_off = cut_off or f"depth bound {max_depth} reached"
                continue
            transitions += len(nexts)
            for position, (label, nxt) in enumerate(nexts):
                if canon is not None:
                    nxt = canon(nxt)
                fp = fingerprint(nxt)
                if not seen.add(fp):
                    continue
                if count >= max_states:
                    seen.discard_last(fp)
                    cut_off = f"state budget {max_states} reached"
                    transitions -= len(nexts) - position - 1
                    stop = True
                    break
                child = count
                count += 1
                lid = label_ids.get(label)
                if lid is None:
                    lid = label_ids[label] = len(labels)
                    labels.append(label)
                parent_of.append(index)
                label_of.append(lid)
                nxt_level.append(nxt)
                if expand is not None:
                    next_fps.add(fp)
                if invariants:
                    if token is not None and token(nxt) in clean:
                        continue
                    if check(nxt, False, path, child) and book.done:
                        all_found = True
            if stop or all_found:
                break
            if progress is not None and not (index + 1) & 0x1FFF:
                halt = progress(count, max_states)
                if halt:  # the CLI's --time-limit
                    cut_off = halt
                    stop = True
                    break
        if stop or all_found:
            level = nxt_level
            break
        first += len(level)
        level = nxt_level
        if level:
            depth += 1
    stats.states = count
    stats.transitions = transitions
    stats.max_depth = depth + 1 if level and (stop or all_found) else depth
    stats.seconds = clock.seconds()
    stored = seen.nbytes() + parent_of.itemsize * len(parent_of) * 2
    stats.stored_bytes = stored
    if storage == "fingerprint":
        stats.storage = (
            f"64-bit fingerprints: {stored / count:.1f} bytes a stored state, "
            f"omission probability <= {seen.omission():.1e}"
        )
    else:
        coverage = seen.coverage()
        stats.storage = (
            f"bitstate, {seen.bits:,} bits ({stored / count:.1f} bytes a state), "
            f"coverage estimate {coverage:.2%}"
        )
        if cut_off is None and not book.all_found:
            cut_off = (
                f"bitstate: no violation within {count:,} states, coverage estimate {coverage:.2%}"
            )
    return stats, True, cut_off


class BreadthFirst:
    """Breadth-first and exhaustive: says holds within the bounds, and its first counterexample per
    property is a shortest one.

    Runs under the state-space reductions of ``options.reductions`` (``simulator/reductions.py``);
    its traces are kept as found."""

    name = "bfs"
    exhaustive = True
    shortens = False
    reads = frozenset({"max_depth", "max_states", "reductions", "storage"})
    samples: str | None = None

    def explore(
        self,
        system: System,
        book: PropertyBook,
        budget: Budget,
        options: SearchOptions,
        progress: Progress | None,
        extra_properties: tuple = (),
    ) -> Explored:
        reductions = DEFAULT if options.reductions is None else options.reductions
        return Explored(
            *explore_reduced(
                bfs,
                system,
                book,
                budget,
                progress,
                reductions,
                extra_properties,
                shortest=True,
                storage=options.storage,
            )
        )

    def check_options(self, options: SearchOptions) -> str | None:
        if options.storage not in STORAGES:
            return f"unknown storage {options.storage!r}; allowed: {', '.join(STORAGES)}"
        return check_reductions(options.reductions)


EXPLORERS.register(BreadthFirst(), "simulator/explorers/bfs.py")
