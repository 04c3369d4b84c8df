"""Score indexed webcam records against a synthetic world's truth (``truth/webcam_*.parquet``).

Used by the tests and ``docs/timestamps.md``: precision / recall of the clock-offset and frozen
detections, offset errors, and whether anything untimeable came out trusted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from stbench.timestamps import TRUST_THRESHOLD

__all__ = ["CLOCK_KINDS", "load_truth", "score_webcams"]


#: Truth kinds that shift a frame's recorded time (``name_error_s``).
CLOCK_KINDS = ("local_time", "clock_offset", "clock_drift")


def score_webcams(
    images: pd.DataFrame, truth_frames: pd.DataFrame, min_offset_s: float = 3600
) -> dict:
    """Detection and accuracy numbers of webcam image records against truth frames.

    Args:
        images: image records (columns of IMAGES_SCHEMA) of the indexed cameras.
        truth_frames: ``truth/webcam_frames.parquet`` (path, capture_time_utc, name_error_s,
            faults ...).
        min_offset_s: offsets at least this large (s) count as injected clock offsets.
    Returns:
        dict of counts, precisions, recalls and error quantiles (minutes).
    """
    merged = truth_frames.merge(images, on="path", how="left", suffixes=("_truth", ""))
    indexed = merged[merged["image_id"].notna()].copy()
    flags = indexed["trust_flags"].apply(lambda f: set(f) if f is not None else set())
    big = indexed["name_error_s"].abs() >= min_offset_s
    corrected = indexed["clock_offset_s"].fillna(0).abs() >= min_offset_s
    frozen_truth = indexed["faults"].apply(lambda f: "frozen" in list(f))
    frozen_found = flags.apply(lambda f: "frozen" in f)
    trusted = (indexed["timestamp_trust"] >= TRUST_THRESHOLD) & indexed["timestamp_utc"].notna()
    error_min = (indexed["timestamp_utc"] - indexed["capture_time_utc"]).dt.total_seconds() / 60.0
    offset_error_min = (
        indexed["clock_offset_s"].fillna(0) + indexed["name_error_s"]
    ) / 60.0  # applied correction vs the injected naming error
    return {
        "frames": len(merged),
        "indexed": len(indexed),
        "offset_frames": int(big.sum()),
        "offset_precision": _ratio((big & corrected).sum(), corrected.sum()),
        "offset_recall": _ratio((big & corrected).sum(), big.sum()),
        "offset_error_abs_p95_min": _quantile(offset_error_min[big & corrected].abs(), 0.95),
        "offset_error_abs_max_min": _quantile(offset_error_min[big & corrected].abs(), 1.0),
        "frozen_frames": int(frozen_truth.sum()),
        "frozen_precision": _ratio((frozen_truth & frozen_found).sum(), frozen_found.sum()),
        "frozen_recall": _ratio((frozen_truth & frozen_found).sum(), frozen_truth.sum()),
        "trusted": int(trusted.sum()),
        "trusted_without_time": int((trusted & indexed["timestamp_utc"].isna()).sum()),
        "trusted_error_abs_p95_min": _quantile(error_min[trusted & ~frozen_truth].abs(), 0.95),
        "trusted_error_abs_max_min": _quantile(error_min[trusted & ~frozen_truth].abs(), 1.0),
        "trusted_within_15_min": _ratio(
            (error_min[trusted & ~frozen_truth].abs() <= 15).sum(), (trusted & ~frozen_truth).sum()
        ),
    }


def _ratio(num, den) -> float:
    return float(num) / float(den) if den else float("nan")


def _quantile(values: pd.Series, q: float) -> float:
    values = values.dropna()
    return float(np.quantile(values, q)) if len(values) else float("nan")


def load_truth(world: str | Path) -> pd.DataFrame:
    """The truth frames table of a synthetic world."""
    return pd.read_parquet(Path(world) / "truth" / "webcam_frames.parquet")
