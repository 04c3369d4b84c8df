"""A fixed webcam over a synthetic town: where it stands, and its frames through the renderer.

A webcam is mounted on a mast at the edge of the town's plaza, 18..30 m up, looking across the
plaza past the landmark and about 17 degrees down, so the top of the frame is sky and the bottom is
the plaza (like most outdoor AMOS cameras). The geometry buffer is computed once; each frame
only re-lights it (:func:`stbench.synth.shade.shade`) for the moment's sun, weather and season.
Each camera has its own fixed colour response (white balance, exposure bias).
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = ["look_at", "render_view", "site_key", "webcam_camera"]


def look_at(center: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World-to-camera ``R, t`` (x right, y down, z forward) of a camera at ``center`` facing ``target``.

    Args:
        center, target: (3,) points in the town's ENU frame (m); the view must not be vertical.
    Returns:
        R (3, 3) and t (3,) with ``x_cam = R x_world + t``.
    """
    forward = (target - center) / np.linalg.norm(target - center)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    R = np.stack([right, down, forward])
    return R, -R @ center


def webcam_camera(town, view_index: int, width: int, height: int, seed: int):
    """The :class:`stbench.synth.render.Camera` of webcam ``view_index`` over ``town``.

    Deterministic in ``(town, view_index, seed)``; the mast stands outside every solid.
    """
    from stbench.synth.render import Camera
    from stbench.synth.town import PLAZA_RADIUS

    rng = np.random.default_rng([seed, 0xCA3, view_index, int(town.seed)])
    base = rng.uniform(0, 2 * np.pi) + view_index * 2.2
    mast_z = rng.uniform(18, 30)
    for attempt in range(64):
        angle = base + 0.37 * attempt
        radius = rng.uniform(0.8, 0.95) * PLAZA_RADIUS
        center = np.array([radius * np.cos(angle), radius * np.sin(angle), mast_z])
        if town.is_free(center, margin=1.5):
            break
    # Aim past the landmark, a little to one side, so it is off-centre and the town shows.
    side = (
        np.array([-np.sin(angle), np.cos(angle), 0.0]) * rng.choice([-1, 1]) * rng.uniform(10, 22)
    )
    target = np.array([0.0, 0.0, 0.0]) + side + np.array([0, 0, mast_z - radius * 0.3])
    R, t = look_at(center, target)
    hfov = np.radians(rng.uniform(50, 65))
    focal = 0.5 * width / np.tan(hfov / 2)
    K = np.array([[focal, 0, (width - 1) / 2], [0, focal, (height - 1) / 2], [0, 0, 1]])
    return Camera(width, height, K, R, t)


def site_key(site) -> int:
    """A stable integer of the site's name (Python's hash() is salted per process)."""
    return zlib.crc32(site.name.encode("utf-8"))


@functools.lru_cache(maxsize=8)
def _town(site, seed: int):
    """The site's town, built once per process (cameras at one site share it)."""
    from stbench.synth.town import build_town

    return build_town(site, seed)


def render_view(
    site,
    view_index: int,
    width: int,
    height: int,
    seed: int,
    times_utc: pd.DatetimeIndex | None = None,
) -> Callable[[pd.Timestamp, np.random.Generator], np.ndarray]:
    """A function rendering webcam ``view_index`` of ``site``'s town at a UTC time.

    The weather is the site's simulated weather of the local date in the world of ``seed``
    (:func:`stbench.synth.weather.day_weather`), so cameras at one site share it. Sun positions
    for ``times_utc`` are computed in one batch; other times are computed when asked for.

    Returns:
        ``frame(time_utc, rng) -> (height, width, 3) uint8 RGB``.
    """
    from stbench.synth.render import render_geometry
    from stbench.synth.shade import day_weather, shade, sun_angles

    town = _town(site, seed)
    gbuffer = render_geometry(town, webcam_camera(town, view_index, width, height, seed))
    key = site_key(site)
    look = np.random.default_rng([seed, 0xC010, key, view_index])
    white_balance = tuple(float(g) for g in look.uniform(0.9, 1.1, 3))
    exposure_ev = float(look.uniform(-0.3, 0.3))
    weather_of: dict = {}
    sun_of: dict[pd.Timestamp, tuple[float, float]] = {}
    if times_utc is not None and len(times_utc):
        angles = sun_angles(site, list(times_utc))
        sun_of = {t: (float(e), float(a)) for t, (e, a) in zip(times_utc, angles, strict=True)}

    def frame(time_utc: pd.Timestamp, rng: np.random.Generator) -> np.ndarray:
        date = site.local_date(time_utc.to_pydatetime())
        if date not in weather_of:
            weather_of[date] = day_weather(site, date, seed)
        return shade(
            town, gbuffer, time_utc, weather_of[date], rng, sun=sun_of.get(time_utc),
            exposure_ev=exposure_ev, white_balance=white_balance,
        )  # fmt: skip

    return frame
