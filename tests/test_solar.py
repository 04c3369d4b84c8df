import numpy as np
import pandas as pd
import pytest

from stbench.solar import sun_direction, sun_elevation_series, sun_position


def test_noon_elevation_matches_declination_formula():
    # At solar noon on the June solstice, elevation = 90 - |lat - 23.44| (within the SPA's
    # difference to this textbook approximation, a few tenths of a degree).
    times = pd.date_range("2021-06-21 11:00", "2021-06-21 13:00", freq="1min", tz="UTC")
    elevation, _ = sun_position(times, 48.85, 0.0)
    assert abs(elevation.max() - (90 - (48.85 - 23.44))) < 0.3


def test_southern_hemisphere_sun_is_north_at_noon():
    elevation, azimuth = sun_position(pd.Timestamp("2021-06-21 02:00", tz="UTC"), -33.87, 151.21)
    assert 0 < elevation[0] < 40
    assert azimuth[0] < 30 or azimuth[0] > 330


def test_direction_is_unit_east_north_up():
    direction = sun_direction(np.array([0.0, 90.0]), np.array([90.0, 0.0]))
    np.testing.assert_allclose(direction, [[1, 0, 0], [0, 0, 1]], atol=1e-12)


@pytest.mark.parametrize(
    "lat, lon", [(47.27, 11.40), (-43.53, 172.64), (64.1, -21.9), (0.3, -78.5)]
)
def test_fast_elevation_series_agrees_with_full_spa(lat, lon):
    # two years at 37-min steps (not a multiple of the hourly nodes of the slow terms)
    times = np.arange(1.45e9, 1.45e9 + 2 * 365 * 86400, 37 * 60.0)
    full, _ = sun_position(times.astype("datetime64[s]"), lat, lon)
    fast = sun_elevation_series(times, lat, lon)
    assert np.abs(fast - full).max() < 1e-5
