"""Seconds to render race reports, split into the search and the drawing, per scenario.

    python benchmarks/report_render.py [SCENARIO ...]

Default: the whole catalog, each with its recommended explorer (as ``idemrace report`` does).
For each scenario: the check, then the report folder (story, swimlane PNG+SVG, state graph
PNG+GraphML, trace), then the index. Prints one line per scenario, totals and the machine.
Not a test: figures depend on the machine (and on what else it is running).
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from catalog import catalog, load_scenario
from reports.index import write_index
from reports.render import featured, write_scenario_report
from simulator.explorers import check


def main(names: list[str]) -> None:
    scenarios = [load_scenario(n) for n in names] or list(catalog().values())
    everything = {**catalog(), **{s.name: s for s in scenarios}}
    out = Path(tempfile.mkdtemp(prefix="idemrace-report-bench-"))
    results, searched, drawn = [], 0.0, 0.0
    print(
        f"{'scenario':38} {'explorer':>10} {'steps':>5} {'lanes':>5} {'check s':>8} {'render s':>8}"
    )
    for scenario in scenarios:
        start = time.perf_counter()
        result = check(scenario, scenario.explorer)
        middle = time.perf_counter()
        verdicts = {r.scenario.name: r.properties for r in [*results, result]}
        written = write_scenario_report(result, out, "bench", verdicts, everything)
        end = time.perf_counter()
        results.append(result)
        searched += middle - start
        drawn += end - middle
        violation = featured(result)
        steps = len(violation.steps) if violation else 0
        print(
            f"{scenario.name:38} {result.explorer:>10} {steps:>5} {len(written.lanes):>5} "
            f"{middle - start:8.2f} {end - middle:8.2f}"
        )
    start = time.perf_counter()
    write_index(out, results, "bench")
    index = time.perf_counter() - start
    print(
        f"total: {len(scenarios)} scenarios, check {searched:.1f} s, render {drawn:.1f} s, "
        f"index {index:.2f} s (computed matrix not included: see `idemrace matrix`)"
    )
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
        f"Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
