"""Reading only the header of an image file: the EXIF block and the frame size, bounded in bytes.

A JPEG starts with markers (``FF D8`` then segments ``FF xx`` with a 2-byte big-endian length);
EXIF lives in an ``APP1`` segment starting with ``Exif\\0\\0`` followed by a TIFF structure, and the
frame size in the ``SOFn`` segment. Both come before the compressed data (``SOS``), so a bounded
prefix of the file is enough. Nothing here decodes pixels.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DEFAULT_HEADER_BYTES", "ImageHeader", "parse_header", "read_header_bytes"]


#: How many bytes of a file are read for its header (EXIF APP1 segments are at most 64 KiB).
DEFAULT_HEADER_BYTES = 131072

_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_STANDALONE = {0x01, *range(0xD0, 0xD8)}


@dataclass
class ImageHeader:
    """What the header of one image file holds.

    Attributes:
        kind: ``jpeg``, ``tiff``, ``empty``, ``html`` or ``unknown``.
        exif: the TIFF structure of the EXIF block (bytes after ``Exif\\0\\0``), or None.
        width: frame width in pixels from the SOF segment, or None.
        height: frame height in pixels, or None.
        flags: problems found (``empty_file``, ``not_an_image``, ``truncated_header``,
            ``truncated`` ...).
    """

    kind: str
    exif: bytes | None = None
    width: int | None = None
    height: int | None = None
    flags: list[str] = field(default_factory=list)


def read_header_bytes(
    path: str | Path, max_bytes: int = DEFAULT_HEADER_BYTES
) -> tuple[bytes, bytes]:
    """The first ``max_bytes`` of a file and its last 2 bytes (for the end-of-image check)."""
    with open(path, "rb") as handle:
        head = handle.read(max_bytes)
        if len(head) < max_bytes:
            return head, head[-2:]
        handle.seek(-2, 2)
        return head, handle.read(2)


def parse_header(head: bytes, tail: bytes | None = None, complete: bool = True) -> ImageHeader:
    """Parse the header prefix of an image file.

    Args:
        head: the first bytes of the file (see :data:`DEFAULT_HEADER_BYTES`).
        tail: the file's last 2 bytes; when given, a JPEG without its end marker is flagged
            ``truncated``.
        complete: whether ``head`` is the whole file (a segment running past its end is then a
            truncated file, else only a header longer than the read bound: ``header_beyond_bound``).
    Returns:
        The header; never raises on malformed input (problems become flags).
    """
    if not head:
        return ImageHeader("empty", flags=["empty_file"])
    if head.startswith(b"\xff\xd8"):
        header = _parse_jpeg(head, complete)
        if tail is not None and tail != b"\xff\xd9":
            header.flags.append("truncated")
        return header
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return ImageHeader("tiff", exif=head)
    start = head[:512].lstrip().lower()
    if start.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body", b"{")):
        return ImageHeader("html", flags=["not_an_image"])
    return ImageHeader("unknown", flags=["not_an_image"])


def _parse_jpeg(head: bytes, complete: bool) -> ImageHeader:
    header = ImageHeader("jpeg")
    pos, size = 2, len(head)
    while pos < size:
        if head[pos] != 0xFF:
            header.flags.append("bad_marker")
            return header
        while pos < size and head[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= size:
            break
        marker = head[pos]
        pos += 1
        if marker in _STANDALONE:
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan: no more header
            return header
        if pos + 2 > size:
            break
        (length,) = struct.unpack(">H", head[pos : pos + 2])
        if length < 2:
            header.flags.append("bad_marker")
            return header
        segment = head[pos + 2 : pos + length]
        if len(segment) < length - 2:
            # The segment runs past what was read: a truncated file, or a header beyond the bound.
            header.flags.append("truncated_header" if complete else "header_beyond_bound")
            return header
        if marker == 0xE1 and header.exif is None and segment.startswith(b"Exif\x00\x00"):
            header.exif = segment[6:]
        elif marker in _SOF_MARKERS and len(segment) >= 5:
            height, width = struct.unpack(">HH", segment[1:5])
            header.width, header.height = int(width), int(height)
            return header
        pos += length
    header.flags.append("truncated_header" if complete else "header_beyond_bound")
    return header
