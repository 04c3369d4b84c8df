"""Era segmentation of the clock fit: the fast exact partition equals the quadratic original."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from stbench.solar import sun_position
from stbench.synth.webcam_faults import Scenario, StreamSpec, plan_stream
from stbench.webcams.config import WebcamConfig
from stbench.webcams.solarfit import (
    _segments,
    _window_estimates,
    column_peaks,
    optimal_l1_partition,
)
from stbench.webcams.sunstats import SunStatistics, peak, sun_table

LAT, LON = 47.27, 11.40


def reference_partition(values: np.ndarray, penalty: float, size: int) -> list[int]:
    """The former implementation: optimal partitioning with a median per candidate segment."""
    m = len(values)
    if m < 2 * size:
        return []
    best = np.full(m + 1, np.inf)
    best[0] = -penalty
    start = np.zeros(m + 1, dtype=np.int64)
    for j in range(size, m + 1):
        for i in range(0, j - size + 1):
            if not np.isfinite(best[i]):
                continue
            segment = values[i:j]
            cost = best[i] + float(np.abs(segment - np.median(segment)).sum()) + penalty
            if cost < best[j]:
                best[j], start[j] = cost, i
    cuts, j = [], m
    while j > 0:
        j = int(start[j])
        if j > 0:
            cuts.append(j)
    return sorted(cuts)


def test_hand_computed_two_levels():
    values = np.array([0.0, 0.0, 0.0, 60.0, 60.0, 60.0])
    # one segment costs 180 + 60; two cost 0 + 0 + 2 x 60
    assert optimal_l1_partition(values, penalty=60.0, min_size=2) == [3]
    assert optimal_l1_partition(values, penalty=200.0, min_size=2) == []
    assert optimal_l1_partition(values, penalty=1.0, min_size=4) == []  # 2 x 4 > 6 values


@pytest.mark.parametrize("seed", range(12))
def test_random_piecewise_series_match_the_reference(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(10, 90))
    levels = rng.choice([0.0, 30.0, 60.0, -120.0, 45.0], size=int(rng.integers(1, 5)))
    edges = np.sort(rng.choice(np.arange(1, n), size=len(levels) - 1, replace=False))
    truth = np.repeat(levels, np.diff(np.r_[0, edges, n]))
    noise = rng.normal(0, rng.choice([0.5, 5.0, 20.0]), n)
    values = truth + (np.round(noise) if seed % 2 else noise)  # odd seeds: ties
    for size in (1, 2, 5):
        for penalty in (10.0, 60.0, 300.0):
            expected = reference_partition(values, penalty, size)
            assert optimal_l1_partition(values, penalty, size) == expected


def faulty_stream(days: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Hourly frames with local-time naming, an offset era, a drift and gaps (webcam_faults)."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2018-01-01", tz="UTC")
    scenario = Scenario(
        local_time_until=0.3, clock_offset=(0.5, 0.7, 7200), clock_drift=(0.75, 1.0, 3600), gaps=1
    )
    spec = StreamSpec("00000007", "Europe/Vienna", start, start + pd.Timedelta(days=days), 60, 7,
                      scenario)  # fmt: skip
    frames, _ = plan_stream(spec, rng)
    capture = pd.DatetimeIndex([f.capture_utc for f in frames])
    recorded = pd.DatetimeIndex([f.name_time for f in frames]).tz_localize("UTC")
    elevation, _ = sun_position(capture, LAT, LON)
    light = np.clip(np.sin(np.radians(elevation)) + 0.05, 0.03, 1.0) * rng.uniform(
        0.5, 1, len(capture)
    )
    times_s = recorded.as_unit("s").asi8.astype(np.float64)
    order = np.argsort(times_s, kind="stable")
    return times_s[order], (255 * light)[order]


@pytest.mark.parametrize("seed", [0, 1])
def test_eras_of_a_faulty_stream_match_the_reference(seed):
    config = WebcamConfig()
    times_s, brightness = faulty_stream(80, seed)
    stats = SunStatistics(times_s, brightness, LAT, LON, config)
    estimates = _window_estimates(stats, config)
    assert np.isfinite(estimates).sum() > 40
    valid = np.flatnonzero(np.isfinite(estimates))
    cuts = reference_partition(estimates[valid], config.min_era_shift_min * config.min_era_days,
                               config.min_era_days)  # fmt: skip
    bounds = [0] + [int(valid[k - 1] + valid[k] + 1) // 2 for k in cuts] + [len(estimates)]
    assert _segments(estimates, config) == list(itertools.pairwise(bounds))
    assert len(cuts) >= 2  # the local-time era and the offset era are separate eras


def test_column_peaks_equal_peak_per_column():
    rng = np.random.default_rng(3)
    offsets = np.arange(-20, 21) * 2.0
    r = rng.normal(size=(41, 30))
    r[:, 4] = np.nan
    r[0, 5] = 9.0  # maximum on the border: no refinement
    r[17, 6] = np.nan
    r[18, 6] = 9.0  # a nan neighbour: no refinement
    best, top = column_peaks(offsets, r)
    for m in range(r.shape[1]):
        expected = peak(offsets, r[:, m])
        np.testing.assert_allclose([best[m], top[m]], expected, equal_nan=True)


def test_sun_table_is_spa_every_five_minutes():
    config = WebcamConfig()
    times_s = np.array([1.5e9, 1.5e9 + 2 * 86400])
    grid, elevation = sun_table(times_s, LAT, LON, config)
    assert np.all(np.diff(grid) == 300.0)
    assert grid[0] <= times_s[0] - config.max_offset_h * 3600
    assert grid[-1] >= times_s[-1] + config.max_offset_h * 3600
    pick = np.arange(0, len(grid), 37)
    spa, _ = sun_position(grid[pick].astype("datetime64[s]"), LAT, LON)
    # SPA with its slow terms interpolated hourly (stbench.solar.sun_elevation_series)
    np.testing.assert_allclose(elevation[pick], spa, rtol=0, atol=1e-5)
