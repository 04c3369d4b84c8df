"""Index webcam streams: one pure task per camera, and the stage that writes them all.

Per frame: the recorded time (the AMOS name in UTC, else the timestamp resolver), stream checks
(:mod:`stbench.webcams.quality`), the camera's clock fitted against the sun
(:mod:`stbench.webcams.solarfit`), then timestamp_utc (corrected where the fit is conclusive),
timestamp_source, timestamp_trust, trust_flags, clock_offset_s and utc_offset_min.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from stbench.atomic import atomic_directory
from stbench.config import check_config_matches, save_config
from stbench.errors import StbenchError
from stbench.imageio import MAX_IMAGE_PIXELS, read_image_bytes, unsafe_name_problem
from stbench.records import Records, write_records
from stbench.schema import make_image_id
from stbench.timestamps import resolve_timestamp
from stbench.timestamps.header import ImageHeader, parse_header
from stbench.timestamps.names import time_from_name
from stbench.timestamps.zones import utc_offset_minutes, valid_position, zone_at
from stbench.webcams.clock_bounds import era_spread_min, offset_bounds, window_from_bounds
from stbench.webcams.config import WebcamConfig
from stbench.webcams.frames import CameraTable, Skipped, frame_pixels, iter_frames, load_cameras
from stbench.webcams.quality import stream_flags
from stbench.webcams.solarfit import ClockFit, EraFit, fit_clock

__all__ = ["index_camera", "index_webcams", "time_window_s"]

#: Trust of a webcam frame by what the sun says about its era.
TRUST_VERIFIED = 0.9
TRUST_CORRECTED = 0.8
TRUST_UNVERIFIED = 0.4
_STALE = {"frozen": 0.0, "duplicate_content": 0.0, "duplicate": 0.2}
_SUSPECT_CAP = 0.3  # non_monotonic, duplicate_time, era_boundary


def index_camera(
    root: str | Path, camera_id: str, config: WebcamConfig, cameras: CameraTable | None = None
) -> Records:
    """Index one camera's frames (pure: reads the archives, writes nothing).

    Args:
        root: the webcam root (``cameras.csv``, ``<id>/<YYYY>.<MM>.zip``).
        camera_id: 8-digit camera id.
        config: indexing parameters.
        cameras: ``cameras.csv`` as :func:`load_cameras` read it (read here when None).
    Returns:
        Records with one image row per readable frame and one reject row per skipped input
        (also one for a camera whose ``cameras.csv`` row is missing, duplicated or invalid).
    Raises:
        DataError: ``cameras.csv`` is binary or malformed (see :func:`load_cameras`).
    """
    table = cameras if cameras is not None else load_cameras(root)
    camera = table.cameras.get(camera_id)
    lat = camera.lat if camera else None
    lon = camera.lon if camera else None
    records = Records()
    skipped: list[Skipped] = [
        Skipped("cameras.csv", reason, f"{detail}; frames get no sun check (flag no_position)")
        for reason, detail in table.problems_of(camera_id)
    ]
    frames: list[dict] = []
    seen_ids: set[str] = set()
    for ref, data in iter_frames(root, camera_id, config, skipped):
        image_id = make_image_id("webcam", camera_id, ref.member)
        unsafe = unsafe_name_problem(ref.member)
        problem = ("unsafe_name", unsafe) if unsafe else None
        # the one parse of this frame's header (the checks, the size and the timestamp use it)
        bound = config.max_header_bytes
        header = parse_header(data[:bound], data[-2:], len(data) <= bound) if data else None
        problem = problem or _frame_problem(data, header, image_id in seen_ids)
        pixels = None if problem else frame_pixels(data, config.thumb_size)
        if problem is None and pixels is None:
            problem = ("undecodable", "the JPEG does not decode")
        if problem is None:
            problem = _size_problem(header, pixels[2])
        if problem is not None:
            skipped.append(Skipped(ref.path, *problem))
            continue
        seen_ids.add(image_id)
        frames.append(_frame_row(ref, image_id, data, header, pixels, lat, lon, config))
    for skip in skipped:
        records.add_reject("webcam", camera_id, skip.item, "index", skip.reason, skip.detail)
    if frames:
        records.images = _images(root, frames, camera_id, lat, lon, config)
    return records


def _frame_problem(
    data: bytes, header: ImageHeader | None, repeated: bool
) -> tuple[str, str] | None:
    if repeated:
        return "duplicate_image_id", "another frame of this camera has the same file name"
    if not data or header is None:
        return "empty", "zero-byte frame"
    if header.kind != "jpeg":
        return "not_jpeg", f"content is {header.kind}, not a JPEG"
    if "truncated" in header.flags or "truncated_header" in header.flags:
        return "truncated", "the JPEG has no end-of-image marker (cut short)"
    if header.width and header.height and header.width * header.height > MAX_IMAGE_PIXELS:
        detail = (
            f"the header declares {header.width}x{header.height} pixels "
            f"(limit {MAX_IMAGE_PIXELS}): forged or corrupt header, not decoded"
        )
        return "implausible_size", detail
    return None


def _size_problem(header: ImageHeader, reduced_shape: tuple[int, int]) -> tuple[str, str] | None:
    """A header size that the 1/8 reduced decode does not reproduce."""
    if not header.width or not header.height:
        return None  # SOF beyond max_header_bytes: the size stays unknown (null)
    expected = (-(-int(header.height) // 8), -(-int(header.width) // 8))
    if tuple(reduced_shape) != expected:
        detail = (
            f"header says {header.width}x{header.height}, the 1/8 decode is "
            f"{reduced_shape[1]}x{reduced_shape[0]} (expected {expected[1]}x{expected[0]})"
        )
        return "size_mismatch", detail
    return None


def _frame_row(ref, image_id, data, header, pixels, lat, lon, config: WebcamConfig) -> dict:
    brightness, thumb, _ = pixels
    result = resolve_timestamp(
        data,
        name=ref.member,
        lat=lat,
        lon=lon,
        max_header_bytes=config.max_header_bytes,
        header=header,
    )
    named = time_from_name(ref.member)
    if named is not None and named.pattern == "amos" and "filename_utc" in result.candidates:
        recorded, source = result.candidates["filename_utc"], "filename_utc"
    else:
        recorded, source = result.timestamp_utc, result.timestamp_source
    flags = [f for f in result.trust_flags if f != "no_exif"]
    if recorded is not None and source != result.timestamp_source:
        flags = [f for f in flags if not f.startswith("disagrees_")]
        if result.timestamp_source != "none":
            flags.append(f"disagrees_{result.timestamp_source}")
    return dict(
        image_id=image_id,
        path=ref.path,
        order=ref.order,
        width=header.width,
        height=header.height,
        recorded=recorded,
        source=source,
        base_trust=result.timestamp_trust if source == result.timestamp_source else 0.6,
        flags=flags,
        brightness=brightness,
        thumb=thumb,
        digest=hashlib.blake2b(data, digest_size=16).digest(),
    )


def _images(root, frames, camera_id, lat, lon, config: WebcamConfig) -> pd.DataFrame:
    times_s = np.array(
        [np.nan if f["recorded"] is None else f["recorded"].value / 1e9 for f in frames]
    )
    order = np.lexsort((np.arange(len(frames)), np.nan_to_num(times_s, nan=np.inf)))
    frames = [frames[i] for i in order]
    times_s = times_s[order]
    stream = stream_flags(
        times_s,
        np.array([f["order"] for f in frames]),
        [f["digest"] for f in frames],
        lambda i: read_image_bytes(root, frames[i]["path"]),
        [f["thumb"] for f in frames],
        config,
    )
    for frame, extra in zip(frames, stream, strict=True):
        frame["flags"] += extra
    offsets, status, windows = _clock(frames, times_s, lat, lon, config)
    zone = zone_at(lat, lon)
    rows = []
    for i, frame in enumerate(frames):
        row = _image_row(frame, camera_id, lat, lon, offsets[i], status[i], zone, config)
        if row["timestamp_utc"] is not None and np.isfinite(windows[i]).all():
            row["time_early_s"], row["time_late_s"] = (float(np.ceil(w)) for w in windows[i])
        rows.append(row)
    images = pd.DataFrame(rows).sort_values("image_id", kind="stable").reset_index(drop=True)
    images["timestamp_utc"] = pd.to_datetime(images["timestamp_utc"], utc=True)
    return images


def _clock(frames, times_s, lat, lon, config: WebcamConfig):
    """Per-frame applied offset (minutes), status (``verified``/``corrected``/flag name) and time
    window (early, late) in seconds (NaN where the sun did not check the clock)."""
    n = len(frames)
    offsets = np.zeros(n)
    windows = np.full((n, 2), np.nan)
    status: list[list[str]] = [[] for _ in range(n)]
    timed = np.isfinite(times_s)
    if not valid_position(lat, lon):
        for i in np.flatnonzero(timed):
            status[i] = ["no_position"]
        return offsets, status, windows
    clean = timed & np.array([not (set(f["flags"]) & set(_STALE)) for f in frames])
    fit_index = np.flatnonzero(clean)
    fit: ClockFit | None = None
    if len(fit_index):
        brightness = np.array([frames[i]["brightness"] for i in fit_index])
        fit = fit_clock(times_s[fit_index], brightness, lat, lon, config)
    if fit is None:
        for i in np.flatnonzero(timed):
            status[i] = ["solar_unverified"]
        return offsets, status, windows
    starts = np.array([fit_index[e.first] for e in fit.eras])
    boundary = set(fit_index[fit.boundary].tolist())
    zone = zone_at(lat, lon)
    timed_index = np.flatnonzero(timed)
    era_of = np.maximum(0, np.searchsorted(starts, timed_index, side="right") - 1)
    # what the era model cannot know: boundary zones, drift inside an era (clock_bounds)
    bounds = offset_bounds(fit, times_s[timed_index], era_of, config)
    fit.stats = None  # its arrays are not needed any more
    for i, k, bound in zip(timed_index, era_of, bounds, strict=True):
        era = fit.eras[k]
        offset = float(era.offset_at(times_s[i]))
        if not era.strong:
            status[i] = ["solar_unverified"]
            continue
        threshold = max(config.min_correction_min, 3 * era.sigma_min)
        if abs(offset) >= threshold:
            offsets[i], status[i] = offset, ["clock_corrected"]
            if zone is not None and _names_local_time(times_s[i], offset, zone, threshold):
                status[i].append("era_local_time")
        else:
            status[i] = ["solar_verified"]
        # a name the archive gave at download (AMOS) is later than the capture; a camera's own
        # clock (EXIF) is not
        delay = config.max_download_delay_s if frames[i]["source"] == "filename_utc" else 0.0
        windows[i] = window_from_bounds(bound, offsets[i], delay)
        if i in boundary:
            status[i].append("era_boundary")
    return offsets, status, windows


def time_window_s(
    residual_min: float, era: EraFit, config: WebcamConfig, delay_s: float
) -> tuple[float, float]:
    """(early, late): seconds the capture may be earlier / later than a frame's timestamp.

    true = named + c - d, with d in [0, D] the download delay (D = ``delay_s``:
    ``max_download_delay_s`` for a name given at download, 0 for a camera clock) and c the clock
    error. The sun measures c minus the mean delay (``residual_min`` of it is
    not applied), to within ``window_sigmas`` standard deviations, plus, in a drifting era, the
    drift over half a fitting window; the mean delay itself lies in [0, D]. So
    true - timestamp lies in [residual - D - spread, residual + D + spread]. The indexer widens
    this where the era model cannot know (:func:`stbench.webcams.clock_bounds.offset_bounds`).
    """
    spread = era_spread_min(era, config)
    return window_from_bounds((residual_min - spread, residual_min + spread), 0.0, delay_s)


def _names_local_time(time_s: float, offset_min: float, zone, tolerance_min: float) -> bool:
    """Whether a correction undoes naming in the zone's civil or standard time (e.g. an AMOS era
    in Central Time): recorded = true + zone offset."""
    import datetime as dt

    local = dt.datetime.fromtimestamp(time_s, dt.timezone.utc).astimezone(zone)
    civil = local.utcoffset().total_seconds() / 60
    standard = civil - (local.dst() or dt.timedelta(0)).total_seconds() / 60
    return min(abs(offset_min + civil), abs(offset_min + standard)) <= max(5.0, tolerance_min)


def _image_row(frame, camera_id, lat, lon, offset_min, status, zone, config) -> dict:
    flags = list(frame["flags"])
    recorded = frame["recorded"]
    row = dict(
        image_id=frame["image_id"],
        source="webcam",
        dataset=config.dataset,
        scene=camera_id,
        path=frame["path"],
        width=frame["width"],
        height=frame["height"],
        lat=lat,
        lon=lon,
        timestamp_utc=None,
        utc_offset_min=None,
        timestamp_source=frame["source"],
        timestamp_trust=0.0,
        trust_flags=sorted(set(flags)),
        clock_offset_s=None,
    )
    if recorded is None:
        return row
    # Whole seconds: the sun fit is uncertain by minutes, and sub-second digits would carry the
    # float noise of the fit (it differs between numpy/BLAS builds by ~0.1 ms) into the
    # manifest's content hash.
    offset_us = round(offset_min * 60) * 1_000_000
    corrected = (recorded + pd.Timedelta(microseconds=offset_us)).floor("us")
    if "solar_verified" in status or "clock_corrected" in status:
        trust = TRUST_CORRECTED if "clock_corrected" in status else TRUST_VERIFIED
        row["timestamp_source"] = frame["source"] + "+solar"
    else:
        trust = min(TRUST_UNVERIFIED, frame["base_trust"])
    flags += [s for s in status if s != "solar_verified"]
    for flag, cap in _STALE.items():
        if flag in flags:
            trust = min(trust, cap)
    if {"non_monotonic", "duplicate_time", "era_boundary"} & set(flags):
        trust = min(trust, _SUSPECT_CAP)
    row.update(
        timestamp_utc=corrected,
        utc_offset_min=None
        if zone is None
        else utc_offset_minutes(corrected.to_pydatetime(), zone),
        timestamp_trust=round(trust, 3),
        trust_flags=sorted(set(flags)),
        clock_offset_s=offset_us / 1e6,
    )
    return row


def index_webcams(
    config: WebcamConfig,
    root: str | Path,
    out: str | Path,
    *,
    overwrite: bool = False,
    progress: bool = False,
    workers: int = 1,
    cameras: list[str] | None = None,
    keep_going: bool = False,
    on_failure: Callable[[str, str], None] | None = None,
) -> Path:
    """Index every camera under ``root`` into ``<out>/<camera_id>/{images,pairs,rejects}.parquet``.

    Resumable: a camera whose three files exist under the same config is skipped; the resolved
    config is saved as ``<out>/config.json``. Each camera's directory is written atomically
    (built under a temporary name, then renamed). ``cameras.csv`` is read once, before any
    camera. A camera whose task raises is not written and the others go on.

    Args:
        config: indexing parameters.
        root: the webcam root.
        out: output directory.
        overwrite: rebuild cameras already indexed (also under another config).
        progress: report progress (one task, a step per camera) to
            :func:`stbench.progress.reporter`.
        workers: processes (1 = in this process).
        cameras: camera ids to index (default: all, see :func:`list_cameras`).
        keep_going: return normally even if some cameras failed (each reported to
            ``on_failure(camera_id, error)``).
    Returns:
        ``out``.
    Raises:
        OutputExistsError: ``out`` was built with another config and ``overwrite`` is False.
        DataError: ``cameras.csv`` is binary or malformed (nothing is written).
        StbenchError: some cameras failed (naming each and its error) and not ``keep_going``.
    """
    from stbench.progress import Progress, reporter
    from stbench.webcams.frames import list_cameras

    out = Path(out)
    same = check_config_matches(config, out, overwrite)
    ids = list(cameras) if cameras is not None else list_cameras(root)
    todo = [c for c in ids if overwrite or not same or not _done(out / c)]
    table = load_cameras(root) if todo else None  # one clear error for a malformed file
    out.mkdir(parents=True, exist_ok=True)
    save_config(config, out)
    failures: list[str] = []

    def store(camera_id: str, get_records: Callable[[], Records]) -> None:
        try:
            records = get_records()
        except Exception as exc:  # one broken camera must not stop the others
            error = f"{type(exc).__name__}: {exc}"
            failures.append(f"{camera_id}: {error}")
            if on_failure is not None:
                on_failure(camera_id, error)
            return
        with atomic_directory(out / camera_id, overwrite=True) as tmp:
            write_records(records, tmp)

    with reporter().progress() if progress else Progress() as bars:
        advance = bars.task("index webcams", total=len(todo))
        if workers <= 1:
            for camera_id in todo:
                store(camera_id, lambda c=camera_id: index_camera(root, c, config, table))
                advance()
        else:
            from stbench.parallel import process_pool

            with process_pool(workers) as pool:
                jobs = [pool.submit(index_camera, root, c, config, table) for c in todo]
                for camera_id, job in zip(todo, jobs, strict=True):
                    store(camera_id, job.result)
                    advance()
    if failures and not keep_going:
        raise StbenchError(
            f"{len(failures)} camera(s) failed and were not written (the others were; rerun to "
            "retry them, or pass --keep-going):\n" + "\n".join(failures)
        )
    return out


def _done(directory: Path) -> bool:
    return all((directory / f"{name}.parquet").is_file() for name in ("images", "pairs", "rejects"))
