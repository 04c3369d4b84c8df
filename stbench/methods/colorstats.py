"""A content baseline for time: colour / brightness statistics + a scikit-learn classifier.

One classifier per span is fitted on the manifest's train split (images with trusted
timestamps); it predicts class probabilities from :func:`color_features`.

``color_features`` is ``stbench.colorstats.color_statistics`` when that module is installed;
until it is merged, a local function of the same kind is used (per-channel RGB and HSV means
and standard deviations, a 8-bin brightness histogram and the sky/ground brightness ratio).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from stbench.errors import DataError
from stbench.methods.base import Method
from stbench.spans import CLASS_SPANS, get_span


def _local_color_statistics(image: np.ndarray) -> np.ndarray:
    import cv2

    small = cv2.resize(image, (64, 48), interpolation=cv2.INTER_AREA)
    rgb = small.reshape(-1, 3).astype(np.float32) / 255.0
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV).reshape(-1, 3).astype(np.float32) / 255.0
    value = hsv[:, 2]
    histogram = np.histogram(value, bins=8, range=(0.0, 1.0))[0] / len(value)
    top = small[:24].mean() / 255.0
    bottom = small[24:].mean() / 255.0
    return np.concatenate(
        [rgb.mean(0), rgb.std(0), hsv.mean(0), hsv.std(0), histogram, [top - bottom]]
    ).astype(np.float32)


def color_features(image: np.ndarray) -> np.ndarray:
    """(D,) float32 colour statistics of an (H, W, 3) RGB uint8 image."""
    try:
        from stbench.colorstats import color_statistics
    except ImportError:
        color_statistics = _local_color_statistics
    return np.asarray(color_statistics(image), dtype=np.float32)


@dataclass
class ColorStatsConfig:
    """Classifier settings: a random forest per span, capped training set, fixed seed."""

    n_estimators: int = 200
    max_train_images: int = 2000
    seed: int = 0


class ColorStats(Method):
    """Per-span random forests on colour statistics (needs ``fit`` before ``predict_time``)."""

    name = "colorstats"
    version = "1"

    def __init__(self, **options: Any) -> None:
        from stbench.config import config_from_dict

        self.settings = config_from_dict(ColorStatsConfig, options, where="colorstats options")
        self.classifiers: dict[str, Any] = {}

    def config(self) -> dict[str, Any]:
        """The resolved settings."""
        return asdict(self.settings)

    def fit(self, train_images: Iterable[tuple[np.ndarray, dict, dict[str, int]]]) -> None:
        """Fit one classifier per span on (image, record, labels) triples (read one at a time).

        Raises:
            DataError: no training image has a label.
        """
        from sklearn.ensemble import RandomForestClassifier

        features, labels = [], []
        for count, (image, _, image_labels) in enumerate(train_images):
            if count >= self.settings.max_train_images:
                break
            features.append(color_features(image))
            labels.append(image_labels)
        for span_name in CLASS_SPANS:
            rows = [i for i, image_labels in enumerate(labels) if span_name in image_labels]
            if not rows:
                continue
            targets = np.array([labels[i][span_name] for i in rows])
            classifier = RandomForestClassifier(
                n_estimators=self.settings.n_estimators,
                random_state=self.settings.seed,
                n_jobs=1,
            )
            classifier.fit(np.stack([features[i] for i in rows]), targets)
            self.classifiers[span_name] = classifier
        if not self.classifiers:
            raise DataError(
                "colorstats found no training images with trusted timestamps in the manifest's "
                "train split; build a manifest with webcam frames (or give --split with labels)"
            )

    def predict_time(self, image: np.ndarray, record: dict[str, Any]) -> dict[str, np.ndarray]:
        """Class probabilities per span (classes unseen in training get 0)."""
        if not self.classifiers:
            raise RuntimeError("colorstats.predict_time called before fit()")
        features = color_features(image)[None]
        out = {}
        for span_name, classifier in self.classifiers.items():
            probabilities = np.zeros(get_span(span_name).n_classes, np.float32)
            probabilities[classifier.classes_.astype(np.int64)] = classifier.predict_proba(
                features
            )[0]
            out[span_name] = probabilities
        return out
