"""Offset bounds beyond the era model: boundary zones and drift blocks (stbench.webcams.clock_bounds).

The crafted streams are clocks the era model gets wrong near what it cannot know: the old
windows (the era model alone, :func:`time_window_s`) gave wrong hour labels there; the new ones
hold the true time, so the label is right or withheld.
"""

import numpy as np
import pandas as pd
import pytest

from stbench.solar import sun_elevation_series
from stbench.spans import span_labels, window_span_labels
from stbench.webcams.clock_bounds import era_spread_min, offset_bounds, window_from_bounds
from stbench.webcams.config import WebcamConfig
from stbench.webcams.index import time_window_s
from stbench.webcams.solarfit import ClockFit, EraFit, fit_clock

LAT, LON = 47.27, 11.40
DAY = 86400.0
CONFIG = WebcamConfig()


def _era(first, stop, offset, sigma=1.0, strong=True, slope=0.0, center=0.0):
    return EraFit(first, stop, offset, slope, center, sigma, 0.95, 20, strong)


def _two_eras(times, split, a_offset=-120.0, b_offset=0.0, b_sigma=1.0):
    eras = [_era(0, split, a_offset), _era(split, len(times), b_offset, sigma=b_sigma)]
    return ClockFit(eras, np.zeros(len(times), dtype=bool))


def test_far_from_a_boundary_the_bounds_are_the_era_model():
    times = np.arange(0, 20 * DAY, 3600.0)
    split = len(times) // 2
    fit = _two_eras(times, split)
    era_of = (np.arange(len(times)) >= split).astype(int)
    bounds = offset_bounds(fit, times, era_of, CONFIG)
    spread = era_spread_min(fit.eras[0], CONFIG)
    assert spread == 3.0  # 3 sigma of 1 min
    assert np.allclose(bounds[0], (-123.0, -117.0))
    assert np.allclose(bounds[-1], (-3.0, 3.0))


def test_near_a_boundary_a_frame_may_have_the_neighbouring_era_offset():
    times = np.arange(0, 20 * DAY, 3600.0)
    split = len(times) // 2
    fit = _two_eras(times, split)
    era_of = (np.arange(len(times)) >= split).astype(int)
    bounds = offset_bounds(fit, times, era_of, CONFIG)
    last_a, first_b = times[split - 1], times[split]
    # half a fitting window (1.5 days) plus the clock's jump (2 h) on either side
    reach = 1.5 * DAY + 2 * 3600.0
    near_b = (era_of == 1) & (times <= first_b + reach)
    near_a = (era_of == 0) & (times >= last_a - reach)
    assert np.allclose(bounds[near_b], (-123.0, 3.0))
    assert np.allclose(bounds[near_a], (-123.0, 3.0))
    beyond = (era_of == 1) & (times > first_b + reach)
    assert np.allclose(bounds[beyond], (-3.0, 3.0))
    assert near_b.sum() == int(reach // 3600) + 1


def test_a_neighbour_without_an_offset_opens_the_whole_search_range():
    times = np.arange(0, 10 * DAY, 3600.0)
    split = len(times) // 2
    fit = _two_eras(times, split, a_offset=float("nan"))
    era_of = (np.arange(len(times)) >= split).astype(int)
    bounds = offset_bounds(fit, times, era_of, CONFIG)
    limit = CONFIG.max_offset_h * 60
    assert np.allclose(bounds[split], (-limit, limit))
    # a weak neighbour's huge sigma is clipped to the searched offsets too
    fit = _two_eras(times, split, b_sigma=700.0)
    bounds = offset_bounds(fit, times, era_of, CONFIG)
    assert bounds[split - 1, 1] == limit and bounds[split - 1, 0] == -limit


def test_window_from_bounds_matches_the_era_window_without_widening():
    era = _era(0, 10, -4.0, sigma=1.0)
    spread = era_spread_min(era, CONFIG)
    # verified era (nothing applied), AMOS delay 600 s
    assert window_from_bounds((-4.0 - spread, -4.0 + spread), 0.0, 600.0) == time_window_s(
        -4.0, era, CONFIG, 600.0
    )
    # a corrected era: applied = offset, residual 0
    assert window_from_bounds((-124.0, -116.0), -120.0, 0.0) == (240.0, 240.0)
    assert window_from_bounds((10.0, 20.0), 0.0, 0.0) == (0.0, 1200.0)


# --- crafted streams through the real fit ------------------------------------------------------


def _stream(days, error_min, fake_days=(), seed=0):
    """Frames every 2 h (grid shifted 40 min a day, +-5 min jitter) from 2019-03-01; names are
    the true time plus ``error_min(day)``; brightness follows the sun at the true time, except
    on ``fake_days`` where it follows the sun at the recorded time (weather or a lamp that looks
    like the next era)."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2019-03-01", tz="UTC").value / 1e9
    true, day_of = [], []
    for day in range(days):
        for k in range(12):
            minute = (day * 40) % 120 + k * 120 + int(rng.integers(-5, 6))
            true.append(start + day * DAY + minute * 60.0)
            day_of.append(day)
    true = np.array(true)
    day_of = np.array(day_of)
    error = np.array([error_min(d) for d in day_of]) * 60.0
    recorded = true + error
    lit = np.where(np.isin(day_of, fake_days), recorded, true)
    elevation = sun_elevation_series(lit, LAT, LON)
    light = np.clip(np.sin(np.radians(elevation)) + 0.05, 0.03, 1.0) * rng.uniform(
        0.8, 1.0, len(lit)
    )
    brightness = light * 200 + rng.normal(0, 2, len(lit))
    order = np.argsort(recorded, kind="stable")
    return recorded[order], brightness[order], true[order]


def _windows(fit, recorded, config, new=True):
    """(timestamp s, early s, late s) of every frame of a strong era, as the indexer sets them
    (no download delay: the names are the camera's own clock)."""
    starts = np.array([e.first for e in fit.eras])
    era_of = np.searchsorted(starts, np.arange(len(recorded)), side="right") - 1
    bounds = offset_bounds(fit, recorded, era_of, config)
    rows = []
    for i, k in enumerate(era_of):
        era = fit.eras[k]
        if not era.strong or fit.boundary[i]:
            continue  # untrusted
        offset = float(era.offset_at(recorded[i]))
        applied = offset if abs(offset) >= max(config.min_correction_min, 3 * era.sigma_min) else 0
        if new:
            early, late = window_from_bounds(bounds[i], applied, 0.0)
        else:
            early, late = time_window_s(offset - applied, era, config, 0.0)
        rows.append((i, recorded[i] + applied * 60.0, early, late))
    return np.array(rows)


def _hour_errors(rows, true):
    index = rows[:, 0].astype(int)
    stamp = pd.Series(pd.to_datetime(rows[:, 1], unit="s", utc=True))
    zero, lat = np.zeros(len(rows)), np.full(len(rows), LAT)
    labels, _ = window_span_labels("hour", stamp, zero, lat, rows[:, 2], rows[:, 3])
    truth = span_labels(
        "hour", pd.Series(pd.to_datetime(true[index], unit="s", utc=True)), zero, lat
    )
    labels = pd.array(labels, dtype="Int64")
    wrong = (labels != pd.array(truth, dtype="Int64")).fillna(False).to_numpy(dtype=bool)
    error = true[index] - rows[:, 1]
    inside = (error >= -rows[:, 2] - 1e-6) & (error <= rows[:, 3] + 1e-6)
    return int(wrong.sum()), int((~labels.isna()).sum()), inside


@pytest.mark.parametrize("fake_day", [19])
def test_a_misplaced_era_boundary_no_longer_gives_wrong_hour_labels(fake_day):
    # a +2 h naming error on days 0-19; on its last day the brightness looks like the next era,
    # so the fit puts the boundary a day early
    recorded, brightness, true = _stream(40, lambda d: 120.0 if d < 20 else 0.0, [fake_day])
    fit = fit_clock(recorded, brightness, LAT, LON, CONFIG)
    assert len(fit.eras) == 2 and all(e.strong for e in fit.eras)
    old_wrong, _, old_inside = _hour_errors(_windows(fit, recorded, CONFIG, new=False), true)
    new_wrong, new_labels, new_inside = _hour_errors(_windows(fit, recorded, CONFIG), true)
    assert old_wrong >= 4 and not old_inside.all()
    assert new_wrong == 0 and new_inside.all()
    assert new_labels >= 0.4 * len(recorded)  # far from the boundary labels stay


def test_a_drift_the_era_model_misses_no_longer_gives_wrong_hour_labels():
    # the clock is right for 70 days, then runs fast by 0.8 min a day (40 min after 50 days)
    recorded, brightness, true = _stream(120, lambda d: 0.8 * max(0, d - 69))
    fit = fit_clock(recorded, brightness, LAT, LON, CONFIG)
    assert all(e.strong for e in fit.eras)
    old_wrong, _, old_inside = _hour_errors(_windows(fit, recorded, CONFIG, new=False), true)
    new_wrong, new_labels, new_inside = _hour_errors(_windows(fit, recorded, CONFIG), true)
    assert old_wrong >= 4 and not old_inside.all()
    assert new_wrong == 0 and new_inside.all()
    assert new_labels >= 0.3 * len(recorded)
