"""Sufficient statistics of the sun model: per (clock offset, solar day) sums of brightness and
the model curve, so that any set of days (a window, an era, a bootstrap resample) is a weighted
sum of day columns. See :mod:`stbench.webcams.solarfit` for the model.
"""

from __future__ import annotations

import functools
import importlib.util

import numpy as np

from stbench.webcams.config import WebcamConfig
from stbench.webcams.daysums import is_compiled, shifted_day_sums
from stbench.webcams.shifted_sun import ShiftedSun

__all__ = [
    "COMPILED_MIN_VALUES",
    "SHAPE_KNOTS",
    "SunStatistics",
    "fit_shape",
    "peak",
    "ramp_shape",
    "sun_table",
]


_SUN_STEP_S = 300.0  # solar elevation is tabulated every 5 min and interpolated


#: Elevation knots (deg) of the camera's brightness curve.
SHAPE_KNOTS = np.r_[-90.0, np.arange(-18.0, 20.0, 2.0), np.arange(20.0, 91.0, 5.0)]


def ramp_shape(width_deg: float) -> np.ndarray:
    """The initial brightness curve at :data:`SHAPE_KNOTS`: a logistic ramp across twilight."""
    return 1.0 / (1.0 + np.exp(-SHAPE_KNOTS / width_deg))


class SunStatistics:
    """Per-(offset, solar day) sums for the correlation of brightness with the sun model.

    The model is ``shape`` (brightness curve at :data:`SHAPE_KNOTS`, non-decreasing) at the sun's
    elevation; see :func:`fit_shape`.
    """

    def __init__(
        self, times_s, brightness, lat, lon, config: WebcamConfig, shape=None, sun=None
    ) -> None:
        """``sun``: the :class:`ShiftedSun` (or the (grid s, elevation deg) table) of an earlier
        instance for the same frames, place and offsets (reused as is; computed from
        :func:`sun_table` when None)."""
        self.shape = ramp_shape(config.ramp_deg) if shape is None else np.asarray(shape)
        self.times_s = np.asarray(times_s, dtype=np.float64)
        self.brightness = np.asarray(brightness, dtype=np.float64)
        self.config = config
        self.memo: dict = {}  # results that depend on these statistics only (solarfit's bootstrap)
        step_min = config.grid_min
        half = round(config.max_offset_h * 60 / step_min)
        self.offsets_min = np.arange(-half, half + 1) * step_min
        if not isinstance(sun, ShiftedSun):
            grid, elevation = sun_table(self.times_s, lat, lon, config) if sun is None else sun
            sun = ShiftedSun(self.times_s, self.offsets_min, grid, elevation)
        self._sun = sun
        solar_day = np.floor((self.times_s + lon / 15.0 * 3600) / 86400).astype(np.int64)
        self.days, self.day_of_frame = np.unique(solar_day, return_inverse=True)
        starts = np.flatnonzero(np.r_[True, np.diff(self.day_of_frame) != 0])
        b = self.brightness
        self.n = np.add.reduceat(np.ones_like(b), starts)
        self.sb = np.add.reduceat(b, starts)
        self.sbb = np.add.reduceat(b * b, starts)
        if sun.exact_periodic and _compiled_sums(len(self.offsets_min) * len(self.times_s)):
            # one compiled pass, the same bits as the numpy passes below (stbench.webcams.daysums)
            self.sg, self.sgg, self.sgb = shifted_day_sums(
                sun.plan, len(self.offsets_min), sun.elevation, SHAPE_KNOTS, self.shape, b, starts
            )
        else:
            self._numpy_sums(sun, starts, config.shape_rounds > 0)
        self._grid, self._elevation = sun.table

    def _numpy_sums(self, sun: ShiftedSun, starts: np.ndarray, keep: bool) -> None:
        """The day sums in numpy, 64 offsets at a time (``keep``: cache the rows for later
        shape rounds)."""
        b = self.brightness
        k, d = len(self.offsets_min), len(self.days)
        self.sg, self.sgg, self.sgb = np.empty((k, d)), np.empty((k, d)), np.empty((k, d))
        if keep:
            sun.keep()  # the next rounds read the same shifted elevations
        for lo in range(0, k, 64):
            g = np.interp(sun.rows(lo, min(lo + 64, k)), SHAPE_KNOTS, self.shape)
            self.sg[lo : lo + 64] = np.add.reduceat(g, starts, axis=1)
            self.sgg[lo : lo + 64] = np.add.reduceat(g * g, starts, axis=1)
            g *= b[None, :]
            self.sgb[lo : lo + 64] = np.add.reduceat(g, starts, axis=1)

    @property
    def sun(self) -> ShiftedSun:
        """The shifted sun elevations (pass them as ``sun`` to reuse them)."""
        return self._sun

    def elevation(self, times_s: np.ndarray, offset_min: np.ndarray) -> np.ndarray:
        """Sun elevation (deg) at recorded times shifted by per-frame offsets (minutes)."""
        shifted = np.asarray(times_s) + np.asarray(offset_min) * 60.0
        return np.interp(shifted, self._grid, self._elevation)

    def model(self, times_s: np.ndarray, offset_min: np.ndarray) -> np.ndarray:
        """The model curve at recorded times shifted by per-frame offsets."""
        return np.interp(self.elevation(times_s, offset_min), SHAPE_KNOTS, self.shape)

    def corr_range(self, lo: int, hi: int) -> np.ndarray:
        """(K,) :meth:`corr` of the days ``lo:hi`` with weight 1 each, from running sums over
        the days (O(K) per range instead of five (K, D) products; equal up to rounding)."""
        n, sb, sbb, sg, sgg, sgb = (a[..., hi] - a[..., lo] for a in self._running_sums)
        return self._pearson(n, sb, sbb, sg, sgg, sgb)

    @functools.cached_property
    def _running_sums(self) -> tuple[np.ndarray, ...]:
        """n, sb, sbb, sg, sgg, sgb summed over the days before each day (D + 1 columns)."""
        return tuple(
            np.concatenate([np.zeros((*a.shape[:-1], 1)), np.cumsum(a, axis=-1)], axis=-1)
            for a in (self.n, self.sb, self.sbb, self.sg, self.sgg, self.sgb)
        )

    @staticmethod
    def _pearson(n, sb, sbb, sg, sgg, sgb) -> np.ndarray:
        """Correlation per offset from the weighted sums (nan where undefined)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            mb, mg = sb / n, sg / n
            cov = sgb / n - mg * mb
            var_g = sgg / n - mg * mg
            var_b = sbb / n - mb * mb
            r = cov / np.sqrt(np.clip(var_g, 1e-12, None) * np.clip(var_b, 1e-12, None))
        return np.where((var_g > 1e-4) & (var_b > 1e-6) & (n >= 3), r, np.nan)

    def corr(self, weights: np.ndarray, days: np.ndarray | None = None) -> np.ndarray:
        """(K,) correlation of brightness with the model per offset, for day weights (D,) or
        (D, M) -> (K, M). With ``days`` (indices), ``weights`` has one row per listed day and
        the other days weigh 0 (the work then follows ``len(days)``, not D)."""
        cols = slice(None) if days is None else days
        return self._pearson(
            self.n[cols] @ weights,
            self.sb[cols] @ weights,
            self.sbb[cols] @ weights,
            self.sg[:, cols] @ weights,
            self.sgg[:, cols] @ weights,
            self.sgb[:, cols] @ weights,
        )


#: Offsets x frames from which the compiled day sums are used in a process that has not compiled
#: them yet: compiling costs ~1-2 s of CPU once per process and saves ~25 ns per value (numpy:
#: about 80 ns per value over the three rounds, and a row cache of 8 bytes per value).
COMPILED_MIN_VALUES = 20_000_000


def _compiled_sums(values: int) -> bool:
    """Whether the compiled day sums run for ``values`` offsets x frames: numba (of the
    ``build`` extra) is installed, and the kernel is compiled already or the fit is big enough
    to pay for compiling it (:data:`COMPILED_MIN_VALUES`). Both paths give the same bits."""
    if importlib.util.find_spec("numba") is None:
        return False
    return is_compiled() or values >= COMPILED_MIN_VALUES


def sun_table(times_s: np.ndarray, lat: float, lon: float, config: WebcamConfig):
    """(grid, elevation): NREL SPA sun elevation (deg) every 5 min (grid in s since epoch) over
    the frames' span plus the offset range (:func:`stbench.solar.sun_elevation_series`)."""
    from stbench.solar import sun_elevation_series

    margin = config.max_offset_h * 3600 + 2 * _SUN_STEP_S
    grid = np.arange(times_s.min() - margin, times_s.max() + margin, _SUN_STEP_S)
    return grid, sun_elevation_series(grid, lat, lon)


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


def peak(offsets: np.ndarray, r: np.ndarray) -> tuple[float, float]:
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
