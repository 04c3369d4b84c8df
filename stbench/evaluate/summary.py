"""Summary numbers of a run, each with n and a 95 % bootstrap interval (docs/evaluation.md)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from stbench.evaluate.spatial import (
    MATCHING_SCORE_PX,
    POSE_THRESHOLDS_DEG,
    THRESHOLDS_PX,
    pose_auc_statistic,
)
from stbench.evaluate.stats import (
    Estimate,
    bootstrap_weights,
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

#: Metric names in leaderboard order.
SPATIAL_METRICS: tuple[str, ...] = (
    *[f"precision_{t}px" for t in THRESHOLDS_PX],
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


def _estimates(
    columns: Columns, universes: dict[str, pd.Index], n_boot: int, seed: int
) -> dict[str, dict]:
    """Estimates of every metric; resamples are drawn once per item universe (pairs, images).

    Each metric uses the columns of the universe's resample weights for the items it applies
    to: one bootstrap over pairs (or images) serves every metric, as in resampling the
    evaluation set and recomputing the whole summary.
    """
    weights = {
        name: bootstrap_weights(len(index), n_boot, seed) if len(index) and n_boot > 0 else None
        for name, index in universes.items()
    }
    out = {}
    subsets: dict[tuple[str, bytes], np.ndarray] = {}
    for name, (statistic, frame) in columns.items():
        universe = "images" if name.startswith(IMAGE_METRIC_PREFIXES) else "pairs"
        sub_weights = None
        if weights[universe] is not None and len(frame):
            positions = universes[universe].get_indexer(frame.index)
            key = (universe, positions.tobytes())
            if key not in subsets and (positions >= 0).all():
                full = len(positions) == len(universes[universe])
                identity = full and np.array_equal(positions, np.arange(len(positions)))
                subsets[key] = weights[universe] if identity else weights[universe][:, positions]
            sub_weights = subsets.get(key)
        cols = [frame[c].to_numpy() for c in frame.columns]
        result: Estimate = estimate(statistic, *cols, n_boot=n_boot, seed=seed, weights=sub_weights)
        out[name] = result.as_dict()
    return out


def summarize(
    per_pair: pd.DataFrame, per_image: pd.DataFrame, n_boot: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """All summary numbers: ``metrics``, ``by_overlap_bin`` and ``confusion`` matrices."""
    with single_threaded_blas():
        return _summarize(per_pair, per_image, n_boot, seed)


def _summarize(
    per_pair: pd.DataFrame, per_image: pd.DataFrame, n_boot: int, seed: int
) -> dict[str, Any]:
    universes = {
        "pairs": pd.Index(per_pair["pair_id"]),
        "images": pd.Index(per_image["image_id"]),
    }
    metrics = _estimates(metric_columns(per_pair, per_image), universes, n_boot, seed)
    by_bin = {}
    if "overlap_bin" in per_pair.columns:
        matched = per_pair[per_pair["status"].isin(["ok", "failed"])]
        for name, group in matched.groupby(matched["overlap_bin"].fillna("none"), sort=True):
            columns = spatial_columns(group)
            for span in CLASS_SPANS:
                st_name = f"st_precision_{span}"
                columns[st_name] = span_columns(group, per_image.iloc[:0], span)[st_name]
            by_bin[str(name)] = _estimates(columns, universes, n_boot, seed)
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
    return {"metrics": metrics, "by_overlap_bin": by_bin, "confusion": confusion}
