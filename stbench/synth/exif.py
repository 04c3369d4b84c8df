"""EXIF of the tourist photos: right in several ways, and wrong the way internet photos are.

Cases (the ``exif_case`` column of ``truth/megadepth_images.parquet``):

- ``local``: DateTimeOriginal in the site's local civil time, no zone.
- ``local_offset``: as ``local`` plus OffsetTimeOriginal (Exif 2.31), so UTC is recoverable.
- ``gps``: as ``local`` plus GPS position and GPSDateStamp/GPSTimeStamp in UTC.
- ``wrong_zone``: the camera clock kept the owner's home zone; DateTimeOriginal is that zone's
  civil time, with no offset tag (hours off if read as local).
- ``unset_clock``: the clock was never set: dates around 2000-01-01 (plus time since power-on).
- ``placeholder``: DateTimeOriginal is ``0000:00:00 00:00:00``.
- ``none``: no EXIF at all.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

__all__ = [
    "CAMERAS",
    "EXIF_CASES",
    "EXIF_CASE_WEIGHTS",
    "HOME_ZONES",
    "cameras_available",
    "choose_case",
    "make_exif",
]


EXIF_CASES: tuple[str, ...] = (
    "local",
    "local_offset",
    "gps",
    "wrong_zone",
    "unset_clock",
    "placeholder",
    "none",
)
EXIF_CASE_WEIGHTS: tuple[float, ...] = (0.33, 0.15, 0.15, 0.1, 0.08, 0.05, 0.14)

HOME_ZONES: tuple[str, ...] = (
    "America/New_York",
    "Asia/Shanghai",
    "Europe/London",
    "Australia/Sydney",
)
CAMERAS: tuple[tuple[bytes, bytes], ...] = (
    (b"Canon", b"Canon EOS 550D"),
    (b"NIKON CORPORATION", b"NIKON D90"),
    (b"SONY", b"DSC-RX100"),
    (b"Apple", b"iPhone 6"),
    (b"samsung", b"SM-G930F"),
    (b"FUJIFILM", b"X-T2"),
)


def _stamp(value: dt.datetime) -> bytes:
    return value.strftime("%Y:%m:%d %H:%M:%S").encode("ascii")


def _offset(value: dt.datetime) -> bytes:
    minutes = int(value.utcoffset().total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}".encode("ascii")


def _dms(value: float) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60 * 100)
    return (degrees, 1), (minutes, 1), (seconds, 100)


def make_exif(
    case: str, time_utc: dt.datetime, tz: str, lat: float, lon: float, rng: np.random.Generator
) -> tuple[bytes | None, str | None]:
    """EXIF bytes for one photo and the DateTimeOriginal string written (None if absent).

    Args:
        case: one of :data:`EXIF_CASES`.
        time_utc: the true capture time (tz-aware UTC).
        tz: IANA zone of the site.
        lat, lon: where the photo was taken (degrees).
        rng: choices inside the case (camera model among those that existed at ``time_utc``,
            home zone, unset-clock date).
    Returns:
        (bytes for PIL's ``exif=`` or None for no EXIF, DateTimeOriginal or None).
    """
    from zoneinfo import ZoneInfo

    import piexif

    if case not in EXIF_CASES:
        raise ValueError(f"unknown EXIF case {case!r}; known: {', '.join(EXIF_CASES)}")
    if case == "none":
        return None, None
    cameras = cameras_available(time_utc) or ((b"", b""),)  # no camera yet: no Make/Model
    make, model = cameras[int(rng.integers(len(cameras)))]
    local = time_utc.astimezone(ZoneInfo(tz))
    zeroth = {piexif.ImageIFD.Make: make, piexif.ImageIFD.Model: model} if model else {}
    exif: dict = {}
    gps: dict = {}
    if case in ("local", "local_offset", "gps"):
        original = _stamp(local)
        if case == "local_offset":
            exif[piexif.ExifIFD.OffsetTimeOriginal] = _offset(local)
        if case == "gps":
            utc = time_utc.astimezone(dt.timezone.utc)
            gps = {
                piexif.GPSIFD.GPSLatitudeRef: b"N" if lat >= 0 else b"S",
                piexif.GPSIFD.GPSLatitude: _dms(lat),
                piexif.GPSIFD.GPSLongitudeRef: b"E" if lon >= 0 else b"W",
                piexif.GPSIFD.GPSLongitude: _dms(lon),
                piexif.GPSIFD.GPSDateStamp: utc.strftime("%Y:%m:%d").encode("ascii"),
                piexif.GPSIFD.GPSTimeStamp: ((utc.hour, 1), (utc.minute, 1), (utc.second, 1)),
            }
    elif case == "wrong_zone":
        home = HOME_ZONES[int(rng.integers(len(HOME_ZONES)))]
        if home == tz:
            home = "Pacific/Honolulu"
        original = _stamp(time_utc.astimezone(ZoneInfo(home)))
    elif case == "unset_clock":
        since_power_on = dt.timedelta(seconds=int(rng.integers(0, 90 * 86400)))
        original = _stamp(dt.datetime(2000, 1, 1) + since_power_on)
    else:  # placeholder
        original = b"0000:00:00 00:00:00"
    exif[piexif.ExifIFD.DateTimeOriginal] = original
    exif[piexif.ExifIFD.DateTimeDigitized] = original
    data = piexif.dump({"0th": zeroth, "Exif": exif, "GPS": gps})
    return data, original.decode("ascii")


def cameras_available(time_utc: dt.datetime) -> tuple[tuple[bytes, bytes], ...]:
    """The :data:`CAMERAS` announced by ``time_utc`` (a photo is never taken with a camera that did
    not exist yet; the resolver flags such dates ``before_camera_model_<source>``); empty before
    all of them.
    """
    from stbench.timestamps.cameras import model_announced

    naive = time_utc.astimezone(dt.timezone.utc).replace(tzinfo=None)
    known = [(model_announced(model.decode()), (make, model)) for make, model in CAMERAS]
    available = tuple(c for when, c in known if when is None or when <= naive)
    return available


def choose_case(rng: np.random.Generator) -> str:
    """Draw an EXIF case with the internet-photo frequencies of :data:`EXIF_CASE_WEIGHTS`."""
    weights = np.asarray(EXIF_CASE_WEIGHTS) / sum(EXIF_CASE_WEIGHTS)
    return EXIF_CASES[int(rng.choice(len(EXIF_CASES), p=weights))]
