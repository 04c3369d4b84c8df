"""Which pairs and images of a manifest an evaluation uses, and the ground truth it needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from stbench.errors import ConfigError
from stbench.spans import CLASS_SPANS

__all__ = ["POSE_COLUMNS", "Selection", "labels_of", "manifest_identity", "select"]


POSE_COLUMNS = ("fx", "fy", "cx", "cy", "qw", "qx", "qy", "qz", "tx", "ty", "tz")


@dataclass
class Selection:
    """The evaluated items.

    Attributes:
        pairs: selected pairs (sorted by image_id0, image_id1) with a ``matchable`` column
            (both images have intrinsics and poses: spatial metrics apply).
        images: the manifest's image table indexed by image_id.
        time_images: image ids that need a temporal prediction (labelled images of the split
            and images of pairs with a known same-span truth), sorted.
    """

    pairs: pd.DataFrame
    images: pd.DataFrame
    time_images: list[str]


def manifest_identity(manifest: Any) -> str:
    """``name@content_hash`` of a loaded manifest (``unhashed`` if manifest.json has no hash)."""
    return f"{manifest.name}@{manifest.meta.get('content_hash') or 'unhashed'}"


def select(
    manifest: Any,
    split: str,
    max_pairs: int | None = None,
    max_images: int | None = None,
    seed: int = 0,
) -> Selection:
    """Select the pairs and images of ``split`` (``all`` = every split).

    Raises:
        ConfigError: the split is unknown or holds neither pairs nor labelled images.
    """
    images = manifest.images.set_index("image_id", drop=False)
    pairs = manifest.pairs
    if split != "all":
        known = set(images["split"].dropna()) | set(pairs["split"].dropna())
        if split not in known:
            raise ConfigError(
                f"manifest {manifest.directory} has no split {split!r} (splits: {sorted(known)})"
            )
        pairs = pairs[pairs["split"] == split]
        images_in_split = images[images["split"] == split]
    else:
        images_in_split = images
    pairs = pairs.sort_values(["image_id0", "image_id1"]).reset_index(drop=True)
    if max_pairs is not None and len(pairs) > max_pairs:
        keep = np.sort(np.random.default_rng(seed).choice(len(pairs), max_pairs, replace=False))
        pairs = pairs.iloc[keep].reset_index(drop=True)
    missing = set(pairs["image_id0"]) | set(pairs["image_id1"])
    missing -= set(images.index)
    if missing:
        raise ConfigError(
            f"manifest {manifest.directory}: {len(missing)} pair image(s) missing from images "
            f"(e.g. {sorted(missing)[0]}); run `stbench manifest validate`"
        )
    posed = images[list(POSE_COLUMNS)].notna().all(axis=1)
    pairs = pairs.assign(
        matchable=posed.reindex(pairs["image_id0"]).to_numpy()
        & posed.reindex(pairs["image_id1"]).to_numpy()
    )
    spans = [s for s in CLASS_SPANS if s in images.columns]
    labelled = images_in_split[images_in_split[spans].notna().any(axis=1)].index.tolist()
    same_columns = [f"same_{s}" for s in spans if f"same_{s}" in pairs.columns]
    with_truth = pairs[pairs[same_columns].notna().any(axis=1)] if same_columns else pairs.iloc[:0]
    needed = set(labelled) | set(with_truth["image_id0"]) | set(with_truth["image_id1"])
    time_images = sorted(needed)
    if max_images is not None and len(time_images) > max_images:
        rng = np.random.default_rng(seed)
        time_images = sorted(rng.choice(time_images, max_images, replace=False).tolist())
    if pairs.empty and not time_images:
        raise ConfigError(
            f"split {split!r} of {manifest.directory} has no pairs and no labelled images"
        )
    return Selection(pairs=pairs, images=images, time_images=time_images)


def labels_of(images: pd.DataFrame, image_id: str) -> dict[str, int]:
    """The span labels of an image (spans with a null label are absent)."""
    row = images.loc[image_id]
    return {s: int(row[s]) for s in CLASS_SPANS if s in row.index and not pd.isna(row[s])}
