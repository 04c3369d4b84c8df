"""The temporal spans: one registry, from wide to narrow.

Labels are computed from local civil time (UTC + ``utc_offset_min``). Cyclic spans measure error
as circular distance in steps (December vs January = 1 month); ``year`` is absolute.

Adding a span is one entry in :data:`SPANS`.

A timestamp known only to within a window (``[t - early, t + late]``, see docs/timestamps.md)
has a label for a span only when the whole window falls in one class: both ends have the label of
``t`` and the window is shorter than the span's shortest class (:func:`window_span_labels`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "CLASS_SPANS",
    "SEASON_NAMES",
    "SPANS",
    "Span",
    "get_span",
    "local_times",
    "span_labels",
    "window_span_labels",
]


@dataclass(frozen=True)
class Span:
    """A temporal span: how to label a local time, and how far two labels are apart.

    Attributes:
        name: column-friendly name (``season``, ``month`` ...).
        n_classes: number of classes for classification spans; None for ``year``.
        cyclic: whether the label wraps around (distance is circular).
        labeler: (local times as DatetimeIndex, latitudes (N,)) -> labels (N,) int64.
        min_class_s: length of the span's shortest class in seconds (a longer time window can
            never lie in one class).
    """

    name: str
    n_classes: int | None
    cyclic: bool
    labeler: Callable[[pd.DatetimeIndex, np.ndarray], np.ndarray]
    min_class_s: float

    def distance(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Distance in steps between labels ``a`` and ``b`` (circular for cyclic spans)."""
        diff = np.abs(np.asarray(a, dtype=np.int64) - np.asarray(b, dtype=np.int64))
        if self.cyclic and self.n_classes:
            diff = np.minimum(diff, self.n_classes - diff)
        return diff


def _season(local: pd.DatetimeIndex, lat: np.ndarray) -> np.ndarray:
    # Meteorological seasons: 0 winter (DJF), 1 spring (MAM), 2 summer (JJA), 3 autumn (SON)
    # in the northern hemisphere; swapped by two seasons where lat < 0.
    season = (np.asarray(local.month) % 12) // 3
    return np.where(np.asarray(lat) < 0, (season + 2) % 4, season).astype(np.int64)


def _month(local: pd.DatetimeIndex, lat: np.ndarray) -> np.ndarray:
    return np.asarray(local.month, dtype=np.int64) - 1


def _week(local: pd.DatetimeIndex, lat: np.ndarray) -> np.ndarray:
    # 52 bins of 7 days from Jan 1; the last bin absorbs days 365 and 366.
    return np.minimum((np.asarray(local.day_of_year, dtype=np.int64) - 1) // 7, 51)


def _hour(local: pd.DatetimeIndex, lat: np.ndarray) -> np.ndarray:
    return np.asarray(local.hour, dtype=np.int64)


def _year(local: pd.DatetimeIndex, lat: np.ndarray) -> np.ndarray:
    return np.asarray(local.year, dtype=np.int64)


_DAY_S = 86400.0

SEASON_NAMES = ("winter", "spring", "summer", "autumn")

SPANS: dict[str, Span] = {
    span.name: span
    for span in (
        Span("season", 4, True, _season, 90 * _DAY_S),  # DJF of a common year
        Span("month", 12, True, _month, 28 * _DAY_S),
        Span("week", 52, True, _week, 7 * _DAY_S),
        Span("hour", 24, True, _hour, 3600.0),
        Span("year", None, False, _year, 365 * _DAY_S),
    )
}

#: The spans the reference model classifies and the harness scores by default.
CLASS_SPANS: tuple[str, ...] = ("season", "month", "week", "hour")


def get_span(name: str) -> Span:
    """The span called ``name``; a clear error lists the known ones."""
    try:
        return SPANS[name]
    except KeyError:
        raise KeyError(f"unknown span {name!r}; known spans: {', '.join(SPANS)}") from None


def local_times(timestamp_utc: pd.Series | pd.DatetimeIndex, utc_offset_min) -> pd.DatetimeIndex:
    """Local civil times (naive) from UTC timestamps and offsets in minutes."""
    utc = pd.DatetimeIndex(pd.to_datetime(timestamp_utc, utc=True))
    offsets = pd.to_timedelta(np.asarray(utc_offset_min, dtype=np.float64), unit="min")
    return (utc.tz_convert(None) + offsets).as_unit("us")


def span_labels(
    span: str | Span,
    timestamp_utc: pd.Series | pd.DatetimeIndex,
    utc_offset_min,
    lat,
) -> pd.array:
    """Labels of ``span`` for each timestamp; null where the time, offset or latitude is missing.

    Args:
        span: a span or its name.
        timestamp_utc: (N,) tz-aware (or naive-as-UTC) timestamps.
        utc_offset_min: (N,) offsets of local civil time from UTC in minutes.
        lat: (N,) latitudes in degrees (the hemisphere decides the season); NaN allowed.
    Returns:
        (N,) nullable Int64 labels.
    """
    span = get_span(span) if isinstance(span, str) else span
    utc = pd.Series(pd.to_datetime(timestamp_utc, utc=True)).reset_index(drop=True)
    offsets = pd.Series(utc_offset_min, dtype="Float64").reset_index(drop=True)
    lats = pd.Series(lat, dtype="Float64").reset_index(drop=True)
    if not (len(utc) == len(offsets) == len(lats)):
        raise ValueError("timestamp_utc, utc_offset_min and lat must have the same length")
    valid = np.array(utc.notna() & offsets.notna(), dtype=bool)
    if span.name == "season":
        valid &= lats.notna().to_numpy()
    out = pd.array([pd.NA] * len(utc), dtype="Int64")
    if valid.any():
        local = local_times(utc[valid], offsets[valid].to_numpy(dtype=np.float64))
        lat_valid = lats[valid].fillna(0.0).to_numpy(dtype=np.float64)
        out[valid] = span.labeler(local, lat_valid)
    return out


def window_span_labels(
    span: str | Span,
    timestamp_utc: pd.Series | pd.DatetimeIndex,
    utc_offset_min,
    lat,
    early_s,
    late_s,
) -> tuple[pd.array, np.ndarray]:
    """Labels of ``span`` for times known to within ``[t - early_s, t + late_s]``.

    A label is kept only when the whole window falls in one class: the window is shorter than the
    span's shortest class and both of its ends have the label of ``t`` (classes are contiguous in
    time). Civil offset and latitude are those of ``t``. A missing (NaN) window counts as zero
    width; an infinite one crosses every edge.

    Args:
        span, timestamp_utc, utc_offset_min, lat: as for :func:`span_labels`.
        early_s: (N,) seconds the true time may be earlier than ``timestamp_utc`` (>= 0).
        late_s: (N,) seconds it may be later (>= 0).
    Returns:
        (labels, crosses): (N,) nullable Int64 labels, null where :func:`span_labels` is null or
        the window crosses a class edge; (N,) bool, True where a label was withheld for the window.
    """
    span = get_span(span) if isinstance(span, str) else span
    utc = pd.Series(pd.to_datetime(timestamp_utc, utc=True)).reset_index(drop=True)
    early = _seconds(early_s, len(utc), "early_s")
    late = _seconds(late_s, len(utc), "late_s")
    labels = span_labels(span, utc, utc_offset_min, lat)
    known = ~np.asarray(pd.isna(labels), dtype=bool)
    finite = np.isfinite(early) & np.isfinite(late)
    shifts = {}
    for name, sign, width in (("first", -1.0, early), ("last", 1.0, late)):
        delta = pd.to_timedelta(np.where(finite, sign * width, 0.0), unit="s")
        shifts[name] = span_labels(span, utc + delta, utc_offset_min, lat)
    same = (shifts["first"] == labels) & (shifts["last"] == labels)
    same = np.asarray(same.fillna(False), dtype=bool)
    crosses = known & (~finite | (early + late >= span.min_class_s) | ~same)
    labels[crosses] = pd.NA
    return labels, crosses


def _seconds(values, n: int, name: str) -> np.ndarray:
    out = pd.Series(values, dtype="Float64").to_numpy(dtype=np.float64, na_value=0.0)
    if out.shape != (n,):
        raise ValueError(f"{name} must have one value per timestamp ({n}), got {out.shape}")
    if (out < 0).any():
        raise ValueError(f"{name} must be >= 0 seconds (a window, not a shift)")
    return out
