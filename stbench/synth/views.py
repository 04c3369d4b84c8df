"""Where, when and how tourists photograph a town: its landmark, facades and streets.

As in MegaDepth, photos of one sight mix standpoints and zooms: the landmark from favourite
spots on the square, details of a few favourite facades from across the square or close up
(long focal lengths: scale change), views along a street, and wide views.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from stbench.synth.render import Camera, look_at
from stbench.synth.shade import Weather, day_weather, sun_angles
from stbench.synth.sites import to_local
from stbench.synth.town import FRONT_RADIUS, PLAZA_RADIUS, STREET_END, STREET_HALF_WIDTH, Town
from stbench.synth.weather import photo_odds

__all__ = ["VIEWPOINTS", "VIEW_KINDS", "ViewSpec", "pinhole_camera", "sample_views"]


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
        kind: the kind of photo (:data:`VIEW_KINDS`).
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
    kind: str = "landmark"


#: Shares of the kinds of tourist photo: the landmark from the square, a facade (details zoomed
#: in from across the square or close up), a street seen along its facades, a wide view.
VIEW_KINDS: dict[str, float] = {"landmark": 0.45, "facade": 0.35, "street": 0.12, "wide": 0.08}
#: Focal length (x the long side) of each kind: zoomed-in details to wide angles.
_FOCAL = {"landmark": (0.75, 1.6), "facade": (1.0, 3.2), "street": (0.7, 1.3), "wide": (0.5, 0.75)}


@dataclass(frozen=True)
class _Favourites:
    """Where a scene's photos concentrate (co-visibility, as at real sights)."""

    spots: np.ndarray  # (3, 2) standpoints on the square
    facades: np.ndarray  # building indices of the favourite fronts on the square
    streets: np.ndarray  # street angles (rad)
    popularity: np.ndarray | None = None  # share of each spot's photos (None: equal shares)


#: How photos spread over a sight's standpoints (:func:`sample_views`):
#: ``spread``: three favourite spots anywhere around the square, equally popular (the default
#: and small presets); ``popular``: as in real photo collections of a sight, the favourite spots
#: lie on the side tourists see the landmark from (within ±POPULAR_SECTOR_DEG of one bearing),
#: one "postcard" spot takes most photos (POPULARITY) and fewer shots are taken elsewhere.
VIEWPOINTS = ("spread", "popular")
POPULAR_SECTOR_DEG = 45.0
POPULARITY = (0.55, 0.3, 0.15)


def _hotspots(rng: np.random.Generator, n: int) -> np.ndarray:
    angles = rng.uniform(0, 2 * np.pi, n)
    radii = rng.uniform(16, PLAZA_RADIUS - 6, n)
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)


def _popular_spots(rng: np.random.Generator, n: int) -> np.ndarray:
    bearing = rng.uniform(0, 2 * np.pi)
    sector = np.deg2rad(POPULAR_SECTOR_DEG)
    angles = bearing + rng.uniform(-sector, sector, n)
    radii = rng.uniform(18, PLAZA_RADIUS - 6, n)
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)


def _favourites(town: Town, rng: np.random.Generator, viewpoints: str = "spread") -> _Favourites:
    popular = viewpoints == "popular"
    spots = _popular_spots(rng, 3) if popular else _hotspots(rng, 3)
    facades = np.zeros(0, dtype=np.int64)
    if town.front_center is not None and len(town.front_center):
        on_square = np.flatnonzero(np.hypot(*town.front_center[:, :2].T) < FRONT_RADIUS + 3)
        if len(on_square):
            facades = rng.choice(on_square, size=min(2, len(on_square)), replace=False)
    streets = np.zeros(0)
    if town.street_angles is not None and len(town.street_angles):
        streets = rng.choice(
            town.street_angles, size=min(2, len(town.street_angles)), replace=False
        )
    if not popular:
        return _Favourites(spots, facades, streets)
    if len(facades):
        # The favourite fronts are those facing the popular side of the square.
        front = np.arctan2(spots[:, 1].mean(), spots[:, 0].mean())
        facing = np.cos(np.arctan2(*town.front_center[:, 1::-1].T) - front)
        on_side = [b for b in np.argsort(-facing) if b in set(on_square.tolist())][:2]
        facades = np.asarray(on_side, dtype=np.int64)
    return _Favourites(spots, facades, streets, np.asarray(POPULARITY))


def _clear_view(town: Town, eye: np.ndarray, R: np.ndarray, target: np.ndarray | None) -> bool:
    """Nothing at arm's length in front of the lens, and the target (if any) in sight."""
    from stbench.synth.raycast import cast

    forward = R[2] / np.linalg.norm(R[2])
    hit_t, _, _ = cast(town, eye[None], forward[None], 1e-6)
    if hit_t[0] < 6.0:
        return False
    if target is None:
        return True
    to_target = target - eye
    hit_t, _, _ = cast(town, eye[None], to_target[None], 1e-6, ellipsoids=False)
    return bool(hit_t[0] > 0.97)


def _eye_height(rng: np.random.Generator) -> float:
    return rng.uniform(1.35, 1.9) if rng.random() < 0.85 else rng.uniform(3.0, 10.0)


def _landmark_or_wide(town, rng, fav, kind):
    if fav.popularity is not None:
        if rng.random() < 0.9:
            spot = int(rng.choice(len(fav.spots), p=fav.popularity))
            xy = fav.spots[spot] + rng.normal(0, 2.5, 2)
        else:
            angle, radius = rng.uniform(0, 2 * np.pi), rng.uniform(12, PLAZA_RADIUS - 2)
            xy = radius * np.array([np.cos(angle), np.sin(angle)])
    elif rng.random() < 0.8:
        xy = fav.spots[rng.integers(len(fav.spots))] + rng.normal(0, 3.0, 2)
    else:
        angle, radius = rng.uniform(0, 2 * np.pi), rng.uniform(12, PLAZA_RADIUS - 2)
        xy = radius * np.array([np.cos(angle), np.sin(angle)])
    eye = np.array([xy[0], xy[1], _eye_height(rng)])
    distance = float(np.hypot(*xy))
    if distance < 14:
        return None
    if kind == "landmark":
        top = min(0.55 * town.landmark_top, eye[2] + 0.45 * distance)
        return eye, np.array([*rng.normal(0, 2.5, 2), rng.uniform(2.0, top)]), None
    angle = rng.uniform(0, 2 * np.pi)
    return eye, np.array([60 * np.cos(angle), 60 * np.sin(angle), rng.uniform(2, 9)]), None


def _facade(town, rng, fav):
    if not len(fav.facades):
        return None
    b = fav.facades[rng.integers(len(fav.facades))]
    normal = town.front_normal[b]
    tangent = np.array([-normal[1], normal[0], 0.0])
    width, height = town.front_size[b]
    base = town.front_center[b] - np.array([0, 0, height / 2])
    target = base + tangent * rng.uniform(-0.35, 0.35) * width
    target[2] = rng.uniform(1.5, max(2.0, 0.8 * height))
    distance = rng.uniform(8, 32)
    lateral = rng.normal(0, 0.35) * distance
    eye = target + normal * distance + tangent * lateral
    eye[2] = _eye_height(rng)
    if np.hypot(*eye[:2]) > PLAZA_RADIUS + 4:
        return None
    return eye, target, target


def _street(town, rng, fav):
    if not len(fav.streets):
        return None
    theta = fav.streets[rng.integers(len(fav.streets))]
    axis = np.array([np.cos(theta), np.sin(theta), 0.0])
    side = np.array([-np.sin(theta), np.cos(theta), 0.0])
    along = rng.uniform(FRONT_RADIUS + 8, STREET_END - 15)
    eye = axis * along + side * rng.uniform(-1, 1) * (STREET_HALF_WIDTH - 1.5)
    eye[2] = _eye_height(rng)
    heading = 1.0 if rng.random() < 0.5 else -1.0
    look = heading * axis * 30.0 + side * rng.normal(0, 9.0)
    target = eye + look
    target[2] = rng.uniform(1.5, 9.0)
    return eye, target, None


def _pose(town: Town, rng: np.random.Generator, fav: _Favourites):
    """A standpoint and orientation, and the kind of photo."""
    kinds = list(VIEW_KINDS)
    for _ in range(300):
        kind = kinds[int(rng.choice(len(kinds), p=list(VIEW_KINDS.values())))]
        if kind == "facade":
            placed = _facade(town, rng, fav)
        elif kind == "street":
            placed = _street(town, rng, fav)
        else:
            placed = _landmark_or_wide(town, rng, fav, kind)
        if placed is None:
            continue
        eye, target, must_see = placed
        if not town.is_free(eye, margin=0.8):
            continue
        R, t = look_at(eye, target, roll_deg=float(np.clip(rng.normal(0, 2.0), -6, 6)))
        if _clear_view(town, eye, R, must_see):
            return R, t, kind
    raise RuntimeError("could not place a camera in the town")


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
    viewpoints: str = "spread",
) -> list[ViewSpec]:
    """Draw ``n_views`` tourist photos of ``town`` (deterministic in ``seed``).

    ``viewpoints`` (:data:`VIEWPOINTS`) sets how the photos spread over the sight's standpoints.
    """
    from stbench.synth.exif import choose_case

    if viewpoints not in VIEWPOINTS:
        raise ValueError(f"viewpoints={viewpoints!r}: choose one of {', '.join(VIEWPOINTS)}")
    rng = np.random.default_rng(seed)
    fav = _favourites(town, rng, viewpoints)
    times = _capture_times(town, rng, n_views, years)
    views = []
    names: set[str] = set()
    for i in range(n_views):
        R, t, kind = _pose(town, rng, fav)
        # Long side skewed towards small sizes (as web photos; keeps the default build fast).
        side = int(long_side[0] + (long_side[1] - long_side[0]) * rng.random() ** 2) // 2 * 2
        aspect = (3 / 4, 2 / 3, 9 / 16)[int(rng.integers(3))]
        short = round(side * aspect) // 2 * 2
        size = (short, side) if rng.random() < 0.25 else (side, short)
        focal = side * float(rng.uniform(*_FOCAL[kind]))
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
                kind=kind,
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
