"""A tiny stand-in shading function for webcam pipeline tests (no town, no ray casting)."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pandas as pd

ToySite = namedtuple("ToySite", "name lat lon tz")

TOY_SITES = (
    ToySite("madison", 43.0731, -89.4012, "America/Chicago"),
    ToySite("innsbruck", 47.2692, 11.4041, "Europe/Vienna"),
    ToySite("christchurch", -43.5321, 172.6362, "Pacific/Auckland"),
)


def _sin_elevation(time_utc: pd.Timestamp, lat: float, lon: float) -> float:
    """Sine of the sun's elevation from a textbook approximation (good to a degree or two)."""
    day = time_utc.day_of_year
    declination = np.radians(-23.44) * np.cos(2 * np.pi * (day + 10) / 365.0)
    solar_hours = time_utc.hour + time_utc.minute / 60 + lon / 15.0
    hour_angle = np.radians(15.0 * (solar_hours - 12.0))
    phi = np.radians(lat)
    return float(
        np.sin(phi) * np.sin(declination) + np.cos(phi) * np.cos(declination) * np.cos(hour_angle)
    )


def toy_frame_source(site, site_index, view_index, width, height, seed, times_utc):
    """Frames whose brightness follows the sun and whose ground colour follows the season."""
    rows = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    texture = np.random.default_rng([seed, site_index, view_index]).uniform(
        0.7, 1.0, (height, width, 1)
    )

    def render(time_utc: pd.Timestamp, rng: np.random.Generator) -> np.ndarray:
        light = float(np.clip(_sin_elevation(time_utc, site.lat, site.lon) + 0.05, 0.02, 1.0))
        phase = 2 * np.pi * (time_utc.day_of_year / 365.25 + (0.5 if site.lat < 0 else 0.0))
        green = 0.5 - 0.3 * np.cos(phase)  # greenest in (local) summer
        sky = np.array([0.45, 0.6, 0.9], np.float32)
        ground = np.array([0.45, green, 0.3], np.float32)
        image = np.where(rows < 0.4, sky, ground * texture) * light
        image = image + rng.normal(0, 0.01, image.shape)
        return (np.clip(image, 0, 1) * 255).astype(np.uint8)

    return render
