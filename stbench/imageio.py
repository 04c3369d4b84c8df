"""Reading images by manifest path, including frames inside webcam archives.

A manifest ``path`` is relative to its source root. Webcam frames may stay inside the monthly
AMOS zips: their path is ``<camera>/<YYYY>.<MM>.zip/<member>``; :func:`read_image_bytes` opens the
archive member directly, so nothing has to be extracted.
"""

from __future__ import annotations

import functools
import io
import re
import warnings
import zipfile
from pathlib import Path

import numpy as np

from stbench.errors import DataError

__all__ = [
    "MAX_IMAGE_PIXELS",
    "decode_image",
    "image_size",
    "read_image",
    "read_image_bytes",
    "split_archive_path",
    "unsafe_name_problem",
    "verify_image",
]


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
    with _open_header(data, where) as image:
        return int(image.width), int(image.height)


def _open_header(data: bytes, where: str):
    """The PIL image of ``data`` with its header read (not decoded); the caller closes it.

    Raises:
        DataError: the header cannot be read.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():  # sizes are checked by the caller (verify_image)
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        # PIL's own message names the buffer's memory address: not reproducible.
        raise DataError(f"{where}: cannot read the image header: unknown image format") from exc
    except Image.DecompressionBombError as exc:
        raise DataError(
            f"{where}: the header declares too many pixels ({exc}); forged or corrupt header"
        ) from exc
    except (OSError, ValueError) as exc:
        raise DataError(f"{where}: cannot read the image header: {exc}") from exc


#: Largest image (width x height) stbench decodes: beyond this a header is taken as forged or a
#: decompression bomb (MegaDepth photos are at most ~1600 x 1600, AMOS frames far smaller).
MAX_IMAGE_PIXELS = 100_000_000


def verify_image(data: bytes, where: str = "image") -> tuple[int, int]:
    """(width, height) of an image after decoding it fully and checking it against its header.

    Raises:
        DataError: unknown format, a header declaring more than :data:`MAX_IMAGE_PIXELS`, data
            cut short (truncated file), a decode error, or a decoded size other than the
            header's.
    """
    with _open_header(data, where) as image:  # the header is parsed once
        width, height = int(image.width), int(image.height)
        if width <= 0 or height <= 0 or width * height > MAX_IMAGE_PIXELS:
            raise DataError(
                f"{where}: the header declares {width}x{height} pixels (limit "
                f"{MAX_IMAGE_PIXELS}); forged or corrupt header"
            )
        try:
            image.load()
            decoded = image.im.size
        except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError... for bad data
            raise DataError(f"{where}: the image does not decode fully: {exc}") from exc
    if tuple(decoded) != (width, height):
        raise DataError(f"{where}: header says {width}x{height}, decoded {decoded[0]}x{decoded[1]}")
    return width, height


_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


def unsafe_name_problem(name: str) -> str | None:
    """Why ``name`` may not become part of an id (None if it may).

    A file name that becomes part of an ``image_id`` must be one plain path component of
    ASCII letters, digits and ``._+-`` (no folder, no control or bidirectional characters, no
    leading dot or dash).
    """
    if "/" in name or "\\" in name:
        return f"{name!r} has a folder part; frame and image names must be plain file names"
    if not _SAFE_NAME.match(name):
        bad = sorted({c for c in name if not re.match(r"[A-Za-z0-9._+-]", c)})
        shown = ", ".join(f"U+{ord(c):04X}" for c in bad) or "a leading '.', '+' or '-'"
        return f"{name!r} has characters outside [A-Za-z0-9._+-] ({shown})"
    return None
