"""Optional dependencies: which ``pip install "stbench[extra]"`` provides which package.

``pip install stbench`` (the core) reads, validates and exports manifests; the heavy packages
come with extras (``pyproject.toml``)::

    model   torch, safetensors        train-baseline, the reference model
    build   dask, distributed,        build-manifest (Dask scheduler), index megadepth
            pycolmap, scikit-image,   (numba: its compiled depth check), the synthetic world,
            pvlib, numba              sfm, the sun fit of webcams
    plots   matplotlib                evaluate / manifest stats figures
    all     every extra above         (what ``.[dev]`` installs)
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

from stbench.errors import StbenchError

__all__ = ["EXTRAS", "MissingExtraError", "import_optional", "lazy_exports", "missing_extra"]

#: Top-level module name -> the extra that installs it.
EXTRAS: dict[str, str] = {
    "torch": "model",
    "safetensors": "model",
    "dask": "build",
    "distributed": "build",
    "pycolmap": "build",
    "skimage": "build",
    "pvlib": "build",
    "numba": "build",
    "matplotlib": "plots",
}


class MissingExtraError(StbenchError, ImportError):
    """An optional package is not installed; the message names the extra that installs it."""


def missing_extra(exc: BaseException) -> MissingExtraError | None:
    """A :class:`MissingExtraError` for ``exc`` when it is a missing optional package, else None."""
    if isinstance(exc, MissingExtraError):
        return exc
    if not isinstance(exc, ImportError):
        return None
    top = (getattr(exc, "name", None) or "").split(".")[0]
    if top not in EXTRAS:
        return None
    extra = EXTRAS[top]
    error = MissingExtraError(
        f"the optional package {top!r} is not installed ({exc}); it comes with the "
        f'{extra!r} extra: pip install "stbench[{extra}]" (or "stbench[all]")'
    )
    error.__cause__ = exc
    return error


def import_optional(name: str) -> ModuleType:
    """Import module ``name``; a missing optional package raises :class:`MissingExtraError`."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        error = missing_extra(exc)
        if error is None:
            raise
        raise error from exc


def lazy_exports(
    package: str, exports: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for a package that exports ``exports`` lazily.

    ``exports`` maps a public name to the module defining it (``"pkg.mod"``, or
    ``"pkg.mod:other_name"`` when the module calls it otherwise); the module is imported on first
    access, so importing the package does nothing heavy. A missing optional package is reported
    as :class:`MissingExtraError` naming the extra to install.
    """

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attribute = exports[name].partition(":")
        return getattr(import_optional(module), attribute or name)

    def __dir__() -> list[str]:
        return sorted(set(exports) | set(vars(sys.modules[package])))

    return __getattr__, __dir__
