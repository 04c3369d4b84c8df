"""Chance levels of the temporal metrics (the dashed lines of the plots).

- accuracy: the majority-class rate of the true labels (the accuracy of always answering the
  most frequent class) when the labels are known, else ``1 / n_classes`` (a uniform guess);
- MSE: the expected squared error in steps of a uniform random guess, ``mean_k d(0, k)^2`` over
  the ``C`` classes with the span's (circular) distance. For a cyclic span it does not depend on
  the true label, so MSE / chance MSE compares spans of very different scales: 1 is chance,
  0 is perfect.
"""

from __future__ import annotations

import numpy as np

from stbench.spans import get_span

__all__ = ["chance_accuracy", "chance_mse"]


def chance_mse(span: str) -> float:
    """Expected squared step error of a uniform guess over the span's classes."""
    info = get_span(span)
    if not info.n_classes:
        raise ValueError(f"span {span!r} has no classes: no chance MSE")
    classes = np.arange(info.n_classes)
    return float(np.mean(info.distance(np.zeros_like(classes), classes).astype(float) ** 2))


def chance_accuracy(span: str, true_labels: np.ndarray | None = None) -> tuple[float, str]:
    """(chance accuracy, how it was obtained): majority-class rate of ``true_labels`` (ignoring
    missing ones), or ``1 / n_classes`` without labels."""
    info = get_span(span)
    if true_labels is not None:
        labels = np.asarray(true_labels, dtype=float)
        labels = labels[np.isfinite(labels)]
        if len(labels):
            _, counts = np.unique(labels, return_counts=True)
            return float(counts.max() / len(labels)), "majority class"
    if not info.n_classes:
        raise ValueError(f"span {span!r} has no classes: no chance accuracy")
    return 1.0 / info.n_classes, "1/classes"
