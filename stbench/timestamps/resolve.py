"""One timestamp resolver for every image: candidates from metadata, a precedence, and flags.

Precedence (first present candidate wins; ``trust`` is its base trust):

=====================  ==========================================================  =====
source                 what it is                                                  trust
=====================  ==========================================================  =====
exif_offset            DateTimeOriginal (+SubSecTimeOriginal) - OffsetTimeOriginal  0.85
exif_local_zone        DateTimeOriginal in the IANA zone of the position (DST)     0.70
exif_local_gps         DateTimeOriginal - (its difference to GPS time, to 15 min)  0.75
exif_gps               GPSDateStamp + GPSTimeStamp (UTC)                           0.80
exif_datetime_offset   IFD0 DateTime - OffsetTime                                  0.60
exif_datetime_zone     IFD0 DateTime in the zone of the position                   0.50
filename_utc           a UTC file-name pattern (AMOS download time, Pixel)         0.60
filename_local_zone    a local file-name pattern in the zone of the position       0.50
http_last_modified     HTTP Last-Modified                                          0.55
http_date              HTTP Date (when the server answered)                        0.40
=====================  ==========================================================  =====

The winner gains 0.1 (at most 0.95) when another candidate of trust >= 0.5 agrees with it; it is
capped at 0.3 (untrusted) when such a candidate disagrees (flag ``disagrees_<source>``).
Disagreeing weaker candidates only add the flag. A local time with no zone (no offset tag, no
position, no GPS time) is no candidate: it gives ``no_zone`` and, alone, a null timestamp.

A local clock time put in the zone of the *position* (``exif_local_zone``, ``exif_datetime_zone``,
``filename_local_zone``) assumes the camera clock was set to that zone; travellers' cameras often
keep their home zone, and nothing in such a file tells the two apart. Unless a candidate that is
UTC by itself (GPS time, a UTC file name, an HTTP time) agrees with it, it is ``zone_unverified``:
its trust is kept, and its time window spans every civil zone the clock may have been set to
(:func:`stbench.timestamps.windows.timestamp_window_s`), so only labels that no zone error can
change are given.

Checks that make a candidate no candidate (flag, then dropped): a clock reading just after a
camera default date (``unset_clock_<source>``: 1970-01-01, 1980-01-01, 2000-01-01, 2001-01-01,
half a year each), a year before 1990 or after next year (``implausible_year_<source>``), a time
after the reference (``future_time_<source>``), a clock reading before the camera model was
announced (``before_camera_model_<source>``, :mod:`stbench.timestamps.cameras`), a camera time
after the file was published or downloaded (``after_publication_<source>``: later than HTTP
Last-Modified; ``after_download_<source>``: later than HTTP Date; by more than 10 min). An offset
tag outside -12:00..+14:00 is ``offset_out_of_range`` (no offset); one that differs from the zone
of the position at that instant is ``offset_differs_from_zone`` and caps the winner at 0.3.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from stbench.defaults import TRUST_THRESHOLD
from stbench.timestamps.cameras import model_announced
from stbench.timestamps.exif import (
    MAX_OFFSET_MIN,
    MIN_OFFSET_MIN,
    ExifTimes,
    parse_exif_date,
    parse_exif_datetime,
    parse_exif_offset,
    parse_subsec,
    read_exif_times,
)
from stbench.timestamps.header import (
    DEFAULT_HEADER_BYTES,
    ImageHeader,
    parse_header,
    read_header_bytes,
)
from stbench.timestamps.names import time_from_name
from stbench.timestamps.zones import localize, utc_offset_minutes, valid_position, zone_at

__all__ = [
    "AGREE_SECONDS",
    "CAMERA_DEFAULT_DATES",
    "CONFLICT_TRUST",
    "FUTURE_TOLERANCE",
    "MIN_YEAR",
    "UNSET_CLOCK_WINDOW",
    "ZONE_TOLERANCE_MIN",
    "TimestampResult",
    "format_utc",
    "resolve_timestamp",
]


#: Earliest plausible capture year (digital cameras, EXIF 1995, web servers); the latest is the
#: reference year + 1.
MIN_YEAR = 1990
#: A candidate later than the reference time by more than this is ``future_time_<source>``.
FUTURE_TOLERANCE = dt.timedelta(days=1)
#: Dates a camera (or a server) clock shows when it was never set: the Unix epoch, the DOS/FAT
#: epoch (also near the GPS epoch 1980-01-06) and the usual camera firmware defaults.
CAMERA_DEFAULT_DATES = (
    dt.datetime(1970, 1, 1),
    dt.datetime(1980, 1, 1),
    dt.datetime(2000, 1, 1),
    dt.datetime(2001, 1, 1),
)
#: A clock reading within this long after a default date is ``unset_clock_<source>``: an unset
#: clock runs on from its default for as long as the camera is used without setting it.
UNSET_CLOCK_WINDOW = dt.timedelta(days=183)
#: An explicit offset tag further than this from the zone of the position at that instant is a
#: zone disagreement (``offset_differs_from_zone``, untrusted). Real offsets differ by at least
#: 15 min, so 0 means "any difference".
ZONE_TOLERANCE_MIN = 0
#: Trust of a winner that a strong candidate (or the zone of the position) contradicts.
CONFLICT_TRUST = 0.3

_PRECEDENCE = (
    "exif_offset",
    "exif_local_zone",
    "exif_local_gps",
    "exif_gps",
    "exif_datetime_offset",
    "exif_datetime_zone",
    "filename_utc",
    "filename_local_zone",
    "http_last_modified",
    "http_date",
)
_BASE_TRUST = {
    "exif_offset": 0.85,
    "exif_local_zone": 0.70,
    "exif_gps": 0.80,
    "exif_local_gps": 0.75,
    "exif_datetime_offset": 0.60,
    "exif_datetime_zone": 0.50,
    "filename_utc": 0.60,
    "filename_local_zone": 0.50,
    "http_last_modified": 0.55,
    "http_date": 0.40,
}
_OFFSET_SOURCES = ("exif_offset", "exif_datetime_offset")
#: Local clock times whose zone is taken from the position, not from the file.
_ZONE_ASSUMED = ("exif_local_zone", "exif_datetime_zone", "filename_local_zone")
#: Candidates that are UTC by themselves: their agreement verifies an assumed zone.
_UTC_SOURCES = ("exif_gps", "filename_utc", "http_last_modified", "http_date")
#: Server times that bound a camera time from above: a photo is taken before it is published
#: (Last-Modified) and downloaded (Date). Flag names of a camera time later than each.
_AFTER_HTTP = {"http_last_modified": "after_publication", "http_date": "after_download"}
#: Two candidates agree when they are closer than this (seconds).
AGREE_SECONDS = 120.0
_HTTP_AGREE_SECONDS = 600.0


@dataclass
class TimestampResult:
    """The resolved time of one image.

    Attributes:
        timestamp_utc: pd.Timestamp in UTC, or None when no candidate could be put in UTC.
        utc_offset_min: minutes east of UTC of local civil time at capture, or None.
        timestamp_source: the winning candidate (see the module docs), ``none`` if none.
        timestamp_trust: 0..1; trusted when >= :data:`TRUST_THRESHOLD`; 0 when null.
        trust_flags: problems and disagreements, sorted.
        candidates: every candidate as ``{source: pd.Timestamp UTC}``.
    """

    timestamp_utc: object | None
    utc_offset_min: int | None
    timestamp_source: str
    timestamp_trust: float
    trust_flags: list[str]
    candidates: dict[str, object] = field(default_factory=dict)

    @property
    def trusted(self) -> bool:
        """Whether the timestamp is set and its trust reaches :data:`TRUST_THRESHOLD`."""
        return self.timestamp_utc is not None and self.timestamp_trust >= TRUST_THRESHOLD

    def to_dict(self) -> dict:
        """A JSON-ready dict (timestamp as ISO 8601 with ``Z``)."""
        stamp = self.timestamp_utc
        return {
            "timestamp_utc": None if stamp is None else format_utc(stamp),
            "utc_offset_min": self.utc_offset_min,
            "timestamp_source": self.timestamp_source,
            "timestamp_trust": round(float(self.timestamp_trust), 3),
            "trust_flags": list(self.trust_flags),
        }


def format_utc(stamp) -> str:
    """ISO 8601 in UTC with a ``Z`` (microseconds only when non-zero)."""
    text = stamp.tz_convert("UTC").tz_localize(None).isoformat()
    return text + "Z"


@dataclass
class _Candidate:
    source: str
    utc: dt.datetime
    offset_min: int | None = None
    trust: float = 0.0
    clock: dt.datetime | None = None  # the naive clock reading it came from (None: utc's)

    @property
    def reading(self) -> dt.datetime:
        """What the source's clock showed (local for local sources, else UTC), naive."""
        return self.clock if self.clock is not None else self.utc.replace(tzinfo=None)


def resolve_timestamp(
    data: bytes | Path,
    *,
    name: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    http_headers: Mapping[str, str] | None = None,
    max_header_bytes: int = DEFAULT_HEADER_BYTES,
    reference_utc: dt.datetime | None = None,
    header: ImageHeader | None = None,
) -> TimestampResult:
    """Resolve the UTC capture time of one image from its header, name and HTTP headers.

    Only the first ``max_header_bytes`` of the file are read (and its last 2 bytes for the
    truncation check); pixels are never decoded. Never raises on bad input: problems become
    ``trust_flags``.

    Args:
        data: the encoded image bytes, or a path to the file.
        name: the file name (defaults to the path's name) for name patterns.
        lat: latitude of the camera in degrees, used when the EXIF has no GPS position.
        lon: longitude in degrees, east positive.
        http_headers: response headers of the download (``Date``, ``Last-Modified``).
        max_header_bytes: the read bound.
        reference_utc: "now" for the future check (tz-aware; default: the current time). A
            candidate after it (by more than a day) is ``future_time_<source>`` and dropped.
        header: ``data``'s header when the caller parsed it already (bytes only), as
            ``parse_header(data[:max_header_bytes], data[-2:], len(data) <= max_header_bytes)``
            does: it is not parsed again.
    """
    flags: list[str] = []
    if isinstance(data, (bytes, bytearray, memoryview)):
        if header is None:
            raw = bytes(data[:max_header_bytes])
            header = parse_header(raw, bytes(data[-2:]), complete=len(data) <= max_header_bytes)
    else:
        path = Path(data)
        name = path.name if name is None else name
        raw, tail, problem = _read_regular_file(path, max_header_bytes)
        if raw is None:
            flags.append(problem)
            header = parse_header(b"")
            header.flags = []
        else:
            header = parse_header(raw, tail, complete=len(raw) < max_header_bytes)
    flags.extend(header.flags)
    exif = ExifTimes()
    if header.exif is not None:
        exif = read_exif_times(header.exif)
        flags.extend(exif.flags)
    elif header.kind in ("jpeg", "tiff"):
        flags.append("no_exif")

    lat_used, lon_used = lat, lon
    if exif.gps_lat is not None:
        if valid_position(exif.gps_lat, exif.gps_lon):
            lat_used, lon_used = exif.gps_lat, exif.gps_lon
        else:
            flags.append("gps_position_invalid")
    zone = zone_at(lat_used, lon_used)
    if zone is None and (lat_used is not None or lon_used is not None):
        flags.append("position_invalid" if not valid_position(lat_used, lon_used) else "no_zone")

    candidates = _exif_candidates(exif, zone, flags)
    candidates += _name_candidates(name, zone, flags)
    candidates += _http_candidates(http_headers, flags)
    reference = reference_utc or dt.datetime.now(dt.timezone.utc)
    if reference.tzinfo is None:
        reference = reference.replace(tzinfo=dt.timezone.utc)
    bounds = _Bounds(reference, model_announced(exif.model), {})
    # Server times first: only a plausible one bounds the camera times.
    server = [c for c in candidates if c.source.startswith("http") and _plausible(c, bounds, flags)]
    bounds.http = _http_bounds(server)
    camera = [c for c in candidates if not c.source.startswith("http")]
    candidates = [c for c in camera if _plausible(c, bounds, flags)] + server
    return _decide(candidates, zone, flags)


def _read_regular_file(path: Path, max_bytes: int) -> tuple[bytes | None, bytes | None, str]:
    """(head, tail, "") of a regular file, or (None, None, flag); a FIFO or device is never
    opened (opening a FIFO blocks until a writer appears)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None, None, "not_a_regular_file"
        raw, tail = read_header_bytes(path, max_bytes)
    except OSError:
        return None, None, "unreadable_file"
    return raw, tail, ""


def _exif_candidates(exif: ExifTimes, zone, flags: list[str]) -> list[_Candidate]:
    out: list[_Candidate] = []
    gps = _gps_time(exif, flags)
    if gps is not None:
        out.append(_Candidate("exif_gps", gps, trust=_BASE_TRUST["exif_gps"]))
    local = _local_time(exif.datetime_original, exif.subsec_original, flags)
    if local is not None:
        offset, problem = parse_exif_offset(exif.offset_original)
        if problem:
            flags.append(problem)
        if offset is not None:
            utc = (local - dt.timedelta(minutes=offset)).replace(tzinfo=dt.timezone.utc)
            trust = _BASE_TRUST["exif_offset"]
            out.append(_Candidate("exif_offset", utc, offset, trust, clock=local))
            _check_offset_against_zone(utc, offset, zone, flags)
        elif zone is not None:
            out += _zoned("exif_local_zone", local, zone, flags, gps)
        elif gps is not None:
            offset = _offset_from_gps(local, gps)
            if offset is None:
                flags.append("no_zone")
            else:
                utc = (local - dt.timedelta(minutes=offset)).replace(tzinfo=dt.timezone.utc)
                trust = _BASE_TRUST["exif_local_gps"]
                out.append(_Candidate("exif_local_gps", utc, offset, trust, clock=local))
        else:
            flags.append("no_zone")
    elif exif.datetime is not None:
        modified = _local_time(exif.datetime, None, flags)
        if modified is not None:
            offset, problem = parse_exif_offset(exif.offset)
            if problem:
                flags.append(problem)
            if offset is not None:
                utc = (modified - dt.timedelta(minutes=offset)).replace(tzinfo=dt.timezone.utc)
                trust = _BASE_TRUST["exif_datetime_offset"]
                out.append(_Candidate("exif_datetime_offset", utc, offset, trust, clock=modified))
                _check_offset_against_zone(utc, offset, zone, flags)
            elif zone is not None:
                out += _zoned("exif_datetime_zone", modified, zone, flags, gps)
            else:
                flags.append("no_zone")
    return out


def _check_offset_against_zone(utc: dt.datetime, offset: int, zone, flags: list[str]) -> None:
    """Flag an offset tag that is not the offset of the position's zone at that instant."""
    if zone is not None and abs(utc_offset_minutes(utc, zone) - offset) > ZONE_TOLERANCE_MIN:
        flags.append("offset_differs_from_zone")


def _local_time(text: str | None, subsec: str | None, flags: list[str]) -> dt.datetime | None:
    if text is None:
        return None
    parts, problem = parse_exif_datetime(text)
    if parts is None:
        flags.append(problem)
        return None
    try:
        local = dt.datetime(*parts[:6], parts[6] or parse_subsec(subsec))
    except (ValueError, OverflowError):
        flags.append("invalid_time")
        return None
    return local


def _gps_time(exif: ExifTimes, flags: list[str]) -> dt.datetime | None:
    if exif.gps_date is None and exif.gps_time is None:
        return None
    date = parse_exif_date(exif.gps_date)
    if date is None or exif.gps_time is None:
        flags.append("gps_time_invalid")
        return None
    hour, minute, second = exif.gps_time
    try:
        base = dt.datetime(*date, tzinfo=dt.timezone.utc)
        if not (0 <= hour < 24 and 0 <= minute < 60 and 0 <= second < 61):
            raise ValueError
        return base + dt.timedelta(hours=hour, minutes=minute, seconds=second)
    except (ValueError, OverflowError):
        flags.append("gps_time_invalid")
        return None


def _offset_from_gps(local: dt.datetime, gps: dt.datetime) -> int | None:
    """Zone offset (minutes) implied by a local clock time and a GPS UTC time, or None."""
    diff_s = (local - gps.replace(tzinfo=None)).total_seconds()
    quarter = round(diff_s / 900.0) * 15
    in_range = MIN_OFFSET_MIN <= quarter <= MAX_OFFSET_MIN
    if not in_range or abs(diff_s - quarter * 60) > AGREE_SECONDS:
        return None
    return int(quarter)


def _zoned(
    source: str, local: dt.datetime, zone, flags: list[str], gps: dt.datetime | None
) -> list[_Candidate]:
    utc, problem = localize(local, zone)
    if problem == "nonexistent_local_time":
        flags.append(problem)
        return []
    trust = _BASE_TRUST[source]
    if problem == "ambiguous_local_time":
        other = local.replace(tzinfo=zone, fold=1).astimezone(dt.timezone.utc)
        if gps is not None and abs((other - gps).total_seconds()) <= AGREE_SECONDS:
            utc = other  # the GPS time says which of the two readings it is
        elif gps is None or abs((utc - gps).total_seconds()) > AGREE_SECONDS:
            flags.append(problem)
            trust = min(trust, 0.4)
    return [_Candidate(source, utc, utc_offset_minutes(utc, zone), trust, clock=local)]


def _name_candidates(name: str | None, zone, flags: list[str]) -> list[_Candidate]:
    if not name:
        return []
    found = time_from_name(name)
    if found is None:
        return []
    if found.time is None:
        flags.append(f"name_{found.problem}")
        return []
    if found.is_utc:
        utc = found.time.replace(tzinfo=dt.timezone.utc)
        return [_Candidate("filename_utc", utc, trust=_BASE_TRUST["filename_utc"])]
    if zone is None:
        flags.append("name_no_zone")
        return []
    return _zoned("filename_local_zone", found.time, zone, flags, None)


def _http_candidates(headers: Mapping[str, str] | None, flags: list[str]) -> list[_Candidate]:
    if not headers:
        return []
    lower = {str(k).lower(): v for k, v in headers.items()}
    out = []
    for key, source in (("last-modified", "http_last_modified"), ("date", "http_date")):
        if key not in lower:
            continue
        try:
            parsed = email.utils.parsedate_to_datetime(str(lower[key]))
        except (TypeError, ValueError, IndexError, OverflowError):
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            flags.append(f"{source}_invalid")
            continue
        out.append(
            _Candidate(source, parsed.astimezone(dt.timezone.utc), trust=_BASE_TRUST[source])
        )
    return out


@dataclass
class _Bounds:
    """What a believable capture time must respect: "now", the camera model's announcement,
    the server times of the download (HTTP source -> UTC time)."""

    reference: dt.datetime
    announced: dt.datetime | None
    http: dict[str, dt.datetime]


def _http_bounds(candidates: list[_Candidate]) -> dict[str, dt.datetime]:
    return {c.source: c.utc for c in candidates if c.source in _AFTER_HTTP}


def _plausible(candidate: _Candidate, bounds: _Bounds, flags: list[str]) -> bool:
    """Whether a candidate is a believable capture time; else its flag is added.

    ``unset_clock_<source>``: the clock reading lies within :data:`UNSET_CLOCK_WINDOW` after a
    :data:`CAMERA_DEFAULT_DATES` entry; ``implausible_year_<source>``: before :data:`MIN_YEAR`
    or after the reference's next year; ``future_time_<source>``: after the reference;
    ``before_camera_model_<source>``: a camera clock reading before the model was announced;
    ``after_publication_<source>`` / ``after_download_<source>``: a camera time later than the
    HTTP Last-Modified / Date by more than the HTTP agreement tolerance.
    """
    reading = candidate.reading
    source = candidate.source
    if any(start <= reading < start + UNSET_CLOCK_WINDOW for start in CAMERA_DEFAULT_DATES):
        flags.append(f"unset_clock_{source}")
        return False
    if not MIN_YEAR <= candidate.utc.year <= bounds.reference.year + 1:
        flags.append(f"implausible_year_{source}")
        return False
    if candidate.utc > bounds.reference + FUTURE_TOLERANCE:
        flags.append(f"future_time_{source}")
        return False
    if source.startswith("http"):
        return True
    if bounds.announced is not None and source.startswith("exif") and reading < bounds.announced:
        flags.append(f"before_camera_model_{source}")
        return False
    for http_source, limit in sorted(bounds.http.items()):
        if (candidate.utc - limit).total_seconds() > _HTTP_AGREE_SECONDS:
            flags.append(f"{_AFTER_HTTP[http_source]}_{source}")
            return False
    return True


def _decide(candidates: list[_Candidate], zone, flags: list[str]) -> TimestampResult:
    import pandas as pd

    stamps = {c.source: pd.Timestamp(c.utc) for c in candidates}
    if not candidates:
        return TimestampResult(None, None, "none", 0.0, sorted(set(flags)), stamps)
    candidates.sort(key=lambda c: _PRECEDENCE.index(c.source))
    best, others = candidates[0], candidates[1:]
    trust = best.trust
    agreed = conflict = False
    for other in others:
        tolerance = _HTTP_AGREE_SECONDS if other.source.startswith("http") else AGREE_SECONDS
        close = abs((other.utc - best.utc).total_seconds()) <= tolerance
        if close:
            agreed = agreed or (other.trust >= 0.5 and not _same_clock(best, other))
        else:
            flags.append(f"disagrees_{other.source}")
            conflict = conflict or other.trust >= 0.5
    if agreed:
        trust = min(0.95, trust + 0.1)
    if best.source in _ZONE_ASSUMED and not _zone_verified(best, others):
        flags.append("zone_unverified")  # trust kept; the window holds the zone doubt
    if conflict:
        trust = min(trust, CONFLICT_TRUST)
    if "offset_differs_from_zone" in flags and best.source in _OFFSET_SOURCES:
        trust = min(trust, CONFLICT_TRUST)
    offset = best.offset_min
    if offset is None and zone is not None:
        offset = utc_offset_minutes(best.utc, zone)
    return TimestampResult(
        pd.Timestamp(best.utc), offset, best.source, round(trust, 3), sorted(set(flags)), stamps
    )


def _zone_verified(best: _Candidate, others: list[_Candidate]) -> bool:
    """Whether a candidate that is UTC by itself agrees with a local time put in an assumed zone
    (a wrong zone is off by whole quarter hours, more than the agreement tolerances)."""
    for other in others:
        if other.source not in _UTC_SOURCES:
            continue
        tolerance = _HTTP_AGREE_SECONDS if other.source.startswith("http") else AGREE_SECONDS
        if abs((other.utc - best.utc).total_seconds()) <= tolerance:
            return True
    return False


def _same_clock(a: _Candidate, b: _Candidate) -> bool:
    """Whether two candidates come from the same clock reading (no independent evidence)."""
    return {a.source, b.source} <= {"exif_local_gps", "exif_gps"}
