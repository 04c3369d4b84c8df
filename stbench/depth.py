"""Reading MegaDepth depth maps (``.h5`` with one dataset ``depth``).

Some MegaDepth ``.h5`` files hold ordinal/semantic label maps under the same name; they are
recognised from their content (few distinct small integer values), never from the file size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stbench.errors import DataError

__all__ = ["ORDINAL_MAX_LEVELS", "DepthMap", "is_ordinal", "read_depth"]


#: At most this many distinct non-zero values, all small integers, make a map ordinal.
ORDINAL_MAX_LEVELS = 64


@dataclass
class DepthMap:
    """A depth map as read from disk.

    Attributes:
        depth: (H, W) float32 z-depth, invalid pixels set to 0.
        kind: ``metric`` or ``ordinal`` (never use ordinal maps as metric depth).
        n_invalid_values: how many pixels were NaN or inf (now 0): a sign of a damaged map.
        n_negative: how many pixels were negative (now 0): real MegaDepth maps have a few, and
            like 0 they only mean "no depth here".
    """

    depth: np.ndarray
    kind: str
    n_invalid_values: int
    n_negative: int = 0


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
        DataError: the file is missing, empty, truncated, has no 2-D numeric ``depth``
            dataset.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise DataError(f"depth file {path} does not exist")
    if path.stat().st_size == 0:
        raise DataError(f"depth file {path} is empty (0 bytes)")
    raw = _read_plain_depth(path)
    if raw is not None:
        return _depth_map(raw)
    try:
        with h5py.File(path, "r") as handle:
            dataset = handle.get("depth")
            if not isinstance(dataset, h5py.Dataset):
                raise DataError(f"depth file {path} has no dataset 'depth' (has {list(handle)})")
            if dataset.dtype.kind not in "fiu":
                raise DataError(
                    f"depth file {path}: 'depth' holds {dataset.dtype} values, expected numbers"
                )
            if dataset.ndim != 2:
                raise DataError(
                    f"depth file {path}: 'depth' has shape {dataset.shape}, expected (H, W)"
                )
            raw = dataset[()]
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise DataError(f"depth file {path} cannot be read (truncated or not HDF5): {exc}") from exc
    return _depth_map(raw)


def _read_plain_depth(path: Path) -> np.ndarray | None:
    """The ``depth`` dataset of a plain HDF5 file through h5py's low-level API (~4x less
    overhead per file than ``h5py.File``), or None for anything unusual: no such dataset, not
    2-D, not numeric, a read error. :func:`read_depth` then reads the file the documented way,
    which gives the same array or raises the right DataError.
    """
    import h5py

    try:
        fid = h5py.h5f.open(bytes(path), h5py.h5f.ACC_RDONLY)
    except Exception:
        return None
    try:
        dataset = h5py.h5d.open(fid, b"depth")
        try:
            shape = dataset.shape
            dtype = dataset.dtype
            if len(shape) != 2 or dtype.kind not in "fiu":
                return None
            out = np.empty(shape, dtype=dtype)
            dataset.read(h5py.h5s.ALL, h5py.h5s.ALL, out)
            return out
        finally:
            dataset.close()
    except Exception:
        return None
    finally:
        fid.close()


def _depth_map(raw: np.ndarray) -> DepthMap:
    """A :class:`DepthMap` of a read dataset: NaN/inf and negative values counted and zeroed,
    the kind decided."""
    depth = np.asarray(raw, dtype=np.float32)
    non_finite = ~np.isfinite(depth)
    with np.errstate(invalid="ignore"):
        negative = depth < 0
    if non_finite.any() or negative.any():
        depth = np.where(non_finite | negative, np.float32(0), depth)
    kind = "ordinal" if is_ordinal(depth) else "metric"
    return DepthMap(
        depth=depth,
        kind=kind,
        n_invalid_values=int(non_finite.sum()),
        n_negative=int(negative.sum()),
    )
