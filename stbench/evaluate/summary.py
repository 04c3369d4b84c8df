"""Summary numbers of a run, each with n, clusters and a 95 % cluster-bootstrap interval
(docs/evaluation.md)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from stbench.defaults import N_BOOTSTRAP
from stbench.evaluate.clusters import ClusterSpec, cluster_codes
from stbench.evaluate.spatial import (
    MATCHING_SCORE_PX,
    POSE_THRESHOLDS_DEG,
    THRESHOLDS_PX,
    pose_auc_statistic,
)
from stbench.evaluate.stats import (
    Estimate,
    cluster_weights,
    estimate,
    mean_statistic,
    ratio_statistic,
    single_threaded_blas,
)
from stbench.evaluate.temporal import (
    confusion_matrix,
    f1_statistic,
    precision_statistic,
    recall_statistic,
    span_errors,
)
from stbench.spans import CLASS_SPANS, get_span

__all__ = [
    "CAMERA_TABLE_METRICS",
    "IMAGE_METRIC_PREFIXES",
    "METRICS",
    "MIN_VERIFIABLE_K",
    "SCENE_TABLE_METRICS",
    "SPAN_METRICS",
    "SPATIAL_METRICS",
    "TEMPORAL_METRICS",
    "Universe",
    "by_group",
    "metric_columns",
    "span_columns",
    "spatial_columns",
    "summarize",
]


#: Metric names in leaderboard order.
#: ``share_pairs_min_k``: share of pairs with at least this many verifiable matches.
MIN_VERIFIABLE_K = 5

SPATIAL_METRICS: tuple[str, ...] = (
    *[f"precision_{t}px" for t in THRESHOLDS_PX],
    f"precision_pooled_{MATCHING_SCORE_PX}px",
    "share_pairs_min_k",
    "verifiable_fraction",
    f"matching_score_{MATCHING_SCORE_PX}px",
    "num_matches",
    *[f"pose_auc_{t}" for t in POSE_THRESHOLDS_DEG],
    "pair_failure_rate",
)
SPAN_METRICS: tuple[str, ...] = (
    "time_accuracy",
    "time_coverage",
    "time_mse",
    "time_mae",
    "same_precision",
    "same_recall",
    "same_f1",
    "st_precision",
)
TEMPORAL_METRICS: tuple[str, ...] = tuple(
    f"{metric}_{span}" for span in CLASS_SPANS for metric in SPAN_METRICS
)
METRICS: tuple[str, ...] = (*SPATIAL_METRICS, *TEMPORAL_METRICS, "image_failure_rate")


def _auc(threshold: float):
    def statistic(weights: np.ndarray, errors: np.ndarray) -> np.ndarray:
        return pose_auc_statistic(errors, threshold, weights)

    return statistic


Columns = dict[str, tuple[Any, pd.DataFrame]]


def _frame(index: pd.Index, **columns: Any) -> pd.DataFrame:
    return pd.DataFrame(
        {k: np.asarray(v, dtype=np.float64) for k, v in columns.items()}, index=index
    )


def spatial_columns(per_pair: pd.DataFrame) -> Columns:
    """Per spatial metric: (statistic, per-pair columns indexed by pair_id) over the pairs it
    applies to (a failed pair counts 0 matches and an infinite pose error)."""
    per_pair = per_pair.set_index("pair_id", drop=False)
    matched = per_pair[per_pair["status"].isin(["ok", "failed"])]
    out: Columns = {}
    verifiable = matched[matched["n_verifiable"].fillna(0) > 0]
    for t in THRESHOLDS_PX:
        name = f"precision_{t}px"
        out[name] = (mean_statistic, _frame(verifiable.index, value=verifiable[name]))
    name = f"precision_pooled_{MATCHING_SCORE_PX}px"
    out[name] = (
        ratio_statistic,
        _frame(
            verifiable.index,
            correct=verifiable[f"n_correct_{MATCHING_SCORE_PX}px"],
            verifiable=verifiable["n_verifiable"],
        ),
    )
    # Pairs where verification was possible (both depth maps), and failed pairs (0 matches).
    checkable = matched[matched["has_depth"].astype(bool) | (matched["status"] == "failed")]
    out["share_pairs_min_k"] = (
        mean_statistic,
        _frame(checkable.index, value=checkable["n_verifiable"].fillna(0) >= MIN_VERIFIABLE_K),
    )
    has_matches = matched[matched["has_depth"].astype(bool) & (matched["n_matches"] > 0)]
    out["verifiable_fraction"] = (
        mean_statistic,
        _frame(has_matches.index, value=has_matches["verifiable_fraction"]),
    )
    reproj = matched[matched["n_reprojectable"].fillna(0) > 0]
    name = f"matching_score_{MATCHING_SCORE_PX}px"
    out[name] = (mean_statistic, _frame(reproj.index, value=reproj[name]))
    out["num_matches"] = (
        mean_statistic,
        _frame(matched.index, value=matched["n_matches"].fillna(0)),
    )
    errors = matched["pose_error_deg"].to_numpy(float)
    errors = np.where(np.isnan(errors), np.inf, errors)
    for t in POSE_THRESHOLDS_DEG:
        out[f"pose_auc_{t}"] = (_auc(t), _frame(matched.index, error=errors))
    out["pair_failure_rate"] = (
        mean_statistic,
        _frame(matched.index, value=matched["status"] == "failed"),
    )
    return out


def span_columns(per_pair: pd.DataFrame, per_image: pd.DataFrame, span: str) -> Columns:
    """Per temporal metric of ``span``: (statistic, per-item columns indexed by item id)."""
    per_pair = per_pair.set_index("pair_id", drop=False)
    per_image = per_image.set_index("image_id", drop=False)
    out: Columns = {}
    labelled = per_image[per_image[f"true_{span}"].notna()]
    if per_image[f"pred_{span}"].isna().all():  # the method does not predict this span
        labelled = labelled.iloc[:0]
    predicted = labelled[labelled[f"pred_{span}"].notna()]
    hit = (labelled[f"pred_{span}"] == labelled[f"true_{span}"]).fillna(False)
    out[f"time_accuracy_{span}"] = (mean_statistic, _frame(labelled.index, value=hit))
    coverage = labelled[f"pred_{span}"].notna()
    out[f"time_coverage_{span}"] = (mean_statistic, _frame(labelled.index, value=coverage))
    steps = span_errors(
        span,
        predicted[f"true_{span}"].to_numpy(np.int64),
        predicted[f"pred_{span}"].to_numpy(np.int64),
    )
    out[f"time_mse_{span}"] = (mean_statistic, _frame(predicted.index, value=steps**2))
    out[f"time_mae_{span}"] = (mean_statistic, _frame(predicted.index, value=steps))
    decided = per_pair[
        per_pair[f"true_same_{span}"].notna() & per_pair[f"pred_same_{span}"].notna()
    ]
    decisions = _frame(
        decided.index,
        declared=decided[f"pred_same_{span}"].astype(bool),
        truth=decided[f"true_same_{span}"].astype(bool),
    )
    out[f"same_precision_{span}"] = (precision_statistic, decisions)
    out[f"same_recall_{span}"] = (recall_statistic, decisions)
    out[f"same_f1_{span}"] = (f1_statistic, decisions)
    st = decided[
        decided[f"pred_same_{span}"].astype(bool) & (decided["n_verifiable"].fillna(0) > 0)
    ]
    correct = st[f"n_correct_{MATCHING_SCORE_PX}px"].to_numpy(float) * st[
        f"true_same_{span}"
    ].astype(bool).to_numpy(float)
    out[f"st_precision_{span}"] = (
        ratio_statistic,
        _frame(st.index, correct=correct, verifiable=st["n_verifiable"]),
    )
    return out


def metric_columns(per_pair: pd.DataFrame, per_image: pd.DataFrame) -> Columns:
    """Every metric's (statistic, per-item columns); used by summaries and paired comparisons."""
    out = spatial_columns(per_pair)
    for span in CLASS_SPANS:
        out.update(span_columns(per_pair, per_image, span))
    images = per_image.set_index("image_id", drop=False)
    out["image_failure_rate"] = (
        mean_statistic,
        _frame(images.index, value=images["status"] == "failed"),
    )
    return out


#: Metrics whose items are images (all others are pairs).
IMAGE_METRIC_PREFIXES = ("time_", "image_")


class Universe:
    """The items of one kind (pairs or images) with their cluster codes and resamples."""

    def __init__(self, ids: pd.Series, clusters: pd.Series | None, n_boot: int, seed: int):
        self.index = pd.Index(ids)
        self.codes = cluster_codes(clusters, len(self.index))
        self.weights = (
            cluster_weights(self.codes, n_boot, seed) if len(self.index) and n_boot > 0 else None
        )


def _estimates(
    columns: Columns, universes: dict[str, Universe], n_boot: int, seed: int, spec: ClusterSpec
) -> dict[str, dict]:
    """Estimates of every metric; resamples are drawn once per item universe (pairs, images).

    Each metric uses the columns of the universe's resample weights for the items it applies
    to: one cluster bootstrap over pairs (or images) serves every metric, as in resampling the
    evaluation set and recomputing the whole summary.
    """
    out = {}
    subsets: dict[tuple[str, bytes], np.ndarray] = {}
    for name, (statistic, frame) in columns.items():
        kind = "images" if name.startswith(IMAGE_METRIC_PREFIXES) else "pairs"
        universe = universes[kind]
        positions = universe.index.get_indexer(frame.index)
        if (positions < 0).any():  # items outside the universe: each its own cluster
            positions = None
        sub_weights = None
        if universe.weights is not None and len(frame) and positions is not None:
            key = (kind, positions.tobytes())
            if key not in subsets:
                full = len(positions) == len(universe.index)
                identity = full and np.array_equal(positions, np.arange(len(positions)))
                subsets[key] = universe.weights if identity else universe.weights[:, positions]
            sub_weights = subsets[key]
        codes = universe.codes[positions] if positions is not None else None
        cols = [frame[c].to_numpy() for c in frame.columns]
        result: Estimate = estimate(
            statistic,
            *cols,
            n_boot=n_boot,
            seed=seed,
            weights=sub_weights,
            clusters=codes,
            min_items=spec.min_items,
            min_clusters=spec.min_clusters,
        )
        out[name] = result.as_dict()
    return out


def summarize(
    per_pair: pd.DataFrame,
    per_image: pd.DataFrame,
    n_boot: int = N_BOOTSTRAP,
    seed: int = 0,
    clusters: ClusterSpec | None = None,
) -> dict[str, Any]:
    """All summary numbers: ``metrics``, ``by_overlap_bin``, ``by_cluster`` (per camera and
    per scene), ``confusion`` matrices and the ``clusters`` spec.

    Items are resampled by their ``cluster`` column (written by
    :func:`stbench.evaluate.score.add_clusters`); without one, each item is its own cluster.
    """
    spec = clusters or ClusterSpec()
    with single_threaded_blas():
        return _summarize(per_pair, per_image, n_boot, seed, spec)


def _summarize(
    per_pair: pd.DataFrame, per_image: pd.DataFrame, n_boot: int, seed: int, spec: ClusterSpec
) -> dict[str, Any]:
    universes = {
        "pairs": Universe(per_pair["pair_id"], per_pair.get("cluster"), n_boot, seed),
        "images": Universe(per_image["image_id"], per_image.get("cluster"), n_boot, seed),
    }
    metrics = _estimates(metric_columns(per_pair, per_image), universes, n_boot, seed, spec)
    by_bin = {}
    if "overlap_bin" in per_pair.columns:
        matched = per_pair[per_pair["status"].isin(["ok", "failed"])]
        for name, group in matched.groupby(matched["overlap_bin"].fillna("none"), sort=True):
            columns = spatial_columns(group)
            for span in CLASS_SPANS:
                st_name = f"st_precision_{span}"
                columns[st_name] = span_columns(group, per_image.iloc[:0], span)[st_name]
            by_bin[str(name)] = _estimates(columns, universes, n_boot, seed, spec)
    confusion = {}
    for span in CLASS_SPANS:
        rows = per_image[per_image[f"true_{span}"].notna() & per_image[f"pred_{span}"].notna()]
        if len(rows):
            matrix = confusion_matrix(
                rows[f"true_{span}"].to_numpy(np.int64),
                rows[f"pred_{span}"].to_numpy(np.int64),
                get_span(span).n_classes,
            )
            confusion[span] = matrix.tolist()
    by_cluster = by_group(per_pair, per_image)
    return {
        "metrics": metrics,
        "by_overlap_bin": by_bin,
        "by_cluster": by_cluster,
        "confusion": confusion,
        "clusters": spec.as_dict(),
    }


#: Metrics of the per-scene and per-camera tables of the reports.
SCENE_TABLE_METRICS = (
    "precision_3px",
    f"precision_pooled_{MATCHING_SCORE_PX}px",
    "share_pairs_min_k",
    "pose_auc_10",
)
CAMERA_TABLE_METRICS = tuple(f"time_accuracy_{span}" for span in CLASS_SPANS)


def _values(columns: Columns, names: tuple[str, ...]) -> dict[str, dict]:
    out = {}
    for name in names:
        statistic, frame = columns[name]
        cols = [frame[c].to_numpy() for c in frame.columns]
        out[name] = estimate(statistic, *cols, n_boot=0).as_dict() if len(frame) else None
    return out


def by_group(per_pair: pd.DataFrame, per_image: pd.DataFrame) -> dict[str, dict]:
    """Point values per scene (pair metrics) and per camera (``source/scene`` of images).

    Values only: a single scene or camera is one cluster, so it has no interval of its own.
    """
    scenes: dict[str, dict] = {}
    matched = per_pair[per_pair["status"].isin(["ok", "failed"])]
    if "scene" not in matched:
        matched = matched.iloc[:0].assign(scene="")
    for scene, group in matched.groupby(matched["scene"].astype(str), sort=True):
        scenes[str(scene)] = {
            "n_pairs": len(group),
            **_values(spatial_columns(group), SCENE_TABLE_METRICS),
        }
    cameras: dict[str, dict] = {}
    if len(per_image) and {"source", "scene"} <= set(per_image.columns):
        camera = per_image["source"].astype(str) + "/" + per_image["scene"].astype(str)
        for name, group in per_image.groupby(camera, sort=True):
            columns: Columns = {}
            for span in CLASS_SPANS:
                columns.update(span_columns(per_pair.iloc[:0], group, span))
            cameras[str(name)] = {"n_images": len(group), **_values(columns, CAMERA_TABLE_METRICS)}
    return {"scene": scenes, "camera": cameras}
