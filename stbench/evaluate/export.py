"""Run a method over the selected pairs and images, caching its predictions (resumable).

Everything the method does wrong is recorded per pair or image (``failure``) and the run goes
on; predictions are flushed as they are computed, so nothing already done is lost.
"""

from __future__ import annotations

import time
import traceback
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stbench.errors import DataError
from stbench.evaluate.cache import PredictionCache, names_to_pair
from stbench.evaluate.selection import Selection, labels_of
from stbench.evaluate.workers import process_pool
from stbench.imageio import decode_image, read_image_bytes
from stbench.methods.base import (
    RECORD_FIELDS,
    MethodOutputError,
    call_match,
    call_predict_time,
    validate_match_result,
    validate_time_prediction,
)
from stbench.spans import CLASS_SPANS

#: Time predictions and failures are rewritten (atomically) every this many images.
CHECKPOINT_IMAGES = 100


class ImageLoader:
    """Decoded images by image id, with a small LRU cache (pairs are sorted by first image)."""

    def __init__(self, images: pd.DataFrame, roots: dict[str, Path], size: int = 8) -> None:
        self.images = images
        self.roots = roots
        self.size = size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def record(self, image_id: str, with_data: bool = False) -> dict[str, Any]:
        """The metadata a method may see (:data:`RECORD_FIELDS`), optionally with file bytes."""
        row = self.images.loc[image_id]
        record = {k: (None if pd.isna(row[k]) else row[k]) for k in RECORD_FIELDS if k in row.index}
        if with_data:
            record["data"] = self.read_bytes(image_id)
        return record

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


def _describe(exc: BaseException) -> str:
    if isinstance(exc, MethodOutputError):
        return f"invalid output: {exc}"
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" at {Path(frame.filename).name}:{frame.lineno}" if frame else ""
    return f"{type(exc).__name__}: {exc}{where}"


def match_one(method: Any, loader: ImageLoader, image_id0: str, image_id1: str) -> dict[str, Any]:
    """Run and validate the method on one pair; never raises for the method's faults."""
    try:
        image0 = loader.image(image_id0) if getattr(method, "needs_images", True) else None
        image1 = loader.image(image_id1) if getattr(method, "needs_images", True) else None
    except Exception as exc:  # unreadable image: the pair fails, the run goes on
        return {"failure": f"image unreadable: {exc}", "time_s": 0.0}
    record0, record1 = loader.record(image_id0), loader.record(image_id1)
    start = time.perf_counter()
    try:
        output = call_match(method, image0, image1, record0, record1)
    except Exception as exc:
        return {"failure": _describe(exc), "time_s": time.perf_counter() - start}
    elapsed = time.perf_counter() - start
    shape0 = image0.shape if image0 is not None else (record0["height"], record0["width"])
    shape1 = image1.shape if image1 is not None else (record1["height"], record1["width"])
    try:
        result, n_dropped = validate_match_result(output, shape0, shape1)
    except (MethodOutputError, TypeError, ValueError) as exc:
        return {"failure": f"invalid output: {exc}", "time_s": elapsed}
    if len(result.matches) == 0 and len(result.keypoints0) == 0 and len(result.keypoints1) == 0:
        return {
            "failure": "invalid output: empty (no keypoints in either image)",
            "time_s": elapsed,
        }
    return {"result": result, "n_dropped": n_dropped, "time_s": elapsed}


# -- process-pool workers ------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _init_worker(spec: str, options: dict, images: pd.DataFrame, roots: dict) -> None:
    from stbench.methods.registry import resolve_method

    _WORKER["method"] = resolve_method(spec, options)
    _WORKER["loader"] = ImageLoader(images, roots)


def _worker_match(pair: tuple[str, str]) -> tuple[tuple[str, str], dict[str, Any]]:
    return pair, match_one(_WORKER["method"], _WORKER["loader"], *pair)


def export_matches(
    method: Any,
    selection: Selection,
    loader: ImageLoader,
    cache: PredictionCache,
    workers: int = 1,
    spec: str | None = None,
    options: dict | None = None,
    progress: Any = None,
) -> dict[str, int]:
    """Match every matchable selected pair not yet in the cache.

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

    def store(pair: tuple[str, str], outcome: dict[str, Any]) -> None:
        if "failure" in outcome:
            cache.write_pair_failure(*pair, outcome["failure"], outcome["time_s"])
            counts["failed"] += 1
        else:
            r = outcome["result"]
            cache.write_pair(
                *pair, r.keypoints0, r.keypoints1, r.matches, r.scores, outcome["time_s"]
            )
            counts["duplicates_dropped"] += outcome["n_dropped"]
        counts["computed"] += 1
        if progress is not None:
            progress()

    with cache:
        if workers <= 1 or spec is None:
            for pair in todo:
                store(pair, match_one(method, loader, *pair))
        else:
            init = (spec, options or {}, selection.images, loader.roots)
            with process_pool(workers, _init_worker, init) as pool:
                for pair, outcome in pool.map(_worker_match, todo, chunksize=4):
                    store(pair, outcome)
    return counts


def export_time(
    method: Any,
    selection: Selection,
    loader: ImageLoader,
    cache: PredictionCache,
    max_train_images: int = 2000,
    progress: Any = None,
) -> dict[str, int]:
    """Predict time for every selected image not yet in the cache (fitting first if needed)."""
    predicted = cache.read_time()
    failures = cache.read_failures()
    done = set(predicted["image_id"]) | set(failures.loc[failures["kind"] == "image", "item"])
    todo = [i for i in selection.time_images if i not in done]
    counts = {"done": len(selection.time_images) - len(todo), "computed": 0, "failed": 0}
    if not todo:
        return counts
    needs_images = getattr(method, "needs_images", True)
    if callable(getattr(method, "fit", None)):
        training = TrainingImages(selection, loader, max_train_images)
        training.needs_images = needs_images
        method.fit(training)
    rows = predicted.to_dict("records")
    failure_rows = failures.to_dict("records")

    def checkpoint() -> None:
        frame = pd.DataFrame(rows, columns=["image_id", *CLASS_SPANS])
        for span in CLASS_SPANS:
            frame[span] = frame[span].astype("Int64")
        cache.write_time(frame)
        cache.write_failures(pd.DataFrame(failure_rows, columns=["kind", "item", "reason"]))

    cache.directory.mkdir(parents=True, exist_ok=True)
    try:
        for count, image_id in enumerate(todo, start=1):
            try:
                image = loader.image(image_id) if needs_images else None
                record = loader.record(image_id, with_data=True)
                labels = validate_time_prediction(call_predict_time(method, image, record))
                if not labels:
                    raise MethodOutputError("no span predicted")
                rows.append({"image_id": image_id, **labels})
            except Exception as exc:
                failure_rows.append({"kind": "image", "item": image_id, "reason": _describe(exc)})
                counts["failed"] += 1
            counts["computed"] += 1
            if progress is not None:
                progress()
            if count % CHECKPOINT_IMAGES == 0:
                checkpoint()
    finally:  # even when interrupted: keep every prediction made so far
        checkpoint()
    return counts


class TrainingImages(Sequence):
    """The train split's labelled images for ``fit``, loaded lazily one at a time.

    Items are ``(image, record, {span: label})``; images being evaluated are never included
    (no training on what is scored).
    """

    def __init__(self, selection: Selection, loader: ImageLoader, limit: int) -> None:
        images = selection.images
        train = images[(images["split"] == "train") & ~images.index.isin(selection.time_images)]
        spans = [s for s in CLASS_SPANS if s in train.columns]
        train = train[train[spans].notna().any(axis=1)].sort_index()
        if len(train) > limit:
            keep = np.sort(np.random.default_rng(0).choice(len(train), limit, replace=False))
            train = train.iloc[keep]
        self.ids = list(train.index)
        self.images = images
        self.loader = loader
        self.needs_images = True

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        image_id = self.ids[index]
        image = self.loader.image(image_id) if self.needs_images else None
        record = self.loader.record(image_id, with_data=True)
        return image, record, labels_of(self.images, image_id)
