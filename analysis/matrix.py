"""The comparison matrix, computed: systems and designs x the seed's four lifecycle questions +
properties. Computes only; ``reports/matrix.py`` renders the ``Matrix`` value this returns.

Nothing in it is typed by hand. Every cell is the outcome of explorer runs on the model:

* rows are ``Design``s: a profile with options and the strategies people use with it;
* lifecycle cells come from small generated *probe* scenarios (two requests for one key):
  - admission: two concurrent requests; ``no-wasted-run`` holds iff no duplicate run is created,
    started and discarded (the dedupe is atomic with admission);
  - in-flight: the first run stays running after its work (a long-running owner) and the second
    request arrives while it is live; every kind of answer the duplicate can end with is found by
    repeated search (observe a new kind, add it to the known set, search again until the search
    proves there is no other kind within the bounds), each with a witness trace;
  - memory: the second request arrives ``d`` ticks after the first run ended (``after = 1``),
    d = 0..MEMORY_HORIZON-1; the first d at which ``at-most-once-effect`` is violated says how long
    the key is remembered;
  - reuse: in the d = 0 probe, does the late request end with the owner's stored result?
* property cells: the row's catalog scenarios (same profile and options, strategies in the row),
  each checked for its own properties (what its report says), plus the probes of every strategy in
  the row, checked for every property that applies. The evidence rule (issue 15): a cell is
  ``violated`` with the first scenario and trace that shows it (a catalog scenario's own report
  then says violated too); ``holds`` only when an exhausted search of a scenario that *exercises*
  the property (``Property.evidence``: a payload sent, a crash injected, a failure possible)
  found no counterexample, and the cell names that scenario and what exercised it; ``not
  exercised`` when every exhausted search lacked such evidence (before issue 15 those cells said
  ``holds``: a search where nothing sends a payload cannot lose one); ``unknown`` when no search
  was exhausted; ``n/a`` when the property is not about the row's strategies.

The result is a plain value (frozen ``Matrix`` of ``Row``s of ``Cell``s); a cell keeps the
``CheckResult`` behind it, so a renderer can show the witness trace without searching again.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from catalog.parse import scenario_from_dict
from model.ops import AwaitRun
from model.outcomes import (
    Adopted,
    Delivered,
    Dropped,
    DuplicateOf,
    Failed,
    ForwardedTo,
    Rejected,
    RunStarted,
    Superseded,
    WorkResult,
    typed,
)
from model.profiles import PROFILES
from model.registry import RegistrationError
from properties import FINAL, PROPERTIES, Property
from simulator.explorers import HOLDS, UNKNOWN, VIOLATED, CheckResult, check
from simulator.process import Done
from simulator.scenario import Scenario
from simulator.strategies import STRATEGIES
from simulator.system import System

NOT_EXERCISED = "not exercised"

MEMORY_HORIZON = 4  # probe retries 0..3 ticks after the owner ended
LIFECYCLE = ("admission", "in-flight", "memory", "reuse")


@dataclass(frozen=True)
class Design:
    label: str
    profile: str
    options: tuple[tuple[str, Any], ...]
    strategies: tuple[str, ...]  # the first one is the representative for memory and reuse

    @property
    def slug(self) -> str:
        """The label as a name part (probe scenario names, trace file names)."""
        return slug(self.label)


def designs() -> tuple[Design, ...]:
    """Every matrix row the registered profiles declare (``Profile.MATRIX_ROWS``), in rank order
    (ties keep registration order): a new profile adds its rows in its own file."""
    rows = []
    for order, cls in enumerate(PROFILES.values()):
        for row in cls.MATRIX_ROWS:
            for name in row.strategies:
                spec = STRATEGIES.get(name)
                if spec is None or not spec.runs_on(cls):
                    where = getattr(sys.modules.get(cls.__module__), "__file__", cls.__module__)
                    problem = "is not a strategy" if spec is None else "does not run on it"
                    raise RegistrationError(
                        f"{where}: profile {cls.name!r}: matrix row {row.label!r}: "
                        f"{name!r} {problem}"
                    )
            rows.append((row.rank, order, Design(row.label, cls.name, row.options, row.strategies)))
    return tuple(design for _, _, design in sorted(rows, key=lambda r: (r[0], r[1])))


DESIGNS: tuple[Design, ...] = designs()


@dataclass(frozen=True)
class Cell:
    text: str  # what the table shows
    verdict: str  # violated | holds | not exercised | unknown | n/a | observed
    scenario: str | None = None  # the scenario behind the cell (catalog name or probe name)
    catalog: bool = False  # True when ``scenario`` is a catalog scenario (has a report page)
    detail: str = ""  # the violation message or what was observed
    result: CheckResult | None = field(default=None, repr=False)
    property: str | None = None  # the property whose trace this cell links
    # what in the deciding scenario exercised the property (a holds cell always has some)
    evidence: str = ""


@dataclass(frozen=True)
class Row:
    design: Design
    cells: dict[str, Cell]  # column -> cell, one per column of the matrix


@dataclass(frozen=True)
class Matrix:
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    skipped: tuple[str, ...]  # designs whose profile is not available


# ---------------------------------------------------------------------------------------------
# probes


def slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-").replace("--", "-")


def probe(design: Design, strategy: str, kind: str, delay: int = 0) -> Scenario:
    """A generated two-request scenario for one key (see the module doc). ``kind``:
    ``concurrent`` (both arrive at once), ``in-flight`` (the first run stays running after its
    work and the second request arrives while it is live), ``late`` (the second request arrives
    ``delay`` ticks after the first run ended)."""
    late = kind == "late"
    first: dict[str, Any] = {"strategy": strategy, "key": "k:1", "workflow": "wf"}
    second: dict[str, Any] = {"strategy": strategy, "key": "k:1", "workflow": "wf"}
    if late:
        second.update(after=1, arrive=[delay, delay])
    if kind == "in-flight":
        first["options"] = {"hold": True}
        second["during"] = 1
    name = f"matrix:{design.slug}:{strategy}:{kind}" + (f"-{delay}" if late else "")
    data = {
        "name": name,
        "description": f"{design.label}, {strategy}: "
        + {
            "late": f"a retry {delay} ticks after the owner ended",
            "in-flight": "a duplicate while a long-running owner is live",
        }.get(kind, "two concurrent requests"),
        "profile": design.profile,
        "profile_options": dict(design.options),
        "bounds": {
            "max_depth": 80,
            "max_ticks": delay,
            "dedupe_window": delay,
            "max_states": 400_000,
        },
        "requests": [first, second],
    }
    # a probe's name carries ':' (it names no file and no report folder, and marks the cell as
    # not a catalog scenario), which a scenario file's may not: parse under a plain name, then
    # name it (``raw`` too, so the digest is that of the probe's own data)
    scenario = scenario_from_dict({**data, "name": "matrix-probe"}, name)
    return replace(scenario, name=name, raw=data)


def duplicate_outcome(system, state) -> str | None:
    """What the duplicate ended with, in words (None while it has not arrived).

    The duplicate is the request that is not the owner: the owner is the request whose run did
    the work first (or, before any work, whose run was created first). In the concurrent probe
    either request can win, and the winner is not a duplicate."""
    world = state.world
    if world.effects:
        owner = world.effects[0].request
    else:
        owner = world.runs[0].request if world.runs else 1
    dup = 2 if owner == 1 else 1
    proc = state.procs[dup - 1]
    if proc is None:
        return None
    if type(proc[1]) is not Done:
        return _waiting(system, state, dup, proc[1])
    outcome = proc[1].outcome
    if isinstance(outcome, Failed):
        return f"error {outcome.name}"
    value = typed(outcome.value)
    if isinstance(value, RunStarted | Delivered):
        did_work = any(e.request == dup for e in world.effects)
        if isinstance(value, Delivered):
            return "its payload delivered to the owner"
        run = world.run(value.run)
        output = typed(run.output) if run is not None else None
        if isinstance(output, DuplicateOf):
            return "a run that returns the owner's id"
        if isinstance(output, Adopted):
            return "a run that returns the owner's result"
        if isinstance(output, ForwardedTo):
            return "a run that forwards its payload to the owner"
        if did_work:
            return "a new run (the work runs again)"
        return f"a run that ends {run.status}" if run is not None else "a run id"
    if isinstance(value, WorkResult):
        return "a new run (the work runs again)" if value.request == dup else "the owner's result"
    if isinstance(value, Adopted):
        return "the owner's result"
    if isinstance(value, DuplicateOf):
        return "the owner's run id"
    if isinstance(value, Dropped):
        return "success, and no run (dropped)"
    if isinstance(value, Rejected):
        return f"error {value.error}"
    if isinstance(value, ForwardedTo):
        return "its payload forwarded to the owner"
    if isinstance(value, Superseded):
        return "cancelled by a newer request"
    tag = value[0] if isinstance(value, tuple) and value else value
    return str(tag)


def _waiting(system, state, dup: int, pending) -> str:
    """A duplicate still blocked when nothing can move: on whom is it waiting?"""
    world = state.world
    if any(e.request == dup for e in world.effects):
        return "a new run (the work runs again)"
    if type(pending) is AwaitRun:
        target = world.run(pending.run_id)
        if target is not None and target.request != dup:
            return "the owner's run (waits for its result)"
        if target is not None:  # waits for its own run: what does that run wait for?
            body = state.procs[system.n + target.id - 1][1]
            if type(body) is AwaitRun and world.run(body.run_id).request != dup:
                return "a run that waits for the owner's result"
    return "waits forever"


def _observe_kinds(
    scenario: Scenario, run: Callable[..., CheckResult]
) -> tuple[list[tuple[str, CheckResult]], bool]:
    """Every answer the second request can end with, each with a witness; True if the search
    proved the list complete (exhaustive within the probe's bounds)."""
    seen: list[tuple[str, CheckResult]] = []
    known: set[str] = set()
    while True:

        def not_new(system, state, known=frozenset(known)):
            kind = duplicate_outcome(system, state)
            if kind is None or kind in known:
                return None
            return kind

        observer = Property("observe-duplicate-outcome", FINAL, "a new kind of answer", not_new)
        result = run(scenario, extra=(observer,))
        found = next((v for v in result.violations if v.property == observer.name), None)
        if found is None:
            return seen, result.exhausted
        known.add(found.message)
        seen.append((found.message, result))
        if len(seen) > 12:  # a model bug would loop; say so instead
            return seen, False


# ---------------------------------------------------------------------------------------------
# computing the matrix


class _Runner:
    """Runs checks once per (scenario, extra properties) and remembers the results."""

    def __init__(self) -> None:
        self.cache: dict[tuple[str, str, tuple[str, ...]], CheckResult] = {}

    def __call__(self, scenario: Scenario, extra: tuple = (), names: tuple[str, ...] | None = None):
        if names is not None:
            scenario = replace(scenario, properties=names)
        key = (
            scenario.name,
            scenario.digest,
            scenario.properties,
            tuple(sorted(p.name for p in extra)),
        )
        if extra:  # observers are closures over changing state: never cached
            return check(scenario, "bfs", extra_properties=extra)
        if key not in self.cache:
            self.cache[key] = check(scenario, "bfs")
        return self.cache[key]


# profile options whose value may differ between a row and its catalog scenarios (how long a
# window lasts), as long as both have one
WINDOWS = ("retention", "window", "min_retention")


def _catalog_for(design: Design, catalog: dict[str, Scenario]) -> list[Scenario]:
    """The catalog scenarios of ``design``'s row: same profile, strategies among the row's, and
    the same profile options (a window's length aside), defaults included, so a scenario of
    another variant (an analytics lag, lapsed rows kept) does not decide this row's cells."""
    cls = PROFILES.get(design.profile)
    defaults = {k: o.default for k, o in cls.OPTIONS.items()} if cls is not None else {}
    want = {**defaults, **dict(design.options)}
    out = []
    for scenario in catalog.values():
        if scenario.profile_name != design.profile:
            continue
        if scenario.explorer != "bfs":
            continue  # recommends a sampling explorer: too big to search exhaustively here
        if {r.strategy for r in scenario.requests} - set(design.strategies):
            continue
        have = {**defaults, **dict(scenario.profile_options)}
        if any(
            (bool(have.get(k)) != bool(v)) if k in WINDOWS else have.get(k) != v
            for k, v in want.items()
        ):
            continue
        out.append(scenario)
    return out


def _lifecycle(design: Design, run: _Runner) -> dict[str, Cell]:
    rep = design.strategies[0]
    cells: dict[str, Cell] = {}

    concurrent = probe(design, rep, "concurrent")
    admission = run(concurrent, names=("no-wasted-run",))
    if admission.properties["no-wasted-run"] == VIOLATED:
        v = admission.violations[0]
        cells["admission"] = Cell(
            "no: a duplicate run is created and executed",
            VIOLATED,
            concurrent.name,
            detail=v.message,
            result=admission,
            property="no-wasted-run",
        )
    elif admission.exhausted:
        cells["admission"] = Cell(
            "yes",
            HOLDS,
            concurrent.name,
            detail="no duplicate run in any schedule",
            result=admission,
            evidence="two concurrent requests for one key",
        )
    else:
        cells["admission"] = Cell(
            "unknown", UNKNOWN, concurrent.name, detail=admission.cut_off or ""
        )

    kinds: list[str] = []
    complete = True
    witnesses = []
    in_flight = probe(design, rep, "in-flight")
    for strategy in design.strategies:
        scenario = probe(design, strategy, "in-flight")
        seen, exhaustive = _observe_kinds(scenario, run)
        complete = complete and exhaustive
        for kind, result in seen:
            if kind not in kinds:
                kinds.append(kind)
                witnesses.append((kind, result))
    text = "; ".join(kinds) + ("" if complete else " (search cut off: there may be more)")
    cells["in-flight"] = Cell(
        text,
        "observed",
        in_flight.name,
        detail=text,
        result=witnesses[0][1] if witnesses else None,
        property="observe-duplicate-outcome",
    )

    memory: Cell | None = None
    never_arrives = False
    for delay in range(MEMORY_HORIZON):
        scenario = probe(design, rep, "late", delay)
        result = run(scenario, names=("at-most-once-effect",))
        if result.properties["at-most-once-effect"] == VIOLATED:
            v = result.violations[0]
            text = "none" if delay == 0 else f"forgets within {delay} ticks"
            memory = Cell(
                text,
                VIOLATED,
                scenario.name,
                detail=v.message,
                result=result,
                property="at-most-once-effect",
            )
            break
        if not result.exhausted:
            memory = Cell("unknown", UNKNOWN, scenario.name, detail=result.cut_off or "")
            break
    if memory is None:
        late = probe(design, rep, "late", 0)
        seen, _ = _observe_kinds(late, run)
        never_arrives = not seen
        text = (
            "the owner never ends (a perpetual run per key)"
            if never_arrives
            else f"at least {MEMORY_HORIZON - 1} ticks (no expiry within the probe)"
        )
        memory = Cell(
            text,
            HOLDS,
            probe(design, rep, "late", MEMORY_HORIZON - 1).name,
            detail=text,
            evidence=f"a retry 0..{MEMORY_HORIZON - 1} ticks after the owner ended",
        )
    cells["memory"] = memory

    late = probe(design, rep, "late", 0)
    seen, exhaustive = _observe_kinds(late, run)
    got = [kind for kind, _ in seen]
    if "the owner's result" in got or "a run that returns the owner's result" in got:
        witness = next(r for k, r in seen if "owner's result" in k)
        cells["reuse"] = Cell(
            "yes: " + "; ".join(got),
            "observed",
            late.name,
            detail="; ".join(got),
            result=witness,
            property="observe-duplicate-outcome",
        )
    elif not got:
        cells["reuse"] = Cell("n/a: the owner never ends", "n/a", late.name)
    else:
        cells["reuse"] = Cell(
            "no: " + "; ".join(got),
            "observed",
            late.name,
            detail="; ".join(got),
            result=seen[0][1],
            property="observe-duplicate-outcome",
        )
    return cells


def _own_properties(scenario: Scenario) -> tuple[str, ...]:
    """The properties a scenario's own check (and report) covers."""
    if scenario.properties:
        return tuple(scenario.properties)
    strategies = {r.strategy for r in scenario.requests}
    return tuple(n for n, p in sorted(PROPERTIES.items()) if p.applies_to(strategies))


def _properties(
    design: Design, run: _Runner, catalog: dict[str, Scenario], memory: Cell | None = None
) -> dict[str, Cell]:
    scenarios = _catalog_for(design, catalog)
    for strategy in design.strategies:
        scenarios.append(probe(design, strategy, "concurrent"))
        scenarios.append(probe(design, strategy, "late", 0))
    if memory is not None and memory.verdict == VIOLATED and memory.result is not None:
        # the memory column's late retry (within its own dedupe window) broke at-most-once: the
        # row's property cells see that probe too, or a row could say at-most-once-effect holds
        # beside a memory cell showing it violated (Temporal use-existing + reject-duplicate did)
        late = memory.result.scenario
        if all(s.name != late.name for s in scenarios):
            scenarios.append(late)
    # one search per scenario: a catalog scenario for its own properties (so a cell it decides
    # says what its report says), a probe for every property that applies to it
    searched: list[tuple[Scenario, CheckResult, System]] = []
    for scenario in scenarios:
        if scenario.name.startswith("matrix:"):
            names = _own_properties(replace(scenario, properties=()))
        else:
            names = _own_properties(scenario)
        searched.append((scenario, run(scenario, names=names), System(scenario)))
    cells: dict[str, Cell] = {}
    for name, prop in sorted(PROPERTIES.items()):
        if not prop.applies_to(design.strategies):
            cells[name] = Cell(
                "n/a", "n/a", detail=f"only about {', '.join(sorted(prop.only_for))}"
            )
            continue
        relevant = [(s, r, sy) for s, r, sy in searched if name in r.properties]
        violated = next(((s, r) for s, r, _ in relevant if r.properties[name] == VIOLATED), None)
        if violated is not None:
            scenario, result = violated
            v = next(v for v in result.violations if v.property == name)
            cells[name] = Cell(
                "violated",
                VIOLATED,
                scenario.name,
                catalog=not scenario.name.startswith("matrix:"),
                detail=v.message,
                result=result,
                property=name,
                evidence="a counterexample",
            )
            continue
        exhausted = [(s, prop.evidence_in(sy)) for s, r, sy in relevant if r.exhausted]
        proofs = [(s, why) for s, why in exhausted if why]
        partial = [s.name for s, r, _ in relevant if not r.exhausted]
        cut = f"; searched without exhausting: {', '.join(partial)}" if partial else ""
        if proofs:
            # a catalog scenario decides the cell when one exercised it (it has a report page)
            proofs.sort(key=lambda p: p[0].name.startswith("matrix:"))
            decider, why = proofs[0]
            detail = "exhausted with evidence: " + ", ".join(f"{s.name} ({w})" for s, w in proofs)
            cells[name] = Cell(
                HOLDS,
                HOLDS,
                decider.name,
                catalog=not decider.name.startswith("matrix:"),
                detail=detail + cut,
                evidence=why,
            )
        elif exhausted:
            names = ", ".join(s.name for s, _ in exhausted)
            cells[name] = Cell(
                NOT_EXERCISED,
                NOT_EXERCISED,
                exhausted[0][0].name,
                detail=f"exhausted, but nothing in them exercises {name}: {names}{cut}",
            )
        else:
            cells[name] = Cell(
                UNKNOWN, UNKNOWN, ", ".join(partial), detail="no search exhausted" + cut
            )
    return cells


def compute_matrix(
    designs: tuple[Design, ...] = DESIGNS, catalog: dict[str, Scenario] | None = None
) -> Matrix:
    from catalog import catalog as load_catalog

    catalog = load_catalog() if catalog is None else catalog
    run = _Runner()
    rows, skipped = [], []
    for design in designs:
        if design.profile not in PROFILES:
            skipped.append(f"{design.label} (profile {design.profile!r} not available)")
            continue
        cells = _lifecycle(design, run)
        cells.update(_properties(design, run, catalog, memory=cells.get("memory")))
        rows.append(Row(design, cells))
    return Matrix(LIFECYCLE + tuple(sorted(PROPERTIES)), tuple(rows), tuple(skipped))


__all__ = [
    "DESIGNS",
    "LIFECYCLE",
    "MEMORY_HORIZON",
    "NOT_EXERCISED",
    "Cell",
    "Design",
    "Matrix",
    "Row",
    "compute_matrix",
    "duplicate_outcome",
    "probe",
    "slug",
]
