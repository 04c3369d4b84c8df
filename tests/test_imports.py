"""The import graph of ``stbench``, read statically: no cycles, no upward imports.

Every ``import``/``from ... import`` of a stbench module counts, at module level or inside a
function (a function-level import is still a dependency, only a later one), and so does
``importlib.import_module("stbench...")`` with a literal name. Layers, bottom to top: the
library (``stbench.*``), then the command line (``stbench.cli``), which reaches the library's
progress and console through :mod:`stbench.progress` rather than being imported by it.

One exception, by necessity rather than choice: ``stbench/__main__.py`` (``python -m stbench``)
is the command line's entry point and imports ``stbench.cli``; it belongs to the CLI layer.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "stbench"

#: Modules outside ``stbench/cli`` that are part of the command-line layer (see the docstring).
CLI_LAYER = {"stbench.__main__"}

Graph = dict[str, set[str]]


def module_files(package_dir: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file under ``package_dir``."""
    base = package_dir.parent
    names = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(base).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _imported(name: str, path: Path) -> Iterator[tuple[str, list[str]]]:
    """(module, names imported from it) for each import in the file; relative ones resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                module = ".".join(parts + ([module] if module else []))
            yield module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if called in ("import_module", "__import__") and isinstance(first, ast.Constant):
                if isinstance(first.value, str):
                    yield first.value, []


def import_graph(package_dir: Path) -> tuple[Graph, dict[str, set[str]]]:
    """Module -> the package's modules it imports; and module -> foreign top-level names
    it imports (to spot ``tests``/``conftest``)."""
    files = module_files(package_dir)
    top = package_dir.name
    graph: Graph = {name: set() for name in files}
    foreign: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        for module, names in _imported(name, path):
            root = module.split(".")[0]
            if root != top:
                foreign[name].add(root)
                continue
            targets = [f"{module}.{n}" for n in names if f"{module}.{n}" in files]
            if len(targets) < len(names) or not names:
                targets.append(module)  # a name defined in ``module`` itself
            graph[name].update(t for t in targets if t != name)
    return graph, foreign


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def unit_of(module: str) -> str:
    """The subpackage (``stbench.evaluate``) or top-level module (``stbench.progress``)."""
    return ".".join(module.split(".")[:2])


def unit_graph(graph: Graph) -> Graph:
    units: Graph = {}
    for source, targets in graph.items():
        for target in targets:
            if unit_of(source) != unit_of(target):
                units.setdefault(unit_of(source), set()).add(unit_of(target))
    return units


def problems(package_dir: Path, cli_layer: set[str] = CLI_LAYER) -> list[str]:
    """Every violation of the layering rules, one line each (empty: all good)."""
    graph, foreign = import_graph(package_dir)
    top = package_dir.name
    cli = f"{top}.cli"
    found = []
    for component in cycles(graph):
        found.append(f"module cycle: {' -> '.join(component)}")
    for component in cycles(unit_graph(graph)):
        edges = sorted(
            f"{s} -> {t}"
            for s, targets in graph.items()
            for t in targets
            if unit_of(s) in component and unit_of(t) in component and unit_of(s) != unit_of(t)
        )
        found.append(f"subpackage cycle {component}: {'; '.join(edges)}")
    for source, targets in sorted(graph.items()):
        in_cli = source == cli or source.startswith(f"{cli}.") or source in cli_layer
        upward = sorted(t for t in targets if t == cli or t.startswith(f"{cli}."))
        if upward and not in_cli:
            found.append(f"{source} imports the command line: {', '.join(upward)}")
        tests = sorted(foreign[source] & {"tests", "conftest"})
        if tests:
            found.append(f"{source} imports the test suite: {', '.join(tests)}")
    return found


def test_stbench_import_graph_is_layered_and_acyclic():
    graph, _ = import_graph(PACKAGE_ROOT)
    assert len(graph) > 100 and "stbench.progress" in graph
    assert graph["stbench.cli.common"] >= {"stbench.progress"}
    assert problems(PACKAGE_ROOT) == []


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_checker_finds_cycles_upward_and_test_imports(tmp_path):
    package = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a/__init__.py": "",
            "pkg/a/x.py": "def f():\n    from pkg.b import y\n",  # function-level import
            "pkg/b/__init__.py": "",
            "pkg/b/y.py": "from ..a import z\n",  # relative import, other module of pkg.a
            "pkg/a/z.py": "import importlib\nimportlib.import_module('pkg.cli.main')\n",
            "pkg/cli/__init__.py": "",
            "pkg/cli/main.py": "from pkg.a import x\n",
            "pkg/c.py": "from tests.helpers import world\n",
            "pkg/d.py": "from . import e\n",
            "pkg/e.py": "from pkg.d import thing\n",
        },
    )
    found = problems(package, cli_layer=set())
    assert "module cycle: pkg.a.x -> pkg.a.z -> pkg.b.y -> pkg.cli.main" in found
    assert "module cycle: pkg.d -> pkg.e" in found
    assert any(line.startswith("subpackage cycle ['pkg.a', 'pkg.b', 'pkg.cli']") for line in found)
    assert "pkg.a.z imports the command line: pkg.cli.main" in found
    assert "pkg.c imports the test suite: tests" in found


def test_checker_accepts_a_layered_package(tmp_path):
    package = _write(
        tmp_path,
        {
            "pkg/__init__.py": "__version__ = '1'\n",
            "pkg/progress.py": "",
            "pkg/a.py": "from pkg import __version__, progress\n",
            "pkg/cli/__init__.py": "from pkg import a\n",
            "pkg/__main__.py": "from pkg.cli import main\n",
        },
    )
    assert problems(package, cli_layer={"pkg.__main__"}) == []
    assert problems(package, cli_layer=set()) == ["pkg.__main__ imports the command line: pkg.cli"]
