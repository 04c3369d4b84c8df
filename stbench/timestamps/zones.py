"""Time zones from positions: the IANA zone (timezonefinder) and DST-aware conversions (zoneinfo)."""

from __future__ import annotations

import datetime as dt
import functools
import math
from zoneinfo import ZoneInfo

__all__ = ["localize", "utc_offset_minutes", "valid_position", "zone_at"]


@functools.lru_cache(maxsize=1)
def _finder():
    # One finder per process, built on first use (~0.3 s): never at import time.
    from timezonefinder import TimezoneFinder

    return TimezoneFinder()


def valid_position(lat: float | None, lon: float | None) -> bool:
    """Whether (lat, lon) is a finite position on Earth (the null island (0, 0) is not)."""
    if lat is None or lon is None:
        return False
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return False
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return False
    return not (lat == 0 and lon == 0)


@functools.lru_cache(maxsize=65536)
def _zone_name(lat_key: float, lon_key: float) -> str | None:
    return _finder().timezone_at(lng=lon_key, lat=lat_key)


def zone_at(lat: float | None, lon: float | None) -> ZoneInfo | None:
    """The IANA zone at a position (cached per ~10 m), or None for an invalid position."""
    if not valid_position(lat, lon):
        return None
    name = _zone_name(round(float(lat), 4), round(float(lon), 4))
    return _zone(name) if name else None


@functools.lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):
        return None


def localize(local: dt.datetime, zone: ZoneInfo) -> tuple[dt.datetime | None, str]:
    """Put a naive local civil time of ``zone`` into UTC, DST-aware.

    Returns:
        (aware UTC datetime or None, flag): the flag is ``""``, ``ambiguous_local_time`` (the
        local time occurs twice at a DST fall-back; the first occurrence is returned) or
        ``nonexistent_local_time`` (it falls in a DST spring-forward gap; None is returned).
    """
    first = local.replace(tzinfo=zone, fold=0)
    second = local.replace(tzinfo=zone, fold=1)
    first_utc = first.astimezone(dt.timezone.utc)
    second_utc = second.astimezone(dt.timezone.utc)
    if first_utc == second_utc:
        return first_utc, ""
    # Round trip: a time in a gap does not come back to the same wall-clock time.
    if first_utc.astimezone(zone).replace(tzinfo=None) != local:
        return None, "nonexistent_local_time"
    return first_utc, "ambiguous_local_time"


def utc_offset_minutes(utc: dt.datetime, zone: ZoneInfo) -> int:
    """Minutes east of UTC of ``zone``'s civil time at the instant ``utc``."""
    offset = utc.astimezone(zone).utcoffset()
    return round(offset.total_seconds() / 60) if offset is not None else 0
