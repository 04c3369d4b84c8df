"""Finding a method by name, lazily (as lm-evaluation-harness's registry does).

A ``--method`` spec resolves, in this order:

1. a built-in name (:data:`BUILTINS`, ``"module:Factory"`` strings imported on demand);
2. an entry point in the ``stbench.methods`` group (``importlib.metadata``), so
   ``--method mine`` works once a user's package declares
   ``[project.entry-points."stbench.methods"] mine = "mypkg.matcher:Mine"``;
3. ``path/to/file.py:Factory`` (a file loaded as a module);
4. ``package.module:Factory``.

``Factory(**options)`` must return an object implementing the protocol of
:mod:`stbench.methods.base`. Unknown names get close-match suggestions.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import sys
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

from stbench.errors import ConfigError
from stbench.methods.base import supports_matching, supports_time
from stbench.methods.tracks import STORED_PREDICTIONS_FACTORY

__all__ = [
    "BUILTINS",
    "ENTRY_POINT_GROUP",
    "available_methods",
    "check_method",
    "entry_points",
    "resolve_factory",
    "resolve_method",
]


ENTRY_POINT_GROUP = "stbench.methods"

#: Built-in methods: name -> "module:Factory" (imported only when resolved).
BUILTINS: dict[str, str] = {
    "sift": "stbench.methods.classical:Sift",
    "orb": "stbench.methods.classical:Orb",
    "reference": "stbench.methods.reference:Reference",
    "exif": "stbench.methods.exif:Exif",
    "colorstats": "stbench.methods.colorstats:ColorStats",
    "featureprobe": "stbench.methods.featureprobe:FeatureProbe",
    "predictions": STORED_PREDICTIONS_FACTORY,
    "majority": "stbench.methods.trivial:Majority",
    "constant": "stbench.methods.trivial:Constant",
}


def entry_points() -> dict[str, metadata.EntryPoint]:
    """Installed ``stbench.methods`` entry points by name."""
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def available_methods() -> list[str]:
    """Names that resolve without a ``:`` spec (built-ins first, then entry points)."""
    names = list(BUILTINS)
    names += [name for name in sorted(entry_points()) if name not in BUILTINS]
    return names


def _load_file(path: Path) -> Any:
    if not path.is_file():
        raise ConfigError(f"method file {path} does not exist")
    module_name = f"stbench_user_method_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise ConfigError(f"importing {path} failed: {type(exc).__name__}: {exc}") from exc
    return module


def _attribute(module: Any, name: str, where: str) -> Any:
    try:
        return getattr(module, name)
    except AttributeError:
        public = [n for n in dir(module) if not n.startswith("_")]
        close = difflib.get_close_matches(name, public, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ConfigError(f"{where} has no attribute {name!r}{hint}") from None


def resolve_factory(spec: str) -> Any:
    """The factory (class or function) named by ``spec``; see the module docstring."""
    if spec in BUILTINS:
        clash = entry_points().get(spec)
        if clash is not None:
            warnings.warn(
                f"method name {spec!r} is both a built-in and an entry point ({clash.value}); "
                f"the built-in is used; pass --method {clash.value} for the plugin",
                stacklevel=2,
            )
        module_name, attr = BUILTINS[spec].split(":")
        return getattr(importlib.import_module(module_name), attr)
    if ":" not in spec:
        points = entry_points()
        if spec in points:
            try:
                return points[spec].load()
            except Exception as exc:
                raise ConfigError(
                    f"entry point {spec!r} ({points[spec].value}) failed to load: {exc}"
                ) from exc
        close = difflib.get_close_matches(spec, available_methods(), n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ConfigError(
            f"unknown method {spec!r}.{hint} Known: {', '.join(available_methods())}; or give "
            "'package.module:Factory' or 'path/to/file.py:Factory'."
        )
    target, attr = spec.rsplit(":", 1)
    if target.endswith(".py") or "/" in target or "\\" in target:
        return _attribute(_load_file(Path(target)), attr, target)
    try:
        module = importlib.import_module(target)
    except ImportError as exc:
        raise ConfigError(f"cannot import module {target!r} for method {spec!r}: {exc}") from exc
    return _attribute(module, attr, target)


def check_method(method: Any, spec: str) -> Any:
    """Check that ``method`` implements the protocol; return it."""
    missing = [a for a in ("name", "version", "config") if not hasattr(method, a)]
    if missing:
        raise ConfigError(f"method {spec!r} lacks {', '.join(missing)} (see stbench.methods.base)")
    if not (supports_matching(method) or supports_time(method)):
        raise ConfigError(f"method {spec!r} implements neither match() nor predict_time()")
    if not isinstance(method.config(), dict):
        raise ConfigError(f"method {spec!r}: config() must return a dict")
    from stbench.methods.tracks import method_track

    method_track(method)  # a declared track must be one of the tracks
    return method


def resolve_method(spec: str, options: dict[str, Any] | None = None) -> Any:
    """Build the method named by ``spec`` with ``options`` as keyword arguments.

    Raises:
        ConfigError: unknown name (with suggestions), import failure, bad options, or an
            object that does not implement the protocol.
    """
    factory = resolve_factory(spec)
    try:
        method = factory(**(options or {}))
    except TypeError as exc:
        raise ConfigError(f"method {spec!r} rejected options {options or {}}: {exc}") from exc
    return check_method(method, spec)
