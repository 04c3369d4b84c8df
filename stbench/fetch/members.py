"""Checks shared by tar and zip extraction: member names, reports, writing inside a target."""

from __future__ import annotations

import dataclasses
import os
import posixpath
from pathlib import Path

__all__ = ["ExtractReport", "link_target_inside", "normalize_member_name", "resolve_inside"]


@dataclasses.dataclass
class ExtractReport:
    """What an extraction (or a zip validation) did.

    Attributes:
        files: regular files written (or, for a validation, accepted).
        bytes: uncompressed bytes written (or accepted).
        links: symbolic links created inside the target.
        skipped: ``(member name, reason)`` for every member not written.
    """

    files: int = 0
    bytes: int = 0
    links: int = 0
    skipped: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    def skip(self, name: str, reason: str) -> None:
        """Record a skipped member with its reason."""
        self.skipped.append((name, reason))


def normalize_member_name(name: str) -> tuple[str | None, str]:
    """A safe relative POSIX path for an archive member, or ``(None, reason)``.

    Rejects absolute paths (``/x``, ``C:\\x``, ``\\\\server``), backslash separators, NUL bytes and
    any ``..`` component; strips leading ``./`` and trailing ``/``.
    """
    if "\x00" in name:
        return None, "NUL byte in the name"
    if "\\" in name:
        return None, "backslash in the name (Windows path)"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None, "absolute path"
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        return None, "'..' in the path (path traversal)"
    if not parts:
        return None, "empty name"
    return "/".join(parts), ""


def resolve_inside(target_root: Path, relative: str) -> Path | None:
    """``target_root / relative`` if its parent directory really lies inside ``target_root``.

    The parent is resolved with symlinks followed, so a link extracted earlier cannot redirect a
    later member outside the target. Returns None when it would escape.
    """
    root = Path(os.path.realpath(target_root))
    path = root / relative
    parent = Path(os.path.realpath(path.parent))
    if parent != root and root not in parent.parents:
        return None
    return parent / path.name


def link_target_inside(target_root: Path, path: Path, linkname: str) -> bool:
    """Whether a symlink at ``path`` pointing to ``linkname`` resolves inside ``target_root``."""
    if linkname.startswith("/") or "\\" in linkname or not linkname:
        return False
    root = os.path.realpath(target_root)
    resolved = os.path.realpath(posixpath.join(os.path.realpath(path.parent), linkname))
    return resolved == root or resolved.startswith(root + os.sep)
