"""Trusted timestamps: one resolver for every image (EXIF, GPS, zone, file name, HTTP headers).

``resolve_timestamp`` reads only an image's header; ``docs/timestamps.md`` documents the sources,
their precedence, the flags and what "trusted" promises.
"""

from stbench.timestamps.resolve import (
    TRUST_THRESHOLD,
    TimestampResult,
    format_utc,
    resolve_timestamp,
)

__all__ = ["TRUST_THRESHOLD", "TimestampResult", "format_utc", "resolve_timestamp"]
