"""The search's hot modules compiled with mypyc, against the pure-Python ones and the code issue 20
was filed against, side by side.

    .venv/bin/python benchmarks/compiled.py [--out DIR] [--repeat 3] [SCENARIO ...]

Issue 20 asked for BFS without reductions at twice the states/s of the code it was filed against
(``BASELINE``), and whether a compiled core is the way. The pure-Python modules stay the ones
the package runs; this script copies the packages to a build folder (a temporary one, or
``--out DIR``, never the repository), compiles ``HOT_MODULES`` there with mypyc (``pip install
-e '.[test]'`` brings it; gcc and the Python headers build the extension) and runs BFS without
reductions (``check(..., SearchOptions("bfs", reductions=frozenset()))``) in a fresh interpreter
per run: the baseline (``git archive BASELINE``), pure Python, compiled, in turn, ``--repeat``
times; the best of each is shown. Default scenario: supersede-aba.

Exit status 1 when the three disagree on a scenario's states or transitions (the compiled core
must be the same search), 2 with one line when mypyc, a compiler or the baseline is missing or
the build fails. Not a test: the seconds depend on the machine and its load
(``tests/test_compiled.py`` checks that the compiled search is the same search).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "0d10107"  # main when issue 20 was filed
# what a search spends its time in: the coded states and pair moves, and the BFS loop
HOT_MODULES = ("simulator/engine.py", "simulator/explorers/bfs.py")
PACKAGES = (
    "idemrace",
    "model",
    "simulator",
    "properties",
    "catalog",
    "analysis",
    "reports",
    "spin",
)
MYPY_FLAGS = (
    "--ignore-missing-imports",
    "--follow-imports=silent",  # type-check the compiled modules, not everything they import
    "--disable-error-code=annotation-unchecked",
)
# one run in a fresh interpreter: the states, transitions and seconds of ``check``, and the file
# ``simulator.engine`` was loaded from (the compiled side must load the extension)
MEASURE = """
import json, sys, time
from catalog import load_scenario
from simulator.explorers import SearchOptions, check
import simulator.engine
scenario = load_scenario(sys.argv[1])
start = time.perf_counter()
result = check(scenario, SearchOptions("bfs", reductions=frozenset()))
seconds = time.perf_counter() - start
print(json.dumps({"states": result.stats.states, "transitions": result.stats.transitions,
                  "seconds": seconds, "engine": simulator.engine.__file__,
                  "violations": [[v.property, v.schedule] for v in result.violations]}))
"""


class BuildError(Exception):
    """mypyc, a compiler or the baseline is missing, or a build failed (one line)."""


def copy_packages(source: Path, dest: Path) -> Path:
    """The importable packages of ``source`` under ``dest`` (no caches, no node_modules)."""
    ignore = shutil.ignore_patterns("__pycache__", "node_modules", "*.so", ".venv")
    for package in PACKAGES:
        if (source / package).is_dir():
            shutil.copytree(source / package, dest / package, ignore=ignore)
    return dest


def type_check(folder: Path) -> None:
    """mypy over ``HOT_MODULES`` as mypyc sees them (no compiler needed); BuildError with the
    first error when they do not type-check: mypyc would refuse them."""
    out = _run([sys.executable, "-m", "mypy", *MYPY_FLAGS, *HOT_MODULES], folder)
    if out.returncode != 0:
        first = next((ln for ln in out.stdout.splitlines() if ": error:" in ln), out.stdout[-300:])
        raise BuildError(f"the hot modules do not type-check (mypyc needs them to): {first}")


def build(folder: Path) -> Path:
    """Compile ``HOT_MODULES`` in ``folder`` (a copy made by ``copy_packages``) with mypyc."""
    try:
        import mypyc  # noqa: F401
    except ImportError:
        raise BuildError("mypyc is not installed: pip install -e '.[test]' brings it") from None
    type_check(folder)
    out = _run([sys.executable, "-m", "mypyc", *MYPY_FLAGS, *HOT_MODULES], folder)
    if out.returncode != 0:
        tail = " ".join(out.stdout.strip().splitlines()[-2:])[-300:]
        raise BuildError(f"mypyc build failed (is gcc and the Python headers there?): {tail}")
    return folder


def baseline(dest: Path, commit: str = BASELINE) -> Path:
    """The packages of ``commit`` (``git archive``) under ``dest``."""
    try:
        tar = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", commit],
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        raise BuildError(f"baseline {commit} is not in this clone's history") from None
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        members = [m for m in archive.getmembers() if m.name.split("/")[0] in PACKAGES]
        archive.extractall(dest, members=members, filter="data")
    return dest


def measure(folder: Path, scenario: str) -> dict:
    """One BFS without reductions of ``scenario`` with the packages of ``folder``."""
    env = {**os.environ, "PYTHONPATH": str(folder)}
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, scenario],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"{folder.name}: {scenario}: {last}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(scenarios: list[str], repeat: int = 3, out: Path | None = None) -> list[dict]:
    """Per scenario: the best run of each side (``baseline``, ``pure``, ``compiled``), each
    a ``measure`` dict. RuntimeError when the sides disagree on states or transitions, or the
    compiled side did not load the extension."""
    work = Path(tempfile.mkdtemp(prefix="idemrace-compiled-")) if out is None else out
    try:
        work.mkdir(parents=True, exist_ok=True)
        sides = {
            "baseline": work / "baseline",
            "pure": work / "pure",
            "compiled": work / "compiled",
        }
        for side in sides.values():
            if side.exists():
                shutil.rmtree(side)
            side.mkdir()
        baseline(sides["baseline"])
        copy_packages(ROOT, sides["pure"])
        build(copy_packages(ROOT, sides["compiled"]))
        results = []
        for scenario in scenarios:
            best: dict[str, dict] = {}
            for _ in range(repeat):  # in turn, so load hits each side alike
                for name, folder in sides.items():
                    run = measure(folder, scenario)
                    if name not in best or run["seconds"] < best[name]["seconds"]:
                        best[name] = run
            if not best["compiled"]["engine"].endswith(".so"):
                raise RuntimeError(f"the compiled side loaded {best['compiled']['engine']}")
            counts = {(r["states"], r["transitions"]) for r in best.values()}
            if len(counts) != 1:
                raise RuntimeError(f"{scenario}: the sides disagree: {best}")
            results.append({"scenario": scenario, **best})
        return results
    finally:
        if out is None:
            shutil.rmtree(work, ignore_errors=True)


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", default=["supersede-aba"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, help="build folder to keep (default: a temporary one)")
    args = parser.parse_args(argv)
    try:
        results = compare(args.scenarios, args.repeat, args.out)
    except BuildError as error:
        print(f"compiled: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:
        print(f"compiled: {error}", file=sys.stderr)
        return 1
    for row in results:
        base = row["baseline"]
        print(f"{row['scenario']}: {base['states']:,} states, {base['transitions']:,} transitions")
        for name in ("baseline", "pure", "compiled"):
            run = row[name]
            print(
                f"  {name:<9} {run['seconds']:6.2f} s  {run['states'] / run['seconds']:>9,.0f} "
                f"states/s  {base['seconds'] / run['seconds']:.2f}x the baseline"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
