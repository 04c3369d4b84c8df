"""Per-pair and per-image results from cached predictions and the manifest's ground truth."""

from __future__ import annotations

import itertools
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd

from stbench.defaults import DEPTH_TAU, POSE_CONFIDENCE, POSE_THRESHOLD_PX
from stbench.depth import read_depth
from stbench.errors import DataError
from stbench.evaluate.clusters import ClusterSpec, image_clusters, pair_clusters
from stbench.evaluate.selection import Selection
from stbench.evaluate.spatial import (
    THRESHOLDS_PX,
    PairGeometry,
    match_metrics,
    pose_errors,
)
from stbench.geometry import camera_from_record
from stbench.prediction_cache import PredictionCache
from stbench.spans import CLASS_SPANS

__all__ = [
    "DepthLoader",
    "add_clusters",
    "declared_same_span",
    "score_images",
    "score_pairs",
    "score_pairs_parallel",
]

SPATIAL_COLUMNS = (
    "n_keypoints0",
    "n_keypoints1",
    "n_matches",
    "n_verifiable",
    "n_reprojectable",
    *[f"n_correct_{t}px" for t in THRESHOLDS_PX],
    *[f"precision_{t}px" for t in THRESHOLDS_PX],
    "verifiable_fraction",
    "matching_score_3px",
    "pose_error_R_deg",
    "pose_error_t_deg",
    "pose_error_deg",
    "time_s",
)


class DepthLoader:
    """Metric depth maps by image id (LRU cache); None when the image has none usable."""

    def __init__(self, images: pd.DataFrame, roots: dict[str, Path], size: int = 16) -> None:
        self.images = images
        self.roots = roots
        self.size = size
        self._cache: OrderedDict[str, np.ndarray | None] = OrderedDict()
        self.problems: dict[str, str] = {}

    def depth(self, image_id: str) -> np.ndarray | None:
        if image_id in self._cache:
            self._cache.move_to_end(image_id)
            return self._cache[image_id]
        row = self.images.loc[image_id]
        depth = None
        if isinstance(row.get("depth_path"), str) and row.get("depth_kind") != "ordinal":
            try:
                loaded = read_depth(self.roots[row["source"]] / row["depth_path"])
                if loaded.kind == "metric":
                    depth = loaded.depth
                else:
                    self.problems[image_id] = "depth map is ordinal"
            except (DataError, KeyError) as exc:
                self.problems[image_id] = str(exc)
        self._cache[image_id] = depth
        if len(self._cache) > self.size:
            self._cache.popitem(last=False)
        return depth


def score_pairs(
    selection: Selection,
    cache: PredictionCache,
    depths: DepthLoader | None,
    time_labels: pd.DataFrame | None,
    tau: float = DEPTH_TAU,
    pose_threshold_px: float = POSE_THRESHOLD_PX,
    pose_confidence: float = POSE_CONFIDENCE,
    progress=None,
) -> pd.DataFrame:
    """One row per selected pair: status, spatial metrics, and per-span same-span decisions.

    ``status`` is ``ok``, ``failed`` (the method failed; ``failure_reason`` says why),
    ``not_matched`` (no poses: temporal-only pair) or ``missing`` (absent from the cache).
    """
    pairs = selection.pairs
    images = selection.images
    keys = list(zip(pairs["image_id0"], pairs["image_id1"], strict=True))
    matchable = pairs["matchable"].to_numpy()
    cached = cache.read_pairs([k for k, m in zip(keys, matchable, strict=True) if m])
    rows = []
    for key, is_matchable in zip(keys, matchable, strict=True):
        row: dict = {c: np.nan for c in SPATIAL_COLUMNS}
        row.update(status="not_matched", failure_reason=None, has_depth=False)
        entry = cached.get(key) if is_matchable else None
        if is_matchable and entry is None:
            row["status"] = "missing"
        elif entry is not None and "failure" in entry:
            row.update(status="failed", failure_reason=entry["failure"], time_s=entry["time_s"])
            row.update(n_matches=0, pose_error_R_deg=np.inf, pose_error_t_deg=np.inf)
            row["pose_error_deg"] = np.inf
        elif entry is not None:
            row.update(status="ok", time_s=entry["time_s"])
            row["n_keypoints0"], row["n_keypoints1"] = (
                len(entry["keypoints0"]),
                len(entry["keypoints1"]),
            )
            row["n_matches"] = len(entry["matches"])
            K0, R0, t0 = camera_from_record(images.loc[key[0]])
            K1, R1, t1 = camera_from_record(images.loc[key[1]])
            geometry = PairGeometry(K0, K1, R0, t0, R1, t1)
            if depths is not None:
                geometry.depth0, geometry.depth1 = depths.depth(key[0]), depths.depth(key[1])
            if geometry.depth0 is not None and geometry.depth1 is not None:
                row["has_depth"] = True
                row.update(
                    match_metrics(
                        entry["keypoints0"], entry["keypoints1"], entry["matches"], geometry, tau
                    )
                )
            error_R, error_t = pose_errors(
                entry["keypoints0"],
                entry["keypoints1"],
                entry["matches"],
                geometry,
                pose_threshold_px,
                pose_confidence,
            )
            row.update(pose_error_R_deg=error_R, pose_error_t_deg=error_t)
            row["pose_error_deg"] = max(error_R, error_t)
        rows.append(row)
        if progress is not None:
            progress()
    columns = [*SPATIAL_COLUMNS, "status", "failure_reason", "has_depth"]
    table = pd.DataFrame(rows, index=pairs.index, columns=columns)
    keep = ["pair_id", "image_id0", "image_id1", "scene", "kind", "overlap_bin", "matchable"]
    out = pd.concat([pairs[[c for c in keep if c in pairs.columns]], table], axis=1)
    return _add_same_span(out, pairs, time_labels)


def _add_same_span(
    out: pd.DataFrame, pairs: pd.DataFrame, labels: pd.DataFrame | None
) -> pd.DataFrame:
    for span in CLASS_SPANS:
        truth_column = f"same_{span}"
        out[f"true_same_{span}"] = (
            pairs[truth_column].astype("boolean") if truth_column in pairs else pd.NA
        )
        if labels is not None and span in labels.columns:
            by_id = labels.set_index("image_id")[span]
            declared = declared_same_span(pairs["image_id0"], pairs["image_id1"], by_id)
        else:
            declared = pd.array([pd.NA] * len(pairs), dtype="boolean")
        out[f"pred_same_{span}"] = declared
    return out


def declared_same_span(
    image_id0: pd.Series, image_id1: pd.Series, predicted: pd.Series
) -> pd.api.extensions.ExtensionArray:
    """Whether a method declares each pair same-span: both images are predicted, in the same
    class (``pred_same_<span>``); NA where either image has no prediction.

    ``predicted`` is the predicted class of one span, indexed by image id.
    """
    declared = pd.array([pd.NA] * len(image_id0), dtype="boolean")
    label0 = predicted.reindex(np.asarray(image_id0)).to_numpy()
    label1 = predicted.reindex(np.asarray(image_id1)).to_numpy()
    both = ~(pd.isna(label0) | pd.isna(label1))
    declared[both] = np.asarray(label0[both], float) == np.asarray(label1[both], float)
    return declared


def score_images(
    selection: Selection, time_labels: pd.DataFrame, failures: pd.DataFrame
) -> pd.DataFrame:
    """One row per image needing a temporal prediction: true and predicted label per span."""
    ids = selection.time_images
    images = selection.images.reindex(ids)
    out = pd.DataFrame(
        {
            "image_id": ids,
            "source": images["source"].to_numpy(),
            "scene": images["scene"].to_numpy(),
        }
    )
    predicted = time_labels.set_index("image_id") if len(time_labels) else None
    failed = failures[failures["kind"] == "image"].set_index("item")["reason"]
    out["status"] = np.where(
        out["image_id"].isin(failed.index),
        "failed",
        np.where(
            out["image_id"].isin(predicted.index if predicted is not None else []), "ok", "missing"
        ),
    )
    out["failure_reason"] = failed.reindex(ids).to_numpy()
    for span in CLASS_SPANS:
        out[f"true_{span}"] = images[span].astype("Int64").to_numpy() if span in images else pd.NA
        if predicted is not None and span in predicted.columns:
            out[f"pred_{span}"] = predicted[span].reindex(ids).astype("Int64").to_numpy()
        else:
            out[f"pred_{span}"] = pd.array([pd.NA] * len(ids), dtype="Int64")
    return out


def add_clusters(
    per_pair: pd.DataFrame, per_image: pd.DataFrame, selection: Selection, spec: ClusterSpec
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add the ``cluster`` column (resampling unit, :mod:`stbench.evaluate.clusters`) to the
    per-pair and per-image results, from the manifest's scene / camera and capture date."""
    images = selection.images
    per_pair = per_pair.assign(cluster=pair_clusters(per_pair, images, spec).to_numpy())
    rows = images.reindex(per_image["image_id"].to_numpy())
    rows = rows.assign(image_id=per_image["image_id"].to_numpy())
    rows.index = per_image.index
    per_image = per_image.assign(cluster=image_clusters(rows, spec).to_numpy())
    return per_pair, per_image


def _score_chunk(args: tuple) -> pd.DataFrame:
    selection, cache_dir, roots, time_labels, settings = args
    depths = DepthLoader(selection.images, roots) if roots is not None else None
    return score_pairs(selection, PredictionCache(cache_dir), depths, time_labels, **settings)


def score_pairs_parallel(
    selection: Selection,
    cache: PredictionCache,
    roots: dict[str, Path] | None,
    time_labels: pd.DataFrame | None,
    workers: int,
    progress=None,
    **settings,
) -> pd.DataFrame:
    """:func:`score_pairs` over contiguous chunks of pairs in ``workers`` processes.

    ``roots`` None means the method does not match (no depth maps are read).
    """
    pairs = selection.pairs
    if workers <= 1 or len(pairs) < 2 * workers:
        depths = DepthLoader(selection.images, roots) if roots is not None else None
        return score_pairs(selection, cache, depths, time_labels, progress=progress, **settings)
    from stbench.parallel import process_pool

    n_chunks = min(len(pairs), workers * 4)
    bounds = np.linspace(0, len(pairs), n_chunks + 1).astype(int)
    tasks = []
    for start, stop in itertools.pairwise(bounds):
        chunk = Selection(pairs.iloc[start:stop], selection.images, selection.time_images)
        tasks.append((chunk, cache.directory, roots, time_labels, settings))
    frames = []
    with process_pool(workers) as pool:
        for task, frame in zip(tasks, pool.map(_score_chunk, tasks), strict=True):
            frames.append(frame)
            if progress is not None:
                for _ in range(len(task[0].pairs)):
                    progress()
    return pd.concat(frames)
