"""``stbench fetch megadepth``: download and extract the MegaDepth v1 archives.

Two archives are published (no official checksums):

==========  ===========================================  ======================  ======================
part        archive (under :data:`MEGADEPTH_BASE_URL`)   size (bytes)            extracted to
==========  ===========================================  ======================  ======================
``depth``   ``Megadepth_v1/MegaDepth_v1.tar.gz``         213,461,598,257         ``ROOT/MegaDepth_v1``
``sfm``     ``MegaDepth_SfM/MegaDepth_SfM_v1.tar.xz``    666,570,101,304         ``ROOT/MegaDepth_v1_SfM``
==========  ===========================================  ======================  ======================

Archives go to ``ROOT/archives/``; the fetch log ``ROOT/fetch_log.json`` records each archive's
URL, size and sha256 (computed while streaming), what vouched for the transfer (``verified_by``),
whether it was extracted, and ``trusted``: true only when a checksum or a complete transfer of the
announced length vouched for it *and* it extracted completely. A second run verifies the archive
against a trusted sha256 and skips the work. An archive that fails to extract (cut short, an HTML
page, not a tar) is recorded ``invalid`` and untrusted: deleting it and running again downloads
it afresh, without editing the log.

Inside the depth archive the tree sits under ``phoenix/S6/zl548/MegaDepth_v1/``; extraction
re-roots every member at its first ``MegaDepth_v1`` component (and the SfM archive's top folder,
``MegaDepth_v1_SfM`` or ``MegaDepth_SfM_v1``, at ``MegaDepth_v1_SfM``), so ROOT gets the layout
the indexer reads. Members outside those folders are skipped and reported. Extraction is built in
``ROOT/.extract-<part>.part/`` and renamed into place only when complete; links are checked
against the folder that is renamed (``link_root``), so a link ``..`` that stays inside the staging
folder but would point at ROOT after the rename is refused.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stbench.errors import ConfigError, DataError, OutputExistsError
from stbench.fetch.download import DownloadConfig, DownloadResult, byte_callback, download
from stbench.fetch.fetchlog import FetchLog, utc_now_iso
from stbench.fetch.members import ExtractReport
from stbench.fetch.tarsafe import extract_tar
from stbench.progress import Progress

__all__ = [
    "MEGADEPTH_BASE_URL",
    "PARTS",
    "SKIPPED_EXAMPLES",
    "MegaDepthPart",
    "fetch_megadepth",
    "known_digest",
    "part_url",
    "reroot",
]


#: The public MegaDepth download location (Cornell). Mirrors: ``--url``.
MEGADEPTH_BASE_URL = "https://www.cs.cornell.edu/projects/megadepth/dataset"

#: How many skipped members are kept in the fetch log (all are counted).
SKIPPED_EXAMPLES = 20


@dataclasses.dataclass(frozen=True)
class MegaDepthPart:
    """One MegaDepth archive.

    Attributes:
        name: the part's name on the command line.
        path: the archive's path relative to the base URL.
        size: the published size in bytes.
        folder: the folder it yields under ROOT.
        aliases: top-level folder names accepted inside the archive (re-rooted at ``folder``).
    """

    name: str
    path: str
    size: int
    folder: str
    aliases: tuple[str, ...]

    @property
    def archive(self) -> str:
        """The archive's file name."""
        return self.path.rsplit("/", 1)[-1]


PARTS: dict[str, MegaDepthPart] = {
    "depth": MegaDepthPart(
        "depth",
        "Megadepth_v1/MegaDepth_v1.tar.gz",
        213_461_598_257,
        "MegaDepth_v1",
        ("MegaDepth_v1",),
    ),
    "sfm": MegaDepthPart(
        "sfm",
        "MegaDepth_SfM/MegaDepth_SfM_v1.tar.xz",
        666_570_101_304,
        "MegaDepth_v1_SfM",
        ("MegaDepth_v1_SfM", "MegaDepth_SfM_v1"),
    ),
}


def part_url(part: MegaDepthPart, url: str | None = None) -> str:
    """The URL of ``part``: ``url`` may hold ``{path}`` / ``{archive}`` or be a base URL."""
    base = url or MEGADEPTH_BASE_URL
    if "{path}" in base or "{archive}" in base:
        return base.format(path=part.path, archive=part.archive)
    return f"{base.rstrip('/')}/{part.path}"


def reroot(name: str, aliases: Sequence[str], folder: str) -> str | None:
    """Map an archive member name to its path under ROOT, or None when outside the part.

    ``phoenix/S6/zl548/MegaDepth_v1/0015/x.jpg`` -> ``MegaDepth_v1/0015/x.jpg``.
    """
    parts = name.split("/")
    for index, component in enumerate(parts):
        if component in aliases:
            return "/".join([folder, *parts[index + 1 :]])
    return None


def fetch_megadepth(
    root: str | Path,
    parts: Sequence[str] = ("depth", "sfm"),
    *,
    url: str | None = None,
    config: DownloadConfig | None = None,
    verify: bool = True,
    keep_archives: bool = True,
    check_size: bool | None = None,
    progress: Progress | None = None,
) -> Path:
    """Download and extract MegaDepth parts into ``root``; idempotent and resumable.

    Args:
        root: the MegaDepth root (gets ``MegaDepth_v1/`` and ``MegaDepth_v1_SfM/``).
        parts: any of ``depth``, ``sfm``.
        url: a mirror: a base URL (the part's path is appended) or a template with ``{path}``
            or ``{archive}``. Default: :data:`MEGADEPTH_BASE_URL`.
        config: network settings.
        verify: re-hash existing archives against the fetch log on later runs.
        keep_archives: keep ``ROOT/archives/*`` after extraction (needed to verify later).
        check_size: require the published sizes (default: only for the public URL).
        progress: a ``unit="bytes"`` :class:`stbench.progress.Progress` group (None: silent).

    Returns:
        ``root``.

    Raises:
        ConfigError: an unknown part.
        DataError / ChecksumError / DownloadError: see :func:`stbench.fetch.download.download`.
        OutputExistsError: a target folder exists but was not extracted by a recorded run.
    """
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise ConfigError(f"unknown MegaDepth part(s) {unknown}; choose from {sorted(PARTS)}")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    log = FetchLog(root)
    check_size = url is None if check_size is None else check_size
    for name in parts:
        _fetch_part(
            root, PARTS[name], log, url, config, verify, keep_archives, check_size, progress
        )
    return root


def _fetch_part(
    root: Path,
    part: MegaDepthPart,
    log: FetchLog,
    url: str | None,
    config: DownloadConfig | None,
    verify: bool,
    keep_archives: bool,
    check_size: bool,
    progress: Progress | None,
) -> None:
    key = f"archives/{part.archive}"
    archive = root / "archives" / part.archive
    entry = log.get(key) or {}
    known_sha256 = known_digest(entry)
    target = root / part.folder
    if entry.get("extracted") and target.is_dir():
        if archive.exists() and verify:
            url_used = entry.get("url", "")
            _download(archive, url_used, part, known_sha256, config, check_size, progress)
        _say(progress, f"{part.folder}: already extracted from {part.archive}; skipping")
        return
    if target.exists():
        raise OutputExistsError(
            f"{target} exists but the fetch log {log.path} does not record extracting it; "
            "move it aside (or delete it) and run again"
        )
    source_url = part_url(part, url)
    if check_size and not archive.exists():
        _check_free_space(archive, part.size)
    result = _download(archive, source_url, part, known_sha256, config, check_size, progress)
    if result.status == "downloaded" or known_sha256 is None:
        entry = log.set(
            key,
            status="downloaded",
            url=source_url,
            size=result.size,
            sha256=result.sha256,
            verified_by=result.verified_by,
            trusted=False,  # until the archive extracts completely
            completed_utc=utc_now_iso(),
        )
    try:
        report = _extract(root, part, archive, progress)
    except DataError as exc:
        log.update(key, status="invalid", trusted=False, reason=str(exc))
        raise DataError(
            f"{exc}\nThe fetch log does not trust this archive: delete {archive} and run the same "
            "command again to download it afresh."
        ) from exc
    log.update(
        key,
        status="extracted",
        trusted=result.trusted or known_sha256 is not None,
        extracted=True,
        extracted_utc=utc_now_iso(),
        extracted_files=report.files,
        extracted_bytes=report.bytes,
        skipped_members=len(report.skipped),
        skipped_examples=[f"{m}: {r}" for m, r in report.skipped[:SKIPPED_EXAMPLES]],
    )
    for member, reason in report.skipped[:SKIPPED_EXAMPLES]:
        _say(progress, f"skipped {member}: {reason}")
    if not keep_archives:
        archive.unlink()
        log.update(key, archive_deleted=True)


def known_digest(entry: dict[str, Any]) -> str | None:
    """The sha256 of a fetch-log entry if it is a *known value*, else None.

    Known: the entry is ``trusted`` (a checksum or a complete transfer of the announced length,
    and the archive extracted completely); entries written before ``trusted`` existed count when
    they were extracted. A digest recorded for a download that was never validated (or failed
    validation) is not known, so a fresh download after deleting the file is not compared to it.
    """
    digest = entry.get("sha256")
    if not isinstance(digest, str):
        return None
    trusted = entry.get("trusted")
    if trusted is None:
        trusted = bool(entry.get("extracted"))
    return digest if trusted else None


def _download(
    archive: Path,
    source_url: str,
    part: MegaDepthPart,
    known_sha256: str | None,
    config: DownloadConfig | None,
    check_size: bool,
    progress: Progress | None,
) -> DownloadResult:
    action = "verify" if archive.exists() else "download"
    on_progress = (
        byte_callback(progress, f"{action} {part.archive}", part.size) if progress else None
    )
    return download(
        source_url,
        archive,
        expected_size=part.size if check_size else None,
        expected_sha256=known_sha256,
        config=config,
        on_progress=on_progress,
    )


def _extract(
    root: Path, part: MegaDepthPart, archive: Path, progress: Progress | None
) -> ExtractReport:
    staging = root / f".extract-{part.name}.part"
    shutil.rmtree(staging, ignore_errors=True)
    on_progress = None
    if progress is not None:
        on_progress = byte_callback(progress, f"extract {part.archive}", archive.stat().st_size)
    try:
        report = extract_tar(
            archive,
            staging,
            rename=lambda name: reroot(name, part.aliases, part.folder),
            on_progress=on_progress,
            link_root=part.folder,
        )
        built = staging / part.folder
        if not built.is_dir():
            raise DataError(
                f"{archive} holds no {' or '.join(part.aliases)} folder; is it the MegaDepth "
                f"{part.name} archive? ({len(report.skipped)} members skipped)"
            )
        built.rename(root / part.folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report


def _check_free_space(archive: Path, size: int) -> None:
    """Fail early when the disk cannot hold the rest of the archive."""
    partial = archive.with_name(archive.name + ".part")
    needed = size - (partial.stat().st_size if partial.exists() else 0)
    archive.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(archive.parent).free
    if free < needed:
        raise DataError(
            f"{archive.parent} has {free / 1e9:,.1f} GB free but {archive.name} needs "
            f"{needed / 1e9:,.1f} GB more (and extraction about as much again); free space or "
            "choose another --root"
        )


def _say(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress.print(message)
