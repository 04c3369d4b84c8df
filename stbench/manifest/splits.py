"""Split assignment (scene-, camera- or time-disjoint), overlap bins and seeded hash keys."""

from __future__ import annotations

import hashlib
import itertools

import numpy as np
import pandas as pd

from stbench.errors import ConfigError
from stbench.manifest.config import SplitConfig

__all__ = [
    "bin_labels",
    "camera_split",
    "megadepth_split",
    "overlap_bins",
    "seeded_keys",
    "time_splits",
    "unit_fraction",
]


def unit_fraction(text: str) -> float:
    """A stable number in [0, 1) from ``text`` (first 8 bytes of its SHA-256)."""
    value = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    return value / 2.0**64


def seeded_keys(seed: int, ids: pd.Series | list[str]) -> np.ndarray:
    """(N,) uint64 sampling keys of ``ids``: the order they are kept in when capped.

    Keys depend only on the seed and the id, never on row order or on which other ids exist, so
    caps select the same rows however the inputs were chunked.
    """
    return np.fromiter(
        (
            int.from_bytes(hashlib.blake2b(f"{seed}|{i}".encode(), digest_size=8).digest(), "big")
            for i in ids
        ),
        dtype=np.uint64,
        count=len(ids),
    )


def megadepth_split(scene: str, config: SplitConfig) -> str:
    """``test`` / ``val`` / ``train`` of a MegaDepth scene (scene-disjoint)."""
    if scene in config.megadepth_test:
        return "test"
    if scene in config.megadepth_val:
        return "val"
    return "train"


def camera_split(camera_id: str, config: SplitConfig) -> str:
    """The split of a whole camera (camera-disjoint): explicit lists first, then a hash."""
    for split, cameras in (
        ("train", config.webcam_train),
        ("val", config.webcam_val),
        ("test", config.webcam_test),
    ):
        if camera_id in cameras:
            return split
    u = unit_fraction(f"stbench-camera-split/{camera_id}")
    if u < config.webcam_test_fraction:
        return "test"
    if u < config.webcam_test_fraction + config.webcam_val_fraction:
        return "val"
    return "train"


def _utc(value: str | None, name: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except ValueError as exc:
        raise ConfigError(f"splits.{name}: {value!r} is not an ISO date/time") from exc
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def time_splits(timestamp_utc: pd.Series, config: SplitConfig) -> pd.Series:
    """Per-frame split in time-disjoint mode (null where the timestamp is null).

    Frames before ``time_val_start`` are train, then val until ``time_test_start``, then test.
    """
    val_start = _utc(config.time_val_start, "time_val_start")
    test_start = _utc(config.time_test_start, "time_test_start")
    if val_start is None or test_start is None:
        raise ConfigError(
            "splits.webcam_mode = 'time' needs splits.time_val_start and splits.time_test_start"
        )
    if test_start < val_start:
        raise ConfigError("splits.time_test_start is before splits.time_val_start")
    times = pd.to_datetime(timestamp_utc, utc=True)
    split = pd.Series("train", index=times.index, dtype=object)
    split[times >= val_start] = "val"
    split[times >= test_start] = "test"
    split[times.isna()] = None
    return split


def overlap_bins(overlap: pd.Series | np.ndarray, edges: list[float]) -> pd.Series:
    """Bin labels like ``0.1-0.3`` for min overlaps; null below the first edge or when null.

    Bins are closed on the left, open on the right, except the last which includes its upper
    edge (an overlap of exactly 1.0 falls in ``0.7-1.0``).
    """
    values = pd.Series(overlap, dtype="Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    labels = np.array(bin_labels(edges), dtype=object)
    index = np.searchsorted(np.asarray(edges), values, side="right") - 1
    index[values == edges[-1]] = len(edges) - 2
    ok = np.isfinite(values) & (index >= 0) & (index < len(labels))
    out = np.full(len(values), None, dtype=object)
    out[ok] = labels[index[ok]]
    return pd.Series(out, dtype=object)


def bin_labels(edges: list[float]) -> list[str]:
    """The labels :func:`overlap_bins` produces, in order."""
    return [f"{_edge(a)}-{_edge(b)}" for a, b in itertools.pairwise(edges)]


def _edge(value: float) -> str:
    text = f"{value:g}"
    return text if "." in text or "e" in text else f"{text}.0"
