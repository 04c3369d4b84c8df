"""Time read from photo metadata: the baseline time-varying SfM pipelines use today.

The prediction is the span label of the time the file itself claims (EXIF DateTimeOriginal, or a
``YYYYMMDD_HHMMSS`` file name as AMOS webcams write), as a one-hot vector; an image without any
readable time gets no prediction (a recorded failure, counted as wrong by the accuracy).

The time is read by :func:`stbench.timestamps.resolve_timestamp` (the resolver the manifest
builders use), so an offset it cannot establish stays unknown and the image gets no prediction
(it is never assumed to be UTC). The method reads the file bytes and name: it is on the
``metadata`` track (:mod:`stbench.methods.tracks`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from stbench.methods.base import Method
from stbench.spans import CLASS_SPANS, get_span, span_labels
from stbench.timestamps import resolve_timestamp

__all__ = ["Exif"]


class Exif(Method):
    """Temporal prediction from the time stored in the file (no matching)."""

    name = "exif"
    version = "2"
    track = "metadata"
    needs_images = False

    def config(self) -> dict[str, Any]:
        """No settings."""
        return {}

    def predict_time(self, image: Any, record: dict[str, Any]) -> dict[str, np.ndarray]:
        """One-hot span labels of the metadata time; empty when the file holds none."""
        lat = record.get("lat")
        lon = record.get("lon")
        lat = None if lat is None or pd.isna(lat) else float(lat)
        lon = None if lon is None or pd.isna(lon) else float(lon)
        name = str(record.get("path", "")).rsplit("/", 1)[-1]
        result = resolve_timestamp(record["data"], name=name, lat=lat, lon=lon)
        if result.timestamp_utc is None or result.utc_offset_min is None:
            raise ValueError(f"no time in the metadata ({result.timestamp_source})")
        out = {}
        for span_name in CLASS_SPANS:
            span = get_span(span_name)
            label = span_labels(
                span,
                [result.timestamp_utc],
                [result.utc_offset_min],
                [np.nan if lat is None else lat],
            )[0]
            if label is pd.NA:
                continue
            one_hot = np.zeros(span.n_classes, np.float32)
            one_hot[int(label)] = 1.0
            out[span_name] = one_hot
        return out
