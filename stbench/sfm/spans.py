"""Span labels used by SfM: the manifest's span columns, plus ``daylight``.

``daylight`` is 1 when the sun's geometric elevation at the image's place and trusted time is
above the horizon, 0 otherwise (night); it is null where the manifest has no trusted time
(its ``hour`` label is null) or no latitude/longitude.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stbench.errors import ConfigError
from stbench.spans import SEASON_NAMES, SPANS

__all__ = [
    "DAYLIGHT",
    "DAYLIGHT_NAMES",
    "check_spans",
    "class_name",
    "daylight_labels",
    "known_spans",
    "span_table",
]


DAYLIGHT = "daylight"
DAYLIGHT_NAMES = ("night", "day")


def known_spans() -> tuple[str, ...]:
    """Span names SfM accepts."""
    return (*SPANS, DAYLIGHT)


def check_spans(spans: tuple[str, ...]) -> None:
    """Raise ConfigError for an unknown span name."""
    unknown = [s for s in spans if s not in known_spans()]
    if unknown:
        raise ConfigError(f"unknown span(s) {unknown} for sfm; known: {', '.join(known_spans())}")


def daylight_labels(images: pd.DataFrame) -> pd.Series:
    """(N,) nullable Int64: 1 day, 0 night, null without trusted time or place."""
    from stbench.solar import sun_position

    out = pd.Series(pd.array([pd.NA] * len(images), dtype="Int64"), index=images.index)
    if not {"timestamp_utc", "lat", "lon"} <= set(images.columns):
        return out
    trusted = images["hour"].notna() if "hour" in images else pd.Series(False, images.index)
    valid = trusted & images["lat"].notna() & images["lon"].notna()
    valid &= images["timestamp_utc"].notna()
    for (lat, lon), group in images[valid].groupby(["lat", "lon"]):
        elevation, _ = sun_position(group["timestamp_utc"], float(lat), float(lon))
        out.loc[group.index] = (np.asarray(elevation) > 0).astype(np.int64)
    return out


def span_table(images: pd.DataFrame, spans: tuple[str, ...]) -> pd.DataFrame:
    """Label columns (nullable Int64), one per span, indexed like ``images``."""
    check_spans(spans)
    columns = {}
    for span in spans:
        if span == DAYLIGHT:
            columns[span] = daylight_labels(images)
        elif span in images:
            columns[span] = images[span].astype("Int64")
        else:
            columns[span] = pd.Series(pd.array([pd.NA] * len(images), dtype="Int64"), images.index)
    return pd.DataFrame(columns, index=images.index)


def class_name(span: str, label: int) -> str:
    """Readable class of a label: ``winter``, ``night``, ``hour 7`` ..."""
    if span == "season":
        return SEASON_NAMES[int(label)]
    if span == DAYLIGHT:
        return DAYLIGHT_NAMES[int(label)]
    return f"{span} {int(label)}"
