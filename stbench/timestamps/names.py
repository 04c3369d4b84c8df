"""Times written in file names.

Patterns, first match wins (the name is matched without its directory):

========================================  =====  ===============================================
pattern                                   zone   who writes it
========================================  =====  ===============================================
``YYYYMMDD_HHMMSS.jpg`` (whole name)      UTC    AMOS webcam archive: the download time
``PXL_YYYYMMDD_HHMMSSmmm...``             UTC    Google Pixel camera
``IMG_/VID_/PANO_/MVIMG_YYYYMMDD_HHMMSS`` local  Android phone cameras
``Screenshot_YYYYMMDD-HHMMSS``            local  Android screenshots
``YYYY-MM-DD HH.MM.SS``                   local  Dropbox camera uploads
``WhatsApp Image YYYY-MM-DD at HH.MM.SS`` local  WhatsApp
========================================  =====  ===============================================

A bare ``YYYYMMDD_HHMMSS`` name is also what some phones write in local time; stbench reads it
the AMOS way (UTC) because webcam archives are its main use, and the sun check of
:mod:`stbench.webcams` verifies or corrects it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

__all__ = ["NameTime", "time_from_name"]


_PATTERNS: tuple[tuple[str, re.Pattern[str], bool], ...] = (
    ("amos", re.compile(r"^(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})\.jpe?g$", re.I), True),
    ("pixel", re.compile(r"^PXL_(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})(\d{3})?", re.I), True),
    (
        "android",
        re.compile(
            r"^(?:IMG|VID|PANO|MVIMG|BURST)_?(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})", re.I
        ),
        False,
    ),
    (
        "screenshot",
        re.compile(r"^Screenshot_(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})", re.I),
        False,
    ),
    (
        "whatsapp",
        re.compile(r"^WhatsApp Image (\d{4})-(\d{2})-(\d{2}) at (\d{2})\.(\d{2})\.(\d{2})", re.I),
        False,
    ),
    ("dropbox", re.compile(r"^(\d{4})-(\d{2})-(\d{2}) (\d{2})\.(\d{2})\.(\d{2})"), False),
)


@dataclass(frozen=True)
class NameTime:
    """A time read from a file name.

    Attributes:
        time: naive datetime (UTC when ``is_utc``, else local civil time) or None.
        is_utc: whether the pattern writes UTC.
        pattern: which pattern matched (``amos``, ``pixel``, ``android`` ...).
        problem: ``""``, or ``placeholder_time`` / ``invalid_time`` when the digits are no date.
    """

    time: dt.datetime | None
    is_utc: bool
    pattern: str
    problem: str = ""


def time_from_name(name: str) -> NameTime | None:
    """The time a file name carries, or None when no known pattern matches."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    for pattern_name, pattern, is_utc in _PATTERNS:
        match = pattern.match(base)
        if match is None:
            continue
        digits = [int(g) for g in match.groups()[:6]]
        milli = match.groups()[6] if len(match.groups()) > 6 else None
        if digits[0] == 0 or (digits[0] == 1970 and digits[1] == 1 and digits[2] == 1):
            return NameTime(None, is_utc, pattern_name, "placeholder_time")
        try:
            time = dt.datetime(*digits, int(milli) * 1000 if milli else 0)  # type: ignore[misc]
        except ValueError:
            return NameTime(None, is_utc, pattern_name, "invalid_time")
        return NameTime(time, is_utc, pattern_name)
    return None
