"""Seasonal phase: ``month`` and ``week`` as the northern hemisphere's calendar.

What a photo shows of the year (snow, bare trees, long shadows at noon) follows the seasons, and
the seasons are half a year apart in the two hemispheres. The reference model therefore learns
``month`` and ``week`` in the northern hemisphere's calendar: the labels of images at southern
latitudes are shifted by half a cycle (6 months, 26 weeks) for training, and its predictions for
such images are shifted back. An image without a latitude is taken as northern. ``season``
labels follow the hemisphere already (:mod:`stbench.spans`) and ``hour`` does not depend on it.
"""

from __future__ import annotations

import numpy as np

from stbench.spans import SPANS

__all__ = ["PHASE_SPANS", "half_cycle", "to_calendar", "to_phase"]


#: Spans predicted in seasonal phase.
PHASE_SPANS: tuple[str, ...] = ("month", "week")


def half_cycle(span: str) -> int:
    """Classes in half a year of ``span`` (6 for month, 26 for week)."""
    return int(SPANS[span].n_classes) // 2


def to_phase(labels: np.ndarray, latitude: np.ndarray, span: str) -> np.ndarray:
    """Calendar labels -> seasonal-phase labels (shifted where latitude < 0; -1 stays -1).

    Args:
        labels: (N,) int class labels, -1 where unknown. latitude: (N,) degrees, NaN allowed.
    """
    labels = np.asarray(labels, dtype=np.int64)
    if span not in PHASE_SPANS:
        return labels.copy()
    south = np.nan_to_num(np.asarray(latitude, dtype=np.float64), nan=0.0) < 0
    shifted = (labels + half_cycle(span)) % int(SPANS[span].n_classes)
    return np.where(south & (labels >= 0), shifted, labels)


def to_calendar(probabilities: np.ndarray, latitude: float | None, span: str) -> np.ndarray:
    """Seasonal-phase class probabilities (n,) -> calendar ones for an image at ``latitude``."""
    if span not in PHASE_SPANS or latitude is None or not np.isfinite(latitude) or latitude >= 0:
        return probabilities
    return np.roll(probabilities, half_cycle(span))
