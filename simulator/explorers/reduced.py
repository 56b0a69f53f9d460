"""BFS or DFS under the state-space reductions of ``simulator/reductions.py``.

The search function is a parameter (``bfs`` and ``dfs`` pass themselves), so this module imports
neither of them and neither imports the other: the explorers sit above the reductions, which
know nothing about explorers.
"""

from __future__ import annotations

from collections.abc import Callable

from simulator import history
from simulator.explorers.base import Budget, Progress, PropertyBook
from simulator.reductions import REDUCTIONS, plan
from simulator.system import System


def check_reductions(reductions) -> str | None:
    """What is wrong with ``SearchOptions.reductions`` (None = the default set), in one line."""
    if reductions is None:
        return None
    if isinstance(reductions, str) or not all(isinstance(r, str) for r in reductions):
        return f"reductions must be a set of names ({', '.join(REDUCTIONS)}), got {reductions!r}"
    unknown = sorted(set(reductions) - set(REDUCTIONS))
    if unknown:
        return f"unknown reduction {unknown[0]!r}; allowed: {', '.join(REDUCTIONS)}"
    return None


def _kept(book: PropertyBook, reductions: frozenset[str]) -> history.View | None:
    return history.kept(book) if "history" in reductions else None


def _restarting(
    search: Callable,
    system: System,
    book: PropertyBook,
    budget: Budget,
    progress: Progress | None,
    p,
    reductions: frozenset[str],
    extra_properties: tuple,
    search_options: dict,
):
    """Run ``search`` over plan ``p``; under ``history``, stop and start over, over a new plan,
    each time a violation lets the search keep less of the history. Returns the last plan and
    what the last search returned."""
    while True:
        if "history" in p.applied:
            planned = p.keep
            book.restart_when = lambda b, planned=planned: history.coarser(history.kept(b), planned)
        try:
            out = search(
                system,
                book,
                budget,
                progress,
                engine=p.engine,
                canon=p.canon,
                expand=p.expand,
                **search_options,
            )
        finally:
            book.restart_when = None
        restart, book.restart = book.restart, False
        if not restart or book.all_found:
            return p, out
        # the violations found so far are kept (their schedules are real); the search is run
        # again over the smaller space, from the start, so every state of it keeps the same
        # history
        p = plan(system, reductions, extra_properties, keep=_kept(book, reductions))


def explore_reduced(
    search: Callable,
    system: System,
    book: PropertyBook,
    budget: Budget,
    progress: Progress | None,
    reductions: frozenset[str],
    extra_properties: tuple = (),
    *,
    shortest: bool = False,
    **search_options,
):
    """Run ``search`` (``bfs`` or ``dfs``) under ``reductions``; returns what ``search`` returns.
    ``shortest``: the search promises shortest counterexamples (BFS), so the violated properties
    are searched again without the partial-order reductions (key, private) when they cut
    anything. ``search_options`` go to
    ``search`` as they are (BFS's ``storage``)."""
    p = plan(system, reductions, extra_properties, keep=_kept(book, reductions))
    if "split" in p.applied:
        from simulator.split import explore_split

        def alone(sub_system: System, sub_book: PropertyBook, sub_budget: Budget):
            return explore_reduced(
                search,
                sub_system,
                sub_book,
                sub_budget,
                progress,
                reductions - {"split"},
                shortest=shortest,
                **search_options,
            )

        split = explore_split(system, book, budget, alone)
        if split is not None:
            split[0].reductions = p.applied
            return split
    p, (stats, exhaustive, cut_off) = _restarting(
        search, system, book, budget, progress, p, reductions, extra_properties, search_options
    )
    stats.reductions = p.applied
    partial_order = getattr(p.expand, "__self__", None)  # key, private, or both chained
    cut = partial_order is not None and partial_order.reduced > 0
    if cut and book.found and shortest:
        # the reduced graph keeps verdicts, not shortest invariant counterexamples: find the
        # violated properties' shortest counterexamples again without the partial-order
        # reductions
        violated = set(book.found)
        names = tuple(
            n for n in book.names if n in violated and n in set(system.scenario.properties)
        )
        extra = tuple(prop for prop in extra_properties if prop.name in violated)
        again = PropertyBook(system, names, extra)
        symmetric_only = reductions - {"key", "private"}
        sym = plan(system, symmetric_only, extra_properties, keep=_kept(again, symmetric_only))
        # under the same progress callback, so --time-limit bounds this search too (it went
        # unbounded: supersede on a,a,a,b,b,b with a crash and a lost response ran 355 s under
        # a 240 s limit); a counterexample it has not found again stays the reduced search's.
        # It too starts over as what it finds lets it keep less history (supersede with 4
        # requests: 2,011,136 states kept whole, 15 s, against the 12,747 of the reduced search)
        _restarting(
            search,
            system,
            again,
            budget,
            progress,
            sym,
            symmetric_only,
            extra_properties,
            search_options,
        )
        for name, found in again.found.items():
            book.found[name] = found
    return stats, exhaustive, cut_off
