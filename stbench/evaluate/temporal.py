"""Temporal metrics: per-image span classification and per-pair same-span decisions.

For a span with ``C`` classes, a method's prediction for an image is the arg-max of its
probabilities. On images whose timestamp is trusted (the manifest's span label is not null):

- accuracy = correct / labelled images (an image without a prediction counts as wrong);
- coverage = predicted / labelled images;
- MSE and MAE in steps over predicted images, with the circular distance of cyclic spans
  (:meth:`stbench.spans.Span.distance`);
- the (C, C) confusion matrix counts[true, predicted].

A pair is *declared* same-span when both images are predicted in the same class; precision,
recall and F1 of that decision are computed against the manifest's ``same_<span>``.
"""

from __future__ import annotations

import numpy as np

from stbench.evaluate.stats import ratio_statistic, weighted_sum
from stbench.spans import get_span


def span_errors(span: str, true: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Distance in steps between labels (circular for cyclic spans), float64 (N,)."""
    return get_span(span).distance(true, predicted).astype(np.float64)


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) int64 counts[true, predicted] (pairs with a label out of range skipped)."""
    true = np.asarray(true, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    keep = (true >= 0) & (true < n_classes) & (predicted >= 0) & (predicted < n_classes)
    flat = true[keep] * n_classes + predicted[keep]
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def decision_counts(declared: np.ndarray, truth: np.ndarray) -> dict[str, int]:
    """True/false positives and false negatives of boolean same-span decisions."""
    declared = np.asarray(declared, dtype=bool)
    truth = np.asarray(truth, dtype=bool)
    return {
        "tp": int(np.sum(declared & truth)),
        "fp": int(np.sum(declared & ~truth)),
        "fn": int(np.sum(~declared & truth)),
    }


def precision_recall_f1(declared: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall and F1 of same-span decisions (NaN where undefined)."""
    counts = decision_counts(declared, truth)
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
    return precision, recall, f1


def f1_statistic(weights: np.ndarray, declared: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """F1 of 0/1 decisions against 0/1 truth, per resample (see stbench.evaluate.stats)."""
    tp = weighted_sum(weights, declared * truth)
    fp = weighted_sum(weights, declared * (1 - truth))
    fn = weighted_sum(weights, (1 - declared) * truth)
    den = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, 2 * tp / np.where(den > 0, den, 1), np.nan)


def precision_statistic(weights: np.ndarray, declared: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Precision of decisions per resample."""
    return ratio_statistic(weights, declared * truth, declared)


def recall_statistic(weights: np.ndarray, declared: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Recall of decisions per resample."""
    return ratio_statistic(weights, declared * truth, truth)
