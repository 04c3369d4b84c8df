"""Time windows: how much earlier and later than a resolved timestamp the capture may be.

A window ``(early_s, late_s)`` says the true capture lies in ``[t - early_s, t + late_s]``. The
manifest keeps a span label only when the whole window falls in one class of the span
(:func:`stbench.spans.window_span_labels`). Bounds by the winning source (docs/timestamps.md):

- ``exif_gps``: the GPS receiver's UTC time, written to the second: :data:`GPS_WINDOW_S`.
- ``exif_local_gps``: the camera clock, which agreed with GPS time to within
  :data:`~stbench.timestamps.resolve.AGREE_SECONDS` (else it is no candidate).
- other camera clocks (an EXIF offset, a zone from the position, a local or UTC file name): a
  set clock drifts and is set by hand; :data:`CAMERA_CLOCK_WINDOW_S` is an assumption (no
  manufacturer documents a bound), not a measurement.
- ``http_last_modified`` / ``http_date``: a server time says only that the photo existed then;
  the capture may be any time before (``early_s`` infinite, no span label).
- a ``zone_unverified`` local time (a clock reading put in the zone of the position, no UTC
  candidate agreeing): the clock may have been set to any civil zone, so the capture lies within
  the spread of civil offsets around it (:func:`zone_window_s`), plus the camera clock's window.

Webcam frames named by an archive at download get their window from the sun fit instead
(:func:`stbench.webcams.index.time_window_s`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from stbench.timestamps.exif import MAX_OFFSET_MIN, MIN_OFFSET_MIN
from stbench.timestamps.resolve import AGREE_SECONDS

__all__ = [
    "CAMERA_CLOCK_WINDOW_S",
    "GPS_WINDOW_S",
    "source_window_s",
    "timestamp_window_s",
    "zone_window_s",
]

#: GPS time in EXIF is whole seconds (GPSTimeStamp), the fix at most a second or so old.
GPS_WINDOW_S = 2.0
#: Assumed error of a camera clock that was set (its date passed the resolver's checks).
CAMERA_CLOCK_WINDOW_S = 180.0

_SERVER_SOURCES = ("http_last_modified", "http_date")


def source_window_s(source: str | None) -> tuple[float, float] | None:
    """(early_s, late_s) of a timestamp from resolver source ``source``; None when there is no
    timestamp (``none``, ``unresolved``, missing)."""
    if source is None or source in ("none", "unresolved", ""):
        return None
    if source == "exif_gps":
        return GPS_WINDOW_S, GPS_WINDOW_S
    if source == "exif_local_gps":
        return AGREE_SECONDS + GPS_WINDOW_S, AGREE_SECONDS + GPS_WINDOW_S
    if source in _SERVER_SOURCES:
        return math.inf, 0.0
    return CAMERA_CLOCK_WINDOW_S, CAMERA_CLOCK_WINDOW_S


def zone_window_s(offset_min: float) -> tuple[float, float]:
    """(early_s, late_s) of a local clock reading put in a zone of offset ``offset_min`` when
    the clock may have been set to any civil zone (``MIN_OFFSET_MIN`` .. ``MAX_OFFSET_MIN``).

    A clock set to offset ``z`` shows ``L = utc + z``; read with offset ``p`` it gives
    ``t = L - p``, so the true ``utc = t + (p - z)``: at most ``MAX - p`` earlier (``z`` =
    +14:00) and ``p - MIN`` later (``z`` = -12:00). The camera clock's own window is added.
    """
    if not MIN_OFFSET_MIN <= offset_min <= MAX_OFFSET_MIN:
        raise ValueError(
            f"offset_min {offset_min} is outside the civil offsets "
            f"{MIN_OFFSET_MIN}..{MAX_OFFSET_MIN} min; pass the zone offset of the timestamp"
        )
    early = (MAX_OFFSET_MIN - offset_min) * 60.0 + CAMERA_CLOCK_WINDOW_S
    late = (offset_min - MIN_OFFSET_MIN) * 60.0 + CAMERA_CLOCK_WINDOW_S
    return early, late


def timestamp_window_s(
    source: str | None, utc_offset_min: float | None, trust_flags: Iterable[str]
) -> tuple[float, float] | None:
    """(early_s, late_s) of a resolved timestamp (a resolver result's source, offset and flags):
    :func:`zone_window_s` when it is ``zone_unverified``, else :func:`source_window_s`. A
    ``zone_unverified`` time without a civil offset has no bound (``inf``, no span label)."""
    window = source_window_s(source)
    if window is None or "zone_unverified" not in set(trust_flags):
        return window
    if utc_offset_min is None or not MIN_OFFSET_MIN <= utc_offset_min <= MAX_OFFSET_MIN:
        return math.inf, math.inf  # None, NaN or no civil offset
    return zone_window_s(utc_offset_min)
