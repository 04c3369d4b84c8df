"""Read ``.npz`` files whose object arrays were pickled, without running code from the file.

D2-Net and LoFTR scene-info files store per-image lists (paths, ``{point id: xy}`` dicts) as
object arrays, which numpy writes with pickle. ``np.load(allow_pickle=True)`` would let such a
file call any Python function it names (``os.system``...). Here plain arrays are read with
``allow_pickle=False`` and object arrays go through :class:`NumpyOnlyUnpickler`, which builds
the plain containers pickle encodes without naming a global (list, dict, tuple, str, bytes,
int, float, bool, None) and resolves only the few numpy globals an array or a numpy scalar
needs. Anything else in the file is refused with :class:`UnsafePickleError` before it runs.
"""

from __future__ import annotations

import io
import pickle
import zipfile
import zlib
from pathlib import Path

import numpy as np

from stbench.errors import DataError

__all__ = ["ALLOWED_GLOBALS", "NumpyOnlyUnpickler", "UnsafePickleError", "load_npz"]


#: (module, name) globals that array and scalar reconstruction need, for numpy 1.x and 2.x.
ALLOWED_GLOBALS = frozenset(
    (module, name)
    for module in ("numpy.core.multiarray", "numpy._core.multiarray")
    for name in ("_reconstruct", "scalar")
) | {("numpy", "ndarray"), ("numpy", "dtype")}


class UnsafePickleError(DataError):
    """A pickled object names a global that is not a numpy array/scalar constructor."""


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that resolves only :data:`ALLOWED_GLOBALS` (and refuses persistent ids)."""

    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafePickleError(
                f"refused to load {module}.{name}: only numpy arrays, numpy scalars and plain "
                "lists/dicts/strings/numbers may be pickled in a scene-info file"
            )
        return super().find_class(module, name)

    def persistent_load(self, pid):
        raise UnsafePickleError("refused a pickle persistent id")


def _read_member(handle, where: str) -> np.ndarray:
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        shape, _fortran, dtype = np.lib.format.read_array_header_1_0(handle)
    elif version in ((2, 0), (3, 0)):
        shape, _fortran, dtype = np.lib.format.read_array_header_2_0(handle)
    else:
        raise DataError(f"{where}: unsupported .npy format version {version}")
    if not dtype.hasobject:
        handle.seek(0)
        return np.lib.format.read_array(handle, allow_pickle=False)
    try:
        array = NumpyOnlyUnpickler(handle, encoding="ASCII").load()
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"{where}: {exc}") from None
    except (pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError) as exc:
        raise DataError(f"{where}: the pickled object array cannot be read: {exc}") from exc
    if not isinstance(array, np.ndarray) or array.shape != shape:
        raise DataError(f"{where}: the pickled data is not the declared {shape} object array")
    return array


def load_npz(path: str | Path) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` file, object arrays read by :class:`NumpyOnlyUnpickler`.

    Raises:
        UnsafePickleError: an object array names a global other than numpy's array/scalar
            constructors (nothing it names has been called).
        DataError: the file is not a readable ``.npz``.
    """
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                where = f"{path}:{info.filename}"
                with archive.open(info) as member:
                    handle = io.BytesIO(member.read())
                arrays[info.filename[: -len(".npy")]] = _read_member(handle, where)
    except (OSError, zipfile.BadZipFile, EOFError, ValueError, zlib.error) as exc:
        raise DataError(f"{path}: not a readable .npz file: {exc}") from exc
    return arrays
