"""The fast shifted sun elevations give the former clock fit bit for bit (stbench.webcams.shifted_sun)."""

from __future__ import annotations

import numpy as np
import pytest

from stbench.webcams import shifted_sun, solarfit, sunstats
from stbench.webcams.config import WebcamConfig
from stbench.webcams.shifted_sun import ShiftedSun
from stbench.webcams.sunstats import SHAPE_KNOTS, SunStatistics, ramp_shape, sun_table
from tests.webcams.test_solarfit_segments import LAT, LON, faulty_stream


class ReferenceSunStatistics(SunStatistics):
    """The former construction: two ``np.interp`` per frame and offset, in every round."""

    def __init__(self, times_s, brightness, lat, lon, config, shape=None, sun=None) -> None:
        self.shape = ramp_shape(config.ramp_deg) if shape is None else np.asarray(shape)
        self.times_s = np.asarray(times_s, dtype=np.float64)
        self.brightness = np.asarray(brightness, dtype=np.float64)
        self.config = config
        self.memo = {}
        half = round(config.max_offset_h * 60 / config.grid_min)
        self.offsets_min = np.arange(-half, half + 1) * config.grid_min
        grid, elevation = sun_table(self.times_s, lat, lon, config) if sun is None else sun
        solar_day = np.floor((self.times_s + lon / 15.0 * 3600) / 86400).astype(np.int64)
        self.days, self.day_of_frame = np.unique(solar_day, return_inverse=True)
        starts = np.flatnonzero(np.r_[True, np.diff(self.day_of_frame) != 0])
        b = self.brightness
        self.n = np.add.reduceat(np.ones_like(b), starts)
        self.sb = np.add.reduceat(b, starts)
        self.sbb = np.add.reduceat(b * b, starts)
        k, d = len(self.offsets_min), len(self.days)
        self.sg, self.sgg, self.sgb = np.empty((k, d)), np.empty((k, d)), np.empty((k, d))
        for lo in range(0, k, 64):
            shifted = self.times_s[None, :] + self.offsets_min[lo : lo + 64, None] * 60.0
            g = np.interp(np.interp(shifted, grid, elevation), SHAPE_KNOTS, self.shape)
            self.sg[lo : lo + 64] = np.add.reduceat(g, starts, axis=1)
            self.sgg[lo : lo + 64] = np.add.reduceat(g * g, starts, axis=1)
            self.sgb[lo : lo + 64] = np.add.reduceat(g * b[None, :], starts, axis=1)
        self._grid, self._elevation = grid, elevation
        self._sun = (grid, elevation)


def _same_statistics(a: SunStatistics, b: SunStatistics) -> None:
    for name in ("n", "sb", "sbb", "sg", "sgg", "sgb", "days", "offsets_min"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


@pytest.fixture
def compiled(monkeypatch):
    """The compiled day sums for any size (by default only big fits compile them)."""
    monkeypatch.setattr(sunstats, "COMPILED_MIN_VALUES", 0)


@pytest.mark.parametrize("compiled_sums", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_statistics_equal_the_former_construction_bit_for_bit(seed, compiled_sums, monkeypatch):
    monkeypatch.setattr(sunstats, "_compiled_sums", lambda values: compiled_sums)
    config = WebcamConfig()
    times_s, brightness = faulty_stream(60, seed)
    fast = SunStatistics(times_s, brightness, LAT, LON, config)
    assert fast.sun.exact_periodic  # whole seconds: the periodic gathers, not np.interp
    _same_statistics(fast, ReferenceSunStatistics(times_s, brightness, LAT, LON, config))
    # a later round: a learnt (isotonic-like) curve, the shifted elevations reused
    shape = np.clip((SHAPE_KNOTS + 8.0) / 30.0, 0.0, 1.0)
    again = SunStatistics(times_s, brightness, LAT, LON, config, shape, sun=fast.sun)
    reference = ReferenceSunStatistics(times_s, brightness, LAT, LON, config, shape)
    _same_statistics(again, reference)


@pytest.mark.parametrize("seed", [0, 1])
def test_clock_fit_equals_the_former_fit(seed, monkeypatch, compiled):
    config = WebcamConfig()
    times_s, brightness = faulty_stream(90, seed)
    fit = solarfit.fit_clock(times_s, brightness, LAT, LON, config)
    monkeypatch.setattr(solarfit, "SunStatistics", ReferenceSunStatistics)
    expected = solarfit.fit_clock(times_s, brightness, LAT, LON, config)
    assert fit.eras == expected.eras
    assert np.array_equal(fit.boundary, expected.boundary)
    assert len(fit.eras) >= 3  # local time, the offset era and the drift are found


@pytest.mark.parametrize("step_min", [2.0, 3.0, 5.0, 7.0, 0.5, 0.01])
def test_rows_equal_np_interp_for_other_offset_steps(step_min):
    rng = np.random.default_rng(int(step_min * 10))
    times_s = np.sort(1.5e9 + rng.integers(0, 20 * 86400, 300)).astype(np.float64)
    offsets = np.arange(-60, 61) * step_min
    grid = np.arange(times_s.min() - 40000.0, times_s.max() + 40000.0, 300.0)
    elevation = 60 * np.sin(grid / 13751.0) + rng.normal(0, 0.01, len(grid))
    sun = ShiftedSun(times_s, offsets, grid, elevation)
    expected = np.interp(times_s[None, :] + offsets[:, None] * 60.0, grid, elevation)
    assert np.array_equal(sun.rows(0, len(offsets)), expected)
    assert np.array_equal(sun.rows(7, 50), expected[7:50])
    # 0.5 min: 10 offsets per table step; 0.01 min = 0.6 s is not whole: np.interp
    assert sun.exact_periodic == (step_min != 0.01)


def test_fractional_times_fall_back_to_np_interp():
    times_s = np.array([1.5e9 + 0.25, 1.5e9 + 3600.5, 1.5e9 + 7300.75])
    offsets = np.arange(-30, 31) * 2.0
    grid = np.arange(1.5e9 - 5000.0, 1.5e9 + 13000.0, 300.0)
    elevation = np.linspace(-20, 40, len(grid))
    sun = ShiftedSun(times_s, offsets, grid, elevation)
    assert not sun.exact_periodic
    expected = np.interp(times_s[None, :] + offsets[:, None] * 60.0, grid, elevation)
    assert np.array_equal(sun.rows(0, len(offsets)), expected)


def test_a_table_too_short_for_the_offsets_falls_back():
    times_s = np.array([1.5e9, 1.5e9 + 3600.0])
    offsets = np.arange(-30, 31) * 2.0  # +-1 h
    grid = np.arange(1.5e9 - 1200.0, 1.5e9 + 4800.0, 300.0)  # 20 min margin only
    sun = ShiftedSun(times_s, offsets, grid, np.linspace(0, 1, len(grid)))
    assert not sun.exact_periodic


def test_without_the_cache_the_fit_is_the_same(monkeypatch):
    config = WebcamConfig()
    times_s, brightness = faulty_stream(40, 0)
    monkeypatch.setattr(
        sunstats, "_compiled_sums", lambda values: False
    )  # the numpy path keeps rows
    kept = SunStatistics(times_s, brightness, LAT, LON, config)
    assert kept.sun._cache is not None
    monkeypatch.setattr(shifted_sun, "CACHE_BYTES", 0)
    fresh = SunStatistics(times_s, brightness, LAT, LON, config)
    assert fresh.sun._cache is None
    _same_statistics(kept, fresh)


def test_compiled_sums_equal_numpy_with_long_and_short_days(monkeypatch, compiled):
    """Days of 1, < 8, 8-128 and > 128 frames (numpy's pairwise blocks) sum to the same bits."""
    rng = np.random.default_rng(3)
    day0 = 1.5e9 - (1.5e9 % 86400)
    per_day = [1, 5, 24, 130, 288, 600]
    times_s = np.sort(
        np.concatenate(
            [day0 + 86400 * d + np.sort(rng.choice(86000, n, replace=False)) for d, n in
             enumerate(per_day)]
        )
    ).astype(np.float64)  # fmt: skip
    brightness = rng.uniform(0, 255, len(times_s))
    config = WebcamConfig()
    shape = np.clip((SHAPE_KNOTS + 8.0) / 30.0, 0.0, 1.0)
    fast = SunStatistics(times_s, brightness, LAT, 0.0, config, shape)
    assert fast.sun.exact_periodic and fast.sun._cache is None  # compiled: no row cache
    monkeypatch.setattr(sunstats, "_compiled_sums", lambda values: False)
    slow = SunStatistics(times_s, brightness, LAT, 0.0, config, shape)
    assert sorted(slow.n.astype(int)) == sorted(per_day)
    _same_statistics(fast, slow)
