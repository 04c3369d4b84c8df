"""Reading MegaDepth depth maps (``.h5`` with one dataset ``depth``).

Some MegaDepth ``.h5`` files hold ordinal/semantic label maps under the same name; they are
recognised from their content (few distinct small integer values), never from the file size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stbench.errors import DataError

#: At most this many distinct non-zero values, all small integers, make a map ordinal.
ORDINAL_MAX_LEVELS = 64


@dataclass
class DepthMap:
    """A depth map as read from disk.

    Attributes:
        depth: (H, W) float32 z-depth, invalid pixels set to 0.
        kind: ``metric`` or ``ordinal`` (never use ordinal maps as metric depth).
        n_invalid_values: how many pixels were NaN, inf or negative (now 0).
    """

    depth: np.ndarray
    kind: str
    n_invalid_values: int


def is_ordinal(values: np.ndarray) -> bool:
    """Whether valid depth values look like ordinal labels rather than metric depth."""
    positive = values[np.isfinite(values) & (values > 0)]
    if positive.size == 0:
        return False
    sample = positive[:: max(1, positive.size // 200_000)]
    if not np.all(sample == np.round(sample)):
        return False
    return len(np.unique(sample)) <= ORDINAL_MAX_LEVELS


def read_depth(path: str | Path) -> DepthMap:
    """Read a MegaDepth depth ``.h5``.

    Raises:
        DataError: the file is missing, empty, truncated, has no 2-D ``depth`` dataset.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise DataError(f"depth file {path} does not exist")
    if path.stat().st_size == 0:
        raise DataError(f"depth file {path} is empty (0 bytes)")
    try:
        with h5py.File(path, "r") as handle:
            if "depth" not in handle:
                raise DataError(f"depth file {path} has no dataset 'depth' (has {list(handle)})")
            raw = handle["depth"][()]
    except OSError as exc:
        raise DataError(f"depth file {path} cannot be read (truncated or not HDF5): {exc}") from exc
    if raw.ndim != 2:
        raise DataError(f"depth file {path}: 'depth' has shape {raw.shape}, expected (H, W)")
    depth = np.asarray(raw, dtype=np.float32)
    bad = ~np.isfinite(depth) | (depth < 0)
    n_bad = int(bad.sum())
    if n_bad:
        depth = np.where(bad, np.float32(0), depth)
    kind = "ordinal" if is_ordinal(depth) else "metric"
    return DepthMap(depth=depth, kind=kind, n_invalid_values=n_bad)
