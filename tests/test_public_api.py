"""Every module declares its public API in ``__all__``; packages export lazily through one helper."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "stbench"

#: Modules being reworked on other branches of issue #15 (items 1, 2, 4, 6): they get their
#: ``__all__`` when that work lands.
PENDING: set[str] = set()  # modules allowed to lack __all__ for now (none)

MODULES = sorted(
    str(path.relative_to(PACKAGE.parent))
    for path in PACKAGE.rglob("*.py")
    if path.name != "__main__.py"
)


def _bound_names(tree: ast.Module) -> set[str]:
    """Names a module binds at top level (definitions, assignments, imports)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
    return names


def _declared(tree: ast.Module) -> tuple[list[str] | None, dict[str, str]]:
    """(``__all__``, the lazy ``_EXPORTS`` mapping) of a module, as literals."""
    declared, lazy = None, {}
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if not isinstance(target, ast.Name) or node.value is None:
            continue
        if target.id == "_EXPORTS":
            lazy = ast.literal_eval(node.value)
        elif target.id == "__all__":
            if isinstance(node.value, ast.Call):  # sorted(_EXPORTS)
                declared = sorted(lazy)
            elif isinstance(node.value, ast.List) and any(
                isinstance(e, ast.Starred) for e in node.value.elts
            ):  # ["__version__", *sorted(_EXPORTS)]
                declared = [e.value for e in node.value.elts if isinstance(e, ast.Constant)]
                declared += sorted(lazy)
            else:
                declared = ast.literal_eval(node.value)
    return declared, lazy


@pytest.mark.parametrize("module", [m for m in MODULES if m not in PENDING])
def test_module_declares_its_public_api(module: str) -> None:
    tree = ast.parse((PACKAGE.parent / module).read_text())
    declared, lazy = _declared(tree)
    assert declared is not None, f"{module} has no __all__"
    missing = set(declared) - _bound_names(tree) - set(lazy)
    assert not missing, f"{module}: __all__ names what it does not define: {sorted(missing)}"
    public = {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and not node.name.startswith("_")
    }
    unlisted = public - set(declared)
    assert not unlisted, f"{module}: public definitions missing from __all__: {sorted(unlisted)}"


def test_pending_modules_exist() -> None:
    """The exemptions name real modules (drop an entry once its module has ``__all__``)."""
    assert PENDING <= set(MODULES)


def test_one_lazy_export_scheme() -> None:
    """No package hand-writes a module ``__getattr__``: all use ``stbench.extras.lazy_exports``."""
    hand_written = [
        module
        for module in MODULES
        if module != "stbench/extras.py"
        and any(
            isinstance(node, ast.FunctionDef) and node.name == "__getattr__"
            for node in ast.parse((PACKAGE.parent / module).read_text()).body
        )
    ]
    assert hand_written == []
