"""The prediction cache: a method's outputs in hloc-compatible files, keyed by image and pair.

Layout of ``<run>/predictions/`` (also the input format of the ``predictions`` method):

- ``features.h5``: one group per image name (the manifest's image_id) with ``keypoints``
  (N, 2) float32, pixel centers at integers (as hloc's ``extract_features`` writes them);
- ``matches.h5``: one group per pair named ``names_to_pair(name0, name1)`` (hloc: both names
  with ``/`` replaced by ``-``, joined by ``/``) with ``matches0`` (N,) int32 (index into image 1's
  keypoints, -1 = unmatched) and ``matching_scores0`` (N,) float16; attributes ``time_s`` (the
  method's seconds) and, for a failed pair, ``failure`` (the reason, no datasets). Methods whose
  keypoints depend on the pair (dense matchers) also store ``keypoints0`` / ``keypoints1`` there
  when they differ from features.h5;
- ``time.csv``: ``image_id`` and one integer column per span (the predicted class; empty = none);
- ``failures.csv``: ``kind`` (pair|image), ``item``, ``reason``;
- ``config.json``: method, version, options and manifest identity (a changed one refuses reuse).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stbench.atomic import write_text_atomic
from stbench.errors import DataError
from stbench.spans import CLASS_SPANS

__all__ = [
    "FAILURES_FILE",
    "FEATURES_FILE",
    "MATCHES_FILE",
    "TIME_FILE",
    "PredictionCache",
    "check_matches0",
    "names_to_pair",
    "read_time_csv",
]


FEATURES_FILE = "features.h5"
MATCHES_FILE = "matches.h5"
TIME_FILE = "time.csv"
FAILURES_FILE = "failures.csv"


def names_to_pair(name0: str, name1: str, separator: str = "/") -> str:
    """hloc's pair key: both names with ``/`` replaced by ``-``, joined by ``separator``."""
    return separator.join((name0.replace("/", "-"), name1.replace("/", "-")))


def _open(path: Path, mode: str) -> Any:
    import h5py

    try:
        return h5py.File(path, mode)
    except OSError as exc:
        raise DataError(
            f"{path} cannot be opened ({exc}); it may be truncated by an interrupted run: "
            "pass --overwrite to recompute the predictions"
        ) from exc


def check_matches0(
    matches0: np.ndarray, scores0: np.ndarray | None, n_keypoints0: int, n_keypoints1: int
) -> str | None:
    """Why a stored ``matches0`` / ``matching_scores0`` breaks the format, or None if it holds.

    Rules: ``matches0`` is a 1-D integer vector with one entry per keypoint of image 0, each an
    index into image 1's keypoints or -1 ("no match", the only negative value allowed);
    ``matching_scores0`` has the same length and is finite.
    """
    matches0 = np.asarray(matches0)
    if matches0.ndim != 1:
        return f"matches0 has shape {matches0.shape}, expected ({n_keypoints0},)"
    if matches0.dtype.kind == "f":
        if not np.all(np.isfinite(matches0)):
            return f"matches0 holds {int((~np.isfinite(matches0)).sum())} NaN/inf values"
        if not np.all(matches0 == np.round(matches0)):
            return "matches0 holds non-integer indices"
    elif matches0.dtype.kind not in "iu":
        return f"matches0 has dtype {matches0.dtype}, expected integers"
    if len(matches0) != n_keypoints0:
        return f"matches0 has {len(matches0)} entries for {n_keypoints0} keypoints in image 0"
    negative = (matches0 < 0) & (matches0 != -1)
    if negative.any():
        return (
            f"matches0 holds {int(negative.sum())} negative indices other than -1 "
            f"(e.g. {int(matches0[negative][0])}); -1 is the only 'no match' value"
        )
    beyond = matches0 >= n_keypoints1
    if beyond.any():
        return (
            f"matches0 holds {int(beyond.sum())} indices beyond image 1's {n_keypoints1} "
            f"keypoints (e.g. {int(matches0[beyond][0])})"
        )
    if scores0 is None:
        return "matching_scores0 is missing"
    scores0 = np.asarray(scores0)
    if scores0.shape != matches0.shape:
        return f"matching_scores0 has shape {scores0.shape}, expected {matches0.shape}"
    if not np.all(np.isfinite(scores0.astype(np.float64))):
        return "matching_scores0 holds NaN/inf values"
    return None


class PredictionCache:
    """Reader and incremental writer of a predictions directory.

    Use as a context manager for writing; every pair is flushed as it is written so an
    interrupted run keeps what it computed.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._features = None
        self._matches = None

    # -- writing ---------------------------------------------------------------------------
    def __enter__(self) -> PredictionCache:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._features = _open(self.directory / FEATURES_FILE, "a")
        self._matches = _open(self.directory / MATCHES_FILE, "a")
        return self

    def open_for_reading(self) -> PredictionCache:
        """Keep both files open read-only for later :meth:`read_pairs` calls (one open per
        process instead of one per call); :meth:`close` or the context exit closes them."""
        if self._matches is None and (self.directory / MATCHES_FILE).exists():
            self._features = _open(self.directory / FEATURES_FILE, "r")
            self._matches = _open(self.directory / MATCHES_FILE, "r")
        return self

    def close(self) -> None:
        """Close the open files (no-op when none is open)."""
        self.__exit__()

    def __exit__(self, *exc: object) -> None:
        for handle in (self._features, self._matches):
            if handle is not None:
                handle.close()
        self._features = self._matches = None

    def _image_keypoints(self, name: str, keypoints: np.ndarray) -> bool:
        """Store keypoints of ``name`` once; True if the stored ones equal ``keypoints``."""
        if name in self._features and "keypoints" in self._features[name]:
            stored = self._features[name]["keypoints"]
            return stored.shape == keypoints.shape and np.array_equal(stored[()], keypoints)
        group = self._features.require_group(name)
        group.create_dataset("keypoints", data=keypoints.astype(np.float32))
        return True

    def write_pair(
        self,
        name0: str,
        name1: str,
        keypoints0: np.ndarray,
        keypoints1: np.ndarray,
        matches: np.ndarray,
        scores: np.ndarray,
        time_s: float,
    ) -> None:
        """Store one pair's validated result (matches (K, 2) with unique first indices)."""
        key = names_to_pair(name0, name1)
        if key in self._matches:
            del self._matches[key]
        group = self._matches.create_group(key)
        same0 = self._image_keypoints(name0, keypoints0)
        same1 = self._image_keypoints(name1, keypoints1)
        if not (same0 and same1):
            group.create_dataset("keypoints0", data=keypoints0.astype(np.float32))
            group.create_dataset("keypoints1", data=keypoints1.astype(np.float32))
        matches0 = np.full(len(keypoints0), -1, np.int32)
        matches0[matches[:, 0]] = matches[:, 1]
        matching_scores0 = np.zeros(len(keypoints0), np.float16)
        matching_scores0[matches[:, 0]] = scores
        group.create_dataset("matches0", data=matches0)
        group.create_dataset("matching_scores0", data=matching_scores0)
        group.attrs["time_s"] = float(time_s)
        self._matches.flush()
        self._features.flush()

    def write_pair_failure(self, name0: str, name1: str, reason: str, time_s: float) -> None:
        """Record that the method failed on a pair."""
        key = names_to_pair(name0, name1)
        if key in self._matches:
            del self._matches[key]
        group = self._matches.create_group(key)
        group.attrs["failure"] = reason
        group.attrs["time_s"] = float(time_s)
        self._matches.flush()

    # -- reading ---------------------------------------------------------------------------
    def done_pairs(self) -> set[str]:
        """Pair keys (:func:`names_to_pair`) already in matches.h5 (results or failures)."""
        path = self.directory / MATCHES_FILE
        if self._matches is None and not path.exists():
            return set()
        handle = self._matches if self._matches is not None else _open(path, "r")
        try:
            return {f"{a}/{b}" for a in handle for b in handle[a]}
        finally:
            if handle is not self._matches:
                handle.close()

    def read_pairs(self, names: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """Cached results of pairs: keypoints0/1, matches (K, 2), scores, time_s or failure.

        Stored results are checked (:func:`check_matches0`, finite keypoints); one that breaks
        the format comes back as a failure (``invalid output: ...``), never as matches.
        """
        held = self._matches is not None
        if not held and not (self.directory / MATCHES_FILE).exists():
            return {}
        features = self._features if held else _open(self.directory / FEATURES_FILE, "r")
        matches_file = self._matches if held else _open(self.directory / MATCHES_FILE, "r")
        out = {}
        try:
            for name0, name1 in names:
                key, reversed_ = names_to_pair(name0, name1), False
                if key not in matches_file and names_to_pair(name1, name0) in matches_file:
                    key, reversed_ = names_to_pair(name1, name0), True  # hloc allows both
                if key not in matches_file:
                    continue
                group = matches_file[key]
                entry: dict[str, Any] = {"time_s": float(group.attrs.get("time_s", np.nan))}
                if "failure" in group.attrs:
                    entry["failure"] = str(group.attrs["failure"])
                    out[(name0, name1)] = entry
                    continue
                first, second = (name1, name0) if reversed_ else (name0, name1)
                keypoints_a, keypoints_b, problem = _pair_keypoints(group, features, first, second)
                if problem is not None:
                    entry["failure"] = f"invalid output: {problem}"
                    out[(name0, name1)] = entry
                    continue
                matches0 = group["matches0"][()]
                scores0 = group["matching_scores0"][()] if "matching_scores0" in group else None
                problem = check_matches0(matches0, scores0, len(keypoints_a), len(keypoints_b))
                if problem is not None:
                    entry["failure"] = f"invalid output: {problem}"
                    out[(name0, name1)] = entry
                    continue
                index_a = np.flatnonzero(matches0 >= 0)
                pairs = np.stack([index_a, matches0[index_a]], axis=1).astype(np.int64)
                scores = scores0[index_a].astype(np.float32)
                if reversed_:
                    keypoints_a, keypoints_b = keypoints_b, keypoints_a
                    pairs = pairs[:, ::-1].copy()
                entry.update(
                    keypoints0=keypoints_a, keypoints1=keypoints_b, matches=pairs, scores=scores
                )
                out[(name0, name1)] = entry
        finally:
            if not held:
                features.close()
                matches_file.close()
        return out

    # -- time ------------------------------------------------------------------------------
    def read_time(self) -> pd.DataFrame:
        """time.csv as a DataFrame (image_id + nullable Int64 per span); empty if absent."""
        return read_time_csv(self.directory / TIME_FILE)

    def write_time(self, frame: pd.DataFrame) -> None:
        """Write time.csv atomically."""
        columns = ["image_id", *[s for s in CLASS_SPANS if s in frame.columns]]
        write_text_atomic(self.directory / TIME_FILE, frame[columns].to_csv(index=False))

    def read_failures(self) -> pd.DataFrame:
        """failures.csv (kind, item, reason); empty if absent."""
        path = self.directory / FAILURES_FILE
        if not path.exists():
            return pd.DataFrame({"kind": [], "item": [], "reason": []}, dtype=str)
        return pd.read_csv(path, dtype=str, keep_default_na=False)

    def write_failures(self, frame: pd.DataFrame) -> None:
        """Write failures.csv atomically."""
        write_text_atomic(self.directory / FAILURES_FILE, frame.to_csv(index=False))


def _pair_keypoints(
    group: Any, features: Any, first: str, second: str
) -> tuple[np.ndarray | None, np.ndarray | None, str | None]:
    """The keypoints of a stored pair (its own, or features.h5's), or why they are unusable."""
    if "keypoints0" in group and "keypoints1" in group:
        keypoints = [group["keypoints0"][()], group["keypoints1"][()]]
    else:
        keypoints = []
        for name in (first, second):
            if name not in features or "keypoints" not in features[name]:
                return None, None, f"no keypoints for {name!r} in features.h5"
            keypoints.append(features[name]["keypoints"][()])
    for index, points in enumerate(keypoints):
        points = np.asarray(points)
        if points.ndim != 2 or points.shape[1] != 2 or points.dtype.kind not in "fiu":
            return None, None, f"keypoints{index} has shape {points.shape}, expected (N, 2)"
        if not np.all(np.isfinite(points)):
            return None, None, f"keypoints{index} hold NaN/inf values"
    return keypoints[0], keypoints[1], None


def read_time_csv(path: Path) -> pd.DataFrame:
    """A temporal predictions CSV: ``image_id`` and integer columns named after spans.

    Raises:
        DataError: no image_id column, an unknown column, or a non-integer label.
    """
    if not Path(path).exists():
        return pd.DataFrame({"image_id": pd.Series([], dtype=str)})
    frame = pd.read_csv(path, dtype={"image_id": str})
    if "image_id" not in frame.columns:
        raise DataError(f"{path}: no 'image_id' column (columns: {list(frame.columns)})")
    unknown = [c for c in frame.columns if c != "image_id" and c not in CLASS_SPANS]
    if unknown:
        raise DataError(f"{path}: unknown column(s) {unknown}; span columns are {CLASS_SPANS}")
    for span in CLASS_SPANS:
        if span in frame.columns:
            values = pd.to_numeric(frame[span], errors="coerce")
            bad = values.notna() & (values != values.round())
            if bad.any() or (values.isna() & frame[span].notna()).any():
                raise DataError(f"{path}: column {span!r} must hold integer class labels")
            frame[span] = values.astype("Int64")
    return frame
