"""Zip validation and safe extraction for webcam archives (monthly zips of JPEG frames).

Every member is classified before use:

- **fatal** (the archive is invalid; :func:`check_zip` reports ``valid=False``): an unsafe name
  (absolute path, ``..``, backslash: "zip slip"), a member larger than ``max_member_bytes``, a
  compression ratio above ``max_ratio`` for members above ``ratio_min_bytes`` (declared *or* measured
  while decompressing: sizes in the header can lie), more than ``max_members`` members or more than
  ``max_total_bytes`` uncompressed in total ("zip bomb");
- **skipped** (reported, the archive stays valid): directories are ignored, symbolic-link members,
  encrypted members, duplicate names, corrupt members (CRC or deflate errors) and members whose
  content does not start with the JPEG SOI marker ``FF D8 FF`` (HTML error pages, thumbnails
  databases, text files).

Decompression is streamed and capped, so a bomb is never inflated beyond the limits.
"""

from __future__ import annotations

import dataclasses
import os
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from stbench.errors import DataError
from stbench.fetch.members import ExtractReport, normalize_member_name, resolve_inside

__all__ = ["JPEG_MAGIC", "ZipCheck", "ZipLimits", "check_zip", "extract_zip"]


JPEG_MAGIC = b"\xff\xd8\xff"
_S_IFMT = 0o170000
_S_IFLNK = 0o120000


@dataclasses.dataclass(frozen=True)
class ZipLimits:
    """Limits that make an archive a zip bomb.

    Attributes:
        max_members: most members in one archive.
        max_member_bytes: largest uncompressed member.
        max_total_bytes: largest total uncompressed size.
        max_ratio: largest uncompressed/compressed ratio (JPEGs barely compress: ~1.0).
        ratio_min_bytes: the ratio test applies to members at least this large.
    """

    max_members: int = 200_000
    max_member_bytes: int = 64 << 20
    max_total_bytes: int = 32 << 30
    max_ratio: float = 20.0
    ratio_min_bytes: int = 1 << 20


@dataclasses.dataclass
class ZipCheck:
    """The verdict on one archive.

    Attributes:
        path: the archive.
        valid: False when a fatal problem was found (see the module docstring).
        errors: ``(member, reason)`` for fatal problems.
        jpeg_members: names of the accepted JPEG members, in archive order.
        report: counts of accepted members/bytes and the skipped members with reasons.
    """

    path: Path
    valid: bool
    errors: list[tuple[str, str]]
    jpeg_members: list[str]
    report: ExtractReport


class _Fatal(Exception):
    pass


class _Skip(Exception):
    pass


def check_zip(path: str | Path, limits: ZipLimits | None = None) -> ZipCheck:
    """Validate ``path`` member by member without writing anything.

    Returns:
        A :class:`ZipCheck`; an unreadable or non-zip file is invalid with one error.
    """
    path = Path(path)
    check = ZipCheck(path, True, [], [], ExtractReport())
    try:
        for name, _data in _iter_members(path, limits or ZipLimits(), check, keep_data=False):
            check.jpeg_members.append(name)
    except _Fatal:
        check.valid = False
    return check


def extract_zip(
    path: str | Path, dest: str | Path, limits: ZipLimits | None = None
) -> ExtractReport:
    """Extract the JPEG members of ``path`` into ``dest`` safely; skip and report the rest.

    Each member is written atomically (temporary sibling + rename). Extraction stops at the first
    fatal problem (zip bomb limits), which is reported in ``skipped`` with the remaining members
    left unwritten.

    Raises:
        DataError: ``path`` is not a readable zip archive.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    check = ZipCheck(Path(path), True, [], [], ExtractReport())
    report = check.report
    try:
        for name, data in _iter_members(Path(path), limits or ZipLimits(), check, keep_data=True):
            target = resolve_inside(dest, name)
            if target is None:
                report.skip(name, "parent directory resolves outside the target (via a link)")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.part")
            tmp.write_bytes(data)
            if target.is_symlink():
                target.unlink()
            os.replace(tmp, target)
    except _Fatal:
        pass
    for member, reason in check.errors:
        report.skip(member, reason)
    if check.errors and check.errors[0][0] == "":
        raise DataError(f"{path}: {check.errors[0][1]}")
    return report


def _iter_members(
    path: Path, limits: ZipLimits, check: ZipCheck, keep_data: bool
) -> Iterator[tuple[str, bytes]]:
    """Yield ``(safe name, data or b"")`` for accepted JPEG members; record the rest in ``check``.

    Raises ``_Fatal`` (after recording the error) on the first fatal problem.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        check.errors.append(("", f"not a readable zip archive: {exc}"))
        raise _Fatal from None
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_members:
            check.errors.append(("", f"{len(infos):,} members (limit {limits.max_members:,})"))
            raise _Fatal
        seen: set[str] = set()
        total = 0
        for info in infos:
            if info.is_dir():
                continue
            try:
                name = _classify(info, limits, seen)
                data, size = _read_capped(
                    archive, info, limits, limits.max_total_bytes - total, keep_data
                )
            except _Skip as exc:
                check.report.skip(info.filename, str(exc))
                continue
            except _Fatal as exc:
                check.errors.append((info.filename, str(exc)))
                raise
            total += size
            check.report.files += 1
            check.report.bytes += size
            yield name, data


def _classify(info: zipfile.ZipInfo, limits: ZipLimits, seen: set[str]) -> str:
    name, reason = normalize_member_name(info.filename)
    if name is None:
        raise _Fatal(f"unsafe member name ({reason}): zip slip")
    if info.file_size > limits.max_member_bytes:
        raise _Fatal(f"member of {info.file_size:,} bytes (limit {limits.max_member_bytes:,})")
    if info.file_size >= limits.ratio_min_bytes:
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > limits.max_ratio:
            raise _Fatal(f"compression ratio {ratio:.0f} (limit {limits.max_ratio:g}): zip bomb")
    if (info.external_attr >> 16) & _S_IFMT == _S_IFLNK:
        raise _Skip("symbolic link member")
    if info.flag_bits & 0x1:
        raise _Skip("encrypted member")
    if name in seen:
        raise _Skip("duplicate member name")
    seen.add(name)
    return name


def _read_capped(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ZipLimits, total_left: int, keep: bool
) -> tuple[bytes, int]:
    """Decompress one member, enforcing the limits on the bytes actually produced.

    Returns ``(data or b"" when not kept, uncompressed size)``.
    """
    cap = min(limits.max_member_bytes, max(total_left, 0))
    chunks: list[bytes] = []
    produced = 0
    try:
        with archive.open(info) as source:
            while block := source.read(1 << 16):
                produced += len(block)
                if produced > cap:
                    if produced > limits.max_member_bytes:
                        raise _Fatal(f"member inflates past {limits.max_member_bytes:,} bytes")
                    raise _Fatal(f"archive inflates past {limits.max_total_bytes:,} bytes")
                if produced >= limits.ratio_min_bytes:
                    ratio = produced / max(info.compress_size, 1)
                    if ratio > limits.max_ratio:
                        raise _Fatal(f"compression ratio above {limits.max_ratio:g}: zip bomb")
                if keep:
                    chunks.append(block)
                if produced == len(block) and not block.startswith(JPEG_MAGIC):
                    raise _Skip(f"not a JPEG (starts with {block[:16]!r})")
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError) as exc:
        raise _Skip(f"corrupt member: {exc}") from None
    if produced == 0:
        raise _Skip("empty member")
    return b"".join(chunks), produced
