"""Run a method over the selected pairs and images, caching its predictions (resumable).

The method runs in supervised worker processes (:class:`stbench.evaluate.workers.MethodRunner`)
and sees only the inputs of its track (:class:`MethodInputs`). Everything the method does wrong
(raises, hangs, crashes, answers invalid output) is recorded per pair or image (``failure``) and
the run goes on; predictions are flushed as they are computed, so nothing already done is lost.
"""

from __future__ import annotations

import shutil
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stbench.config import check_config_matches, save_config
from stbench.errors import DataError
from stbench.evaluate.config import PredictionIdentity
from stbench.evaluate.selection import Selection, labels_of, manifest_identity
from stbench.evaluate.workers import FitFailed, MethodInfo, MethodRunner, Outcome
from stbench.imageio import decode_image, read_image_bytes
from stbench.methods.base import (
    RECORD_FIELDS,
    MatchResult,
    MethodOutputError,
    validate_match_result,
    validate_time_prediction,
)
from stbench.methods.tracks import OpaqueIds, TrackInputs
from stbench.prediction_cache import PredictionCache, names_to_pair
from stbench.spans import CLASS_SPANS

__all__ = [
    "ImageLoader",
    "MethodInputs",
    "TrainingImages",
    "checked_match",
    "export_matches",
    "export_time",
    "open_prediction_cache",
]

#: Time predictions and failures are rewritten (atomically) every this many images.
CHECKPOINT_IMAGES = 100


class ImageLoader:
    """Decoded images by image id, with a small LRU cache (pairs are sorted by first image)."""

    def __init__(self, images: pd.DataFrame, roots: dict[str, Path], size: int = 8) -> None:
        self.images = images
        self.roots = roots
        self.size = size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def record(self, image_id: str) -> dict[str, Any]:
        """The image's metadata fields (:data:`RECORD_FIELDS`), for the harness; what a method
        gets of it is decided by :class:`MethodInputs`."""
        row = self.images.loc[image_id]
        return {k: (None if pd.isna(row[k]) else row[k]) for k in RECORD_FIELDS if k in row.index}

    def read_bytes(self, image_id: str) -> bytes:
        row = self.images.loc[image_id]
        if row["source"] not in self.roots:
            raise DataError(f"the manifest names no data root for source {row['source']!r}")
        return read_image_bytes(self.roots[row["source"]], row["path"])

    def image(self, image_id: str) -> np.ndarray:
        if image_id in self._cache:
            self._cache.move_to_end(image_id)
            return self._cache[image_id]
        image = decode_image(self.read_bytes(image_id), where=image_id)
        self._cache[image_id] = image
        if len(self._cache) > self.size:
            self._cache.popitem(last=False)
        return image


def open_prediction_cache(
    cache_dir: Path, spec: str, info: MethodInfo, manifest: Any, overwrite: bool
) -> tuple[PredictionIdentity, PredictionCache]:
    """The method's prediction cache in ``cache_dir`` for ``manifest``: reused when it was made
    by the same method (name, version, config, track) on the same manifest, emptied first with
    ``overwrite``.

    Raises:
        OutputExistsError: the cache holds predictions of another method config or manifest and
            ``overwrite`` is False.
    """
    identity = PredictionIdentity(
        method=spec,
        method_name=info.name,
        method_version=info.version,
        method_config=info.config,
        manifest=manifest_identity(manifest),
        track=info.track,
    )
    if overwrite or not check_config_matches(identity, cache_dir, overwrite=False):
        shutil.rmtree(cache_dir, ignore_errors=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    save_config(identity, cache_dir)
    return identity, PredictionCache(cache_dir)


class MethodInputs:
    """What the method sees of an image on its track (:data:`stbench.methods.tracks.TRACK_INPUTS`),
    built here, in the harness's process, and sent to the method's worker: nothing else of the
    manifest, the paths or the files reaches the method."""

    def __init__(
        self,
        loader: ImageLoader,
        inputs: TrackInputs,
        needs_images: bool = True,
        ids: OpaqueIds | None = None,
    ) -> None:
        """``inputs``: :func:`stbench.methods.tracks.inputs_for` of the method's spec and track;
        ``ids``: the run's opaque ids (a fresh secret when None)."""
        self.loader = loader
        self.inputs = inputs
        self.with_pixels = inputs.pixels and needs_images
        self.ids = ids if ids is not None else OpaqueIds()

    def image(self, image_id: str) -> np.ndarray | None:
        """Decoded pixels (None for a method that needs none)."""
        return self.loader.image(image_id) if self.with_pixels else None

    def record(self, image_id: str) -> dict[str, Any]:
        """The record of the track: the opaque item id, the track's fields, the file bytes."""
        record: dict[str, Any] = {}
        if self.inputs.opaque_item:
            record["item"] = self.ids(image_id)
        if self.inputs.fields:
            full = self.loader.record(image_id)
            record.update({k: full[k] for k in self.inputs.fields if k in full})
        if self.inputs.file_bytes:
            record["data"] = self.loader.read_bytes(image_id)
        return record


def checked_match(outcome: Outcome, shape0: tuple, shape1: tuple) -> dict[str, Any]:
    """A worker's answer for a pair as ``{"result", "n_dropped", "time_s"}`` when it passes
    :func:`validate_match_result`, else ``{"failure", "time_s"}``."""
    if outcome.failure is not None:
        return {"failure": outcome.failure, "time_s": outcome.time_s}
    try:
        result, n_dropped = validate_match_result(MatchResult(**outcome.value), shape0, shape1)
    except (MethodOutputError, TypeError, ValueError) as exc:
        return {"failure": f"invalid output: {exc}", "time_s": outcome.time_s}
    if len(result.matches) == 0 and len(result.keypoints0) == 0 and len(result.keypoints1) == 0:
        return {
            "failure": "invalid output: empty (no keypoints in either image)",
            "time_s": outcome.time_s,
        }
    return {"result": result, "n_dropped": n_dropped, "time_s": outcome.time_s}


def _shape(loader: ImageLoader, image: np.ndarray | None, image_id: str) -> tuple:
    if image is not None:
        return image.shape
    record = loader.record(image_id)
    return (record["height"], record["width"])


def export_matches(
    info: MethodInfo,
    selection: Selection,
    cache: PredictionCache,
    runner: Callable[..., MethodRunner],
    inputs: MethodInputs,
    progress: Any = None,
) -> dict[str, int]:
    """Match every matchable selected pair not yet in the cache, in supervised workers.

    ``runner(training=None)`` opens the :class:`MethodRunner`. A pair whose method raises, hangs,
    crashes or answers invalid output is recorded as a failure (with the reason) and the run goes
    on.

    Returns:
        counts: ``done`` (already cached), ``computed``, ``failed``, ``duplicates_dropped``.
    """
    pairs = selection.pairs[selection.pairs["matchable"]]
    done = cache.done_pairs()
    todo = [
        (a, b)
        for a, b in zip(pairs["image_id0"], pairs["image_id1"], strict=True)
        if names_to_pair(a, b) not in done
    ]
    counts = {"done": len(pairs) - len(todo), "computed": 0, "failed": 0, "duplicates_dropped": 0}
    if not todo:
        return counts
    shapes: dict[tuple[str, str], tuple] = {}

    def jobs():
        for pair in todo:

            def build(pair: tuple[str, str] = pair) -> tuple:
                image0, image1 = inputs.image(pair[0]), inputs.image(pair[1])
                shapes[pair] = (
                    _shape(inputs.loader, image0, pair[0]),
                    _shape(inputs.loader, image1, pair[1]),
                )
                return ("match", image0, image1, inputs.record(pair[0]), inputs.record(pair[1]))

            yield pair, build

    def store(pair: tuple[str, str], outcome: Outcome) -> None:
        checked = (
            checked_match(outcome, *shapes.pop(pair))
            if pair in shapes
            else {"failure": outcome.failure, "time_s": outcome.time_s}
        )
        if "failure" in checked:
            cache.write_pair_failure(*pair, checked["failure"], checked["time_s"])
            counts["failed"] += 1
        else:
            r = checked["result"]
            cache.write_pair(
                *pair, r.keypoints0, r.keypoints1, r.matches, r.scores, checked["time_s"]
            )
            counts["duplicates_dropped"] += checked["n_dropped"]
        counts["computed"] += 1
        if progress is not None:
            progress()

    with cache, runner() as workers:
        workers.run(jobs(), store)
    return counts


def export_time(
    info: MethodInfo,
    selection: Selection,
    cache: PredictionCache,
    runner: Callable[..., MethodRunner],
    inputs: MethodInputs,
    max_train_images: int = 2000,
    progress: Any = None,
) -> dict[str, int]:
    """Predict time for every selected image not yet in the cache, in supervised workers
    (``fit`` first, in the worker, on the train split's images as the track shows them).

    Raises:
        StbenchError: ``fit`` raised one of stbench's errors (e.g. no training images).
    """
    predicted = cache.read_time()
    failures = cache.read_failures()
    done = set(predicted["image_id"]) | set(failures.loc[failures["kind"] == "image", "item"])
    todo = [i for i in selection.time_images if i not in done]
    counts = {"done": len(selection.time_images) - len(todo), "computed": 0, "failed": 0}
    if not todo:
        return counts
    training = None
    if info.has_fit:
        training = TrainingImages(selection, inputs, max_train_images)
    rows = predicted.to_dict("records")
    failure_rows = failures.to_dict("records")

    def checkpoint() -> None:
        frame = pd.DataFrame(rows, columns=["image_id", *CLASS_SPANS])
        for span in CLASS_SPANS:
            frame[span] = frame[span].astype("Int64")
        cache.write_time(frame)
        cache.write_failures(pd.DataFrame(failure_rows, columns=["kind", "item", "reason"]))

    def store(image_id: str, outcome: Outcome) -> None:
        reason = outcome.failure
        if reason is None:
            try:
                labels = validate_time_prediction(outcome.value)
                if not labels:
                    raise MethodOutputError("no span predicted")
                rows.append({"image_id": image_id, **labels})
            except MethodOutputError as exc:
                reason = f"invalid output: {exc}"
        if reason is not None:
            failure_rows.append({"kind": "image", "item": image_id, "reason": reason})
            counts["failed"] += 1
        counts["computed"] += 1
        if progress is not None:
            progress()
        if counts["computed"] % CHECKPOINT_IMAGES == 0:
            checkpoint()

    def jobs():
        for image_id in todo:

            def build(image_id: str = image_id) -> tuple:
                return ("time", inputs.image(image_id), inputs.record(image_id))

            yield image_id, build

    cache.directory.mkdir(parents=True, exist_ok=True)
    try:
        with runner(training=training) as workers:
            workers.run(jobs(), store)
    except FitFailed as exc:
        if exc.error is not None:
            raise exc.error from None
        for image_id in todo:
            store(image_id, Outcome(failure=exc.reason))
    finally:  # even when interrupted: keep every prediction made so far
        checkpoint()
    return counts


class TrainingImages(Sequence):
    """The train split's labelled images for ``fit``, loaded lazily one at a time.

    Items are ``(image, record, {span: label})`` with the image and record of the method's track
    (:class:`MethodInputs`); images being evaluated are never included (no training on what is
    scored).
    """

    def __init__(self, selection: Selection, inputs: MethodInputs, limit: int) -> None:
        images = selection.images
        train = images[(images["split"] == "train") & ~images.index.isin(selection.time_images)]
        spans = [s for s in CLASS_SPANS if s in train.columns]
        train = train[train[spans].notna().any(axis=1)].sort_index()
        if len(train) > limit:
            keep = np.sort(np.random.default_rng(0).choice(len(train), limit, replace=False))
            train = train.iloc[keep]
        self.ids = list(train.index)
        self.images = images
        self.inputs = inputs

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        image_id = self.ids[index]
        return (
            self.inputs.image(image_id),
            self.inputs.record(image_id),
            labels_of(self.images, image_id),
        )
