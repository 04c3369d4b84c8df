"""Where stbench keeps downloads and generated data.

Every path comes from an argument or from ``STBENCH_HOME`` (default ``~/.cache/stbench``),
never from the source tree.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

__all__ = ["HOME_ENV", "default_world_dir", "stbench_home", "unsafe_path_reason"]


HOME_ENV = "STBENCH_HOME"


def stbench_home() -> Path:
    """The root for downloads and generated data: ``$STBENCH_HOME`` or ``~/.cache/stbench``."""
    value = os.environ.get(HOME_ENV)
    return Path(value).expanduser() if value else Path.home() / ".cache" / "stbench"


def default_world_dir(preset: str = "default", seed: int = 0) -> Path:
    """Where ``stbench synth`` writes a world when no ``--out`` is given."""
    return stbench_home() / "worlds" / f"{preset}-seed{seed}"


def unsafe_path_reason(path: str) -> str | None:
    """Why ``path`` (relative to a source root) could leave that root; None if it cannot."""
    if path == "":
        return "empty"
    if "\\" in path or "\x00" in path:
        return "holds a backslash or NUL"
    posix = PurePosixPath(path)
    if posix.is_absolute() or path.startswith("~") or (len(path) > 1 and path[1] == ":"):
        return "is absolute"
    parts = path.split("/")
    if ".." in parts:
        return "climbs out with '..'"
    if "" in parts or "." in parts:
        return "has empty or '.' segments"
    return None
