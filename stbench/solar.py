"""Solar position (NREL SPA through pvlib) for the renderer and the clock check."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["sun_direction", "sun_elevation_series", "sun_position"]


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


#: Seconds between the instants where SPA's slowly varying terms are computed in full.
_SLOW_TERMS_STEP_S = 3600.0
#: Delta T (TT - UT, s) that pvlib's SPA uses by default, kept so both paths agree.
_DELTA_T_S = 67.0


def sun_elevation_series(times_s: np.ndarray, lat: float, lon: float) -> np.ndarray:
    """Geometric sun elevation (deg) at many times, as :func:`sun_position` but much faster.

    The terms of NREL's SPA that change slowly (the sun's geocentric right ascension and
    declination, the nutation part of sidereal time, the parallax from the Earth-Sun distance)
    are computed in full every hour and interpolated linearly; the fast terms (mean sidereal
    time, hour angle, topocentric parallax, elevation) are computed at every time. Over 2015-2020
    at 5-min steps it differs from the full SPA by less than 1e-5 deg (tested), two orders of
    magnitude below SPA's own stated uncertainty (3e-4 deg).

    Args:
        times_s: (N,) UTC times in seconds since the epoch (float).
        lat: latitude in degrees, north positive.
        lon: longitude in degrees, east positive.
    Returns:
        (N,) elevation in degrees, without refraction.
    """
    from pvlib import spa

    times_s = np.asarray(times_s, dtype=np.float64)
    step = _SLOW_TERMS_STEP_S
    nodes = np.arange(np.floor(times_s.min() / step) - 1, np.ceil(times_s.max() / step) + 2) * step
    jd = spa.julian_day(nodes)
    jce = spa.julian_ephemeris_century(spa.julian_ephemeris_day(jd, _DELTA_T_S))
    jme = spa.julian_ephemeris_millennium(jce)
    radius = spa.heliocentric_radius_vector(jme)
    beta = spa.geocentric_latitude(spa.heliocentric_latitude(jme))
    args = [
        f(jce)
        for f in (
            spa.mean_elongation,
            spa.mean_anomaly_sun,
            spa.mean_anomaly_moon,
            spa.moon_argument_latitude,
            spa.moon_ascending_longitude,
        )
    ]
    nutation = np.empty((2, len(nodes)))
    spa.longitude_obliquity_nutation(jce, *args, nutation)
    epsilon = spa.true_ecliptic_obliquity(spa.mean_ecliptic_obliquity(jme), nutation[1])
    longitude = spa.apparent_sun_longitude(
        spa.geocentric_longitude(spa.heliocentric_longitude(jme)),
        nutation[0],
        spa.aberration_correction(radius),
    )
    alpha = spa.geocentric_sun_right_ascension(longitude, epsilon, beta)
    slow = {
        "alpha": np.degrees(np.unwrap(np.radians(alpha))),  # no 360 -> 0 jump to interpolate
        "delta": spa.geocentric_sun_declination(longitude, epsilon, beta),
        "nutation_in_sidereal_time": nutation[0] * np.cos(np.radians(epsilon)),
        "parallax": spa.equatorial_horizontal_parallax(radius),
    }
    at = {name: np.interp(times_s, nodes, values) for name, values in slow.items()}
    jd_t = spa.julian_day(times_s)
    sidereal = spa.mean_sidereal_time(jd_t, spa.julian_century(jd_t))
    hour_angle = (sidereal + at["nutation_in_sidereal_time"] + lon - at["alpha"]) % 360
    u = spa.uterm(lat)
    x, y = spa.xterm(u, lat, 0.0), spa.yterm(u, lat, 0.0)
    delta_alpha = spa.parallax_sun_right_ascension(x, at["parallax"], hour_angle, at["delta"])
    delta_prime = spa.topocentric_sun_declination(
        at["delta"], x, y, at["parallax"], delta_alpha, hour_angle
    )
    hour_angle_prime = spa.topocentric_local_hour_angle(hour_angle, delta_alpha)
    return spa.topocentric_elevation_angle_without_atmosphere(lat, delta_prime, hour_angle_prime)
