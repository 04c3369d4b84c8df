"""Where, when and how tourists photograph a town's landmark."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from stbench.synth.render import Camera, look_at
from stbench.synth.shade import Weather, day_weather, sun_angles
from stbench.synth.sites import to_local
from stbench.synth.town import PLAZA_RADIUS, Town
from stbench.synth.weather import photo_odds

__all__ = ["ViewSpec", "pinhole_camera", "sample_views"]


@dataclass(frozen=True)
class ViewSpec:
    """Everything needed to render and write one tourist photo.

    Attributes:
        name: file name (``<digits>_<hex>_o.jpg``, as MegaDepth's Flickr names).
        raw_size: (width, height) of the distorted "raw" photo.
        focal, k1: SIMPLE_RADIAL focal length (px) and radial coefficient of the raw photo;
            its principal point is the image centre (COLMAP convention).
        R, t: world-to-camera pose.
        time_utc: true capture time (tz-aware UTC).
        weather: weather at capture.
        exposure_ev, white_balance, noise, jpeg_quality: the camera's rendition.
        exif_case: see :mod:`stbench.synth.exif`.
        depth_kind: "metric", "ordinal" (a label map under the same name) or None (no depth).
        seed: per-view seed for everything random at render time.
    """

    name: str
    raw_size: tuple[int, int]
    focal: float
    k1: float
    R: np.ndarray
    t: np.ndarray
    time_utc: dt.datetime
    weather: Weather
    exposure_ev: float
    white_balance: tuple[float, float, float]
    noise: float
    jpeg_quality: int
    exif_case: str
    depth_kind: str | None
    seed: int


def _hotspots(rng: np.random.Generator, n: int) -> np.ndarray:
    angles = rng.uniform(0, 2 * np.pi, n)
    radii = rng.uniform(16, PLAZA_RADIUS - 6, n)
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)


def _pose(town: Town, rng: np.random.Generator, spots: np.ndarray):
    for _ in range(200):
        if rng.random() < 0.8:
            xy = spots[rng.integers(len(spots))] + rng.normal(0, 3.0, 2)
        else:
            angle, radius = rng.uniform(0, 2 * np.pi), rng.uniform(12, PLAZA_RADIUS - 2)
            xy = radius * np.array([np.cos(angle), np.sin(angle)])
        height = rng.uniform(1.35, 1.9) if rng.random() < 0.85 else rng.uniform(3.0, 12.0)
        eye = np.array([xy[0], xy[1], height])
        distance = float(np.hypot(*xy))
        if distance < 14 or not town.is_free(eye, margin=0.8):
            continue
        if rng.random() < 0.85:
            top = min(0.7 * town.landmark_top, height + 0.55 * distance)
            target = np.array([*rng.normal(0, 2.5, 2), rng.uniform(2.0, top)])
        else:
            angle = rng.uniform(0, 2 * np.pi)
            target = np.array([60 * np.cos(angle), 60 * np.sin(angle), rng.uniform(3, 10)])
        R, t = look_at(eye, target, roll_deg=float(np.clip(rng.normal(0, 2.0), -6, 6)))
        # Reject views blocked right in front of the lens (a trunk or a lamp post at arm's length).
        from stbench.synth.raycast import cast

        forward = R[2] / np.linalg.norm(R[2])
        hit_t, _, _ = cast(town, eye[None], forward[None], 1e-6)
        if hit_t[0] < 6.0:
            continue
        return R, t
    raise RuntimeError("could not place a camera in the plaza")


def _capture_times(
    town: Town, rng: np.random.Generator, n: int, years: tuple[int, int]
) -> list[dt.datetime]:
    """Capture times: mostly daytime, some dusk, a few at night, spread over ``years``.

    Fewer on days of rain, snowfall or fog, as people photograph less then
    (:func:`stbench.synth.weather.photo_odds`).
    """
    first = dt.datetime(years[0], 1, 1, tzinfo=dt.timezone.utc).timestamp()
    last = dt.datetime(years[1] + 1, 1, 1, tzinfo=dt.timezone.utc).timestamp()
    candidates = [
        dt.datetime.fromtimestamp(float(s), tz=dt.timezone.utc).replace(microsecond=0)
        for s in rng.uniform(first, last, 12 * n)
    ]
    odds = [
        photo_odds(day_weather(town.site, to_local(c, town.site.tz).date(), town.seed))
        for c in candidates
    ]
    candidates = [
        c for c, o, u in zip(candidates, odds, rng.random(len(odds)), strict=True) if u < o
    ]
    elevation = sun_angles(town.site, candidates)[:, 0]
    day = [c for c, e in zip(candidates, elevation, strict=True) if e > 8]
    dusk = [c for c, e in zip(candidates, elevation, strict=True) if -8 < e <= 8]
    night = [c for c, e in zip(candidates, elevation, strict=True) if e <= -8]
    out = []
    for _ in range(n):
        pool = (day, dusk, night)[int(rng.choice(3, p=[0.8, 0.13, 0.07]))] or day
        out.append(pool.pop())
    return out


def sample_views(
    town: Town,
    n_views: int,
    long_side: tuple[int, int],
    seed: int,
    years: tuple[int, int] = (2011, 2019),
) -> list[ViewSpec]:
    """Draw ``n_views`` tourist photos of ``town`` (deterministic in ``seed``)."""
    from stbench.synth.exif import choose_case

    rng = np.random.default_rng(seed)
    spots = _hotspots(rng, 4)
    times = _capture_times(town, rng, n_views, years)
    views = []
    names: set[str] = set()
    for i in range(n_views):
        R, t = _pose(town, rng, spots)
        # Long side skewed towards small sizes (as web photos; keeps the default build fast).
        side = int(long_side[0] + (long_side[1] - long_side[0]) * rng.random() ** 2) // 2 * 2
        aspect = (3 / 4, 2 / 3, 9 / 16)[int(rng.integers(3))]
        short = round(side * aspect) // 2 * 2
        size = (short, side) if rng.random() < 0.25 else (side, short)
        focal = side * float(rng.uniform(0.75, 1.6))
        k1 = float(rng.uniform(-0.06, 0.03))
        when = times[i]
        local = to_local(when, town.site.tz)
        weather = day_weather(town.site, local.date(), town.seed)
        wb = 1 + rng.normal(0, 0.05, 3)
        name = f"{rng.integers(10**9, 10**10)}_{rng.integers(16**9, 16**10):010x}_o.jpg"
        while name in names:
            name = f"{rng.integers(10**9, 10**10)}_{rng.integers(16**9, 16**10):010x}_o.jpg"
        names.add(name)
        quirk = rng.random()
        depth_kind = "metric" if quirk < 0.92 else ("ordinal" if quirk < 0.96 else None)
        views.append(
            ViewSpec(
                name=name,
                raw_size=size,
                focal=focal,
                k1=k1,
                R=R,
                t=t,
                time_utc=when,
                weather=weather,
                exposure_ev=float(rng.normal(0, 0.3)),
                white_balance=(float(wb[0] / wb[1]), 1.0, float(wb[2] / wb[1])),
                noise=float(rng.uniform(0.4, 2.0)),
                jpeg_quality=int(rng.integers(72, 96)),
                exif_case=choose_case(rng),
                depth_kind=depth_kind,
                seed=int(rng.integers(2**31)),
            )
        )
    return views


def pinhole_camera(spec: ViewSpec) -> tuple[Camera, object, object]:
    """The undistorted (dense0) camera of a view, as COLMAP's undistorter makes it.

    Returns:
        (our Camera with pixel centres at integers, the raw pycolmap SIMPLE_RADIAL camera,
        the undistorted pycolmap PINHOLE camera).
    """
    import pycolmap

    w, h = spec.raw_size
    raw = pycolmap.Camera(
        model="SIMPLE_RADIAL", width=w, height=h, params=[spec.focal, w / 2, h / 2, spec.k1]
    )
    pinhole = pycolmap.undistort_camera(pycolmap.UndistortCameraOptions(), raw)
    fx, fy, cx, cy = pinhole.params
    K = np.array([[fx, 0, cx - 0.5], [0, fy, cy - 0.5], [0, 0, 1.0]])
    return Camera(pinhole.width, pinhole.height, K, spec.R, spec.t), raw, pinhole
