"""The packages form one-way layers and no module imports itself back through others.

Layers, lowest first (a module may import its own layer's and lower layers' modules only):

    model -> properties -> simulator -> catalog (scenario files, trace format)
          -> analysis, backends, spin -> reports (render only) -> idemrace (the CLI)

Every import counts: top-level, inside functions (the lazy imports that used to close a 17-file
cycle in ``simulator/``) and conditional ones; only ``if TYPE_CHECKING:`` blocks are left out,
since they never run. The import graph is read from the source with ``ast``, so the test needs
nothing installed and sees imports that a particular run would not execute.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent

LAYERS: tuple[tuple[str, ...], ...] = (
    ("model",),
    ("properties",),
    ("simulator",),
    ("catalog",),
    ("analysis", "backends", "spin"),
    ("reports",),
    ("idemrace",),
)
RANK = {package: rank for rank, packages in enumerate(LAYERS) for package in packages}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, module: str) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.extend((alias.name, child.lineno) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - (child.level - 1)]
                    target = ".".join([*base, child.module] if child.module else base)
                else:
                    target = child.module or ""
                found.append((target, child.lineno))
                # ``from pkg import submodule`` imports the submodule too
                found.extend((f"{target}.{alias.name}", child.lineno) for alias in child.names)
            visit(child)

    visit(tree)
    return found


def _graph() -> tuple[nx.DiGraph, dict[str, Path]]:
    files = {
        _module_name(p): p
        for package in RANK
        for p in sorted((ROOT / package).rglob("*.py"))
        if "node_modules" not in p.parts
    }
    graph = nx.DiGraph()
    graph.add_nodes_from(files)
    for module, path in files.items():
        for target, line in _imports(path, module):
            if target in files and target != module:
                graph.add_edge(module, target, line=line)
    return graph, files


def test_every_package_has_a_layer():
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()}
    assert packages - {"tests"} <= set(RANK), f"give these packages a layer: {packages - set(RANK)}"


def test_imports_run_one_way():
    graph, files = _graph()
    upward = [
        f"{files[a].relative_to(ROOT)}:{graph.edges[a, b]['line']} imports {b} "
        f"({a.split('.')[0]} is below {b.split('.')[0]})"
        for a, b in graph.edges
        if RANK[a.split(".")[0]] < RANK[b.split(".")[0]]
    ]
    assert not upward, "upward imports:\n" + "\n".join(sorted(upward))


def test_no_import_cycles():
    graph, _ = _graph()
    cycles = []
    for component in nx.strongly_connected_components(graph):
        if len(component) > 1:
            cycles.append(sorted(component))
    assert not cycles, "import cycles (break them by moving the shared piece down):\n" + "\n".join(
        " <-> ".join(c) for c in cycles
    )
