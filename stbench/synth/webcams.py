"""Synthetic webcam streams in the AMOS layout, with injected faults and a ground-truth sidecar.

Written under a world directory::

    webcams/cameras.csv                      id,name,lat,lon
    webcams/<id:08d>/<YYYY>.<MM>.zip         members YYYYMMDD_HHMMSS.jpg (download time, see below)
    truth/webcam_frames.parquet              one row per member (see FRAME_COLUMNS)
    truth/webcam_faults.parquet              one row per injected fault (see FAULT_COLUMNS)

Each camera is a fixed view of one site's town (a preset names the site and view of each
camera): its geometry is rendered once, and only light, weather and season are shaded per frame.
Frames are taken every ``interval_min`` minutes from a per-camera random phase, with the day's
grid shifted by ``daily_shift_min`` (not a multiple of 60) each day, so every hour of the day and
every minute of the hour is sampled, plus a few minutes of jitter; they are named at *download*
time (1..7 minutes after capture) in UTC, except where a fault says otherwise
(:mod:`stbench.synth.webcam_faults`). A member goes into the monthly zip of its
*name*, as in AMOS. Zips are byte-deterministic: sorted members, stored (JPEG does not compress),
the member's name time as its ZIP date, fixed permissions.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from stbench.atomic import write_bytes_atomic, write_text_atomic
from stbench.errors import ConfigError
from stbench.synth.sites import SITES, Site, site_by_name
from stbench.synth.webcam_faults import (
    Fault,
    PlannedFrame,
    Scenario,
    StreamSpec,
    plan_stream,
)

__all__ = [
    "FAULT_COLUMNS",
    "FRAME_COLUMNS",
    "PRESETS",
    "SiteLike",
    "WebcamCamera",
    "WebcamPreset",
    "camera_ids",
    "camera_records",
    "finish_webcams",
    "plan_cameras",
    "preset_sites",
    "spread_cameras",
    "town_frame_source",
    "webcam_jobs",
    "write_camera",
    "write_webcam_streams",
    "write_webcams",
]


FRAME_COLUMNS = (
    "camera_id",
    "path",
    "capture_time_utc",
    "content_time_utc",
    "download_time_utc",
    "recorded_name_time",
    "name_error_s",
    "utc_offset_min",
    "n_bytes",
    "fault",
    "faults",
)
FAULT_COLUMNS = ("camera_id", "start_utc", "end_utc", "kind", "amount_s", "detail")


class SiteLike(Protocol):
    name: str
    lat: float
    lon: float
    tz: str


#: (site, site_index, view_index, width, height, seed, times_utc) -> frame(time_utc, rng) -> image.
#: ``times_utc`` lists every time the frame function will be asked for (for batch sun positions);
#: images are (height, width, 3) uint8 RGB.
FrameSourceFactory = Callable[
    [Any, int, int, int, int, int, pd.DatetimeIndex],
    Callable[[pd.Timestamp, np.random.Generator], np.ndarray],
]


@dataclass(frozen=True)
class WebcamCamera:
    """One camera of a preset: the site it watches (by name), which view of it, its faults."""

    site: str
    view: int = 0
    scenario: Scenario = field(default_factory=Scenario)


@dataclass(frozen=True)
class WebcamPreset:
    """Which cameras, over which months, how often, how big.

    ``cameras[i]`` is camera i: the site it watches (a name looked up in the sites passed to
    :func:`write_webcam_streams`), its view of that site's town and its faults. Camera i gets the
    i-th smallest of :func:`camera_ids`, so the camera -> (site, view) map is fixed by the preset
    and the seed alone.

    Raises:
        ConfigError: no cameras, a (site, view) listed twice, a non-positive size or interval,
            or a daily shift that is a multiple of 60 min (captures would keep one minute of the
            hour; see :func:`stbench.synth.webcam_faults.plan_stream`).
    """

    start: str
    end: str
    interval_min: int
    daily_shift_min: int
    width: int
    height: int
    cameras: tuple[WebcamCamera, ...]
    jpeg_quality: tuple[int, int] = (70, 92)
    day_step: int = 1
    days_on: int = 1

    def __post_init__(self) -> None:
        if not self.cameras:
            raise ConfigError("a webcam preset needs at least one camera")
        views = [(c.site, c.view) for c in self.cameras]
        twice = sorted({v for v in views if views.count(v) > 1})
        if twice:
            raise ConfigError(f"webcam preset lists (site, view) {twice} more than once")
        if min(self.width, self.height, self.interval_min, self.days_on) < 1:
            raise ConfigError(
                "webcam preset: width, height, interval_min and days_on must be >= 1, got "
                f"{self.width}, {self.height}, {self.interval_min}, {self.days_on}"
            )
        if self.day_step < self.days_on:
            raise ConfigError(
                f"webcam preset: day_step={self.day_step} must be >= days_on={self.days_on}"
            )
        if self.daily_shift_min % 60 == 0:
            raise ConfigError(
                f"webcam preset: daily_shift_min={self.daily_shift_min} is a multiple of 60, so "
                "every capture would sit at the same minute of the hour; use e.g. 97"
            )

    @property
    def n_cameras(self) -> int:
        return len(self.cameras)

    @property
    def site_names(self) -> tuple[str, ...]:
        """The sites the cameras watch, in the order of their first camera."""
        return tuple(dict.fromkeys(c.site for c in self.cameras))


def spread_cameras(
    sites: Sequence[str], views: int, scenarios: Sequence[Scenario]
) -> tuple[WebcamCamera, ...]:
    """``views`` cameras per site, site by site; camera k gets ``scenarios[k % len(scenarios)]``.

    With a number of scenarios prime to ``views`` the faults fall on different views of
    different sites, so every split gets clean and faulty cameras.
    """
    names = [(site, view) for site in sites for view in range(views)]
    return tuple(
        WebcamCamera(site, view, scenarios[k % len(scenarios)])
        for k, (site, view) in enumerate(names)
    )


_CLEAN = Scenario()
#: The faults of the default preset's cameras in order, cycled over the benchmark's 54 cameras
#: (7 is prime to its 3 views per site). Indices 4..6 are the default's test cameras.
_FAULTS: tuple[Scenario, ...] = (
    _CLEAN,
    Scenario(clock_offset=(0.3, 0.55, 5400), frozen_runs=3, gaps=1),
    Scenario(local_time_until=0.45, gaps=1, frozen_runs=1),
    Scenario(clock_drift=(0.0, 1.0, 2700), duplicates=2, zero_byte=2, truncated=2),
    Scenario(clock_offset=(0.7, 0.8, -7200), frozen_runs=2, duplicates=3, zero_byte=3,
             truncated=3, gaps=2),
    Scenario(local_time_until=0.3, clock_drift=(0.65, 1.0, 1800), frozen_runs=2, duplicates=2,
             zero_byte=1, truncated=1, gaps=1),
    Scenario(frozen_runs=1, duplicates=1, gaps=1),
)  # fmt: skip
#: The default world's sites: train innsbruck, porto, seattle; val valencia; test christchurch,
#: denver, santiago (see WORLD.md / docs/synthetic-world.md).
DEFAULT_SITES = ("innsbruck", "porto", "seattle", "valencia", "christchurch", "denver", "santiago")
#: One full year; the minute of the hour walks by 37 min a day (97 = 60 + 37, prime to 1440).
_YEAR = ("2019-01-01", "2020-01-01")
PRESETS: dict[str, WebcamPreset] = {
    # A clean train camera, a train camera with every fault kind (its -6 h local-time era and
    # +1 h clock error cannot be mistaken for each other), a test camera with some faults.
    "small": WebcamPreset(
        "2018-12-01", "2019-02-01", 180, 97, 96, 72,
        (
            WebcamCamera("innsbruck", 0, _CLEAN),
            WebcamCamera("madison", 0, Scenario(
                local_time_until=0.3, clock_offset=(0.4, 0.6, 3600), clock_drift=(0.65, 1.0, 1800),
                frozen_runs=2, duplicates=2, zero_byte=1, truncated=1, gaps=1)),
            WebcamCamera("christchurch", 0, Scenario(
                clock_offset=(0.2, 0.45, -5400), frozen_runs=1, zero_byte=1, gaps=1)),
        ),
    ),
    # 4 frames a day on 3 consecutive days of every 12 (default) or 6 (benchmark): the clock
    # fit needs >= 8 frames in 3 days; a year of daily frames would not fit the CPU budget.
    "default": WebcamPreset(
        *_YEAR, 360, 97, 320, 240, spread_cameras(DEFAULT_SITES, 1, _FAULTS), day_step=12, days_on=3
    ),
    "benchmark": WebcamPreset(
        *_YEAR, 360, 97, 320, 240, spread_cameras([s.name for s in SITES], 3, _FAULTS),
        day_step=6, days_on=3,
    ),
}  # fmt: skip
PRESETS["large"] = PRESETS["default"]


def preset_sites(preset: str) -> tuple[Site, ...]:
    """The :data:`stbench.synth.sites.SITES` that the preset's cameras watch, in camera order.

    Raises:
        ConfigError: unknown preset.
    """
    if preset not in PRESETS:
        raise ConfigError(f"unknown webcam preset {preset!r}; known: {', '.join(PRESETS)}")
    return tuple(site_by_name(name) for name in PRESETS[preset].site_names)


def write_webcams(
    world_dir: Path,
    sites: Sequence[SiteLike],
    preset: str,
    seed: int,
    workers: int | None = None,
) -> list[dict[str, Any]]:
    """Write the webcam archives, camera list and fault/frame truth of a synthetic world.

    Args:
        world_dir: the world's directory (``webcams/`` and ``truth/`` are written inside).
        sites: sites (objects with ``name, lat, lon, tz``) holding at least those the preset's
            cameras name (:func:`preset_sites`; ``SITES`` works too).
        preset: ``small``, ``default``, ``benchmark`` or ``large``.
        seed: the world's seed; same seed + preset => byte-identical files.
        workers: processes (default: the CPUs available, at most one per camera; 1 renders in
            this process).
    Returns:
        One record per camera (see :func:`write_webcam_streams`).
    Raises:
        ConfigError: unknown preset, or a site the preset names is not in ``sites``.
    """
    if preset not in PRESETS:
        raise ConfigError(f"unknown webcam preset {preset!r}; known: {', '.join(PRESETS)}")
    return write_webcam_streams(world_dir, sites, PRESETS[preset], seed, workers=workers)


def camera_ids(n: int, seed: int) -> list[str]:
    """``n`` distinct 8-digit AMOS-style camera ids, ascending, a function of ``seed``."""
    rng = np.random.default_rng([seed, 0x57EB])
    return [f"{int(i):08d}" for i in np.sort(rng.choice(np.arange(1, 30000), n, replace=False))]


def camera_records(
    sites: Sequence[SiteLike], preset: WebcamPreset, seed: int
) -> list[dict[str, Any]]:
    """Camera i of ``preset``: its id, AMOS name and position, and the site, view and split.

    The ``id, name, lat, lon`` values are those of ``cameras.csv`` (strings); ``site`` is the
    site's name, ``view`` the view index and ``split`` the site's split (None for a site object
    without one). ``generate_world`` records these in ``world.json`` so the manifest build finds
    each camera's site and split.

    Raises:
        ConfigError: a site the preset names is not in ``sites``.
    """
    by_name = {site.name: site for site in sites}
    missing = [name for name in preset.site_names if name not in by_name]
    if missing:
        raise ConfigError(
            f"the webcam preset's cameras watch {', '.join(missing)}, which are not among the "
            f"sites passed ({', '.join(by_name) or 'none'}); pass preset_sites(<preset>) or "
            "stbench.synth.sites.SITES"
        )
    ids = camera_ids(preset.n_cameras, seed)
    records = []
    for camera_id, camera in zip(ids, preset.cameras, strict=True):
        site = by_name[camera.site]
        records.append(
            {
                "id": camera_id,
                "name": f"{site.name} view {camera.view + 1}",
                "lat": f"{site.lat:.6f}",
                "lon": f"{site.lon:.6f}",
                "site": site.name,
                "view": camera.view,
                "split": getattr(site, "split", None),
            }
        )
    return records


def _stream_spec(preset: WebcamPreset, camera: WebcamCamera, camera_id: str, tz: str) -> StreamSpec:
    return StreamSpec(
        camera_id,
        tz,
        pd.Timestamp(preset.start, tz="UTC"),
        pd.Timestamp(preset.end, tz="UTC"),
        preset.interval_min,
        preset.daily_shift_min,
        camera.scenario,
        preset.day_step,
        preset.days_on,
    )


def _plan(spec: StreamSpec, seed: int) -> tuple[list[PlannedFrame], list[Fault]]:
    return plan_stream(spec, np.random.default_rng([seed, int(spec.camera_id), 1]))


def plan_cameras(
    sites: Sequence[SiteLike], preset: WebcamPreset, seed: int
) -> list[tuple[dict[str, Any], list[PlannedFrame], list[Fault]]]:
    """Each camera's record, planned members and faults, exactly as :func:`write_webcam_streams`
    renders them, without rendering anything (a second or so for a year of 54 cameras).

    Raises:
        ConfigError: a site the preset names is not in ``sites``.
    """
    records = camera_records(sites, preset, seed)
    tz = {site.name: site.tz for site in sites}
    out = []
    for record, camera in zip(records, preset.cameras, strict=True):
        frames, faults = _plan(_stream_spec(preset, camera, record["id"], tz[camera.site]), seed)
        out.append((record, frames, faults))
    return out


def write_webcam_streams(
    world_dir: Path,
    sites: Sequence[SiteLike],
    preset: WebcamPreset,
    seed: int,
    frame_source: FrameSourceFactory | None = None,
    workers: int | None = None,
) -> list[dict[str, Any]]:
    """:func:`write_webcams` for an explicit preset and frame source (tests pass tiny ones).

    Args:
        sites: sites holding every site the preset's cameras name (others are ignored).
        frame_source: picklable factory of per-camera frame functions; default renders the town.
    Returns:
        :func:`camera_records`, one per camera in preset order.
    Raises:
        ConfigError: no sites, or a site the preset names is not among them.
    """
    records, jobs = webcam_jobs(world_dir, sites, preset, seed, frame_source)
    if workers is None:
        from stbench.threads import available_cores

        workers = min(available_cores(), len(jobs))
    if workers <= 1:
        results = [write_camera(job) for job in jobs]
    else:
        from stbench.parallel import process_pool

        with process_pool(workers) as pool:
            results = list(pool.map(write_camera, jobs))
    return finish_webcams(world_dir, records, results)


def webcam_jobs(
    world_dir: Path,
    sites: Sequence[SiteLike],
    preset: WebcamPreset,
    seed: int,
    frame_source: FrameSourceFactory | None = None,
) -> tuple[list[dict[str, Any]], list[tuple]]:
    """The camera records and one picklable job per camera (for :func:`write_camera`), so that
    a caller can run them on a process pool it shares with other work; then
    :func:`finish_webcams`.

    Raises:
        ConfigError: no sites, or a site the preset names is not among them.
    """
    if not sites:
        raise ConfigError("write_webcams needs at least one site")
    world_dir = Path(world_dir)
    records = camera_records(sites, preset, seed)
    site_index = {site.name: index for index, site in enumerate(sites)}
    jobs = []
    for record, camera in zip(records, preset.cameras, strict=True):
        site = sites[site_index[camera.site]]
        spec = _stream_spec(preset, camera, record["id"], site.tz)
        jobs.append(
            (
                world_dir,
                spec,
                site,
                site_index[camera.site],
                camera.view,
                preset,
                seed,
                frame_source,
            )
        )
    return records, jobs


def write_camera(job: tuple) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Render and write one camera of :func:`webcam_jobs`; its frame and fault truth tables."""
    return _write_camera(*job)


def finish_webcams(
    world_dir: Path,
    records: list[dict[str, Any]],
    results: Sequence[tuple[pd.DataFrame, pd.DataFrame]],
) -> list[dict[str, Any]]:
    """Write the camera list and the frame and fault truth of the cameras :func:`write_camera`
    wrote (``results`` in camera order); returns ``records``."""
    world_dir = Path(world_dir)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(("id", "name", "lat", "lon"))
    writer.writerows((r["id"], r["name"], r["lat"], r["lon"]) for r in records)
    write_text_atomic(world_dir / "webcams" / "cameras.csv", text.getvalue())

    frames = pd.concat([r[0] for r in results], ignore_index=True)
    faults = pd.concat([r[1] for r in results], ignore_index=True)
    _write_parquet(frames, world_dir / "truth" / "webcam_frames.parquet")
    _write_parquet(faults, world_dir / "truth" / "webcam_faults.parquet")
    return records


def _write_parquet(table: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(table, preserve_index=False).replace_schema_metadata(None)
    sink = pa.BufferOutputStream()
    pq.write_table(arrow, sink, compression="zstd")
    write_bytes_atomic(path, sink.getvalue().to_pybytes())


def _encode(image: np.ndarray, quality: int) -> bytes:
    import cv2

    ok, data = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return data.tobytes()


def _reencode(data: bytes, quality: int) -> bytes:
    import cv2

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return _encode(image[..., ::-1], quality)


def _member_bytes(frames: list[PlannedFrame], render, quality: int, rng_for) -> list[bytes]:
    out: list[bytes] = []
    for index, frame in enumerate(frames):
        if frame.content == "zero":
            out.append(b"")
        elif frame.content == "copy":
            out.append(out[frame.source])
        elif frame.content == "reencode":
            out.append(_reencode(out[frame.source], quality - 1 - index % 4))
        else:
            data = _encode(render(frame.capture_utc, rng_for(index)), quality)
            if frame.content == "truncated":
                data = data[: int(len(data) * frame.keep_fraction)]
            out.append(data)
    return out


def _write_zips(camera_dir: Path, frames: list[PlannedFrame], payloads: list[bytes]) -> None:
    by_archive: dict[str, list[tuple[PlannedFrame, bytes]]] = {}
    for frame, data in zip(frames, payloads, strict=True):
        by_archive.setdefault(frame.archive, []).append((frame, data))
    for archive, members in sorted(by_archive.items()):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
            for frame, data in sorted(members, key=lambda m: m[0].member):
                info = zipfile.ZipInfo(frame.member, date_time=frame.name_time.timetuple()[:6])
                info.compress_type = zipfile.ZIP_STORED
                info.external_attr = 0o644 << 16
                info.create_system = 3
                zf.writestr(info, data)
        write_bytes_atomic(camera_dir / archive, buffer.getvalue())


def _write_camera(
    world_dir: Path,
    spec: StreamSpec,
    site: SiteLike,
    site_index: int,
    view_index: int,
    preset: WebcamPreset,
    seed: int,
    frame_source: FrameSourceFactory | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Plan, render and write one camera; return its frame and fault truth tables."""
    camera_key = int(spec.camera_id)
    frames, faults = _plan(spec, seed)
    factory = frame_source or town_frame_source
    times = pd.DatetimeIndex(
        [f.capture_utc for f in frames if f.content in ("render", "truncated")]
    )
    render = factory(site, site_index, view_index, preset.width, preset.height, seed, times)
    quality = int(np.random.default_rng([seed, camera_key, 2]).integers(*preset.jpeg_quality))
    payloads = _member_bytes(
        frames, render, quality, lambda i: np.random.default_rng([seed, camera_key, 3, i])
    )
    _write_zips(world_dir / "webcams" / spec.camera_id, frames, payloads)
    table = _frame_table(spec.camera_id, frames, payloads)
    table["utc_offset_min"] = _civil_offsets_min(table["content_time_utc"], spec.tz)
    return table[list(FRAME_COLUMNS)], _fault_table(faults)


def _civil_offsets_min(times: pd.Series, tz: str) -> np.ndarray:
    """(N,) int32 offsets (min) of local civil time (DST-aware) from UTC at each time."""
    local = pd.DatetimeIndex(times).tz_convert(tz)
    return np.array([t.utcoffset().total_seconds() // 60 for t in local], dtype=np.int32)


def _frame_table(camera_id: str, frames: list[PlannedFrame], payloads: list[bytes]) -> pd.DataFrame:
    def utc(values) -> pd.Series:
        return pd.Series(pd.DatetimeIndex(values).as_unit("us"))

    content = [frames[f.source].capture_utc if f.source >= 0 else f.capture_utc for f in frames]
    table = pd.DataFrame(
        {
            "camera_id": camera_id,
            "path": [f"{camera_id}/{f.archive}/{f.member}" for f in frames],
            "capture_time_utc": utc([f.capture_utc for f in frames]),
            "content_time_utc": utc(content),
            "download_time_utc": utc([f.download_utc for f in frames]),
            "recorded_name_time": utc([f.name_time for f in frames]),
            "name_error_s": np.array(
                [(f.name_time - f.download_utc.tz_convert(None)).total_seconds() for f in frames],
                dtype=np.int64,
            ),
            "utc_offset_min": 0,
            "n_bytes": np.array([len(p) for p in payloads], dtype=np.int64),
            "fault": [",".join(f.faults) for f in frames],
            "faults": [list(f.faults) for f in frames],
        }
    )
    return table[list(FRAME_COLUMNS)]


def _fault_table(faults: list[Fault]) -> pd.DataFrame:
    table = pd.DataFrame(
        {
            "camera_id": [f.camera_id for f in faults],
            "start_utc": pd.Series(pd.DatetimeIndex([f.start_utc for f in faults]).as_unit("us")),
            "end_utc": pd.Series(pd.DatetimeIndex([f.end_utc for f in faults]).as_unit("us")),
            "kind": [f.kind for f in faults],
            "amount_s": np.array([f.amount_s for f in faults], dtype=np.int64),
            "detail": [f.detail for f in faults],
        }
    )
    return table[list(FAULT_COLUMNS)]


def town_frame_source(
    site: SiteLike,
    site_index: int,
    view_index: int,
    width: int,
    height: int,
    seed: int,
    times_utc: pd.DatetimeIndex,
) -> Callable[[pd.Timestamp, np.random.Generator], np.ndarray]:
    """Frames of the site's town seen by a fixed webcam (geometry rendered once).

    Weather is sampled once per site and UTC date from ``(seed, site, date)``, so two cameras at
    one site see the same sky on the same day.
    """
    from stbench.synth.webcam_view import render_view

    return render_view(site, view_index, width, height, seed, times_utc)
