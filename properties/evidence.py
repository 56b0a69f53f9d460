"""What in a scenario exercises a property (``Property.evidence``): the matrix's evidence rule.

A search that exhausts a scenario proves a property only for what the scenario puts in play: no
payload sent, no payload can be lost; no second request for a key, no duplicate. Each function
here reads a scenario's ``System`` (its requests and their strategies, bounds and profile
options; never a search) and says in words what exercises the property, or None. A matrix cell
says ``holds`` only when an exhausted search of a scenario with evidence found no counterexample,
else "not exercised".
"""

from __future__ import annotations

from collections import Counter

# strategies whose code cancels another run (a run's work can be cut short by a newer request)
CANCELLING = frozenset({"supersede"})


def _shared_key(system) -> str | None:
    counts = Counter(r.key for r in system.requests)
    shared = sorted(k for k, n in counts.items() if n > 1)
    return f"two requests for key {shared[0]!r}" if shared else None


def _faults(system) -> str | None:
    b = system.bounds
    if b.max_crashes:
        return f"{b.max_crashes} crash(es) injected"
    if b.max_lost_responses:
        return f"{b.max_lost_responses} lost start response(s)"
    return None


def duplicates(system) -> str | None:
    """A duplicate can arrive: two requests for a key, a crash or a lost response."""
    return _shared_key(system) or _faults(system)


def crowd(system) -> str | None:
    """Three requests for one key: a third can claim between two steps of another's loop."""
    counts = Counter(r.key for r in system.requests)
    crowded = sorted(k for k, n in counts.items() if n > 2)
    return f"three requests for key {crowded[0]!r}" if crowded else None


def contention(system) -> str | None:
    """Two requests contend for one key."""
    return _shared_key(system)


def payload_sent(system) -> str | None:
    for r in system.requests:
        if system.spec(r.index).sends_payload:
            return f"req{r.index} sends payload {r.payload!r}"
    return None


def failure_possible(system) -> str | None:
    """Some run can fail to do its work: an owner that fails, a crash, a cancel, a payload the
    work waits for."""
    for r in system.requests:
        ends = r.option("ends", "completed")
        if ends != "completed":
            return f"req{r.index}'s run {ends}"
        if r.strategy in CANCELLING:
            return f"req{r.index} ({r.strategy}) cancels other runs"
    if system.profile.options.get("conflict_policy") == "terminate-existing":
        return "a start terminates the running run"
    return _faults(system) or payload_sent(system)


def token_outlives_run(system) -> str | None:
    """A token can stay held after its run ended: retention or a separate release step."""
    options = system.profile.options
    if options.get("min_retention"):
        return f"hooks retained {options['min_retention']} ticks from createHook"
    if options.get("atomic_release") is False:
        return "hooks released in a separate step after the run ends"
    return None


def every(system) -> str | None:
    return f"{len(system.requests)} request(s) answered"
