"""Solar position (NREL SPA through pvlib) for the renderer and the clock check."""

from __future__ import annotations

import numpy as np
import pandas as pd


def sun_position(times_utc, lat: float, lon: float) -> tuple[np.ndarray, np.ndarray]:
    """Sun elevation and azimuth in degrees for UTC times at one place.

    Uses NREL's Solar Position Algorithm (Reda & Andreas 2004, +-0.0003 deg) as pvlib implements
    it; the elevation is geometric (no refraction).

    Args:
        times_utc: (N,) timestamps (tz-aware, or naive meaning UTC), or one timestamp.
        lat: latitude in degrees, north positive.
        lon: longitude in degrees, east positive.
    Returns:
        elevation (N,) and azimuth (N,) in degrees; azimuth clockwise from north.
    """
    from pvlib.solarposition import get_solarposition

    index = pd.DatetimeIndex(pd.to_datetime(np.atleast_1d(times_utc), utc=True))
    position = get_solarposition(index, lat, lon, method="nrel_numpy")
    return position["elevation"].to_numpy(), position["azimuth"].to_numpy()


def sun_direction(elevation_deg: np.ndarray, azimuth_deg: np.ndarray) -> np.ndarray:
    """Unit vectors towards the sun in a local East-North-Up frame, shape (N, 3)."""
    elevation = np.radians(np.asarray(elevation_deg, dtype=np.float64))
    azimuth = np.radians(np.asarray(azimuth_deg, dtype=np.float64))
    return np.stack(
        [
            np.cos(elevation) * np.sin(azimuth),
            np.cos(elevation) * np.cos(azimuth),
            np.sin(elevation),
        ],
        axis=-1,
    )
