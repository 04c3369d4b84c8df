"""A fixed webcam over a synthetic town: where it stands, and its frames through the renderer.

A webcam is mounted on a mast at the edge of the town's plaza, 12..22 m up, looking across the
plaza towards the landmark and slightly down, so the top of the frame is sky and the bottom is
the plaza (like most outdoor AMOS cameras). The geometry buffer is computed once; each frame
only re-lights it (:func:`stbench.synth.shade.shade`) for the moment's sun, weather and season.
Each camera has its own fixed colour response (white balance, exposure bias).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd


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
    for attempt in range(64):
        angle = base + 0.37 * attempt
        radius = rng.uniform(0.75, 0.95) * PLAZA_RADIUS
        center = np.array([radius * np.cos(angle), radius * np.sin(angle), rng.uniform(12, 22)])
        if town.is_free(center, margin=1.5):
            break
    side = np.array([-np.sin(angle), np.cos(angle), 0.0]) * rng.uniform(-12, 12)
    target = np.array([0.0, 0.0, rng.uniform(4, 9)]) + side
    R, t = look_at(center, target)
    hfov = np.radians(rng.uniform(55, 70))
    focal = 0.5 * width / np.tan(hfov / 2)
    K = np.array([[focal, 0, (width - 1) / 2], [0, focal, (height - 1) / 2], [0, 0, 1]])
    return Camera(width, height, K, R, t)


def render_view(
    site, site_key: int, view_index: int, width: int, height: int, seed: int
) -> Callable[[pd.Timestamp, np.random.Generator], np.ndarray]:
    """A function rendering webcam ``view_index`` of ``site``'s town at a UTC time.

    The weather is drawn once per site and local date from ``(seed, site_key, date)``, so
    cameras at one site share it.

    Returns:
        ``frame(time_utc, rng) -> (height, width, 3) uint8 RGB``.
    """
    from stbench.synth.render import render_geometry
    from stbench.synth.shade import sample_weather, shade
    from stbench.synth.town import build_town

    town = build_town(site, seed)
    gbuffer = render_geometry(town, webcam_camera(town, view_index, width, height, seed))
    look = np.random.default_rng([seed, 0xC010, site_key, view_index])
    white_balance = tuple(float(g) for g in look.uniform(0.9, 1.1, 3))
    exposure_ev = float(look.uniform(-0.3, 0.3))
    weather_of: dict = {}

    def frame(time_utc: pd.Timestamp, rng: np.random.Generator) -> np.ndarray:
        date = site.local_date(time_utc.to_pydatetime())
        if date not in weather_of:
            day_rng = np.random.default_rng([seed, site_key, date.toordinal()])
            weather_of[date] = sample_weather(date, site, day_rng)
        return shade(
            town, gbuffer, time_utc, weather_of[date], rng,
            exposure_ev=exposure_ev, white_balance=white_balance,
        )  # fmt: skip

    return frame
