"""Where stbench keeps downloads and generated data.

Every path comes from an argument or from ``STBENCH_HOME`` (default ``~/.cache/stbench``),
never from the source tree.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["HOME_ENV", "default_world_dir", "stbench_home"]


HOME_ENV = "STBENCH_HOME"


def stbench_home() -> Path:
    """The root for downloads and generated data: ``$STBENCH_HOME`` or ``~/.cache/stbench``."""
    value = os.environ.get(HOME_ENV)
    return Path(value).expanduser() if value else Path.home() / ".cache" / "stbench"


def default_world_dir(preset: str = "default", seed: int = 0) -> Path:
    """Where ``stbench synth`` writes a world when no ``--out`` is given."""
    return stbench_home() / "worlds" / f"{preset}-seed{seed}"
