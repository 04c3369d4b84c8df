"""Check a binary COLMAP model's files against the counts they declare, before pycolmap reads it.

pycolmap trusts the counts and lengths in ``cameras.bin``, ``images.bin`` and ``points3D.bin``:
a truncated or damaged file makes it reserve memory for garbage lengths (a truncated
``points3D.bin`` of a real scene took minutes and ~17 GB before ``std::bad_alloc``). Walking the
records here (through a read-only memory map) reads only the fixed-size fields and the length
prefixes, so it needs no memory of its own and time proportional to the number of records, and
names the first record that does not fit the file.
"""

from __future__ import annotations

import contextlib
import mmap
import struct
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "CAMERA_MODEL_PARAMS",
    "ModelFileError",
    "check_binary_model",
    "check_cameras",
    "check_images",
    "check_points3d",
]


#: Parameters of each COLMAP camera model id (colmap/src/colmap/sensor/models.h).
CAMERA_MODEL_PARAMS = {0: 3, 1: 4, 2: 4, 3: 5, 4: 8, 5: 8, 6: 12, 7: 5, 8: 4, 9: 5, 10: 12, 11: 16}

_CAMERA_HEAD = struct.Struct("<iiQQ")  # camera_id, model_id, width, height
_IMAGE_HEAD = 4 + 4 * 8 + 3 * 8 + 4  # image_id, qvec, tvec, camera_id
_POINT2D = 2 * 8 + 8  # x, y, point3D_id
_POINT3D_HEAD = 8 + 3 * 8 + 3 + 8  # point3D_id, xyz, rgb, error (then the track length)
_TRACK_ELEMENT = 4 + 4  # image_id, point2D_idx
_U64 = struct.Struct("<Q")


class ModelFileError(ValueError):
    """A model file whose content does not match the counts and lengths it declares."""


@contextlib.contextmanager
def _mapped(path: Path) -> Iterator[bytes | mmap.mmap]:
    """The file's bytes, memory-mapped (an empty file gives b"")."""
    with open(path, "rb") as handle:
        if path.stat().st_size == 0:
            yield b""
            return
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            yield data


def _count(data: bytes | mmap.mmap, path: Path, what: str, minimum_record: int) -> int:
    if len(data) < 8:
        raise ModelFileError(f"{path}: {len(data)} bytes, too short for the {what} count")
    (count,) = _U64.unpack_from(data, 0)
    if count * minimum_record > len(data) - 8:
        raise ModelFileError(
            f"{path} declares {count} {what} (at least {count * minimum_record} bytes) but holds "
            f"{len(data) - 8} bytes after the count: truncated or not a COLMAP binary file"
        )
    return count


def _short(path: Path, what: str, index: int, count: int, need: int, size: int) -> ModelFileError:
    return ModelFileError(
        f"{path}: {what} {index} of {count} needs bytes up to {need} but the file has {size}: "
        "truncated or damaged"
    )


def check_cameras(path: Path) -> None:
    """Raise :class:`ModelFileError` unless ``cameras.bin`` holds exactly its declared cameras."""
    with _mapped(path) as data:
        _walk_cameras(data, path)


def _walk_cameras(data, path: Path) -> None:
    count = _count(data, path, "cameras", _CAMERA_HEAD.size)
    offset = 8
    for index in range(count):
        if offset + _CAMERA_HEAD.size > len(data):
            raise _short(path, "camera", index, count, offset + _CAMERA_HEAD.size, len(data))
        _, model_id, _, _ = _CAMERA_HEAD.unpack_from(data, offset)
        if model_id not in CAMERA_MODEL_PARAMS:
            raise ModelFileError(f"{path}: camera {index} has unknown model id {model_id}")
        offset += _CAMERA_HEAD.size + 8 * CAMERA_MODEL_PARAMS[model_id]
        if offset > len(data):
            raise _short(path, "camera", index, count, offset, len(data))
    if offset != len(data):
        raise ModelFileError(f"{path}: {len(data) - offset} bytes after the {count} cameras")


def check_images(path: Path) -> None:
    """Raise :class:`ModelFileError` unless ``images.bin`` holds exactly its declared images."""
    with _mapped(path) as data:
        _walk_images(data, path)


def _walk_images(data, path: Path) -> None:
    count = _count(data, path, "images", _IMAGE_HEAD + 1 + 8)
    offset = 8
    for index in range(count):
        name_end = data.find(b"\0", offset + _IMAGE_HEAD)
        if name_end < 0 or name_end + 9 > len(data):
            raise _short(path, "image", index, count, offset + _IMAGE_HEAD + 9, len(data))
        (n_points,) = _U64.unpack_from(data, name_end + 1)
        offset = name_end + 9 + n_points * _POINT2D
        if offset > len(data):
            raise _short(path, "image", index, count, offset, len(data))
    if offset != len(data):
        raise ModelFileError(f"{path}: {len(data) - offset} bytes after the {count} images")


def check_points3d(path: Path) -> None:
    """Raise :class:`ModelFileError` unless ``points3D.bin`` holds exactly its declared points."""
    with _mapped(path) as data:
        _walk_points3d(data, path)


def _walk_points3d(data, path: Path) -> None:
    count = _count(data, path, "3D points", _POINT3D_HEAD + 8)
    offset, size = 8, len(data)
    unpack = _U64.unpack_from
    for index in range(count):
        length_at = offset + _POINT3D_HEAD
        if length_at + 8 > size:
            raise _short(path, "3D point", index, count, length_at + 8, size)
        offset = length_at + 8 + unpack(data, length_at)[0] * _TRACK_ELEMENT
        if offset > size:
            raise _short(path, "3D point", index, count, offset, size)
    if offset != size:
        raise ModelFileError(f"{path}: {size - offset} bytes after the {count} 3D points")


def check_binary_model(model_dir: Path) -> None:
    """Check the binary files of a COLMAP model directory (a text model is not checked).

    Raises:
        ModelFileError: the first file whose content does not match what it declares.
    """
    model_dir = Path(model_dir)
    checks = (
        ("cameras.bin", check_cameras),
        ("images.bin", check_images),
        ("points3D.bin", check_points3d),
    )
    for name, check in checks:
        if (model_dir / name).is_file():
            check(model_dir / name)
