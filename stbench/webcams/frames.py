"""Webcam frames on disk: the camera list, frames inside monthly zips or loose, and what a
reduced decode tells about each frame (brightness, a thumbnail for stale-frame checks).

Layout (AMOS): ``<root>/cameras.csv`` (``id,name,lat,lon``), ``<root>/<id:08d>/<YYYY>.<MM>.zip``
with members ``YYYYMMDD_HHMMSS.jpg``, or loose ``<root>/<id:08d>/*.jpg``. A frame's path is
``<id>/<YYYY>.<MM>.zip/<member>`` (read in place, never extracted) or ``<id>/<file>``.
"""

from __future__ import annotations

import csv
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from stbench.errors import DataError
from stbench.webcams.config import WebcamConfig

__all__ = [
    "Camera",
    "CameraTable",
    "FrameRef",
    "Skipped",
    "frame_pixels",
    "iter_frames",
    "list_cameras",
    "load_cameras",
    "read_cameras",
]


_CAMERA_ID = re.compile(r"^\d{8}$")
_ARCHIVE = re.compile(r"^(\d{4})\.(\d{2})\.zip$")
_IMAGE_SUFFIXES = (".jpg", ".jpeg")


@dataclass(frozen=True)
class Camera:
    """One camera of ``cameras.csv``: 8-digit id, name, position in degrees (None if unknown)."""

    camera_id: str
    name: str
    lat: float | None
    lon: float | None


@dataclass(frozen=True)
class FrameRef:
    """Where one frame is: ``path`` relative to the root, ``member`` its file name, ``order`` its
    position in archive order (zips by name, members as stored)."""

    path: str
    member: str
    archive: str | None
    order: int


@dataclass(frozen=True)
class Skipped:
    """An input that is not a frame: ``item`` (path), ``reason`` code and ``detail``."""

    item: str
    reason: str
    detail: str


def list_cameras(root: str | Path) -> list[str]:
    """The 8-digit camera ids with a folder under ``root``, sorted.

    Raises:
        DataError: ``root`` is not a directory.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"webcam root {root} is not a directory; pass the folder holding <id>/.")
    return sorted(p.name for p in root.iterdir() if p.is_dir() and _CAMERA_ID.match(p.name))


@dataclass
class CameraTable:
    """``cameras.csv`` as read: usable cameras and, per camera id, why its row cannot be used.

    Attributes:
        cameras: camera id -> :class:`Camera` (position None where it is not usable).
        problems: camera id -> [(reason, detail)] (``camera_duplicate_id``,
            ``camera_position_invalid``, ``camera_position_missing``).
        missing: there is no ``cameras.csv`` at all.
    """

    cameras: dict[str, Camera] = field(default_factory=dict)
    problems: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    missing: bool = False

    def problems_of(self, camera_id: str) -> list[tuple[str, str]]:
        """Why ``camera_id``'s position is unknown (empty if it is known)."""
        if self.missing:
            return [("cameras_csv_missing", "no cameras.csv in the webcam root: position unknown")]
        if camera_id not in self.cameras:
            return [("camera_not_listed", f"camera {camera_id} has no row in cameras.csv")]
        return self.problems.get(camera_id, [])


def load_cameras(root: str | Path) -> CameraTable:
    """Read and check ``<root>/cameras.csv`` (``id,name,lat,lon``; id any integer).

    Row problems are per camera: a camera listed twice with different values, a latitude
    outside [-90, 90] or longitude outside [-180, 180], a non-numeric or empty position: its
    position is unknown (None) and the problem is kept for its reject rows.

    Raises:
        DataError: the file is not UTF-8 text, has no ``id``/``lat``/``lon`` header, or a row
            whose id is not an integer (line named).
    """
    path = Path(root) / "cameras.csv"
    if not path.is_file():
        return CameraTable(missing=True)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a UTF-8 text CSV ({exc}); expected id,name,lat,lon") from exc
    if "\0" in text:
        raise DataError(f"{path}: holds NUL bytes (binary, not a CSV); expected id,name,lat,lon")
    reader = csv.DictReader(text.splitlines())
    columns = {name.strip() for name in (reader.fieldnames or []) if name}
    if not {"id", "lat", "lon"} <= columns:
        raise DataError(
            f"{path}: header {reader.fieldnames} lacks {sorted({'id', 'lat', 'lon'} - columns)};"
            " expected id,name,lat,lon"
        )
    rows: dict[str, list[tuple[int, Camera, list[tuple[str, str]]]]] = {}
    for line, row in enumerate(reader, start=2):
        row = {(k or "").strip(): v for k, v in row.items()}
        raw_id = (row.get("id") or "").strip()
        if not raw_id.isdigit() or not raw_id.isascii():
            raise DataError(f"{path} line {line}: camera id {raw_id!r} is not an integer")
        camera_id = f"{int(raw_id):08d}"
        lat, lon, problems = _position(row.get("lat"), row.get("lon"), f"cameras.csv line {line}")
        camera = Camera(camera_id, (row.get("name") or "").strip(), lat, lon)
        rows.setdefault(camera_id, []).append((line, camera, problems))
    table = CameraTable()
    for camera_id, entries in rows.items():
        line, camera, problems = entries[0]
        if len({(c.name, c.lat, c.lon) for _, c, _ in entries}) > 1:
            listed = "; ".join(f"line {n}: {c.name!r} {c.lat},{c.lon}" for n, c, _ in entries)
            problems = [("camera_duplicate_id", f"{len(entries)} different rows ({listed})")]
            camera = Camera(camera_id, camera.name, None, None)
        table.cameras[camera_id] = camera
        if problems:
            table.problems[camera_id] = problems
    return table


def _position(
    lat_text: str | None, lon_text: str | None, where: str
) -> tuple[float | None, float | None, list[tuple[str, str]]]:
    """(lat, lon, problems) of one row; both None when either is unusable."""
    if not (lat_text or "").strip() or not (lon_text or "").strip():
        return None, None, [("camera_position_missing", f"{where}: no lat/lon")]
    lat, lon = _float(lat_text), _float(lon_text)
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        detail = (
            f"{where}: lat {lat_text.strip()!r}, lon {lon_text.strip()!r} (need -90..90, -180..180)"
        )
        return None, None, [("camera_position_invalid", detail)]
    return lat, lon, []


def read_cameras(root: str | Path) -> dict[str, Camera]:
    """Cameras of ``<root>/cameras.csv`` by id ({} when the file is absent); see
    :func:`load_cameras` for the checks (cameras with a problem have no position)."""
    return load_cameras(root).cameras


def _float(text: str | None) -> float | None:
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) else None


def iter_frames(
    root: str | Path, camera_id: str, config: WebcamConfig, skipped: list[Skipped]
) -> Iterator[tuple[FrameRef, bytes]]:
    """Yield (frame, encoded bytes) of one camera in archive order; bad inputs go to ``skipped``.

    Members that are unsafe (``../``, absolute), not JPEG, too large or zip bombs are skipped
    with a reason; so are unreadable archives and members. Nothing is extracted to disk.
    """
    folder = Path(root) / camera_id
    order = 0
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        skipped.append(Skipped(camera_id, "unreadable_folder", str(exc)))
        return
    for path in entries:
        relative = f"{camera_id}/{path.name}"
        if path.is_file() and path.suffix.lower() == ".zip":
            for ref, data in _iter_zip(path, relative, config, skipped, order):
                order = ref.order + 1
                yield ref, data
        elif path.is_file() and path.suffix.lower() in _IMAGE_SUFFIXES:
            if path.stat().st_size > config.max_frame_bytes:
                skipped.append(Skipped(relative, "too_large", f"{path.stat().st_size} bytes"))
                continue
            try:
                data = path.read_bytes()
            except OSError as exc:
                skipped.append(Skipped(relative, "unreadable_file", str(exc)))
                continue
            yield FrameRef(relative, path.name, None, order), data
            order += 1
        elif path.is_file() and not _is_bookkeeping(path.name):
            skipped.append(Skipped(relative, "not_a_frame", "neither a .zip archive nor a JPEG"))


def _is_bookkeeping(name: str) -> bool:
    """Files that live beside frames but are not frames: hidden/temporary files
    (``.name.part`` of an interrupted capture, ``.DS_Store``) and ``stbench capture``'s log."""
    from stbench.fetch.capture import CAPTURE_LOG

    return name.startswith(".") or name == CAPTURE_LOG


def _iter_zip(
    path: Path, relative: str, config: WebcamConfig, skipped: list[Skipped], order: int
) -> Iterator[tuple[FrameRef, bytes]]:
    if _ARCHIVE.match(path.name) is None:
        skipped.append(Skipped(relative, "archive_name", "expected <YYYY>.<MM>.zip"))
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        skipped.append(Skipped(relative, "bad_archive", f"not a readable zip: {exc}"))
        return
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            item = f"{relative}/{info.filename}"
            problem = _member_problem(info, config)
            if problem is not None:
                skipped.append(Skipped(item, *problem))
                continue
            try:
                data = archive.read(info)
            except (
                OSError,
                zipfile.BadZipFile,
                zlib.error,
                NotImplementedError,
                RuntimeError,
            ) as exc:
                skipped.append(Skipped(item, "unreadable_member", str(exc)))
                continue
            yield FrameRef(item, info.filename, relative, order), data
            order += 1


def _member_problem(info: zipfile.ZipInfo, config: WebcamConfig) -> tuple[str, str] | None:
    name = info.filename
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
        return "unsafe_member", f"member name {name!r} escapes the archive"
    if not name.lower().endswith(_IMAGE_SUFFIXES):
        return "not_jpeg_member", f"member {name!r} is not a .jpg"
    if info.file_size > config.max_frame_bytes:
        return "too_large", f"{info.file_size} bytes > max_frame_bytes {config.max_frame_bytes}"
    if info.compress_size and info.file_size / info.compress_size > config.max_compression_ratio:
        ratio = info.file_size / info.compress_size
        return "zip_bomb", f"expands {ratio:.0f}x (> max_compression_ratio)"
    return None


def frame_pixels(data: bytes, thumb_size: int) -> tuple[float, np.ndarray, tuple[int, int]] | None:
    """Brightness and thumbnail of a frame from a 1/8 reduced grey decode (no full decode).

    Returns:
        (mean grey level 0..255, thumbnail (thumb_size, thumb_size) float32, (h, w) of the
        reduced decode), or None when the bytes do not decode.
    """
    import cv2

    if not data:
        return None
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_8)
    if image is None or image.size == 0:
        return None
    thumb = cv2.resize(image, (thumb_size, thumb_size), interpolation=cv2.INTER_AREA)
    return float(image.mean()), thumb.astype(np.float32), image.shape[:2]
