"""Precomputed predictions as a method: hloc ``features.h5`` / ``matches.h5`` + a temporal CSV.

Options: ``dir`` (holding the files as :mod:`stbench.prediction_cache` documents; a run's
``predictions/`` directory is one), or ``features``, ``matches``, ``time`` paths separately.
Image names are the manifest's image ids. A pair missing from matches.h5 or an image missing
from the CSV is a recorded failure, not a crash.

Option ``track`` (``pixels``, the default, or ``metadata``) declares what the stored results
were computed from: the harness cannot check files computed elsewhere, so the track is the
user's responsibility (see :mod:`stbench.methods.tracks`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from stbench.errors import ConfigError
from stbench.methods.base import MatchResult, Method, MethodOutputError, file_digest
from stbench.prediction_cache import (
    FEATURES_FILE,
    MATCHES_FILE,
    TIME_FILE,
    PredictionCache,
    read_time_csv,
)
from stbench.spans import CLASS_SPANS, get_span

__all__ = ["Predictions"]


class Predictions(Method):
    """Reads matches and time predictions computed elsewhere."""

    name = "predictions"
    version = "1"
    needs_images = False

    def __init__(
        self,
        dir: str | None = None,
        features: str | None = None,
        matches: str | None = None,
        time: str | None = None,
        label: str | None = None,
        track: str = "pixels",
    ) -> None:
        from stbench.methods.tracks import check_track

        self.track = check_track(track, "predictions option track")
        base = Path(dir) if dir else None
        self.features = Path(features) if features else (base / FEATURES_FILE if base else None)
        self.matches = Path(matches) if matches else (base / MATCHES_FILE if base else None)
        self.time = Path(time) if time else (base / TIME_FILE if base else None)
        if self.matches is None and self.time is None:
            raise ConfigError("the predictions method needs dir=... or matches=... / time=...")
        for path in (self.features, self.matches):
            if path is not None and not path.exists() and not (self.time and self.time.exists()):
                raise ConfigError(f"predictions file {path} does not exist")
        if label:
            self.name = label
        self._time_labels: dict[str, dict[str, int]] | None = None
        self._reader: PredictionCache | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Picklable: the open read-only files stay behind (reopened on first use)."""
        return {**self.__dict__, "_reader": None}

    def config(self) -> dict[str, Any]:
        """Input paths and content digests (a changed file invalidates the cache), and the
        declared track."""
        files: dict[str, Any] = {
            str(key): {"path": str(path), "sha256_16": file_digest(path)}
            for key, path in (
                ("features", self.features),
                ("matches", self.matches),
                ("time", self.time),
            )
            if path is not None
        }
        return {**files, "track": self.track}

    def match_pair(self, image0, image1, record0: dict, record1: dict) -> MatchResult:
        """The stored result of the pair (by image ids)."""
        if self.matches is None or not self.matches.exists():
            raise ValueError("no matches.h5 given")
        if self.features is not None and self.features.parent != self.matches.parent:
            raise ConfigError("features.h5 and matches.h5 must be in the same directory")
        if self._reader is None:  # opened once per process, read-only
            self._reader = PredictionCache(self.matches.parent).open_for_reading()
        reader = self._reader
        key = (record0["image_id"], record1["image_id"])
        entry = reader.read_pairs([key]).get(key)
        if entry is None:
            raise ValueError("pair not found in matches.h5")
        if "failure" in entry:
            prefix = "invalid output: "
            if entry["failure"].startswith(prefix):  # the stored result breaks the format
                raise MethodOutputError(f"stored {entry['failure'][len(prefix) :]}")
            raise ValueError(f"recorded failure: {entry['failure']}")
        return MatchResult(
            entry["keypoints0"], entry["keypoints1"], entry["matches"], entry["scores"]
        )

    def predict_time(self, image, record: dict) -> dict[str, np.ndarray]:
        """One-hot vectors of the stored class labels."""
        if self._time_labels is None:
            frame = read_time_csv(self.time) if self.time is not None else None
            self._time_labels = {}
            if frame is not None:
                spans = [s for s in CLASS_SPANS if s in frame.columns]
                for row in frame.itertuples(index=False):
                    labels = {s: int(getattr(row, s)) for s in spans if not _isna(getattr(row, s))}
                    self._time_labels[str(row.image_id)] = labels
        labels = self._time_labels.get(record["image_id"])
        if labels is None:
            raise ValueError("image not found in the temporal CSV")
        out = {}
        for span_name, label in labels.items():
            vector = np.zeros(get_span(span_name).n_classes, np.float32)
            if not 0 <= label < len(vector):
                raise ValueError(f"{span_name} label {label} out of range")
            vector[label] = 1.0
            out[span_name] = vector
        return out


def _isna(value: Any) -> bool:
    import pandas as pd

    return bool(pd.isna(value))
