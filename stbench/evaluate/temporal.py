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

The confusion matrix is scikit-learn's. Precision, recall and F1 are computed for every
bootstrap resample at once (one weighted sum per count, :mod:`stbench.evaluate.stats`), which a
per-resample ``sklearn.metrics.precision_recall_fscore_support`` call would make B times slower;
tests check them against it, resample weights included.
"""

from __future__ import annotations

import numpy as np

from stbench.evaluate.stats import ratio_statistic, weighted_sum
from stbench.spans import get_span

__all__ = [
    "confusion_matrix",
    "f1_statistic",
    "precision_statistic",
    "recall_statistic",
    "span_errors",
]


def span_errors(span: str, true: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Distance in steps between labels (circular for cyclic spans), float64 (N,)."""
    return get_span(span).distance(true, predicted).astype(np.float64)


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) int64 counts[true, predicted] (pairs with a label out of range
    skipped), by ``sklearn.metrics.confusion_matrix``."""
    from sklearn.metrics import confusion_matrix as sklearn_confusion_matrix

    true = np.asarray(true, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    keep = (true >= 0) & (true < n_classes) & (predicted >= 0) & (predicted < n_classes)
    if not keep.any():  # scikit-learn refuses empty input
        return np.zeros((n_classes, n_classes), dtype=np.int64)
    matrix = sklearn_confusion_matrix(true[keep], predicted[keep], labels=np.arange(n_classes))
    return matrix.astype(np.int64)


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
