"""``stbench fetch webcams``: AMOS-style monthly zips of webcam frames, and camera metadata.

Layout written under ROOT (the layout ``stbench index webcams`` reads)::

    ROOT/cameras.csv                   # id,name,lat,lon  (id as 8 digits)
    ROOT/<id:08d>/<YYYY>.<MM>.zip      # only archives that passed validation
    ROOT/fetch_log.json                # per month: ok / missing / invalid / failed, sha256 ...
    ROOT/.partial/<id:08d>/...         # downloads in progress (resumed by the next run)

URLs come from a template with the placeholders ``{YYYY}``, ``{MM}``, ``{id}`` and ``{id%N:W}``
(the camera id modulo N, zero-padded to W digits; ``{id:08}`` pads without a modulo). The public
AMOS archive keeps months up to 2013-08 under ``2012zipfiles/`` and later months under
``zipfiles/``: :data:`AMOS_EARLY_URL_TEMPLATE` applies to months up to :data:`AMOS_EARLY_UNTIL`
(inclusive) and :data:`AMOS_URL_TEMPLATE` after. A custom ``url_template`` without an
``early_url_template`` applies to every month.

A month answering 404 is recorded as ``missing`` and the run goes on; a zip that fails validation
(:mod:`stbench.fetch.zipsafe`: zip slip, bombs, not a zip, cut short) is deleted and recorded as
``invalid`` with its reasons (``trusted: false``); an HTML page instead of a zip is refused by the
download and recorded ``failed``; an ``ok`` month records ``verified_by`` and ``trusted`` (a
complete transfer of the announced length, or a checksum); non-JPEG members are reported but keep the zip. ``missing`` and ``invalid``
months are not asked again unless ``retry_failed``; ``failed`` ones (network) always are.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import shutil
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from stbench.atomic import write_text_atomic
from stbench.errors import ConfigError, DataError
from stbench.fetch.download import (
    ChecksumError,
    DownloadConfig,
    DownloadError,
    DownloadResult,
    NotFoundError,
    byte_callback,
    download,
)
from stbench.fetch.fetchlog import FetchLog, utc_now_iso
from stbench.fetch.zipsafe import ZipCheck, ZipLimits, check_zip
from stbench.progress import Progress

__all__ = [
    "AMOS_EARLY_UNTIL",
    "AMOS_EARLY_URL_TEMPLATE",
    "AMOS_URL_TEMPLATE",
    "CAMERAS_CSV",
    "SKIPPED_EXAMPLES",
    "CameraInfo",
    "fetch_webcams",
    "month_url",
    "parse_camera_ids",
    "parse_months",
    "read_cameras_csv",
    "render_template",
    "write_cameras_csv",
]


AMOS_URL_TEMPLATE = (
    "http://amosweb.cse.wustl.edu/zipfiles/{YYYY}/{id%100:02}/{id%10000:04}/{id:08}/{YYYY}.{MM}.zip"
)
AMOS_EARLY_URL_TEMPLATE = (
    "http://amosweb.cse.wustl.edu/2012zipfiles/"
    "{YYYY}/{id%100:02}/{id%10000:04}/{id:08}/{YYYY}.{MM}.zip"
)
#: The last month (inclusive) served under the early prefix.
AMOS_EARLY_UNTIL = "2013-08"

CAMERAS_CSV = "cameras.csv"
SKIPPED_EXAMPLES = 20

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_FIELD = re.compile(r"^(YYYY|MM|id)(?:%(\d+))?(?::0?(\d+))?$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")

#: ``on_month(key, status, detail)`` after each camera-month.
MonthCallback = Callable[[str, str, str], None]


@dataclasses.dataclass(frozen=True)
class CameraInfo:
    """One camera's metadata (one row of ``cameras.csv``)."""

    id: int
    name: str = ""
    lat: float | None = None
    lon: float | None = None


def render_template(template: str, camera_id: int, year: int, month: int) -> str:
    """Fill a URL template (see the module docstring).

    Raises:
        ConfigError: an unknown placeholder.
    """

    def fill(match: re.Match[str]) -> str:
        field = _FIELD.match(match.group(1))
        if field is None:
            raise ConfigError(
                f"unknown placeholder {match.group(0)} in URL template {template!r}; use {{YYYY}}, "
                "{MM}, {id}, {id:08} or {id%100:02}"
            )
        name, modulo, width = field.groups()
        value = {"YYYY": year, "MM": month, "id": camera_id}[name]
        if modulo:
            value %= int(modulo)
        digits = int(width) if width else {"YYYY": 4, "MM": 2, "id": 0}[name]
        return f"{value:0{digits}d}" if digits else str(value)

    return _PLACEHOLDER.sub(fill, template)


def month_url(
    camera_id: int,
    year: int,
    month: int,
    url_template: str | None = None,
    early_url_template: str | None = None,
    early_until: str = AMOS_EARLY_UNTIL,
) -> str:
    """The URL of one camera-month (see the module docstring for the template rule)."""
    if url_template is None:
        template = AMOS_URL_TEMPLATE
        early_url_template = early_url_template or AMOS_EARLY_URL_TEMPLATE
    else:
        template = url_template
    if early_url_template is not None and (year, month) <= _parse_month(early_until):
        template = early_url_template
    return render_template(template, camera_id, year, month)


def _parse_month(text: str) -> tuple[int, int]:
    match = _MONTH.match(text.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise ConfigError(f"bad month {text!r}: use YYYY-MM, e.g. 2019-01")
    return int(match.group(1)), int(match.group(2))


def parse_months(text: str) -> list[tuple[int, int]]:
    """Months from ``2019-01:2019-12``, ``2019-03``, ``2019`` or a comma-separated mix; sorted."""
    months: set[tuple[int, int]] = set()
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if re.fullmatch(r"\d{4}", item):
            months.update((int(item), m) for m in range(1, 13))
            continue
        first, _, last = item.partition(":")
        start, end = _parse_month(first), _parse_month(last or first)
        if end < start:
            raise ConfigError(f"month range {item!r} ends before it starts")
        year, month = start
        while (year, month) <= end:
            months.add((year, month))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    if not months:
        raise ConfigError(f"no months in {text!r}: use e.g. 2019-01:2019-12")
    return sorted(months)


def parse_camera_ids(text: str | Iterable[str | int]) -> list[int]:
    """Camera ids from ``"17603,90"`` or an iterable; each a non-negative integer."""
    items = text.split(",") if isinstance(text, str) else list(text)
    ids = []
    for item in items:
        value = str(item).strip()
        if not value:
            continue
        if not value.isdigit() or len(value) > 8:
            raise ConfigError(f"bad camera id {value!r}: an integer of at most 8 digits")
        ids.append(int(value))
    if not ids:
        raise ConfigError("no camera ids given")
    return sorted(set(ids))


def read_cameras_csv(source: str | Path, text: str | None = None) -> dict[int, CameraInfo]:
    """Camera metadata from a CSV with a header (``id``/``camera_id``, ``name``/``title``,
    ``lat``/``latitude``, ``lon``/``lng``/``longitude``); other columns are ignored.

    Raises:
        DataError: no id column, or a row with a bad id or coordinate.
    """
    text = Path(source).read_text() if text is None else text
    reader = csv.DictReader(io.StringIO(text))
    columns = {name.strip().lower(): name for name in reader.fieldnames or []}

    def column(*names: str) -> str | None:
        return next((columns[n] for n in names if n in columns), None)

    id_col = column("id", "camera_id", "cameraid", "camera")
    if id_col is None:
        raise DataError(f"{source}: no id column (expected id or camera_id) in {reader.fieldnames}")
    name_col = column("name", "title", "description")
    lat_col, lon_col = column("lat", "latitude"), column("lon", "lng", "longitude")
    cameras: dict[int, CameraInfo] = {}
    for line, row in enumerate(reader, start=2):
        try:
            camera_id = int(str(row[id_col]).strip())
            lat = _coordinate(row.get(lat_col) if lat_col else None, 90.0)
            lon = _coordinate(row.get(lon_col) if lon_col else None, 180.0)
        except ValueError as exc:
            raise DataError(f"{source}, line {line}: {exc}") from None
        name = (row.get(name_col) or "").strip() if name_col else ""
        cameras[camera_id] = CameraInfo(camera_id, name, lat, lon)
    return cameras


def _coordinate(value: str | None, bound: float) -> float | None:
    if value is None or not str(value).strip():
        return None
    number = float(value)
    if not -bound <= number <= bound:
        raise ValueError(f"coordinate {number} outside [-{bound:g}, {bound:g}]")
    return number


def write_cameras_csv(root: Path, cameras: Iterable[CameraInfo]) -> Path:
    """Merge ``cameras`` into ``root/cameras.csv`` (id as 8 digits, sorted), atomically."""
    path = Path(root) / CAMERAS_CSV
    merged = read_cameras_csv(path) if path.exists() else {}
    for camera in cameras:
        old = merged.get(camera.id)
        if old is not None and camera.lat is None and camera.lon is None:
            continue  # never erase known coordinates with unknown ones
        merged[camera.id] = camera
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "name", "lat", "lon"])
    for camera in sorted(merged.values(), key=lambda c: c.id):
        writer.writerow(
            [
                f"{camera.id:08d}",
                camera.name,
                "" if camera.lat is None else repr(camera.lat),
                "" if camera.lon is None else repr(camera.lon),
            ]
        )
    return write_text_atomic(path, buffer.getvalue())


def fetch_webcams(
    root: str | Path,
    cameras: Sequence[int],
    months: Sequence[tuple[int, int]],
    *,
    url_template: str | None = None,
    early_url_template: str | None = None,
    early_until: str = AMOS_EARLY_UNTIL,
    cameras_url: str | None = None,
    cameras_csv: str | Path | None = None,
    config: DownloadConfig | None = None,
    limits: ZipLimits | None = None,
    retry_failed: bool = False,
    verify: bool = True,
    progress: Progress | None = None,
    on_month: MonthCallback | None = None,
) -> Path:
    """Download and validate monthly zips for ``cameras`` x ``months`` into ``root``.

    Args:
        root: the webcam root.
        cameras: camera ids.
        months: ``(year, month)`` pairs.
        url_template / early_url_template / early_until: see the module docstring.
        cameras_url: a CSV of camera metadata to download (see :func:`read_cameras_csv`).
        cameras_csv: a local CSV of camera metadata (wins over ``cameras_url``).
        config: network settings.
        limits: zip-bomb limits.
        retry_failed: ask again for months recorded as missing or invalid.
        verify: re-hash existing zips against the fetch log.
        progress: a ``unit="bytes"`` :class:`stbench.progress.Progress` group (None: silent).
        on_month: called with ``(key, status, detail)`` after each camera-month.

    Returns:
        ``root``.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    log = FetchLog(root)
    _update_cameras(root, cameras, cameras_url, cameras_csv, config)
    for camera_id in cameras:
        for year, month in months:
            url = month_url(camera_id, year, month, url_template, early_url_template, early_until)
            status, detail = _fetch_month(
                root,
                log,
                camera_id,
                year,
                month,
                url,
                config,
                limits,
                retry_failed,
                verify,
                progress,
            )
            if on_month is not None:
                on_month(f"{camera_id:08d}/{year:04d}.{month:02d}.zip", status, detail)
    if _partial_empty(root):
        shutil.rmtree(root / ".partial", ignore_errors=True)
    return root


def _partial_empty(root: Path) -> bool:
    partial = root / ".partial"
    return partial.is_dir() and not any(p.is_file() for p in partial.rglob("*"))


def _update_cameras(
    root: Path,
    cameras: Sequence[int],
    cameras_url: str | None,
    cameras_csv: str | Path | None,
    config: DownloadConfig | None,
) -> None:
    known: dict[int, CameraInfo] = {}
    if cameras_csv is not None:
        known = read_cameras_csv(cameras_csv)
    elif cameras_url is not None:
        staged = root / ".partial" / "cameras_source.csv"
        staged.unlink(missing_ok=True)
        download(cameras_url, staged, config=config)
        known = read_cameras_csv(cameras_url, staged.read_text(errors="replace"))
        staged.unlink()
    write_cameras_csv(root, [known.get(c, CameraInfo(c)) for c in cameras])


def _fetch_month(
    root: Path,
    log: FetchLog,
    camera_id: int,
    year: int,
    month: int,
    url: str,
    config: DownloadConfig | None,
    limits: ZipLimits | None,
    retry_failed: bool,
    verify: bool,
    progress: Progress | None,
) -> tuple[str, str]:
    key = f"{camera_id:08d}/{year:04d}.{month:02d}.zip"
    final = root / key
    entry = log.get(key) or {}
    if final.exists() and entry.get("status") == "ok":
        if not verify:
            return "ok", "already downloaded"
        try:
            download(url, final, expected_sha256=entry["sha256"], config=config)
        except ChecksumError as exc:
            return "corrupt", str(exc)
        return "ok", "verified"
    if final.exists():
        return _adopt_existing(log, key, final, url, limits)
    if entry.get("status") in ("missing", "invalid") and not retry_failed:
        return entry["status"], f"recorded {entry.get('updated_utc')}: {entry.get('reason', '')}"
    staged = root / ".partial" / key
    staged.unlink(missing_ok=True)  # a complete but unvalidated file from a crashed run
    on_progress = byte_callback(progress, key) if progress is not None else None
    try:
        result = download(url, staged, config=config, on_progress=on_progress)
    except NotFoundError:
        log.set(key, status="missing", url=url, reason="HTTP 404")
        return "missing", "HTTP 404"
    except DownloadError as exc:
        log.set(key, status="failed", url=url, reason=str(exc))
        return "failed", str(exc)
    check = check_zip(staged, limits)
    skipped = [f"{member}: {reason}" for member, reason in check.report.skipped]
    if not check.valid:
        staged.unlink()
        reason = "; ".join(f"{m or '(archive)'}: {r}" for m, r in check.errors)
        log.set(key, status="invalid", url=url, sha256=result.sha256, trusted=False, reason=reason)
        return "invalid", reason
    final.parent.mkdir(parents=True, exist_ok=True)
    staged.replace(final)
    _record_ok(log, key, url, result, check)
    detail = f"{len(check.jpeg_members)} frames"
    return "ok", detail + (f", {len(skipped)} members skipped" if skipped else "")


def _record_ok(
    log: FetchLog, key: str, url: str, result: DownloadResult, check: ZipCheck, **extra: str
) -> None:
    """Record a validated zip in place: the download's hash and trust, the zip's members."""
    skipped = [f"{member}: {reason}" for member, reason in check.report.skipped]
    log.set(
        key,
        status="ok",
        url=url,
        size=result.size,
        sha256=result.sha256,
        verified_by=result.verified_by,
        trusted=result.trusted,
        completed_utc=utc_now_iso(),
        **extra,
        jpeg_members=len(check.jpeg_members),
        skipped_members=len(skipped),
        skipped_examples=skipped[:SKIPPED_EXAMPLES],
    )


def _adopt_existing(
    log: FetchLog, key: str, final: Path, url: str, limits: ZipLimits | None
) -> tuple[str, str]:
    """A zip already in place without an ``ok`` record: validate and record it, never replace it."""
    check = check_zip(final, limits)
    if not check.valid:
        reason = "; ".join(f"{m or '(archive)'}: {r}" for m, r in check.errors)
        return (
            "invalid",
            f"existing {final} fails validation ({reason}); delete it to download again",
        )
    result = download(url, final)  # hashes the existing file, no request
    # trusted is False: no transfer or checksum vouches for a found file
    _record_ok(log, key, url, result, check, source="existing file")
    return "ok", f"existing file recorded, {len(check.jpeg_members)} frames"
