"""The version matrix (race-reports/backends/MATRIX.md, linked from the README) is current.

Cheap: the page's fingerprint is that of what it is computed from (the World lockfiles, the
bridge, backends/vercel, every Vercel finding's repro.py), it has a row per pinned World and a
column per finding, and each cell agrees with the finding's own expectation for that package
and version. Slow (``-m slow``): the findings' outcomes are computed again, for real, and match.
Regenerate with ``.venv/bin/python -m backends.vercel.matrix --write``."""

from __future__ import annotations

import pytest

from backends.vercel import matrix as M

REGENERATE = "regenerate it: .venv/bin/python -m backends.vercel.matrix --write"


def _recorded() -> dict:
    found = M.recorded()
    assert found is not None, f"{M.MATRIX_MD} is missing or has no matrix data; {REGENERATE}"
    return found


def test_the_matrix_is_current():
    recorded = _recorded()
    assert recorded["fingerprint"] == M.fingerprint(), (
        f"{M.MATRIX_MD.name} was computed from other World pins, bridge, adapter or findings; "
        + REGENERATE
    )
    assert [(r["backend"], r["package"]) for r in recorded["rows"]] == list(M.WORLDS)
    for row in recorded["rows"]:
        assert sorted(row["findings"]) == M.findings(), REGENERATE
        assert set(row["modes"]) == {"differential", "concurrent", "faults"}, REGENERATE


def test_every_cell_is_what_the_finding_expects_there():
    recorded = _recorded()
    for row in recorded["rows"]:
        for slug, cell in row["findings"].items():
            expected = M.load_finding(slug).EXPECTED.get(row["package"])
            assert expected is not None, f"{slug} has no expectation for {row['package']}"
            assert cell["outcome"] == expected, (slug, row["package"], cell)


def test_the_readme_links_the_matrix():
    readme = (M.ROOT / "README.md").read_text()
    assert "race-reports/backends/MATRIX.md" in readme


@pytest.mark.slow
def test_the_findings_outcomes_regenerate_to_the_recorded_matrix():
    recorded = _recorded()
    fresh = M.compute(with_modes=False)
    for old, new in zip(recorded["rows"], fresh["rows"], strict=True):
        got = {s: c["outcome"] for s, c in new["findings"].items()}
        want = {s: c["outcome"] for s, c in old["findings"].items()}
        assert got == want, old["package"]
