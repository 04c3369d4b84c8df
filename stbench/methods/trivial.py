"""Trivial temporal rows that show where chance lies: they look at no image at all.

- ``majority``: per span, the train split's most frequent class (ties: the smallest class);
- ``constant``: per span, the class ``c`` minimising the train split's mean squared error in steps
  ``mean(distance(label, c) ** 2)``, with the distance the scores use
  (:meth:`stbench.spans.Span.distance`: circular for cyclic spans; ties: the smallest class).

Both learn from the labels ``fit`` receives and predict the same one-hot vector for every image.
They read neither pixels nor metadata, so they are ``pixels``-track rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from stbench.errors import DataError
from stbench.methods.base import Method
from stbench.spans import CLASS_SPANS, get_span

__all__ = ["Constant", "Majority", "majority_class", "mse_constant"]


def majority_class(labels: np.ndarray, n_classes: int) -> int:
    """The most frequent label in ``labels`` (the smallest one on ties)."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes)
    return int(np.argmax(counts))


def mse_constant(span_name: str, labels: np.ndarray) -> int:
    """The class minimising the mean squared distance in steps to ``labels`` (smallest on ties)."""
    span = get_span(span_name)
    labels = np.asarray(labels, dtype=np.int64)
    candidates = np.arange(span.n_classes)
    distances = span.distance(labels[None, :], candidates[:, None]).astype(np.float64)
    return int(np.argmin((distances**2).mean(axis=1)))


class _Trivial(Method):
    """Shared ``fit`` / ``predict_time`` of the trivial rows; subclasses choose the class."""

    version = "1"
    track = "pixels"
    needs_images = False

    def __init__(self) -> None:
        self.classes: dict[str, int] = {}

    def config(self) -> dict[str, Any]:
        """No settings."""
        return {}

    def choose(self, span_name: str, labels: np.ndarray) -> int:
        raise NotImplementedError

    def fit(self, train_images: Iterable[tuple[Any, dict, dict[str, int]]]) -> None:
        """Collect the train labels per span and choose each span's class.

        Raises:
            DataError: no training image has a label.
        """
        labels: dict[str, list[int]] = {span: [] for span in CLASS_SPANS}
        for _, _, image_labels in train_images:
            for span_name, label in image_labels.items():
                if span_name in labels:
                    labels[span_name].append(int(label))
        self.classes = {
            span_name: self.choose(span_name, np.array(values))
            for span_name, values in labels.items()
            if values
        }
        if not self.classes:
            raise DataError(
                f"{self.name} found no training images with trusted timestamps in the manifest's "
                "train split; build a manifest with labelled train frames"
            )

    def predict_time(self, image: Any, record: dict[str, Any]) -> dict[str, np.ndarray]:
        """The one-hot vector of each span's chosen class."""
        if not self.classes:
            raise RuntimeError(f"{self.name}.predict_time called before fit()")
        out = {}
        for span_name, label in self.classes.items():
            one_hot = np.zeros(get_span(span_name).n_classes, np.float32)
            one_hot[label] = 1.0
            out[span_name] = one_hot
        return out


class Majority(_Trivial):
    """The train split's most frequent class per span."""

    name = "majority"

    def choose(self, span_name: str, labels: np.ndarray) -> int:
        return majority_class(labels, get_span(span_name).n_classes)


class Constant(_Trivial):
    """The class per span that minimises the train split's MSE in steps."""

    name = "constant"

    def choose(self, span_name: str, labels: np.ndarray) -> int:
        return mse_constant(span_name, labels)
