"""Clusters of evaluated items: the units the bootstrap and the paired tests resample.

Frames of one webcam a few days apart share weather, light and camera state; pairs of one scene
share its geometry and texture. Treating them as independent makes intervals far too narrow, so
stbench resamples *clusters* of items. The definitions (docs/evaluation.md, Statistics):

- images (temporal metrics), ``camera-days`` (default): ``source/scene`` (a webcam is its own
  scene) x block of :attr:`ClusterSpec.block_days` days of the UTC capture date (days since
  1970-01-01 // block_days; an undated image is in its camera's ``undated`` block);
  ``camera``: ``source/scene`` only; ``item``: every image alone (the naive bootstrap);
- pairs (matching and same-span metrics), ``scene`` (default): ``source/scene`` (for webcam
  pairs, the camera); ``scene-days``: scene x block of image 0's capture date; ``item``.

Methods never see cluster ids: they are derived here, from manifest columns, when scoring.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from stbench.errors import ConfigError

__all__ = [
    "IMAGE_CLUSTERS",
    "MIN_CLUSTERS",
    "MIN_ITEMS",
    "NOTE_FEW_CLUSTERS",
    "NOTE_SMALL_N",
    "PAIR_CLUSTERS",
    "ClusterSpec",
    "cluster_codes",
    "image_clusters",
    "pair_clusters",
]


IMAGE_CLUSTERS = ("camera-days", "camera", "item")
PAIR_CLUSTERS = ("scene", "scene-days", "item")
#: Below this many items a metric is shown as "n too small", without an interval.
MIN_ITEMS = 30
#: Below this many clusters a metric is shown as "too few clusters", without an interval.
MIN_CLUSTERS = 10
NOTE_SMALL_N = "n too small"
NOTE_FEW_CLUSTERS = "too few clusters"


@dataclass(frozen=True)
class ClusterSpec:
    """How items are grouped for resampling, and the minimums for showing an interval.

    Attributes:
        images: cluster of an image: ``camera-days``, ``camera`` or ``item``.
        pairs: cluster of a pair: ``scene``, ``scene-days`` or ``item``.
        block_days: length of a block of days (``*-days`` clusters), >= 1.
        min_items: intervals need at least this many items.
        min_clusters: intervals need at least this many clusters.
    """

    images: str = "camera-days"
    pairs: str = "scene"
    block_days: int = 14
    min_items: int = MIN_ITEMS
    min_clusters: int = MIN_CLUSTERS

    def __post_init__(self) -> None:
        if self.images not in IMAGE_CLUSTERS:
            raise ConfigError(
                f"unknown image clusters {self.images!r}; choose one of {', '.join(IMAGE_CLUSTERS)}"
            )
        if self.pairs not in PAIR_CLUSTERS:
            raise ConfigError(
                f"unknown pair clusters {self.pairs!r}; choose one of {', '.join(PAIR_CLUSTERS)}"
            )
        if int(self.block_days) < 1:
            raise ConfigError(f"cluster block_days must be >= 1, got {self.block_days}")
        if int(self.min_items) < 1 or int(self.min_clusters) < 1:
            raise ConfigError("cluster minimums (min_items, min_clusters) must be >= 1")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict (recorded in summary.json)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> ClusterSpec:
        """The spec recorded in a summary (defaults for what it lacks)."""
        known = {k: v for k, v in (values or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)


def _camera(frame: pd.DataFrame) -> pd.Series:
    source = frame["source"].astype("string").fillna("?") if "source" in frame else "?"
    return source + "/" + frame["scene"].astype("string").fillna("?")


def _day_block(timestamps: pd.Series, block_days: int) -> pd.Series:
    times = pd.to_datetime(timestamps, utc=True, errors="coerce")
    days = (times - pd.Timestamp("1970-01-01", tz="UTC")).dt.days
    blocks = (days // block_days).astype("Int64").astype("string")
    return ("d" + blocks).fillna("undated")


def image_clusters(images: pd.DataFrame, spec: ClusterSpec) -> pd.Series:
    """Cluster id per image row (``images`` has ``image_id``, ``source``, ``scene`` and
    ``timestamp_utc`` columns of the manifest; missing ones count as unknown)."""
    if spec.images == "item" or images.empty:
        return images["image_id"].astype("string").rename("cluster")
    camera = _camera(images)
    if spec.images == "camera":
        return camera.rename("cluster")
    stamps = (
        images["timestamp_utc"] if "timestamp_utc" in images else pd.Series(pd.NaT, images.index)
    )
    return (camera + "/" + _day_block(stamps, spec.block_days)).rename("cluster")


def pair_clusters(pairs: pd.DataFrame, images: pd.DataFrame, spec: ClusterSpec) -> pd.Series:
    """Cluster id per pair row (``pairs`` has ``pair_id``, ``image_id0`` and ``scene``;
    ``images`` is the manifest's image table indexed by image_id)."""
    if spec.pairs == "item" or pairs.empty:
        return pairs["pair_id"].astype("string").rename("cluster")
    first = images.reindex(pairs["image_id0"].to_numpy())
    source = first["source"].to_numpy() if "source" in first else np.full(len(pairs), "?")
    scenes = pd.DataFrame({"source": source, "scene": pairs["scene"].to_numpy()}, index=pairs.index)
    camera = _camera(scenes)
    if spec.pairs == "scene":
        return camera.rename("cluster")
    stamps = (
        pd.Series(first["timestamp_utc"].to_numpy(), index=pairs.index)
        if "timestamp_utc" in first
        else pd.Series(pd.NaT, index=pairs.index)
    )
    return (camera + "/" + _day_block(stamps, spec.block_days)).rename("cluster")


def cluster_codes(ids: pd.Series | np.ndarray | None, n: int) -> np.ndarray:
    """(n,) int64 codes 0..G-1 of cluster ids (None: every item its own cluster)."""
    if ids is None:
        return np.arange(n, dtype=np.int64)
    codes, _ = pd.factorize(pd.Series(ids).astype("string").fillna("?"), sort=True)
    return codes.astype(np.int64)
