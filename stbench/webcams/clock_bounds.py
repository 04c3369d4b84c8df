"""What the clock fit cannot know: per-frame bounds of a webcam clock's offset.

:func:`~stbench.webcams.solarfit.fit_clock` gives each frame the offset of its era's model
(constant or linear), known to ``window_sigmas`` bootstrap standard deviations. Two things that
model cannot see, so a frame's time window must cover them (``docs/timestamps.md``):

* **Where an era boundary lies.** Eras are found from offset estimates pooled over
  ``window_days`` days, then the cut is refined to the frame by brightness, which weather can
  fake (a dark overcast noon looks like night). So a frame within half a fitting window of a
  fitted boundary may belong to the neighbouring era. Where the clock jumped back, the recorded
  times of the two eras also overlap by the jump (a frame of the new era may be recorded before
  the last frame of the old one). Such a frame's offset may be the neighbour's.
* **Drift inside an era.** An era fitted as constant (or linear) can hide a slow drift: its two
  halves may differ by less than ``min_drift_min``, or the drift may start midway. The era's days
  are cut into blocks of ``drift_block_days`` days with frames; each block's own offset and
  bootstrap sigma are measured like an era's; a block whose offset differs from the era's model
  by more than ``window_sigmas`` times their combined sigma shows a drift the model misses, and
  its frames and those of its neighbouring blocks (a drift seen in one block runs on into the
  next) may have the block's offset.

Every width comes from the fit itself (its eras, bootstrap sigmas and resolution), never from
knowledge of the faults.
"""

from __future__ import annotations

import itertools

import numpy as np

from stbench.webcams.config import WebcamConfig
from stbench.webcams.solarfit import ClockFit, EraFit, _bootstrap_sigma
from stbench.webcams.sunstats import peak

__all__ = ["era_spread_min", "offset_bounds", "window_from_bounds"]


def era_spread_min(era: EraFit, config: WebcamConfig) -> float:
    """How far (minutes) the clock offset may lie from the era's model: ``window_sigmas``
    bootstrap sigmas (the config's ``max_fit_sigma_min`` if unknown) plus, in a drifting era,
    the drift over half a fitting window."""
    sigma = era.sigma_min if np.isfinite(era.sigma_min) else config.max_fit_sigma_min
    drift = abs(era.slope_min_per_day) * config.window_days / 2.0
    return float(config.window_sigmas * sigma + drift)


def offset_bounds(
    fit: ClockFit, times_s: np.ndarray, era_of_frame: np.ndarray, config: WebcamConfig
) -> np.ndarray:
    """(N, 2) lowest and highest clock offset (minutes, true = recorded + offset) of each frame.

    Args:
        fit: the camera's clock fit (``fit.stats`` set by :func:`fit_clock` enables the drift
            blocks; without it only the era model and the boundary zones count).
        times_s: (N,) recorded times (s since epoch) of the frames to bound.
        era_of_frame: (N,) index into ``fit.eras`` of each frame's era.
        config: the fit's parameters.
    Returns:
        The era's model +- :func:`era_spread_min`, widened to the neighbouring era's offsets in
        a boundary zone and to a deviating drift block's offsets, clipped to the searched range
        +-``max_offset_h``.
    """
    times_s = np.asarray(times_s, dtype=np.float64)
    era_of_frame = np.asarray(era_of_frame, dtype=np.int64)
    bounds = np.empty((len(times_s), 2))
    for k, era in enumerate(fit.eras):
        mine = era_of_frame == k
        centre = era.offset_at(times_s[mine])
        spread = era_spread_min(era, config)
        bounds[mine, 0], bounds[mine, 1] = centre - spread, centre + spread
    _widen_near_boundaries(bounds, fit, times_s, era_of_frame, config)
    if getattr(fit, "stats", None) is not None:
        _widen_for_drift(bounds, fit, times_s, era_of_frame, config)
    limit = config.max_offset_h * 60.0
    finite = np.isfinite(bounds)
    bounds[:, 0] = np.where(finite[:, 0], np.clip(bounds[:, 0], -limit, limit), -limit)
    bounds[:, 1] = np.where(finite[:, 1], np.clip(bounds[:, 1], -limit, limit), limit)
    return bounds


def window_from_bounds(
    bounds_min: tuple[float, float], applied_min: float, delay_s: float
) -> tuple[float, float]:
    """(early, late) seconds of a frame's time window from its offset bounds.

    The sun measures the clock error minus the mean download delay; the delay d of a frame and
    the mean both lie in [0, D]. With the offset in [lo, hi] and ``applied_min`` applied,
    true - timestamp lies in [lo - applied - D, hi - applied + D].
    """
    lo, hi = bounds_min
    early = max(0.0, 60.0 * (applied_min - lo) + delay_s)
    late = max(0.0, 60.0 * (hi - applied_min) + delay_s)
    return early, late


def _hull(bounds: np.ndarray, rows: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
    bounds[rows, 0] = np.fmin(bounds[rows, 0], lo)
    bounds[rows, 1] = np.fmax(bounds[rows, 1], hi)


def _widen_near_boundaries(bounds, fit: ClockFit, times_s, era_of_frame, config) -> None:
    """Frames within half a fitting window (plus the clock's jump) of a fitted era boundary may
    have the neighbouring era's offset."""
    half_window_s = config.window_days / 2.0 * 86400.0
    era_times = [times_s[era_of_frame == k] for k in range(len(fit.eras))]
    for k, (a, b) in enumerate(itertools.pairwise(fit.eras)):
        if len(era_times[k]) == 0 or len(era_times[k + 1]) == 0:
            continue
        last_a, first_b = float(era_times[k].max()), float(era_times[k + 1].min())
        jump_min = abs(float(a.offset_at(last_a) - b.offset_at(first_b)))
        if not np.isfinite(jump_min):  # an era without an offset: any jump in the searched range
            jump_min = 2.0 * config.max_offset_h * 60.0
        reach = half_window_s + 60.0 * jump_min
        # the boundary lies somewhere in [last_a, first_b] (a gap without frames included)
        zones = ((k, b, times_s >= last_a - reach), (k + 1, a, times_s <= first_b + reach))
        for own, other, near in zones:
            rows = np.flatnonzero((era_of_frame == own) & near)
            if len(rows) == 0:
                continue
            centre = other.offset_at(times_s[rows])
            spread = era_spread_min(other, config)
            limit = config.max_offset_h * 60.0  # no offset: any in the searched range
            lo = np.where(np.isfinite(centre), centre - spread, -limit)
            hi = np.where(np.isfinite(centre), centre + spread, limit)
            _hull(bounds, rows, lo, hi)


def _widen_for_drift(bounds, fit: ClockFit, times_s, era_of_frame, config) -> None:
    """Blocks of an era whose own offset departs from the era's model: the frames of such a block
    and of its neighbouring blocks may have the block's offset, or the offset on the line through
    the block estimates (a drift runs on inside a block: its frames are not all at its mean)."""
    stats = fit.stats
    for k, era in enumerate(fit.eras):
        blocks = _era_blocks(stats, era, config)
        if blocks is None:
            continue
        starts_s, centres_s, offsets, sigmas, deviates = blocks
        if not deviates.any():
            continue
        mine = np.flatnonzero(era_of_frame == k)
        block_of = np.searchsorted(starts_s[1:], times_s[mine], side="right")
        known = np.isfinite(offsets)
        trend = _line_through(centres_s[known], offsets[known], times_s[mine])
        for j in np.flatnonzero(deviates):
            near = np.abs(block_of - j) <= 1
            rows = mine[near]
            spread = config.window_sigmas * sigmas[j]
            lo = np.fmin(offsets[j], trend[near]) - spread
            hi = np.fmax(offsets[j], trend[near]) + spread
            _hull(bounds, rows, lo, hi)


def _era_blocks(stats, era: EraFit, config: WebcamConfig):
    """Per block of ``drift_block_days`` days with frames of the era only: (start s, centre s,
    offset min, bootstrap sigma min, deviates from the era's model), or None for < 2 blocks."""
    if not np.isfinite(era.offset_min):
        return None
    day = stats.day_of_frame
    size = config.drift_block_days
    own = np.unique(day[era.first : era.stop])
    shared = np.unique(np.r_[day[: era.first], day[era.stop :]])
    own = own[~np.isin(own, shared)]  # days with frames of this era only
    if len(own) < 2 * size:
        return None  # one block would be the era itself
    blocks = [own[i : i + size] for i in range(0, len(own), size)]
    if len(blocks[-1]) < size // 2:
        blocks[-2:] = [np.r_[blocks[-2], blocks[-1]]]
    era_sigma = era.sigma_min if np.isfinite(era.sigma_min) else config.max_fit_sigma_min
    rows = []
    for block in blocks:
        lo, hi = int(block[0]), int(block[-1]) + 1
        weights = np.zeros(len(stats.days))
        weights[lo:hi] = 1.0
        offset, _ = peak(stats.offsets_min, stats.corr(weights))
        sigma = _bootstrap_sigma(stats, lo, hi, config)
        day_s = (stats.days[lo:hi] + 0.5) * 86400.0
        centre_s = float(np.average(day_s, weights=stats.n[lo:hi]))
        gap = abs(offset - float(era.offset_at(centre_s)))
        deviates = bool(
            np.isfinite(offset)
            and np.isfinite(sigma)
            and gap > config.window_sigmas * np.hypot(sigma, era_sigma)
        )
        start_s = float(stats.times_s[np.searchsorted(day, lo)])
        rows.append((start_s, centre_s, float(offset), float(sigma), deviates))
    starts_s, centres_s, offsets, sigmas, deviates = (np.array(c) for c in zip(*rows, strict=True))
    return starts_s, centres_s, offsets, sigmas, deviates.astype(bool)


def _line_through(x: np.ndarray, y: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Piecewise-linear interpolation of (x, y) at ``at``, extrapolated along the end segments
    (nan with fewer than 2 points)."""
    if len(x) < 2:
        return np.full(len(at), np.nan)
    out = np.interp(at, x, y)
    before, after = at < x[0], at > x[-1]
    out[before] = y[0] + (at[before] - x[0]) * (y[1] - y[0]) / (x[1] - x[0])
    out[after] = y[-1] + (at[after] - x[-1]) * (y[-1] - y[-2]) / (x[-1] - x[-2])
    return out
