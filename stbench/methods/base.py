"""The method protocol: what a matcher (and optionally a time predictor) implements.

A method is an object with:

- ``name: str`` and ``version: str`` (recorded with every result and on the leaderboard);
- ``config() -> dict``: its resolved settings (saved beside the cached predictions; a changed
  config invalidates the cache);
- ``match(image0, image1) -> MatchResult``: images are (H, W, 3) RGB uint8; keypoints are pixels
  with centers at integer coordinates;
- optionally ``predict_time(image, record) -> {span: (n_classes,) probabilities}``; ``record``
  is what the method's track passes (:mod:`stbench.methods.tracks`: an opaque per-run ``item``
  id on ``pixels``; :data:`RECORD_FIELDS` plus ``data``, the encoded file bytes, on
  ``metadata``) and never the true time;
- optionally ``track``: ``"pixels"`` (default) or ``"metadata"``;
- optionally ``fit(train_images)`` for learned temporal baselines: ``train_images`` is a
  sequence of ``(image, record, labels)`` with ``labels = {span: int}`` from the manifest's
  train split, loaded lazily (iterate it; images under evaluation are never in it).

Subclassing :class:`Method` is optional (any object with these attributes works), but it gives
defaults and the ``match_pair`` hook that methods reading precomputed results override.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "RECORD_FIELDS",
    "MatchResult",
    "Method",
    "MethodOutputError",
    "call_match",
    "call_predict_time",
    "file_digest",
    "supports_matching",
    "supports_time",
    "validate_match_result",
    "validate_time_prediction",
]


#: Manifest columns passed to ``metadata``-track methods (never the timestamp or span labels);
#: :data:`stbench.methods.tracks.METADATA_FIELDS`.
RECORD_FIELDS: tuple[str, ...] = (
    "image_id",
    "source",
    "dataset",
    "scene",
    "path",
    "width",
    "height",
    "fx",
    "fy",
    "cx",
    "cy",
    "lat",
    "lon",
)


class MethodOutputError(ValueError):
    """A method returned something that breaks the protocol (shape, NaN, index out of range)."""


@dataclass
class MatchResult:
    """Matches between two images.

    Attributes:
        keypoints0: (N, 2) float32 pixels (x, y) in image 0, centers at integers.
        keypoints1: (M, 2) float32 pixels in image 1.
        matches: (K, 2) int64 indices into keypoints0 / keypoints1.
        scores: (K,) float32 match confidences (higher = more confident).
    """

    keypoints0: np.ndarray
    keypoints1: np.ndarray
    matches: np.ndarray
    scores: np.ndarray

    @classmethod
    def from_any(cls, output: Any) -> MatchResult:
        """Accept a MatchResult or a dict with the same keys (LightGlue style)."""
        if isinstance(output, MatchResult):
            return output
        if isinstance(output, dict):
            missing = [k for k in ("keypoints0", "keypoints1", "matches") if k not in output]
            if missing:
                raise MethodOutputError(f"match output lacks key(s) {missing}")
            scores = output.get("scores")
            if scores is None:
                scores = np.ones(len(np.asarray(output["matches"]).reshape(-1, 2)), np.float32)
            return cls(output["keypoints0"], output["keypoints1"], output["matches"], scores)
        raise MethodOutputError(
            f"match returned {type(output).__name__}; expected MatchResult or a dict"
        )


def _as_points(value: Any, name: str) -> np.ndarray:
    array = np.asarray(value)
    if array.ndim != 2 or array.shape[1] != 2:
        raise MethodOutputError(f"{name} has shape {array.shape}, expected (N, 2)")
    if not np.issubdtype(array.dtype, np.number):
        raise MethodOutputError(f"{name} has dtype {array.dtype}, expected float")
    if not np.all(np.isfinite(array)):
        raise MethodOutputError(f"{name} holds {int((~np.isfinite(array)).sum())} NaN/inf values")
    return array.astype(np.float32)


def validate_match_result(
    output: Any, shape0: tuple[int, ...] | None = None, shape1: tuple[int, ...] | None = None
) -> tuple[MatchResult, int]:
    """Check a method's match output and bring it to the documented dtypes.

    Rules: keypoints (N, 2) finite; matches (K, 2) integers indexing existing keypoints;
    scores (K,) finite; keypoints inside the image (within 0.5 px of the border) when image
    shapes are given. A keypoint of image 0 matched several times keeps its best-scored match
    only (the hloc ``matches0`` format holds one match per keypoint).

    Returns:
        the cleaned result and the number of duplicate matches dropped.
    Raises:
        MethodOutputError: the output breaks a rule (the message says which).
    """
    result = MatchResult.from_any(output)
    keypoints0 = _as_points(result.keypoints0, "keypoints0")
    keypoints1 = _as_points(result.keypoints1, "keypoints1")
    for points, shape, name in (
        (keypoints0, shape0, "keypoints0"),
        (keypoints1, shape1, "keypoints1"),
    ):
        if shape is not None and len(points):
            height, width = shape[:2]
            outside = (
                (points[:, 0] < -0.5)
                | (points[:, 1] < -0.5)
                | (points[:, 0] > width - 0.5)
                | (points[:, 1] > height - 0.5)
            )
            if outside.any():
                raise MethodOutputError(
                    f"{int(outside.sum())} of {name} lie outside the {width}x{height} image"
                )
    matches = np.asarray(result.matches)
    if matches.size == 0:
        matches = matches.reshape(0, 2)
    if matches.ndim != 2 or matches.shape[1] != 2:
        raise MethodOutputError(f"matches has shape {matches.shape}, expected (K, 2)")
    if matches.dtype.kind not in "iu":
        if (
            matches.dtype.kind == "f"
            and np.all(np.isfinite(matches))
            and np.all(matches == np.round(matches))
        ):
            matches = matches.astype(np.int64)
        else:
            raise MethodOutputError(f"matches has dtype {matches.dtype}, expected int64")
    matches = matches.astype(np.int64)
    for column, count, name in (
        (0, len(keypoints0), "keypoints0"),
        (1, len(keypoints1), "keypoints1"),
    ):
        bad = (matches[:, column] < 0) | (matches[:, column] >= count)
        if bad.any():
            raise MethodOutputError(
                f"{int(bad.sum())} match indices out of range for {name} (N={count})"
            )
    scores = np.asarray(result.scores, dtype=np.float64).reshape(-1)
    if scores.shape != (len(matches),):
        raise MethodOutputError(f"scores has shape {scores.shape}, expected ({len(matches)},)")
    if not np.all(np.isfinite(scores)):
        raise MethodOutputError("scores hold NaN/inf values")
    n_dropped = 0
    if len(matches) and len(np.unique(matches[:, 0])) < len(matches):
        order = np.lexsort((-scores, matches[:, 0]))
        _, first = np.unique(matches[order, 0], return_index=True)
        keep = np.sort(order[first])
        n_dropped = len(matches) - len(keep)
        matches, scores = matches[keep], scores[keep]
    return MatchResult(keypoints0, keypoints1, matches, scores.astype(np.float32)), n_dropped


def validate_time_prediction(output: Any, spans: tuple[str, ...] | None = None) -> dict[str, int]:
    """Check ``predict_time`` output and return the predicted class per span.

    Each value must be a (n_classes,) vector of finite non-negative numbers with a positive sum;
    spans the method does not predict are simply absent.

    Raises:
        MethodOutputError: a vector has the wrong length or holds NaN / negative values.
    """
    from stbench.spans import CLASS_SPANS, get_span  # pandas: not needed by method workers

    spans = CLASS_SPANS if spans is None else spans
    if not isinstance(output, dict):
        raise MethodOutputError(f"predict_time returned {type(output).__name__}; expected a dict")
    labels = {}
    for span_name, probabilities in output.items():
        if span_name not in spans:
            continue
        span = get_span(span_name)
        vector = np.asarray(probabilities, dtype=np.float64).reshape(-1)
        if vector.shape != (span.n_classes,):
            raise MethodOutputError(
                f"{span_name} probabilities have shape {vector.shape}, expected ({span.n_classes},)"
            )
        if not np.all(np.isfinite(vector)) or np.any(vector < 0) or vector.sum() <= 0:
            raise MethodOutputError(f"{span_name} probabilities must be finite, >= 0, sum > 0")
        labels[span_name] = int(np.argmax(vector))
    return labels


class Method:
    """Convenience base class of the protocol (subclassing it is optional).

    Subclasses set ``name`` and ``version`` and implement :meth:`match` and/or
    :meth:`predict_time`.
    """

    name: str = "method"
    version: str = "0"
    #: False when the method reads precomputed results and needs no decoded images.
    needs_images: bool = True

    def config(self) -> dict[str, Any]:
        """The method's resolved settings (JSON-serialisable)."""
        return {}

    def match(self, image0: np.ndarray, image1: np.ndarray) -> MatchResult:
        """Match two (H, W, 3) RGB uint8 images."""
        raise NotImplementedError(f"{self.name} does not match images")

    def match_pair(
        self,
        image0: np.ndarray | None,
        image1: np.ndarray | None,
        record0: dict[str, Any],
        record1: dict[str, Any],
    ) -> MatchResult:
        """What the harness calls; by default :meth:`match` (override to use the records)."""
        return self.match(image0, image1)


def supports_matching(method: Any) -> bool:
    """Whether ``method`` implements matching (not just the base class's default)."""
    match = getattr(type(method), "match", None)
    pair = getattr(type(method), "match_pair", None)
    return (callable(match) and match is not Method.match) or (
        callable(pair) and pair is not Method.match_pair
    )


def supports_time(method: Any) -> bool:
    """Whether ``method`` predicts time."""
    return callable(getattr(method, "predict_time", None))


def call_match(method: Any, image0, image1, record0: dict, record1: dict) -> Any:
    """Call ``match_pair`` when the method has it, else ``match``."""
    hook = getattr(method, "match_pair", None)
    if callable(hook):
        return hook(image0, image1, record0, record1)
    return method.match(image0, image1)


def call_predict_time(method: Any, image: np.ndarray | None, record: dict[str, Any]) -> Any:
    """Call ``predict_time(image, record)``, or ``predict_time(image)`` for methods whose
    ``predict_time`` takes the image only (as ``stbench.model``'s Matcher does)."""
    import inspect

    predict = method.predict_time
    try:
        parameters = list(inspect.signature(predict).parameters.values())
    except (TypeError, ValueError):
        return predict(image, record)
    positional = [
        p
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    variadic = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters)
    if len(positional) >= 2 or variadic:
        return predict(image, record)
    return predict(image)


def file_digest(path: Path) -> str | None:
    """The first 16 hex digits of a file's SHA-256 (part of a method's config), None if absent."""
    from stbench.fetch.download import hash_file

    return hash_file(path).hexdigest()[:16] if path.is_file() else None
