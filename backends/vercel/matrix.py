"""The version matrix: for each pinned World package and version, the verdict of each validation
mode and whether each finding under ``race-reports/backends/`` holds there, does not reproduce, or
was first found there ("new").

Regenerate with one command (about 15 minutes on 2 cores; it runs every World for real):

    .venv/bin/python -m backends.vercel.matrix --write

which rewrites ``race-reports/backends/MATRIX.md`` (linked from the README). The page records a
fingerprint of what it was computed from (the World lockfiles, the bridge, this package, every
finding's ``repro.py``); ``tests/test_world_matrix.py`` checks the fingerprint is current
(cheap) and, under the ``slow`` marker, regenerates the findings' outcomes and compares them.
The modes run with the fixed, small settings in ``SETTINGS`` (a real World's interleavings
differ per run, so a mode's verdict is one run's; the findings' forced interleavings are
deterministic)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FINDINGS_DIR = ROOT / "race-reports" / "backends"
MATRIX_MD = FINDINGS_DIR / "MATRIX.md"

# (backend, package spec): every pinned World, one row each
WORLDS: tuple[tuple[str, str], ...] = (
    ("vercel-local", "@workflow/world-local@4.4.1"),
    ("vercel-local", "@workflow/world-local@5.0.0-beta.46"),
    ("vercel-postgres", "@workflow/world-postgres@4.3.7"),
    ("vercel-postgres", "@workflow/world-postgres@5.0.0-beta.29"),
    ("vercel-redis", "@workflow-worlds/redis@0.2.2"),
    ("vercel-mongodb", "@workflow-worlds/mongodb@0.2.1"),
)

# the modes' settings for the matrix (small: six Worlds, three modes each)
SETTINGS = {
    "clients": 3,
    "ops": 80,
    "keys": 3,
    "seed": 0,
    "budget": 20.0,
    "bfs_states": 15,
    "walks": 1,
}


def findings() -> list[str]:
    return sorted(p.parent.name for p in FINDINGS_DIR.glob("vercel-*/repro.py"))


def load_finding(slug: str) -> Any:
    path = FINDINGS_DIR / slug / "repro.py"
    spec = importlib.util.spec_from_file_location(f"finding_{slug.replace('-', '_')}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fingerprint() -> str:
    """sha256 of what the matrix is computed from (sorted paths, their bytes)."""
    files = [
        *sorted((ROOT / "bridge").glob("package*.json")),
        *sorted((ROOT / "bridge" / "worlds").glob("*/package*.json")),
        ROOT / "bridge" / "world_bridge.mjs",
        *sorted(
            f
            for f in (ROOT / "backends" / "vercel").glob("*.py")
            if f.name not in ("matrix.py", "export.py")  # they do not change an outcome
        ),
        *sorted(FINDINGS_DIR.glob("vercel-*/repro.py")),
    ]
    h = hashlib.sha256()
    for f in files:
        h.update(str(f.relative_to(ROOT)).encode() + b"\0")
        h.update(f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def finding_cell(slug: str, backend: str, package: str) -> dict[str, Any]:
    from backends.protocol import BackendUnavailable
    from backends.vercel.findings import HOLDS, outcome

    module = load_finding(slug)
    try:
        result = module.reproduce(backend, package=package)
    except BackendUnavailable as exc:
        return {"outcome": "not run", "why": str(exc)}
    got = outcome(result)
    label = f"{result['package']}@{result['version']}"
    want = getattr(module, "EXPECTED", {}).get(label)
    new = label in getattr(module, "FOUND_ON", ())
    shown = f"{got} (new)" if new and got == HOLDS else got
    return {"outcome": got, "shown": shown, "expected": want, "verdict": result["verdict"]}


def mode_cells(backend_name: str, package: str) -> dict[str, Any]:
    """Each mode's verdict and, for a discrepancy, its first line; a mode that stops with an
    error is that error, in one line."""
    from backends import make_backend
    from backends.validate import MODES, Settings, validate

    out: dict[str, Any] = {}
    for mode in MODES:
        backend = make_backend(backend_name, package=package)
        started = time.monotonic()
        try:
            backend.start()
            report = validate(backend, Settings(**SETTINGS, modes=(mode,)))
            entry = report.modes.get(mode, {})
            out[mode] = {"verdict": entry.get("verdict", report.verdict)}
        except Exception as exc:  # the matrix shows what stopped it, never a traceback
            out[mode] = {"verdict": "error", "why": " ".join(str(exc).split())[:160]}
        finally:
            backend.close()
        out[mode]["seconds"] = round(time.monotonic() - started, 1)
    return out


def compute(with_modes: bool = True) -> dict[str, Any]:
    rows = []
    for backend, package in WORLDS:
        print(f"matrix: {package} ...", file=sys.stderr, flush=True)
        row: dict[str, Any] = {"backend": backend, "package": package}
        row["modes"] = mode_cells(backend, package) if with_modes else {}
        row["findings"] = {slug: finding_cell(slug, backend, package) for slug in findings()}
        rows.append(row)
    return {"fingerprint": fingerprint(), "settings": SETTINGS, "rows": rows}


def render(matrix: dict[str, Any]) -> str:
    slugs = findings()
    lines = [
        "# Version matrix: Vercel Worlds",
        "",
        "Generated by `.venv/bin/python -m backends.vercel.matrix --write` "
        f"(fingerprint `{matrix['fingerprint']}`; `tests/test_world_matrix.py` checks it is "
        "current). Each World validated by `idemrace validate BACKEND --package NAME@VERSION`; "
        "the modes here ran with "
        + ", ".join(f"`--{k.replace('_', '-')} {v}`" for k, v in matrix["settings"].items())
        + " (one run each: a real World's interleavings differ per run). A finding *holds* when "
        "its forced interleaving (`race-reports/backends/<finding>/repro.py --package "
        "NAME@VERSION`) is not linearizable on that World; *(new)* marks the World it was "
        "first found on.",
        "",
        "| World | differential | concurrent | faults | " + " | ".join(f"[{i + 1}]" for i in range(len(slugs))) + " |",
        "|---|---|---|---|" + "---|" * len(slugs),
    ]
    for row in matrix["rows"]:
        modes = []
        for mode in ("differential", "concurrent", "faults"):
            cell = row["modes"].get(mode, {})
            v = cell.get("verdict", "-")
            modes.append(f"{v} ({cell['seconds']:.0f} s)" if "seconds" in cell else v)
        cells = []
        for slug in slugs:
            f = row["findings"].get(slug, {})
            cells.append(f.get("shown", f.get("outcome", "-")))
        lines.append(f"| `{row['package']}` | " + " | ".join(modes + cells) + " |")
    lines += ["", "Findings:", ""]
    for i, slug in enumerate(slugs):
        lines.append(f"{i + 1}. [{slug}]({slug}/README.md)")
    errors = [
        (row["package"], mode, cell["why"])
        for row in matrix["rows"]
        for mode, cell in row["modes"].items()
        if cell.get("verdict") == "error"
    ]
    if errors:
        lines += ["", "Modes that stopped with an error:", ""]
        lines += [f"- `{p}` {m}: {why}" for p, m, why in errors]
    lines += ["", "<!-- matrix-json", json.dumps(matrix, indent=1, sort_keys=True), "-->", ""]
    return "\n".join(lines)


def recorded() -> dict[str, Any] | None:
    """The matrix MATRIX.md holds (its embedded JSON), or None."""
    if not MATRIX_MD.is_file():
        return None
    m = re.search(r"<!-- matrix-json\n(.*)\n-->", MATRIX_MD.read_text(), re.S)
    return json.loads(m.group(1)) if m else None


def main(argv: list[str] | None = None) -> int:
    import argparse

    from catalog.trace import write_atomic

    p = argparse.ArgumentParser(prog="python -m backends.vercel.matrix")
    p.add_argument("--write", action="store_true", help=f"rewrite {MATRIX_MD.relative_to(ROOT)}")
    p.add_argument("--findings-only", action="store_true", help="skip the modes (fast)")
    args = p.parse_args(argv)
    matrix = compute(with_modes=not args.findings_only)
    if args.findings_only and (old := recorded()) is not None:
        for row, before in zip(matrix["rows"], old["rows"], strict=False):
            row["modes"] = before.get("modes", {})
    text = render(matrix)
    if args.write:
        write_atomic(MATRIX_MD, text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
