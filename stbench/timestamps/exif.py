"""The EXIF fields that date a photo, read with exifread under a bound on work per file.

exifread runs with ``details=False`` (maker notes, a known way to hang it, are skipped) and
``extract_thumbnail=False`` on the TIFF block of the header only. Its reads go through
:class:`_BudgetedReader`, which stops the parse once it has made too many reads (a crafted IFD
chain can otherwise make it loop over 64 KiB for a long time): the watchdog works in any thread
and costs one counter per read. The bound counts work, never time, so a file gets the same
result on a busy machine as on an idle one (a time limit once dropped labels under load).
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass, field

__all__ = [
    "MAX_EXIF_READS",
    "MAX_OFFSET_MIN",
    "MIN_OFFSET_MIN",
    "ExifTimes",
    "parse_exif_date",
    "parse_exif_datetime",
    "parse_exif_offset",
    "parse_subsec",
    "read_exif_times",
]


#: Upper bounds on exifread's work for one file.
MAX_EXIF_READS = 20000

#: The range of UTC offsets civil time uses anywhere (Baker Island -12:00 .. Kiribati +14:00).
MIN_OFFSET_MIN = -12 * 60
MAX_OFFSET_MIN = 14 * 60

_DATETIME = re.compile(
    r"^\s*(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d+)?\s*$"
)
_OFFSET = re.compile(r"^\s*([+-])(\d{2}):?(\d{2})\s*$")
_DATE = re.compile(r"^\s*(\d{4})[:\-](\d{2})[:\-](\d{2})\s*$")


class _BudgetExceeded(Exception):
    pass


class _BudgetedReader(io.BytesIO):
    """A BytesIO that raises once more than ``max_reads`` reads are made."""

    def __init__(self, data: bytes, max_reads: int) -> None:
        super().__init__(data)
        self._reads_left = max_reads

    def read(self, size: int | None = -1) -> bytes:
        self._reads_left -= 1
        if self._reads_left < 0:
            raise _BudgetExceeded
        return super().read(size)


@dataclass
class ExifTimes:
    """Date/time fields of one EXIF block, as raw strings, and the GPS fix.

    Attributes:
        datetime_original: DateTimeOriginal (local clock time, no zone) or None.
        offset_original: OffsetTimeOriginal (``+02:00``) or None.
        subsec_original: SubSecTimeOriginal digits or None.
        datetime: IFD0 DateTime (file change time, local, no zone) or None.
        offset: OffsetTime (zone of DateTime) or None.
        gps_date: GPSDateStamp (UTC) or None.
        gps_time: GPSTimeStamp as (h, m, s) floats (UTC) or None.
        gps_lat: latitude in degrees or None.
        gps_lon: longitude in degrees or None.
        flags: problems met while reading (``exif_unreadable``, ``exif_budget_exceeded`` ...).
    """

    datetime_original: str | None = None
    offset_original: str | None = None
    subsec_original: str | None = None
    datetime: str | None = None
    offset: str | None = None
    gps_date: str | None = None
    gps_time: tuple[float, float, float] | None = None
    gps_lat: float | None = None
    gps_lon: float | None = None
    flags: list[str] = field(default_factory=list)


def _quiet_exifread() -> None:
    # exifread logs a warning for every malformed field; the flags carry that information.
    logging.getLogger("exifread").setLevel(logging.ERROR)


def read_exif_times(tiff: bytes) -> ExifTimes:
    """Read the dating fields of an EXIF TIFF block; never raises (problems become flags)."""
    import exifread

    _quiet_exifread()
    result = ExifTimes()
    reader = _BudgetedReader(tiff, MAX_EXIF_READS)
    try:
        tags = exifread.process_file(
            reader, details=False, extract_thumbnail=False, strict=False, truncate_tags=True
        )
    except _BudgetExceeded:
        result.flags.append("exif_budget_exceeded")
        return result
    except Exception:  # exifread raises many types on crafted input; the flag records it.
        result.flags.append("exif_unreadable")
        return result
    result.datetime_original = _text(tags.get("EXIF DateTimeOriginal"))
    result.offset_original = _text(tags.get("EXIF OffsetTimeOriginal"))
    result.subsec_original = _text(tags.get("EXIF SubSecTimeOriginal"))
    result.datetime = _text(tags.get("Image DateTime"))
    result.offset = _text(tags.get("EXIF OffsetTime"))
    result.gps_date = _text(tags.get("GPS GPSDate"))
    result.gps_time = _triple(tags.get("GPS GPSTimeStamp"))
    lat = _triple(tags.get("GPS GPSLatitude"))
    lon = _triple(tags.get("GPS GPSLongitude"))
    if lat is not None and lon is not None:
        lat_deg = lat[0] + lat[1] / 60 + lat[2] / 3600
        lon_deg = lon[0] + lon[1] / 60 + lon[2] / 3600
        if (_text(tags.get("GPS GPSLatitudeRef")) or "N").upper().startswith("S"):
            lat_deg = -lat_deg
        if (_text(tags.get("GPS GPSLongitudeRef")) or "E").upper().startswith("W"):
            lon_deg = -lon_deg
        result.gps_lat, result.gps_lon = lat_deg, lon_deg
    return result


def _text(tag) -> str | None:
    if tag is None:
        return None
    values = getattr(tag, "values", tag)
    if isinstance(values, bytes):
        values = values.decode("ascii", "replace")
    if not isinstance(values, str):
        return None
    values = values.replace("\x00", "")
    return values or None


def _triple(tag) -> tuple[float, float, float] | None:
    values = getattr(tag, "values", None)
    if not isinstance(values, list) or len(values) != 3:
        return None
    out = []
    for value in values:
        try:
            out.append(
                float(value.num) / float(value.den) if hasattr(value, "num") else float(value)
            )
        except (ZeroDivisionError, TypeError, ValueError, OverflowError):
            return None
    return out[0], out[1], out[2]


def parse_exif_datetime(text: str) -> tuple[tuple[int, int, int, int, int, int, int] | None, str]:
    """Parse ``YYYY:MM:DD HH:MM:SS``: ((y, m, d, H, M, S, microsecond) or None, problem).

    The problem is ``""`` when parsed, else ``placeholder_time`` (zeros or blanks),
    ``implausible_year`` or ``invalid_time``.
    """
    stripped = text.strip()
    if not stripped or set(stripped) <= set("0: -") or stripped.startswith("0000"):
        return None, "placeholder_time"
    match = _DATETIME.match(text)
    if match is None:
        return None, "invalid_time"
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = match.group(7)
    micro = round(float(fraction) * 1e6) if fraction else 0
    if not 1 <= month <= 12 or not 1 <= day <= 31 or hour > 24 or minute > 59 or second > 60:
        return None, "invalid_time"
    return (year, month, day, hour, minute, second, min(micro, 999999)), ""


def parse_exif_offset(text: str | None) -> tuple[int | None, str]:
    """Parse an OffsetTime tag (``+02:00``): (minutes east of UTC or None, problem).

    The problem is ``""`` when parsed or absent, ``blank_offset`` for blanks such as
    ``"   :  "``, ``offset_out_of_range`` outside the offsets civil time uses
    (:data:`MIN_OFFSET_MIN` .. :data:`MAX_OFFSET_MIN`: -12:00 .. +14:00) and ``invalid_offset``
    otherwise (unparseable, or not a whole quarter hour).
    """
    if text is None:
        return None, ""
    if not text.replace(":", "").strip():
        return None, "blank_offset"
    match = _OFFSET.match(text)
    if match is None:
        return None, "invalid_offset"
    sign = -1 if match.group(1) == "-" else 1
    hours, minutes = int(match.group(2)), int(match.group(3))
    if minutes > 59:
        return None, "invalid_offset"
    total = sign * (hours * 60 + minutes)
    if not MIN_OFFSET_MIN <= total <= MAX_OFFSET_MIN:
        return None, "offset_out_of_range"
    if total % 15:
        return None, "invalid_offset"
    return total, ""


def parse_exif_date(text: str | None) -> tuple[int, int, int] | None:
    """Parse ``YYYY:MM:DD`` (GPSDateStamp) to (y, m, d) or None."""
    match = _DATE.match(text or "")
    return tuple(int(g) for g in match.groups()) if match else None  # type: ignore[return-value]


def parse_subsec(text: str | None) -> int:
    """Microseconds from SubSecTime digits (``"123"`` = 0.123 s); 0 when absent or malformed."""
    digits = (text or "").strip()
    if not digits.isdigit():
        return 0
    return round(float("0." + digits) * 1e6) % 1000000
