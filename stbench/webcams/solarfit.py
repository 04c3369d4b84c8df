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
``window_days`` are segmented by binary segmentation (L1 cost) into eras whose offsets differ by at
least ``min_era_shift_min``; each era is refitted as constant or linear drift (whichever the window
estimates support); era boundaries are refined to the frame by the split that best explains the
brightness on the days around them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from stbench.webcams.config import WebcamConfig

_SUN_STEP_S = 300.0  # solar elevation is tabulated every 5 min and interpolated
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
    """

    eras: list[EraFit]
    boundary: np.ndarray


#: Elevation knots (deg) of the camera's brightness curve.
SHAPE_KNOTS = np.r_[-90.0, np.arange(-18.0, 20.0, 2.0), np.arange(20.0, 91.0, 5.0)]


def ramp_shape(width_deg: float) -> np.ndarray:
    """The initial brightness curve at :data:`SHAPE_KNOTS`: a logistic ramp across twilight."""
    return 1.0 / (1.0 + np.exp(-SHAPE_KNOTS / width_deg))


class _Statistics:
    """Per-(offset, solar day) sums for the correlation of brightness with the sun model.

    The model is ``shape`` (brightness curve at :data:`SHAPE_KNOTS`, non-decreasing) at the sun's
    elevation; see :func:`fit_shape`.
    """

    def __init__(self, times_s, brightness, lat, lon, config: WebcamConfig, shape=None) -> None:
        from stbench.solar import sun_position

        self.shape = ramp_shape(config.ramp_deg) if shape is None else np.asarray(shape)
        self.times_s = np.asarray(times_s, dtype=np.float64)
        self.brightness = np.asarray(brightness, dtype=np.float64)
        self.config = config
        step_min = config.grid_min
        half = round(config.max_offset_h * 60 / step_min)
        self.offsets_min = np.arange(-half, half + 1) * step_min
        margin = config.max_offset_h * 3600 + 2 * _SUN_STEP_S
        grid = np.arange(self.times_s.min() - margin, self.times_s.max() + margin, _SUN_STEP_S)
        elevation, _ = sun_position(grid.astype("datetime64[s]"), lat, lon)
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

    def elevation(self, times_s: np.ndarray, offset_min: np.ndarray) -> np.ndarray:
        """Sun elevation (deg) at recorded times shifted by per-frame offsets (minutes)."""
        shifted = np.asarray(times_s) + np.asarray(offset_min) * 60.0
        return np.interp(shifted, self._grid, self._elevation)

    def model(self, times_s: np.ndarray, offset_min: np.ndarray) -> np.ndarray:
        """The model curve at recorded times shifted by per-frame offsets."""
        return np.interp(self.elevation(times_s, offset_min), SHAPE_KNOTS, self.shape)

    def corr(self, weights: np.ndarray) -> np.ndarray:
        """(K,) correlation of brightness with the model per offset, for day weights (D,) or
        (D, M) -> (K, M)."""
        n = self.n @ weights
        with np.errstate(invalid="ignore", divide="ignore"):
            mb, mg = (self.sb @ weights) / n, (self.sg @ weights) / n
            cov = (self.sgb @ weights) / n - mg * mb
            var_g = (self.sgg @ weights) / n - mg * mg
            var_b = (self.sbb @ weights) / n - mb * mb
            r = cov / np.sqrt(np.clip(var_g, 1e-12, None) * np.clip(var_b, 1e-12, None))
        r = np.where((var_g > 1e-4) & (var_b > 1e-6) & (n >= 3), r, np.nan)
        return r


def fit_shape(elevation: np.ndarray, brightness: np.ndarray) -> np.ndarray | None:
    """The camera's brightness curve: isotonic (non-decreasing) regression of brightness on sun
    elevation, read at :data:`SHAPE_KNOTS`; None when it is flat (no day/night contrast)."""
    from sklearn.isotonic import IsotonicRegression

    if len(elevation) < 10:
        return None
    fit = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(elevation, brightness)
    shape = fit.predict(np.clip(SHAPE_KNOTS, elevation.min(), elevation.max()))
    span = shape[-1] - shape[0]
    if not np.isfinite(span) or span <= 1e-6:
        return None
    return (shape - shape[0]) / span


def _peak(offsets: np.ndarray, r: np.ndarray) -> tuple[float, float]:
    """(offset at the maximum of r refined by a parabola, r there); (nan, nan) if r is all nan."""
    if r.ndim != 1 or np.all(np.isnan(r)):
        return float("nan"), float("nan")
    i = int(np.nanargmax(r))
    best = float(offsets[i])
    if 0 < i < len(r) - 1 and np.isfinite(r[i - 1]) and np.isfinite(r[i + 1]):
        denom = r[i - 1] - 2 * r[i] + r[i + 1]
        if denom < 0:
            best += float(np.clip(0.5 * (r[i - 1] - r[i + 1]) / denom, -0.5, 0.5)) * (
                offsets[1] - offsets[0]
            )
    return best, float(r[i])


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
    stats = _Statistics(times_s, brightness, lat, lon, config)
    for round_ in range(1 + config.shape_rounds):
        window = _window_estimates(stats, config)
        segments = _segments(window, config)
        eras = [_fit_era(stats, lo, hi, window, config) for lo, hi in segments]
        eras = _merge_close(stats, eras, window, config)
        if round_ == config.shape_rounds:
            break
        # learn the camera's brightness curve under the current clock model, then refit
        offsets = _day_offsets(stats, eras)
        strong = np.isfinite(offsets)
        shape = fit_shape(stats.elevation(times_s[strong], offsets[strong]), brightness[strong])
        if shape is None:
            break
        stats = _Statistics(times_s, brightness, lat, lon, config, shape)
    # eras hold day ranges so far; turn them into frame ranges with refined boundaries
    return _frame_eras(stats, eras, config)


def _day_offsets(stats: _Statistics, eras: list[EraFit]) -> np.ndarray:
    """(N,) offset of each frame under day-range eras (nan in weak eras)."""
    offsets = np.full(len(stats.times_s), np.nan)
    for era in eras:
        mask = (stats.day_of_frame >= era.first) & (stats.day_of_frame < era.stop)
        if np.isfinite(era.offset_min) and era.corr >= _SHAPE_MIN_CORR:
            offsets[mask] = era.offset_at(stats.times_s[mask])
    return offsets


def _window_estimates(stats: _Statistics, config: WebcamConfig) -> np.ndarray:
    """(D,) offset estimated on the window of days centred on each day (nan where weak)."""
    n_days = len(stats.days)
    half = config.window_days // 2
    estimates = np.full(n_days, np.nan)
    weights = np.zeros((n_days, n_days))
    for d in range(n_days):
        near = np.abs(stats.days - stats.days[d]) <= half
        weights[near, d] = 1.0
    r = stats.corr(weights)  # (K, D)
    for d in range(n_days):
        if stats.n @ weights[:, d] < config.min_frames_per_day:
            continue
        offset, peak = _peak(stats.offsets_min, r[:, d])
        if np.isfinite(offset) and peak >= config.min_day_corr:
            estimates[d] = offset
    return estimates


def _segments(estimates: np.ndarray, config: WebcamConfig) -> list[tuple[int, int]]:
    """Day ranges [lo, hi) of eras: optimal partitioning of the window estimates (L1 cost,
    a penalty of ``min_era_shift_min * min_era_days`` per era, eras of >= ``min_era_days``)."""
    n_days = len(estimates)
    valid = np.flatnonzero(np.isfinite(estimates))
    values = estimates[valid]
    m, size = len(values), config.min_era_days
    if m < 2 * size:
        return [(0, n_days)]
    penalty = config.min_era_shift_min * size
    best = np.full(m + 1, np.inf)
    best[0] = -penalty
    start = np.zeros(m + 1, dtype=np.int64)
    for j in range(size, m + 1):
        for i in range(0, j - size + 1):
            if not np.isfinite(best[i]):
                continue
            cost = best[i] + _l1(values[i:j]) + penalty
            if cost < best[j]:
                best[j], start[j] = cost, i
    cuts = []
    j = m
    while j > 0:
        j = int(start[j])
        if j > 0:
            cuts.append(j)
    cuts.sort()
    # an era's days start halfway between the last valid day of one era and the first of the next
    bounds = [0] + [int(valid[k - 1] + valid[k] + 1) // 2 for k in cuts] + [n_days]
    return [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]


def _l1(values: np.ndarray) -> float:
    return float(np.abs(values - np.median(values)).sum()) if len(values) else 0.0


def _fit_era(
    stats: _Statistics, lo: int, hi: int, window: np.ndarray, config: WebcamConfig
) -> EraFit:
    """Fit one era over days [lo, hi): constant offset, or linear drift if the days show one."""
    n_days = len(stats.days)
    weights = np.zeros(n_days)
    weights[lo:hi] = 1.0
    offset, corr = _peak(stats.offsets_min, stats.corr(weights))
    day_s = (stats.days[lo:hi].astype(np.float64) + 0.5) * 86400.0
    center = float(np.average(day_s, weights=stats.n[lo:hi]))
    slope = 0.0
    valid = np.isfinite(window[lo:hi])
    if valid.sum() >= 4 and np.isfinite(offset):
        x = (day_s[valid] - center) / 86400.0
        y = window[lo:hi][valid]
        slope_fit, intercept = np.polyfit(x, y, 1)
        span_change = abs(slope_fit) * (x.max() - x.min())
        residual = y - (intercept + slope_fit * x)
        noise = 1.4826 * np.median(np.abs(residual)) + 1e-6
        stderr = noise / np.sqrt(np.sum((x - x.mean()) ** 2) + 1e-12)
        if span_change >= config.min_drift_min and abs(slope_fit) > 3 * stderr:
            slope = float(slope_fit)
            offset = float(intercept)
    sigma = _bootstrap_sigma(stats, lo, hi, config)
    strong = bool(
        np.isfinite(offset) and corr >= config.min_fit_corr and sigma <= config.max_fit_sigma_min
    )
    return EraFit(lo, hi, float(offset), slope, center, sigma, float(corr), hi - lo, strong)


def _bootstrap_sigma(stats: _Statistics, lo: int, hi: int, config: WebcamConfig) -> float:
    days = np.arange(lo, hi)
    days = days[stats.n[days] > 0]
    if len(days) < 2:
        return float("inf")
    rng = np.random.default_rng(config.seed)
    counts = rng.multinomial(len(days), np.full(len(days), 1.0 / len(days)), size=config.bootstrap)
    weights = np.zeros((len(stats.days), config.bootstrap))
    weights[days, :] = counts.T
    r = stats.corr(weights)
    peaks = np.array([_peak(stats.offsets_min, r[:, m])[0] for m in range(config.bootstrap)])
    peaks = peaks[np.isfinite(peaks)]
    if len(peaks) < config.bootstrap // 2:
        return float("inf")
    return max(float(np.std(peaks)), config.grid_min / 4)


def _merge_close(
    stats: _Statistics, eras: list[EraFit], window: np.ndarray, config: WebcamConfig
) -> list[EraFit]:
    """Merge neighbouring eras whose fitted offsets differ by less than min_era_shift_min."""
    merged = True
    while merged and len(eras) > 1:
        merged = False
        for i in range(len(eras) - 1):
            a, b = eras[i], eras[i + 1]
            diff = abs(a.offset_at(b.center_s) - b.offset_at(b.center_s))
            if not diff >= config.min_era_shift_min:  # also merges eras without an estimate
                eras[i : i + 2] = [_fit_era(stats, a.first, b.stop, window, config)]
                merged = True
                break
    return eras


def _frame_eras(stats: _Statistics, eras: list[EraFit], config: WebcamConfig) -> ClockFit:
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
    stats: _Statistics, frames: np.ndarray, a: EraFit, b: EraFit
) -> tuple[int, np.ndarray]:
    """First frame of era b among ``frames`` and the frames whose side is not clear."""
    if len(frames) == 0:
        return int(np.searchsorted(stats.day_of_frame, b.first)), frames
    t = stats.times_s[frames]
    y = stats.brightness[frames]
    residual = []
    for era in (a, b):
        g_all = stats.model(stats.times_s, era.offset_at(stats.times_s))
        coef = np.polyfit(g_all, stats.brightness, 1)
        g = stats.model(t, era.offset_at(t))
        residual.append((y - np.polyval(coef, g)) ** 2)
        contrast = abs(coef[0])
    evidence = residual[1] - residual[0]  # > 0: era a explains the frame better
    cost = np.r_[0.0, np.cumsum(-evidence)]  # cost of putting frames[:k] in a (relative)
    k = int(np.argmin(cost))
    split = int(frames[0]) + k
    threshold = (0.25 * contrast) ** 2
    clear_a = np.flatnonzero(evidence[:k] > threshold)
    clear_b = np.flatnonzero(evidence[k:] < -threshold) + k
    lo = clear_a[-1] + 1 if len(clear_a) else 0
    hi = clear_b[0] if len(clear_b) else len(frames)
    return split, frames[lo:hi]
