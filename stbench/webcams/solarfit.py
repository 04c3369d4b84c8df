"""The clock of a webcam checked against the sun: offset, uncertainty and eras.

Model: a frame's mean brightness ``b`` follows the sun as ``b ~ a + c * g(elevation(t + delta))``
with ``g(e) = 1 / (1 + exp(-e / ramp_deg))`` (night ~0, day ~1, twilight in between), where ``t``
is the recorded UTC time and ``delta`` the clock offset (true = recorded + delta). For each
``delta`` on a grid (+-``max_offset_h``), ``a`` and ``c`` are the least-squares fit, so the best
``delta`` maximises the Pearson correlation between ``b`` and ``g``. Any mismatch between the true
brightness curve and ``g`` shifts sunrise and sunset in opposite directions, so it cancels in
``delta`` over whole days.

Statistics are kept per *solar day* (local mean solar time, so each day spans one night-day-night)
and per grid offset, so a window of days, an era or a bootstrap resample over days is a weighted
sum of day columns (no refit over frames). Eras: per-day estimates over a sliding window of
``window_days`` are split into eras by an exact optimal partition (L1 cost, a penalty per era;
:func:`optimal_l1_partition`, days x distinct estimates of vectorised work); eras whose offsets
differ by less than ``min_era_shift_min`` are merged; each era is refitted as constant or linear
drift (whichever the window estimates support); era boundaries are refined to the frame by the
split that best explains the brightness on the days around them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from stbench.webcams.config import WebcamConfig
from stbench.webcams.sunstats import SunStatistics, fit_shape, peak

__all__ = ["ClockFit", "EraFit", "column_peaks", "fit_clock", "optimal_l1_partition"]

_SHAPE_MIN_CORR = 0.5  # eras that teach the brightness curve


@dataclass
class EraFit:
    """One era of constant (or linearly drifting) clock offset.

    Attributes:
        first: index of its first frame (frames sorted by recorded time).
        stop: one past its last frame.
        offset_min: offset at the era's centre (minutes; true = recorded + offset).
        slope_min_per_day: drift of the offset (minutes per day), 0 when constant.
        center_s: the time (s since epoch, recorded) where ``offset_min`` holds.
        sigma_min: bootstrap standard deviation of the offset (minutes).
        corr: brightness/model correlation at the optimum.
        n_days: solar days with frames in the era.
        strong: whether the fit is conclusive (correlation and sigma within the config bounds).
    """

    first: int
    stop: int
    offset_min: float
    slope_min_per_day: float
    center_s: float
    sigma_min: float
    corr: float
    n_days: int
    strong: bool

    def offset_at(self, times_s: np.ndarray) -> np.ndarray:
        """The era's offset (minutes) at recorded times (s since epoch)."""
        return (
            self.offset_min + self.slope_min_per_day * (np.asarray(times_s) - self.center_s) / 86400
        )


@dataclass
class ClockFit:
    """The clock model of one camera: eras, and frames whose era is uncertain.

    Attributes:
        eras: eras in time order (covering all fitted frames).
        boundary: (N,) bool, frames between two eras whose side the sun cannot tell.
        stats: the final sun statistics (for :mod:`stbench.webcams.clock_bounds`), or None.
    """

    eras: list[EraFit]
    boundary: np.ndarray
    stats: SunStatistics | None = field(default=None, repr=False, compare=False)


def fit_clock(
    times_s: np.ndarray, brightness: np.ndarray, lat: float, lon: float, config: WebcamConfig
) -> ClockFit | None:
    """Fit the clock of one camera from its frames.

    Args:
        times_s: (N,) recorded UTC times in seconds since the epoch, sorted ascending.
        brightness: (N,) mean grey level of each frame.
        lat: camera latitude (deg).
        lon: camera longitude (deg, east +).
        config: fit parameters.
    Returns:
        The clock fit, or None when there are too few frames to say anything.
    """
    if len(times_s) < max(3, config.min_frames_per_day):
        return None
    stats = SunStatistics(times_s, brightness, lat, lon, config)
    drifting: set[tuple[int, int]] = set()
    for round_ in range(1 + config.shape_rounds):
        window = _window_estimates(stats, config)
        segments = _segments(window, config)
        eras = [_fit_era(stats, lo, hi, window, config, drifting) for lo, hi in segments]
        eras = _merge_close(stats, eras, window, config, drifting)
        # a drift seen under the generic ramp stays a drift: the learnt curve would otherwise
        # absorb part of it (it is learnt under the current clock model)
        drifting |= {(e.first, e.stop) for e in eras if e.slope_min_per_day != 0.0}
        if round_ == config.shape_rounds:
            break
        # learn the camera's brightness curve under the current clock model, then refit
        offsets = _day_offsets(stats, eras)
        strong = np.isfinite(offsets)
        shape = fit_shape(stats.elevation(times_s[strong], offsets[strong]), brightness[strong])
        if shape is None:
            break
        stats = SunStatistics(times_s, brightness, lat, lon, config, shape, sun=stats.sun)
    # eras hold day ranges so far; turn them into frame ranges with refined boundaries
    fit = _frame_eras(stats, eras, config)
    fit.stats = stats  # the time windows measure drift blocks on them (clock_bounds)
    return fit


def _day_offsets(stats: SunStatistics, eras: list[EraFit]) -> np.ndarray:
    """(N,) offset of each frame under day-range eras (nan in weak eras)."""
    offsets = np.full(len(stats.times_s), np.nan)
    for era in eras:
        mask = (stats.day_of_frame >= era.first) & (stats.day_of_frame < era.stop)
        if np.isfinite(era.offset_min) and era.corr >= _SHAPE_MIN_CORR:
            offsets[mask] = era.offset_at(stats.times_s[mask])
    return offsets


def _window_estimates(stats: SunStatistics, config: WebcamConfig) -> np.ndarray:
    """(D,) offset estimated on the window of days centred on each day (nan where weak)."""
    n_days = len(stats.days)
    half = config.window_days // 2
    estimates = np.full(n_days, np.nan)
    # column d sums the days within +-half of day d (a band: sparse, K x D work, not K x D x D)
    lo = np.searchsorted(stats.days, stats.days - half, side="left")
    hi = np.searchsorted(stats.days, stats.days + half, side="right")
    rows = np.concatenate([np.arange(a, b) for a, b in zip(lo, hi, strict=True)])
    cols = np.repeat(np.arange(n_days), hi - lo)
    weights = sp.csc_array((np.ones(len(rows)), (rows, cols)), shape=(n_days, n_days))
    r = stats.corr(weights)  # (K, D)
    offset, best = column_peaks(stats.offsets_min, r)
    with np.errstate(invalid="ignore"):
        keep = (stats.n @ weights >= config.min_frames_per_day) & (best >= config.min_day_corr)
    estimates[keep & np.isfinite(offset)] = offset[keep & np.isfinite(offset)]
    return estimates


def _segments(estimates: np.ndarray, config: WebcamConfig) -> list[tuple[int, int]]:
    """Day ranges [lo, hi) of eras: the exact optimal partition of the window estimates.

    Minimises the sum over eras of the L1 cost (absolute deviations from the era's median) plus a
    penalty of ``min_era_shift_min * min_era_days`` per era, with eras of at least
    ``min_era_days`` valid estimates (see :func:`optimal_l1_partition`, O(days x distinct
    estimates) vectorised work instead of a median per candidate era).
    """
    n_days = len(estimates)
    valid = np.flatnonzero(np.isfinite(estimates))
    values = estimates[valid]
    size = config.min_era_days
    if len(values) < 2 * size:
        return [(0, n_days)]
    cuts = optimal_l1_partition(values, config.min_era_shift_min * size, size)
    # an era's days start halfway between the last valid day of one era and the first of the next
    bounds = [0] + [int(valid[k - 1] + valid[k] + 1) // 2 for k in cuts] + [n_days]
    return [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]


def optimal_l1_partition(values: np.ndarray, penalty: float, min_size: int) -> list[int]:
    """Cut points of the partition of ``values`` minimising sum(L1 cost) + penalty x segments.

    The L1 cost of a segment is ``sum |x - median|``, and the median can be taken among the
    segment's own values, so ``cost(i, j) = min over c in values of sum_{i<=k<j} |x_k - c|``. The
    inner minimum is then a dynamic programme over (end, c), one vectorised step per value::

        M[t, c] = min(M[t-1, c] + |x_{t-1} - c|, F[t])       best start <= t, level c
        F[j]    = min_c (M[j - min_size, c] + sum_{j-min_size<=k<j} |x_k - c|) + penalty

    exact like optimal partitioning (ties go to the earliest start), in O(n x distinct values)
    array work (n Python steps) instead of a median for each of the O(n^2) candidate segments. Segments have at least ``min_size`` values.

    Args:
        values: (n,) finite values in order.
        penalty: cost of each segment (> 0 keeps segments few).
        min_size: minimum segment length (>= 1).
    Returns:
        Sorted cut indices k (a segment starts at values[k]); [] for one segment.
    """
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    if n < 2 * min_size:
        return []
    levels = np.unique(x)
    dev = np.abs(x[:, None] - levels[None, :])  # (n, L) |x_k - c|
    best = np.full(n + 1, np.inf)  # F: best cost of values[:j] ending with a cut at j
    best[0] = -penalty
    start = np.zeros(n + 1, dtype=np.int64)
    reach = np.full(len(levels), best[0])  # M[t, c] for t = j - min_size
    reach_start = np.zeros(len(levels), dtype=np.int64)
    window = dev[:min_size].sum(axis=0)  # sum over the last min_size values before j
    for j in range(min_size, n + 1):
        t = j - min_size
        if t > 0:
            reach = reach + dev[t - 1]
            better = best[t] < reach
            reach = np.where(better, best[t], reach)
            reach_start = np.where(better, t, reach_start)
            window = dev[t:j].sum(axis=0)
        totals = reach + window
        lowest = totals.min()
        best[j] = lowest + penalty
        start[j] = reach_start[totals == lowest].min()
    cuts = []
    j = n
    while j > 0:
        j = int(start[j])
        if j > 0:
            cuts.append(j)
    return sorted(cuts)


def _fit_era(
    stats: SunStatistics,
    lo: int,
    hi: int,
    window: np.ndarray,
    config: WebcamConfig,
    drifting: set[tuple[int, int]] = frozenset(),  # type: ignore[assignment]
) -> EraFit:
    """Fit one era over days [lo, hi): constant offset, or linear drift if the days show one."""
    offset, corr = peak(stats.offsets_min, stats.corr_range(lo, hi))
    day_s = (stats.days[lo:hi].astype(np.float64) + 0.5) * 86400.0
    center = float(np.average(day_s, weights=stats.n[lo:hi]))
    slope = 0.0
    drift = _drift(stats, lo, hi, config, (lo, hi) in drifting) if np.isfinite(offset) else None
    if drift is not None:
        slope, offset = drift[0], drift[1] + drift[0] * (center - drift[2]) / 86400.0
    sigma = _bootstrap_sigma(stats, lo, hi, config)
    strong = bool(
        np.isfinite(offset) and corr >= config.min_fit_corr and sigma <= config.max_fit_sigma_min
    )
    return EraFit(lo, hi, float(offset), slope, center, sigma, float(corr), hi - lo, strong)


def _drift(stats: SunStatistics, lo: int, hi: int, config: WebcamConfig, known: bool = False):
    """(slope min/day, offset at t0, t0 s) when the era's two halves differ significantly
    (or, if ``known``, whenever both halves have an estimate)."""
    days = np.arange(lo, hi)[stats.n[lo:hi] > 0]
    if len(days) < 2 * config.min_era_days:
        return None
    halves = (days[: len(days) // 2], days[len(days) // 2 :])
    fits = []
    for half in halves:
        # the days between the half's first and last have no frames, hence zero sums
        offset, _ = peak(stats.offsets_min, stats.corr_range(int(half[0]), int(half[-1]) + 1))
        center = float(np.average((stats.days[half] + 0.5) * 86400.0, weights=stats.n[half]))
        fits.append((offset, center))
    (o1, c1), (o2, c2) = fits
    change = o2 - o1
    if not np.isfinite(change) or not (known or abs(change) >= config.min_drift_min):
        return None  # (a change below min_drift_min is never significant: no bootstrap needed)
    s1, s2 = (_bootstrap_sigma(stats, int(h[0]), int(h[-1]) + 1, config) for h in halves)
    if not (np.isfinite(s1) and np.isfinite(s2)):
        return None
    significant = abs(change) >= config.min_drift_min and abs(change) > 2 * np.hypot(s1, s2)
    if not (significant or known):
        return None
    slope = change / ((c2 - c1) / 86400.0)
    return float(slope), float(o1), c1


def _bootstrap_sigma(stats: SunStatistics, lo: int, hi: int, config: WebcamConfig) -> float:
    days = np.arange(lo, hi)
    days = days[stats.n[days] > 0]
    if len(days) < 2:
        return float("inf")
    key = (lo, hi)
    if key in stats.memo:  # eras are refitted while merging: the same days recur
        return stats.memo[key]
    rng = np.random.default_rng(config.seed)
    counts = rng.multinomial(len(days), np.full(len(days), 1.0 / len(days)), size=config.bootstrap)
    r = stats.corr(counts.T.astype(np.float64), days=days)  # only the era's days weigh
    peaks, _ = column_peaks(stats.offsets_min, r)
    peaks = peaks[np.isfinite(peaks)]
    sigma = float("inf") if len(peaks) < config.bootstrap // 2 else float(np.std(peaks))
    stats.memo[key] = sigma if sigma == float("inf") else max(sigma, config.grid_min / 4)
    return stats.memo[key]


def column_peaks(offsets: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~stbench.webcams.sunstats.peak` of every column of ``r`` (K, M) at once:
    (M,) refined offsets and (M,) maxima, nan for all-nan columns."""
    k, m = r.shape
    empty = np.all(np.isnan(r), axis=0)
    i = np.argmax(np.where(np.isnan(r), -np.inf, r), axis=0)
    cols = np.arange(m)
    best = offsets[i].astype(np.float64)
    top = r[i, cols]
    inner = (i > 0) & (i < k - 1)
    left = r[np.maximum(i - 1, 0), cols]
    right = r[np.minimum(i + 1, k - 1), cols]
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = left - 2 * top + right
        step = np.clip(0.5 * (left - right) / denom, -0.5, 0.5) * (offsets[1] - offsets[0])
    refine = inner & np.isfinite(left) & np.isfinite(right) & (denom < 0)
    best = np.where(refine, best + step, best)
    return np.where(empty, np.nan, best), np.where(empty, np.nan, top)


def _merge_close(
    stats: SunStatistics,
    eras: list[EraFit],
    window: np.ndarray,
    config: WebcamConfig,
    drifting: set[tuple[int, int]] = frozenset(),  # type: ignore[assignment]
) -> list[EraFit]:
    """Merge neighbouring eras whose fitted offsets differ by less than min_era_shift_min, and
    short inconclusive eras (a transition smeared by the estimation windows) into the neighbour
    with the closest offset."""
    merged = True
    while merged and len(eras) > 1:
        merged = False
        for i in range(len(eras) - 1):
            a, b = eras[i], eras[i + 1]
            diff = abs(a.offset_at(b.center_s) - b.offset_at(b.center_s))
            if not diff >= config.min_era_shift_min:  # also merges eras without an estimate
                eras[i : i + 2] = [_fit_era(stats, a.first, b.stop, window, config, drifting)]
                merged = True
                break
        if merged:
            continue
        for i, era in enumerate(eras):
            if era.strong or era.n_days > 2 * config.min_era_days:
                continue
            neighbours = [j for j in (i - 1, i + 1) if 0 <= j < len(eras)]
            j = min(neighbours, key=lambda k: abs(eras[k].offset_min - era.offset_min))
            lo, hi = min(i, j), max(i, j)
            eras[lo : hi + 1] = [
                _fit_era(stats, eras[lo].first, eras[hi].stop, window, config, drifting)
            ]
            merged = True
            break
    return eras


def _frame_eras(stats: SunStatistics, eras: list[EraFit], config: WebcamConfig) -> ClockFit:
    """Turn day-range eras into frame-range eras, splitting boundary days at the best frame."""
    n_frames = len(stats.times_s)
    day = stats.day_of_frame
    boundary = np.zeros(n_frames, dtype=bool)
    firsts = [0]
    for a, b in itertools.pairwise(eras):
        # frames of the days around the cut may belong to either era
        reach = config.window_days // 2 + 1
        window = np.flatnonzero((day >= b.first - reach) & (day < b.first + reach))
        split, uncertain = _best_split(stats, window, a, b)
        firsts.append(split)
        boundary[uncertain] = True
    firsts.append(n_frames)
    out = []
    for era, lo, hi in zip(eras, firsts[:-1], firsts[1:], strict=True):
        out.append(
            EraFit(lo, hi, era.offset_min, era.slope_min_per_day, era.center_s, era.sigma_min,
                   era.corr, era.n_days, era.strong)
        )  # fmt: skip
    return ClockFit(out, boundary)


def _best_split(
    stats: SunStatistics, frames: np.ndarray, a: EraFit, b: EraFit
) -> tuple[int, np.ndarray]:
    """First frame of era b among ``frames`` and the frames whose side is not clear."""
    if len(frames) == 0:
        return int(np.searchsorted(stats.day_of_frame, b.first)), frames
    t = stats.times_s[frames]
    y = stats.brightness[frames]
    predicted, contrast = [], []
    for era in (a, b):
        g_all = stats.model(stats.times_s, era.offset_at(stats.times_s))
        coef = np.polyfit(g_all, stats.brightness, 1)
        predicted.append(np.polyval(coef, stats.model(t, era.offset_at(t))))
        contrast.append(abs(coef[0]))
    evidence = (y - predicted[1]) ** 2 - (y - predicted[0]) ** 2  # > 0: era a fits better
    cost = np.r_[0.0, np.cumsum(-evidence)]  # cost of putting frames[:k] in a (relative)
    k = int(np.argmin(cost))
    split = int(frames[0]) + k
    # a frame tells the side only where one era predicts day and the other night (not e.g. a
    # high sun vs a lower sun, which weather can fake) and it clearly sides with one of them
    scale = float(np.mean(contrast))
    decisive = np.abs(predicted[0] - predicted[1]) > 0.3 * scale
    threshold = (0.25 * scale) ** 2
    clear_a = np.flatnonzero(decisive[:k] & (evidence[:k] > threshold))
    clear_b = np.flatnonzero(decisive[k:] & (evidence[k:] < -threshold)) + k
    lo = clear_a[-1] + 1 if len(clear_a) else 0
    hi = clear_b[0] if len(clear_b) else len(frames)
    return split, frames[lo:hi]
