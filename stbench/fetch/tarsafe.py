"""Streaming, safe extraction of ``.tar``, ``.tar.gz`` and ``.tar.xz`` archives.

The archive is read once, front to back (``tarfile`` stream mode ``r|*``), so a 600 GB archive
never needs random access or a member index in memory. Every member is checked before anything is
written; unsafe members are skipped and reported with a reason, never written:

- absolute names, ``..`` components, backslashes or NUL bytes in the name;
- names whose parent directory (after resolving links extracted earlier) lies outside the target;
- symbolic links whose target resolves outside the target (absolute targets included) or, when
  only one folder of the target is moved to its final place (``link_root``), outside that folder:
  a link ``..`` checked against a staging folder would point above the final destination;
- hard links whose target is outside the target or not a regular file extracted before
  (a hard link is materialised as a copy, so no inode outside the target is ever shared);
- character/block devices, FIFOs and other special members.

Regular files get mode 0644 (0755 when executable for the owner); setuid/setgid bits and owners
from the archive are ignored.
"""

from __future__ import annotations

import gzip
import lzma
import os
import shutil
import tarfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from stbench.errors import DataError
from stbench.fetch.members import (
    ExtractReport,
    link_target_inside,
    normalize_member_name,
    resolve_inside,
)

__all__ = ["extract_tar"]


#: Maps a safe member name to its name under the target, or None to skip it.
Rename = Callable[[str], "str | None"]


class _CountingReader:
    """A read-only file wrapper counting the (compressed) bytes read, for progress."""

    def __init__(self, stream: BinaryIO, on_progress: Callable[[int], None] | None) -> None:
        self._stream = stream
        self._on_progress = on_progress
        self.done = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.done += len(data)
        if self._on_progress is not None:
            self._on_progress(self.done)
        return data


def extract_tar(
    archive: str | Path,
    dest: str | Path,
    *,
    rename: Rename | None = None,
    on_progress: Callable[[int], None] | None = None,
    chunk_bytes: int = 1 << 20,
    link_root: str | None = None,
) -> ExtractReport:
    """Extract ``archive`` into ``dest`` safely, streaming (see the module docstring).

    Args:
        archive: a tar file, plain or compressed with gzip, bzip2 or xz.
        dest: the target directory (created if missing).
        rename: maps each safe member name to the relative name to write, or None to skip the
            member (reported as "not under the expected top-level folder").
        on_progress: called with the number of archive (compressed) bytes read so far.
        chunk_bytes: copy buffer size.
        link_root: a folder relative to ``dest`` that will be moved to the final destination
            (e.g. ``MegaDepth_v1`` of a staging folder): symbolic and hard links must resolve
            inside it, so none points at or above the final destination after the move.
            Default: ``dest`` itself.

    Returns:
        An :class:`ExtractReport` (files written, bytes, links, skipped members with reasons).

    Raises:
        DataError: the archive is not a readable tar file or is truncated.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    links_inside = dest
    if link_root is not None:
        name, reason = normalize_member_name(link_root)
        if name is None:
            raise ValueError(f"link_root {link_root!r} is not a relative folder: {reason}")
        links_inside = dest / name
    report = ExtractReport()
    try:
        with open(archive, "rb") as raw:
            reader = _CountingReader(raw, on_progress)
            with tarfile.open(fileobj=reader, mode="r|*") as tar:  # type: ignore[call-overload]
                for member in tar:
                    try:
                        _extract_member(
                            tar, member, dest, links_inside, rename, report, chunk_bytes
                        )
                    except (FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
                        report.skip(member.name, f"conflicts with an earlier member: {exc}")
    except (tarfile.TarError, EOFError, lzma.LZMAError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(
            f"{archive} is not a readable tar archive or is truncated ({exc}); delete it and "
            "download it again"
        ) from exc
    except OSError as exc:
        raise DataError(f"cannot extract {archive} into {dest}: {exc}") from exc
    return report


def _extract_member(
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    dest: Path,
    links_inside: Path,
    rename: Rename | None,
    report: ExtractReport,
    chunk_bytes: int,
) -> None:
    name, reason = normalize_member_name(member.name)
    if name is None:
        report.skip(member.name, reason)
        return
    if rename is not None:
        renamed = rename(name)
        if renamed is None:
            report.skip(member.name, "not under the expected top-level folder")
            return
        name = renamed
    if member.ischr() or member.isblk() or member.isfifo():
        report.skip(member.name, "device or FIFO file")
        return
    path = resolve_inside(dest, name)
    if path is None:
        report.skip(member.name, "parent directory resolves outside the target (via a link)")
        return
    if member.isdir():
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            report.skip(member.name, "directory name taken by a file or link")
            return
        path.mkdir(parents=True, exist_ok=True)
    elif member.issym():
        if not link_target_inside(links_inside, path, member.linkname):
            where = "" if links_inside == dest else f" {links_inside.name}/"
            report.skip(member.name, f"symbolic link to {member.linkname!r} points outside{where}")
            return
        _clear(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(member.linkname, path)
        report.links += 1
    elif member.islnk():
        _extract_hardlink(member, path, dest, links_inside, rename, report)
    elif member.isreg():
        if path.is_dir() and not path.is_symlink():
            report.skip(member.name, "file name taken by a directory")
            return
        _clear(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        source = tar.extractfile(member)
        assert source is not None  # regular members always have data
        with open(path, "wb") as out:
            shutil.copyfileobj(source, out, chunk_bytes)
        os.chmod(path, 0o755 if member.mode & 0o100 else 0o644)
        os.utime(path, (member.mtime, member.mtime))
        report.files += 1
        report.bytes += member.size
    else:
        report.skip(member.name, f"unsupported member type {member.type!r}")


def _extract_hardlink(
    member: tarfile.TarInfo,
    path: Path,
    dest: Path,
    links_inside: Path,
    rename: Rename | None,
    report: ExtractReport,
) -> None:
    target_name, _reason = normalize_member_name(member.linkname)
    if target_name is not None and rename is not None:
        target_name = rename(target_name)
    target = resolve_inside(dest, target_name) if target_name is not None else None
    if target is not None and not link_target_inside(links_inside, target, target.name):
        target = None
    if target is None or target.is_symlink() or not target.is_file():
        report.skip(member.name, f"hard link to {member.linkname!r} outside or missing")
        return
    _clear(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(target, path)
    report.files += 1
    report.bytes += target.stat().st_size


def _clear(path: Path) -> None:
    """Remove a file or link already at ``path`` so writing never follows a link."""
    if path.is_symlink() or path.is_file():
        path.unlink()
