"""Reading images by manifest path, including frames inside webcam archives.

A manifest ``path`` is relative to its source root. Webcam frames may stay inside the monthly
AMOS zips: their path is ``<camera>/<YYYY>.<MM>.zip/<member>``; :func:`read_image_bytes` opens the
archive member directly, so nothing has to be extracted.
"""

from __future__ import annotations

import functools
import io
import zipfile
from pathlib import Path

import numpy as np

from stbench.errors import DataError

_ZIP_MARKER = ".zip/"


@functools.lru_cache(maxsize=32)
def _open_zip(path: str) -> zipfile.ZipFile:
    return zipfile.ZipFile(path)


def split_archive_path(path: str) -> tuple[str, str] | None:
    """``(archive, member)`` if ``path`` points into a zip archive, else None."""
    index = path.find(_ZIP_MARKER)
    if index < 0:
        return None
    return path[: index + len(".zip")], path[index + len(_ZIP_MARKER) :]


def read_image_bytes(root: str | Path, path: str) -> bytes:
    """The encoded bytes of the image at ``path`` under ``root``.

    Raises:
        DataError: the file or archive member is missing or unreadable.
    """
    archive = split_archive_path(path)
    try:
        if archive is None:
            return (Path(root) / path).read_bytes()
        zip_path, member = archive
        return _open_zip(str(Path(root) / zip_path)).read(member)
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise DataError(f"cannot read image {path!r} under {root}: {exc}") from exc


def decode_image(data: bytes, grayscale: bool = False, where: str = "image") -> np.ndarray:
    """Decode encoded image bytes to (H, W, 3) RGB uint8 or (H, W) uint8.

    Raises:
        DataError: the bytes are not a decodable image.
    """
    import cv2

    flags = cv2.IMREAD_GRAYSCALE if grayscale else cv2.IMREAD_COLOR
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags) if data else None
    if image is None:
        raise DataError(f"{where}: not a decodable image ({len(data)} bytes)")
    return image if grayscale else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_image(root: str | Path, path: str, grayscale: bool = False) -> np.ndarray:
    """Read and decode the image at ``path`` under ``root`` (RGB uint8, or gray)."""
    return decode_image(read_image_bytes(root, path), grayscale=grayscale, where=path)


def image_size(data: bytes, where: str = "image") -> tuple[int, int]:
    """(width, height) from the image header only (no full decode).

    Raises:
        DataError: the header cannot be read.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return int(image.width), int(image.height)
    except UnidentifiedImageError as exc:
        # PIL's own message names the buffer's memory address: not reproducible.
        raise DataError(f"{where}: cannot read the image header: unknown image format") from exc
    except (OSError, ValueError) as exc:
        raise DataError(f"{where}: cannot read the image header: {exc}") from exc
