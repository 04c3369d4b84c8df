"""Checks of what goes onto (and comes from) the leaderboard CSV.

- Text cells must not start with a spreadsheet formula character (``=``, ``+``, ``-``, ``@``,
  tab, carriage return) and must not hold control characters or line breaks: a CSV opened in a
  spreadsheet would run them as formulas, and a line break would split a row.
- Metric cells are empty (the metric does not apply) or finite numbers in their range:
  [0, 1] for precisions, fractions, accuracies, AUCs, rates and shares; >= 0 for counts,
  errors and times; an interval's low end is not above its high end.
"""

from __future__ import annotations

import math
import re

from stbench.errors import DataError

__all__ = ["FORMULA_LEADS", "UNIT_PREFIXES", "check_number", "check_text", "metric_range"]


FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Metric name prefixes whose values lie in [0, 1].
UNIT_PREFIXES = (
    "precision_",
    "share_",
    "verifiable_fraction",
    "matching_score_",
    "pose_auc_",
    "pair_failure_rate",
    "image_failure_rate",
    "time_accuracy_",
    "time_coverage_",
    "same_",
    "st_precision_",
    "sfm_registered",
    "sfm_span_registered",
    "sfm_maa",
    "sfm_span_maa",
    "sfm_purity_",
    "sfm_cross_",
)


def check_text(value: object, column: str, where: str) -> None:
    """Refuse formula-leading, multi-line or control-character text.

    Raises:
        DataError: naming the column, the value and what to do.
    """
    if value is None:
        return
    text = str(value)
    if text.startswith(FORMULA_LEADS):
        raise DataError(
            f"{where}: {column} {text!r} starts with {text[0]!r}, which spreadsheets run as a "
            "formula; rename it (e.g. give the method another name or pass another --label)"
        )
    if _CONTROL.search(text):
        raise DataError(
            f"{where}: {column} {text!r} holds a line break or control character; rename it"
        )


def metric_range(metric: str) -> tuple[float, float]:
    """The valid range of a metric's values (and of its interval ends)."""
    if metric.startswith(UNIT_PREFIXES):
        return 0.0, 1.0
    return 0.0, math.inf


def check_number(value: float | None, column: str, metric: str, where: str) -> None:
    """Refuse a non-finite or out-of-range value (None = the metric does not apply).

    Raises:
        DataError: naming the column, the value and the allowed range.
    """
    if value is None:
        return
    low, high = metric_range(metric)
    if not math.isfinite(value) or not low <= value <= high:
        allowed = f"[{low:g}, {high:g}]" if math.isfinite(high) else f">= {low:g}"
        raise DataError(
            f"{where}: {column} = {value!r} is not a finite number in {allowed}; "
            "the run's summary is damaged: re-run stbench evaluate"
        )
