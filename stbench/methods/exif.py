"""Time read from photo metadata: the baseline time-varying SfM pipelines use today.

The prediction is the span label of the time the file itself claims (EXIF DateTimeOriginal, or a
``YYYYMMDD_HHMMSS`` file name as AMOS webcams write), as a one-hot vector; an image without any
readable time gets no prediction (a recorded failure, counted as wrong by the accuracy).

``resolve_timestamp`` is ``stbench.timestamps.resolve_timestamp`` when that module is installed;
until it is merged, this module falls back to a minimal reader of its own
(:func:`_fallback_resolve_timestamp`: DateTimeOriginal + OffsetTimeOriginal, else the file name
as UTC), kept behind the same function name.
"""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from stbench.methods.base import Method
from stbench.spans import CLASS_SPANS, get_span, span_labels

_NAME_PATTERN = re.compile(r"(\d{8})_(\d{6})")


@dataclass
class _FallbackTimestamp:
    timestamp_utc: pd.Timestamp | None
    utc_offset_min: int | None
    timestamp_source: str
    timestamp_trust: float = 0.0
    trust_flags: list[str] = field(default_factory=list)


@functools.lru_cache(maxsize=1)
def _timezone_finder() -> Any:
    from timezonefinder import TimezoneFinder

    return TimezoneFinder()


def _offset_from_location(when_utc: pd.Timestamp, lat, lon) -> int | None:
    if lat is None or lon is None or not np.isfinite(lat) or not np.isfinite(lon):
        return None
    from zoneinfo import ZoneInfo

    zone = _timezone_finder().timezone_at(lat=float(lat), lng=float(lon))
    if zone is None:
        return None
    offset = when_utc.tz_convert(ZoneInfo(zone)).utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else None


def _fallback_resolve_timestamp(
    data: bytes, *, name: str | None = None, lat=None, lon=None, http_headers=None
) -> _FallbackTimestamp:
    import exifread

    is_exif_container = data[:2] == b"\xff\xd8" or data[:4] in (b"II*\x00", b"MM\x00*")
    tags = (
        exifread.process_file(io.BytesIO(data), details=False, extract_thumbnail=False)
        if is_exif_container
        else {}
    )
    original = str(tags.get("EXIF DateTimeOriginal", "")).strip()
    if original and not original.startswith("0000"):
        try:
            local = pd.Timestamp(pd.to_datetime(original, format="%Y:%m:%d %H:%M:%S"))
        except (ValueError, TypeError):
            local = None
        if local is not None:
            offset_text = str(tags.get("EXIF OffsetTimeOriginal", "")).strip()
            match = re.fullmatch(r"([+-])(\d{2}):(\d{2})", offset_text)
            if match:
                sign = 1 if match.group(1) == "+" else -1
                offset = sign * (int(match.group(2)) * 60 + int(match.group(3)))
            else:
                offset = _offset_from_location(local.tz_localize("UTC"), lat, lon)
            if offset is None:  # local time is all a span label needs: treat it as offset 0
                offset = 0
            utc = (local - pd.Timedelta(minutes=offset)).tz_localize("UTC")
            return _FallbackTimestamp(utc, offset, "exif_datetime_original")
    found = _NAME_PATTERN.search(name or "")
    if found:
        utc = pd.Timestamp(pd.to_datetime("".join(found.groups()), format="%Y%m%d%H%M%S"))
        utc = utc.tz_localize("UTC")
        offset = _offset_from_location(utc, lat, lon)
        return _FallbackTimestamp(utc, offset if offset is not None else 0, "file_name")
    return _FallbackTimestamp(None, None, "none")


def resolve_timestamp(data: bytes, *, name=None, lat=None, lon=None, http_headers=None) -> Any:
    """``stbench.timestamps.resolve_timestamp`` if installed, else the local fallback."""
    try:
        from stbench.timestamps import resolve_timestamp as resolve
    except ImportError:
        resolve = _fallback_resolve_timestamp
    return resolve(data, name=name, lat=lat, lon=lon, http_headers=http_headers)


class Exif(Method):
    """Temporal prediction from the time stored in the file (no matching)."""

    name = "exif"
    version = "1"
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
