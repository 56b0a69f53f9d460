"""The hot modules compiled with mypyc (``benchmarks/compiled.py``) are the same search: they
type-check as mypyc needs (no compiler needed for that), and where mypyc, gcc and the Python
headers are there, the compiled unreduced BFS numbers the same states and transitions as the
pure-Python one on scenarios that take every path of the coded engine (plain and not: pending
arrivals, ticks, crashes, lost responses, hooks)."""

from __future__ import annotations

import shutil
import sys
import sysconfig
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import compiled

SCENARIOS = (
    "supersede-aba",
    "crowd-keyed-start-crashes",
    "temporal-request-id-retry",
    "atomic-start-window-lapses",
    "crash-replays-consumed-payload",
)
ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("mypyc", reason="mypyc is not installed (pip install -e '.[test]')")


def test_the_hot_modules_type_check_as_mypyc_needs(tmp_path):
    compiled.type_check(compiled.copy_packages(ROOT, tmp_path))


def test_compiled_bfs_is_the_pure_bfs(tmp_path):
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler: the compiled core is optional")
    if not headers.exists():
        pytest.skip(f"no Python headers ({headers}): the compiled core is optional")
    built = compiled.build(compiled.copy_packages(ROOT, tmp_path / "compiled"))
    pure = compiled.copy_packages(ROOT, tmp_path / "pure")
    races = 0
    for scenario in SCENARIOS:
        fast = compiled.measure(built, scenario)
        slow = compiled.measure(pure, scenario)
        assert fast["engine"].endswith(".so"), fast["engine"]
        assert not slow["engine"].endswith(".so")
        for field in ("states", "transitions", "violations"):
            assert fast[field] == slow[field], (scenario, field)
        races += bool(fast["violations"])
    assert races >= 3  # counterexamples, schedules included, were compared too
