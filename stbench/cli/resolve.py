"""What a command uses when the user leaves it out: the manifest, and an early check of --method.

- :func:`check_method_spec` runs before anything touches a manifest, so a mistyped method is
  reported first (with close matches), and a ``file.py`` without ``:Class`` gets the classes
  the file defines;
- :func:`resolve_manifest` returns ``--manifest`` when given, else the default
  (``$STBENCH_HOME/manifests/default``, where ``build-manifest`` and ``stbench demo`` write),
  else the most recently built manifest under ``$STBENCH_HOME`` (saying which).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

from stbench.errors import ConfigError, DataError

__all__ = ["candidate_manifests", "check_method_spec", "method_classes", "resolve_manifest"]


#: Methods a class needs to count as a stbench method in a ``file.py`` hint.
_PROTOCOL = {"match", "predict_time"}


def method_classes(path: Path) -> list[str]:
    """Top-level classes of ``path`` that look like stbench methods (without running the file).

    A class counts when it subclasses ``Method`` or defines ``match`` or ``predict_time``.
    """
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return []
    found = []
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
        defined = {
            item.name
            for item in node.body
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        if "Method" in bases or defined & _PROTOCOL:
            found.append(node.name)
    return found


def _looks_like_file(spec: str) -> bool:
    return spec.endswith(".py") or "/" in spec or "\\" in spec


def check_method_spec(spec: str) -> None:
    """Fail early and helpfully on a ``--method`` that cannot resolve.

    Raises:
        ConfigError: a file path without ``:Class`` (listing the file's method classes), or
            whatever :func:`stbench.methods.registry.resolve_factory` raises (unknown names with
            ``difflib`` suggestions, missing files, import errors, missing attributes).
    """
    if ":" not in spec and _looks_like_file(spec):
        path = Path(spec)
        if not path.is_file():
            raise ConfigError(
                f"--method {spec!r}: no such file; give path/to/file.py:Class "
                "(or a built-in name such as sift)"
            )
        classes = method_classes(path)
        if classes:
            options = ", ".join(f"{spec}:{name}" for name in classes)
            raise ConfigError(
                f"--method {spec!r} names a file but not the class to use; try {options}"
            )
        raise ConfigError(
            f"--method {spec!r} names a file but not the class to use, and the file defines "
            "no class with match() or predict_time(); give path/to/file.py:Class "
            "(`stbench new-method NAME` writes a template)"
        )
    from stbench.methods.registry import resolve_factory

    try:
        resolve_factory(spec)
    except ConfigError as exc:
        beside = Path(f"{spec}.py")
        classes = method_classes(beside) if ":" not in spec and beside.is_file() else []
        if classes:
            options = ", ".join(f"{beside}:{name}" for name in classes)
            raise ConfigError(f"{exc} The file {beside} is here: try {options}") from None
        raise


def _default_dir() -> Path:
    from stbench.manifest import default_manifest_dir

    return default_manifest_dir()


def candidate_manifests(home: Path) -> list[Path]:
    """Manifest directories under ``home`` (``manifests/*`` and older demos' ``demo/manifest``),
    most recently built first."""
    found = [p.parent for p in (home / "manifests").glob("*/manifest.json")]
    found += [p.parent for p in (home / "demo").glob("manifest/manifest.json")]
    return sorted(set(found), key=lambda d: (d / "manifest.json").stat().st_mtime, reverse=True)


def resolve_manifest(manifest: Path | None, say: Callable[[str], None] | None = None) -> Path:
    """The manifest a command uses: ``manifest``, the default, or the most recent one.

    Args:
        manifest: the ``--manifest`` value (returned as is when given).
        say: where to tell the user which manifest was picked (default: stderr).
    Raises:
        DataError: no manifest given and none under ``$STBENCH_HOME``.
    """
    if manifest is not None:
        return manifest
    default = _default_dir()
    if (default / "manifest.json").is_file():
        return default
    from stbench.paths import stbench_home

    home = stbench_home()
    candidates = candidate_manifests(home)
    if not candidates:
        raise DataError(
            f"no manifest at {default} (the default) nor anywhere under {home}; run "
            "`stbench demo` or `stbench build-manifest` first, or pass --manifest DIR"
        )
    chosen = candidates[0]
    if say is None:
        from stbench.cli.common import console_err

        def say(text: str) -> None:
            console_err().print(text, highlight=False, soft_wrap=True, markup=False)

    others = f" ({len(candidates) - 1} other(s) found)" if len(candidates) > 1 else ""
    say(
        f"using manifest {chosen}: no {default}, and it is the most recently built under "
        f"{home}{others}; pass --manifest DIR to choose"
    )
    return chosen
