"""The data sources a manifest is built from, and their per-unit index tasks.

A source (MegaDepth, webcams) is split into *units* (a scene, a camera); each unit is indexed by
a pure function ``index_unit(root, unit, config) -> Records`` that writes no files, so the same
task runs in-process, in a process pool or on Dask. Functions are referenced lazily as
``"module:function"`` strings (or given as callables, e.g. by tests), so nothing is imported
until a build needs it.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stbench.config import config_from_dict, config_to_dict
from stbench.errors import ConfigError, DataError
from stbench.paths import HOME_ENV, stbench_home

__all__ = [
    "DEFAULT_SOURCES",
    "MEGADEPTH_PHOENIX_PREFIX",
    "SourceSpec",
    "check_root",
    "portable_root",
    "resolve",
]


Ref = str | Callable[..., Any] | type


def resolve(ref: Ref) -> Any:
    """The object a ``"module:attr"`` reference names (callables are returned as they are)."""
    if not isinstance(ref, str):
        return ref
    module_name, _, attr = ref.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise DataError(f"cannot load {ref!r}: {exc}; is that part of stbench installed?") from exc


#: The prefix of MegaDepth_v1 inside the original download (``phoenix/S6/zl548/MegaDepth_v1``).
MEGADEPTH_PHOENIX_PREFIX = Path("phoenix/S6/zl548")


def _megadepth_data_root(root: Path) -> Path:
    """The directory record paths (``MegaDepth_v1/...``) are relative to."""
    prefixed = root / MEGADEPTH_PHOENIX_PREFIX
    if not (root / "MegaDepth_v1").is_dir() and (prefixed / "MegaDepth_v1").is_dir():
        return prefixed
    return root


def _megadepth_unit_paths(root: Path, scene: str) -> list[Path]:
    return [_megadepth_data_root(root) / "MegaDepth_v1" / scene, root / "MegaDepth_v1_SfM" / scene]


def _webcam_unit_paths(root: Path, camera_id: str) -> list[Path]:
    return [root / camera_id, root / "cameras.csv"]


@dataclass(frozen=True)
class SourceSpec:
    """How to list and index the units of one source.

    Attributes:
        name: the ``source`` value of its records (``megadepth`` | ``webcam``).
        list_units: ``(root) -> list[str]`` unit ids (scenes / camera ids).
        index_unit: ``(root, unit, config) -> Records``.
        config_class: dataclass (or reference) the index options are built into; None passes
            the options dict as it is.
        unit_paths: ``(root, unit) -> list[Path]`` whose file listing fingerprints the unit.
        version: bump to invalidate cached task results after a change of the task's code.
        data_root: ``(root) -> Path`` the directory record paths are relative to (stored as the
            source's root in manifest.json); None = the root itself.
    """

    name: str
    list_units: Ref
    index_unit: Ref
    config_class: Ref | None
    unit_paths: Callable[[Path, str], list[Path]]
    version: str = "1"
    data_root: Callable[[Path], Path] | None = None

    def paths_root(self, root: Path) -> Path:
        """The directory the records' ``path`` / ``depth_path`` are relative to."""
        return self.data_root(root) if self.data_root is not None else root

    def make_config(self, values: dict[str, Any]) -> Any:
        """The index config built from ``values`` (strict: unknown keys are an error)."""
        if self.config_class is None:
            return dict(values)
        return config_from_dict(resolve(self.config_class), values, where=f"{self.name} config")

    def config_dict(self, config: Any) -> dict[str, Any]:
        """The resolved index config as a JSON-ready dict."""
        if dataclasses.is_dataclass(config):
            return config_to_dict(config)
        return dict(config)


DEFAULT_SOURCES: dict[str, SourceSpec] = {
    "megadepth": SourceSpec(
        name="megadepth",
        list_units="stbench.megadepth:list_scenes",
        index_unit="stbench.megadepth:index_scene",
        config_class="stbench.megadepth:MegaDepthConfig",
        unit_paths=_megadepth_unit_paths,
        data_root=_megadepth_data_root,
        version="2",  # 2: resolver drops unset-clock/implausible dates, zone disagreements
    ),
    "webcam": SourceSpec(
        name="webcam",
        list_units="stbench.webcams:list_cameras",
        index_unit="stbench.webcams:index_camera",
        config_class="stbench.webcams:WebcamConfig",
        unit_paths=_webcam_unit_paths,
        version="2",  # 2: resolver drops unset-clock/implausible dates, zone disagreements
    ),
}


def portable_root(root: Path) -> str:
    """``root`` as stored in manifest.json: ``$STBENCH_HOME/...`` when under stbench_home."""
    root = Path(root).resolve()
    home = stbench_home().resolve()
    try:
        relative = root.relative_to(home)
    except ValueError:
        return str(root)
    return f"${HOME_ENV}/{relative.as_posix()}" if relative.parts else f"${HOME_ENV}"


def check_root(source: str, root: Path) -> Path:
    """``root`` if it is a directory, else a clear ConfigError."""
    root = Path(root).expanduser()
    if not root.is_dir():
        flag = "--megadepth" if source == "megadepth" else "--webcams"
        raise ConfigError(f"{source} root {root} is not a directory; check {flag}")
    return root
