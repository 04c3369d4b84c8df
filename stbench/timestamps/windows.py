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

Webcam frames named by an archive at download get their window from the sun fit instead
(:func:`stbench.webcams.index.time_window_s`).
"""

from __future__ import annotations

import math

from stbench.timestamps.resolve import AGREE_SECONDS

__all__ = ["CAMERA_CLOCK_WINDOW_S", "GPS_WINDOW_S", "source_window_s"]

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
