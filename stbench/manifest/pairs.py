"""Pair kinds: spatial / spatiotemporal (depth-verified) and temporal (webcam frames).

- ``spatial``: a depth-verified pair from a MegaDepth scene task whose two times are not both
  trusted; ``spatiotemporal``: the same, with both times trusted (labelled same/different per
  span). A pair is one or the other, so ``pair_id`` stays unique.
- ``temporal``: two frames of one webcam (same split) with trusted times, sampled with a seeded
  generator, balanced between same and different span for each span.
"""

from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import pandas as pd

from stbench.manifest.config import SpatialPairConfig, TemporalPairConfig
from stbench.manifest.splits import overlap_bins, seeded_keys
from stbench.schema import PAIR_ID_SEPARATOR
from stbench.spans import SPANS, window_span_labels

__all__ = [
    "DIRECTED_COLUMNS",
    "add_time_columns",
    "balanced_subset",
    "canonical_order",
    "label_images",
    "pair_ids",
    "spatial_pairs",
    "temporal_pairs",
    "trusted_mask",
]


#: Direction-dependent pair columns swapped when a pair is turned into canonical order.
DIRECTED_COLUMNS = (
    ("covis_overlap_01", "covis_overlap_10"),
    ("depth_overlap_01", "depth_overlap_10"),
)


def trusted_mask(images: pd.DataFrame, threshold: float) -> np.ndarray:
    """(N,) bool: the timestamp exists and ``timestamp_trust >= threshold``."""
    trust = pd.Series(images["timestamp_trust"], dtype="Float64").fillna(-1.0)
    has_time = pd.to_datetime(images["timestamp_utc"], utc=True).notna()
    return np.asarray((trust >= threshold) & has_time, dtype=bool)


def label_images(images: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Fill one label column per span; null where the timestamp is not trusted, or where its
    window (``time_early_s``, ``time_late_s``) crosses an edge of the span's classes: then the
    image gets the flag ``near_<span>_edge``."""
    images = images.copy()
    trusted = trusted_mask(images, threshold)
    flags = [
        set() if f is None else set(f) for f in images.get("trust_flags", [None] * len(images))
    ]
    for name in SPANS:
        labels, crosses = window_span_labels(
            name,
            images["timestamp_utc"],
            images["utc_offset_min"],
            images["lat"],
            images.get("time_early_s", np.full(len(images), np.nan)),
            images.get("time_late_s", np.full(len(images), np.nan)),
        )
        labels[~trusted] = pd.NA
        for i in np.flatnonzero(crosses & trusted):
            flags[i].add(f"near_{name}_edge")
        images[name] = pd.array(labels, dtype="Int64")
    images["trust_flags"] = pd.Series([sorted(f) for f in flags], index=images.index, dtype=object)
    return images


def canonical_order(pairs: pd.DataFrame) -> pd.DataFrame:
    """Pairs with ``image_id0 < image_id1`` (directed columns swapped) and canonical pair_id."""
    pairs = pairs.copy()
    swap = (pairs["image_id0"] > pairs["image_id1"]).to_numpy()
    if swap.any():
        columns = [("image_id0", "image_id1"), *DIRECTED_COLUMNS]
        for a, b in columns:
            if a in pairs and b in pairs:
                first, second = pairs.loc[swap, a].copy(), pairs.loc[swap, b].copy()
                pairs.loc[swap, a], pairs.loc[swap, b] = second.to_numpy(), first.to_numpy()
    pairs["pair_id"] = pair_ids(pairs["image_id0"], pairs["image_id1"])
    return pairs


def pair_ids(image_id0: pd.Series, image_id1: pd.Series) -> np.ndarray:
    """(N,) ``make_pair_id`` of already ordered ids (image_id0 < image_id1), vectorised."""
    ids0 = image_id0.astype(str).to_numpy(dtype=object)
    ids1 = image_id1.astype(str).to_numpy(dtype=object)
    return ids0 + PAIR_ID_SEPARATOR + ids1


def _floats(values: pd.Series, index: np.ndarray) -> np.ndarray:
    return pd.Series(values).astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)[index]


def add_time_columns(pairs: pd.DataFrame, images: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """``dt_seconds`` (time 1 - time 0) and ``same_<span>``, null unless both times are trusted.

    Args:
        pairs: with image_id0, image_id1 (both present in ``images``).
        images: labelled images (see :func:`label_images`).
    """
    pairs = pairs.copy()
    images = images.reset_index(drop=True)
    lookup = pd.Index(images["image_id"])
    index0 = lookup.get_indexer(pairs["image_id0"])
    index1 = lookup.get_indexer(pairs["image_id1"])
    if (index0 < 0).any() or (index1 < 0).any():
        raise ValueError("add_time_columns: a pair's image is not in images")
    trusted = trusted_mask(images, threshold)
    both = trusted[index0] & trusted[index1]
    seconds = (
        pd.to_datetime(images["timestamp_utc"], utc=True) - pd.Timestamp(0, tz="UTC")
    ) / pd.Timedelta(seconds=1)
    seconds = np.asarray(seconds, dtype=np.float64)
    dt = seconds[index1] - seconds[index0]
    pairs["dt_seconds"] = pd.array(np.where(both, dt, np.nan), dtype="Float64")
    for name in SPANS:
        label0 = _floats(images[name], index0)
        label1 = _floats(images[name], index1)
        known = both & np.isfinite(label0) & np.isfinite(label1)
        same = pd.array(label0 == label1, dtype="boolean")
        same[~known] = pd.NA
        pairs[f"same_{name}"] = same
    return pairs


def spatial_pairs(
    pairs: pd.DataFrame,
    images: pd.DataFrame,
    config: SpatialPairConfig,
    threshold: float,
    seed: int,
) -> tuple[pd.DataFrame, Counter]:
    """Bin, cap and label the depth-verified pairs of one scene.

    Args:
        pairs: pairs from an index task (canonical order), images present in ``images``.
        images: the scene's labelled images.
    Returns:
        the kept pairs (kind, overlap_bin, dt_seconds, same_<span> filled) and counts of the
        pairs dropped by reason (``below_min_overlap``, ``cap_per_scene_bin``).
    """
    dropped: Counter = Counter()
    if pairs.empty:
        return pairs, dropped
    overlap = np.fmin(
        pd.Series(pairs["depth_overlap_01"], dtype="Float64").to_numpy(
            dtype=np.float64, na_value=np.nan
        ),
        pd.Series(pairs["depth_overlap_10"], dtype="Float64").to_numpy(
            dtype=np.float64, na_value=np.nan
        ),
    )
    pairs = pairs.assign(overlap_bin=overlap_bins(overlap, config.overlap_bin_edges).to_numpy())
    binned = pairs["overlap_bin"].notna().to_numpy()
    dropped["below_min_overlap"] += int((~binned).sum())
    pairs = pairs[binned]
    cap = config.max_pairs_per_scene_bin
    if cap is not None:
        keys = seeded_keys(seed, pairs["pair_id"])
        rank = pd.Series(keys, index=pairs.index).groupby(pairs["overlap_bin"]).rank(method="first")
        keep = (rank <= cap).to_numpy()
        dropped["cap_per_scene_bin"] += int((~keep).sum())
        pairs = pairs[keep]
    pairs = add_time_columns(pairs, images, threshold)
    pairs["kind"] = np.where(pairs["dt_seconds"].notna().to_numpy(), "spatiotemporal", "spatial")
    return pairs, dropped


def _rng(seed: int, *parts: str) -> np.random.Generator:
    digest = hashlib.sha256("/".join([str(seed), *parts]).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def _sample_span_pairs(
    labels: np.ndarray, seconds: np.ndarray, n_each: int, min_dt: float, rng: np.random.Generator
) -> list[tuple[int, int]]:
    """Up to ``n_each`` same-label and as many different-label index pairs (balanced)."""
    n = len(labels)
    groups: dict[int, np.ndarray] = {int(v): np.flatnonzero(labels == v) for v in np.unique(labels)}
    picked: dict[bool, dict[tuple[int, int], None]] = {True: {}, False: {}}
    attempts = 0
    max_attempts = 30 * n_each + 100
    while attempts < max_attempts and min(len(picked[True]), len(picked[False])) < n_each:
        attempts += 1
        i = int(rng.integers(n))
        want_same = len(picked[True]) <= len(picked[False])
        if len(picked[want_same]) >= n_each:
            want_same = not want_same
        group = groups[int(labels[i])]
        if want_same:
            if len(group) < 2:
                continue
            j = int(group[rng.integers(len(group))])
        else:
            if len(group) == n:
                continue
            j = int(rng.integers(n))
            if labels[j] == labels[i]:
                continue
        if i == j or abs(seconds[j] - seconds[i]) < min_dt:
            continue
        picked[want_same].setdefault((min(i, j), max(i, j)), None)
    k = min(len(picked[True]), len(picked[False]), n_each)
    return list(picked[True])[:k] + list(picked[False])[:k]


def temporal_pairs(
    images: pd.DataFrame, config: TemporalPairConfig, threshold: float, seed: int
) -> pd.DataFrame:
    """Sample temporal pairs of one camera within one split.

    Args:
        images: labelled frames of one camera and one split.
    Returns:
        pairs (pair_id, image_id0, image_id1, scene, kind, dt_seconds, same_<span>), sorted.
    """
    columns = ["pair_id", "image_id0", "image_id1", "scene", "kind"]
    frames = images[trusted_mask(images, threshold)].sort_values("image_id", kind="stable")
    if len(frames) < 2 or config.pairs_per_camera_span < 2:
        return pd.DataFrame(columns=columns)
    ids = frames["image_id"].to_numpy(dtype=object)
    epoch = pd.Timestamp(0, tz="UTC")
    elapsed = pd.to_datetime(frames["timestamp_utc"], utc=True) - epoch
    seconds = np.asarray(elapsed / pd.Timedelta(seconds=1), dtype=np.float64)
    camera, split = str(frames["scene"].iloc[0]), str(frames["split"].iloc[0])
    chosen: dict[tuple[int, int], None] = {}
    for span in config.spans:
        labels = frames[span].to_numpy(dtype=np.float64, na_value=np.nan)
        rng = _rng(seed, "temporal", camera, split, span)
        known = np.flatnonzero(np.isfinite(labels))
        if len(known) < 2:
            continue
        for i, j in _sample_span_pairs(
            labels[known].astype(np.int64),
            seconds[known],
            config.pairs_per_camera_span // 2,
            config.min_dt_seconds,
            rng,
        ):
            chosen.setdefault((int(known[i]), int(known[j])), None)
    if not chosen:
        return pd.DataFrame(columns=columns)
    index0 = np.array([i for i, _ in chosen], dtype=np.int64)
    index1 = np.array([j for _, j in chosen], dtype=np.int64)
    pairs = pd.DataFrame({"image_id0": ids[index0], "image_id1": ids[index1]})
    pairs["pair_id"] = pair_ids(pairs["image_id0"], pairs["image_id1"])
    pairs["scene"] = camera
    pairs["kind"] = "temporal"
    pairs = add_time_columns(pairs, frames, threshold)
    return pairs.sort_values("pair_id", kind="stable").reset_index(drop=True)


def balanced_subset(pairs: pd.DataFrame, span: str, seed: int = 0) -> pd.DataFrame:
    """The pairs with a known ``same_<span>``, balanced between same and different.

    Temporal pairs are sampled balanced for each span separately; their union (the manifest)
    is not balanced for any one span. This recovers a balanced set for ``span``: every pair of
    the smaller class and as many of the larger one, chosen by a seeded key of the pair id
    (independent of row order).

    Args:
        pairs: manifest pairs (any subset, e.g. one split and kind).
        span: a span name (``hour``, ``month`` ...).
    Returns:
        the selected rows, in pair_id order.
    """
    column = f"same_{span}"
    known = pairs[pairs[column].notna()]
    same = known[column].astype(bool).to_numpy()
    n = int(min(same.sum(), (~same).sum()))
    keys = seeded_keys(seed, known["pair_id"])
    keep = np.zeros(len(known), dtype=bool)
    for mask in (same, ~same):
        index = np.flatnonzero(mask)
        keep[index[np.argsort(keys[index], kind="stable")[:n]]] = True
    return known[keep].sort_values("pair_id", kind="stable")
