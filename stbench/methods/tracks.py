"""The two tracks of the benchmark and what a method sees on each (built by the harness).

A method declares its track with a ``track`` attribute (``"pixels"`` when absent). The harness
builds every input itself from :data:`TRACK_INPUTS`, so a method cannot ask for more:

- ``pixels`` (default): decoded (H, W, 3) RGB uint8 pixels, and a record holding only
  ``item``, an opaque id of the image for this run (a keyed hash of the image id with a random
  secret drawn per run: stable within a run, so a method may cache per image, but not derivable
  from the path, name or time). No path, name, file bytes (so no EXIF), location or intrinsics.
  ``fit`` gets ``(pixels, {"item": ...}, labels)``; ``match`` gets the pixels only.
- ``metadata``: the pixels and a record of the fair fields :data:`METADATA_FIELDS` (the same for
  every method of the track) plus ``data``, the encoded file bytes (EXIF included).

The one exception is the built-in ``predictions`` method, which replays results computed
elsewhere and must look them up by image id: it gets ``image_id`` only, and its track is the one
the user declares (``track=...``; the user answers for what the stored results used).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from stbench.errors import ConfigError
from stbench.methods.base import RECORD_FIELDS

__all__ = [
    "DEFAULT_TRACK",
    "METADATA",
    "METADATA_FIELDS",
    "PIXELS",
    "STORED_PREDICTIONS_FACTORY",
    "STORED_PREDICTIONS_INPUTS",
    "TRACKS",
    "TRACK_INPUTS",
    "OpaqueIds",
    "TrackInputs",
    "check_track",
    "inputs_for",
    "method_track",
    "replays_stored_predictions",
]


PIXELS = "pixels"
METADATA = "metadata"
TRACKS: tuple[str, ...] = (PIXELS, METADATA)
DEFAULT_TRACK = PIXELS

#: Manifest columns a ``metadata``-track method gets (never the timestamp or span labels):
#: what a photo collection ships with (its file name and folder, the camera's location and
#: calibration), and nothing derived from the benchmark's own labels. Defined once, in
#: :data:`stbench.methods.base.RECORD_FIELDS`.
METADATA_FIELDS: tuple[str, ...] = RECORD_FIELDS


@dataclass(frozen=True)
class TrackInputs:
    """What the harness passes on a track.

    Attributes:
        pixels: decoded images are passed (when the method ``needs_images``).
        fields: manifest columns copied into the record.
        file_bytes: the record holds ``data``, the encoded file (with its EXIF).
        opaque_item: the record holds ``item``, the per-run opaque id.
    """

    pixels: bool
    fields: tuple[str, ...]
    file_bytes: bool
    opaque_item: bool


#: The single table of what each track passes to ``match``/``match_pair``, ``predict_time``
#: and ``fit`` (``match`` itself always gets pixels only).
TRACK_INPUTS: dict[str, TrackInputs] = {
    PIXELS: TrackInputs(pixels=True, fields=(), file_bytes=False, opaque_item=True),
    METADATA: TrackInputs(pixels=True, fields=METADATA_FIELDS, file_bytes=True, opaque_item=True),
}

#: The built-in ``predictions`` method (its registry entry).
STORED_PREDICTIONS_FACTORY = "stbench.methods.predictions:Predictions"

#: Inputs of the built-in ``predictions`` method (looks results up by image id; no pixels).
STORED_PREDICTIONS_INPUTS = TrackInputs(
    pixels=False, fields=("image_id",), file_bytes=False, opaque_item=False
)


def check_track(track: Any, where: str) -> str:
    """``track`` if it names a track, else a ConfigError naming ``where``."""
    if track not in TRACKS:
        raise ConfigError(f"{where}: track {track!r} is not one of {', '.join(TRACKS)}")
    return str(track)


def method_track(method: Any) -> str:
    """The track a method declares (``pixels`` when it declares none)."""
    return check_track(getattr(method, "track", DEFAULT_TRACK), f"method {method.name!r}")


def replays_stored_predictions(spec: str) -> bool:
    """Whether the method spec names the built-in replay of stored predictions (decided from
    the spec in the harness: a plug-in cannot claim it to get image ids)."""
    return spec in ("predictions", STORED_PREDICTIONS_FACTORY)


def inputs_for(spec: str, track: str) -> TrackInputs:
    """The inputs the harness builds for the method named by ``spec`` that declares ``track``.

    Decided in the harness from the spec and the table above, never from anything the
    method's process reports: its code (which could rewrite :data:`TRACK_INPUTS` in its own
    process) only ever names a track.
    """
    if replays_stored_predictions(spec):
        return STORED_PREDICTIONS_INPUTS
    return TRACK_INPUTS[check_track(track, f"method {spec!r}")]


class OpaqueIds:
    """Per-run opaque item ids: HMAC-SHA256 of the image id under a random per-run secret."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret if secret is not None else secrets.token_bytes(32)

    def __call__(self, image_id: str) -> str:
        digest = hmac.new(self._secret, image_id.encode("utf-8"), hashlib.sha256)
        return digest.hexdigest()[:20]
