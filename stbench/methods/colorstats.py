"""A content baseline for time: colour / brightness statistics + a scikit-learn classifier.

One classifier per span is fitted on the manifest's train split (images with trusted
timestamps); it predicts class probabilities from :func:`color_features`.

The features are :func:`stbench.colorstats.color_statistics`, the same statistics the synthetic
world's temporal-signal check uses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from stbench.config import check_fields
from stbench.errors import DataError
from stbench.methods.base import Method
from stbench.spans import CLASS_SPANS, get_span

__all__ = ["ColorStats", "ColorStatsConfig", "color_features", "forest_probabilities"]


def color_features(image: np.ndarray) -> np.ndarray:
    """(D,) float32 colour statistics of an (H, W, 3) RGB uint8 image."""
    from stbench.colorstats import color_statistics

    return np.asarray(color_statistics(image), dtype=np.float32)


def forest_probabilities(forest: Any, features: np.ndarray) -> np.ndarray:
    """``forest.predict_proba(features)`` without sklearn's per-call and per-tree overhead.

    A random forest's probabilities are the mean of its trees' (every tree knows all classes).
    All trees are walked at once on arrays (:func:`stbench.colorstats.forest_tables`) and their
    leaf probabilities summed in tree order, so the result equals sklearn's bit for bit.
    """
    from stbench.colorstats import forest_predict_proba

    return forest_predict_proba(forest, features)


@dataclass
class ColorStatsConfig:
    """Classifier settings: a random forest per span, capped training set, fixed seed.

    ``min_samples_leaf``: samples a leaf keeps at least. Fully grown trees (1) on 2,000 frames
    held 530k nodes for the four spans (a 153 MB fitted method, pickled to every evaluation
    worker); 5 keeps 40 MB, fits a quarter faster and scored as well on the default world's test
    frames (season 0.52 vs 0.48, hour 0.175 vs 0.168; docs/evaluation.md).
    """

    n_estimators: int = field(default=100, metadata={"min": 1})
    min_samples_leaf: int = field(default=5, metadata={"min": 1})
    max_train_images: int = field(default=2000, metadata={"min": 1})
    seed: int = field(default=0, metadata={"min": 0})

    def __post_init__(self) -> None:
        check_fields(self)


class ColorStats(Method):
    """Per-span random forests on colour statistics (needs ``fit`` before ``predict_time``)."""

    name = "colorstats"
    version = "2"

    #: The dataclass of the options (a subclass may extend it).
    settings_class: type = ColorStatsConfig

    def __init__(self, **options: Any) -> None:
        from stbench.config import config_from_dict

        self.settings = config_from_dict(self.settings_class, options, where=f"{self.name} options")
        self.classifiers: dict[str, Any] = {}

    def config(self) -> dict[str, Any]:
        """The resolved settings."""
        return asdict(self.settings)

    def features(self, image: np.ndarray) -> np.ndarray:
        """(D,) float32 inputs of the forests: :func:`color_features` (subclasses read others)."""
        return color_features(image)

    def classifier(self) -> Any:
        """A new unfitted classifier for one span: a random forest."""
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(
            n_estimators=self.settings.n_estimators,
            min_samples_leaf=self.settings.min_samples_leaf,
            random_state=self.settings.seed,
            n_jobs=1,
        )

    def probabilities(self, classifier: Any, features: np.ndarray) -> np.ndarray:
        """(B, n_seen_classes) probabilities of a fitted classifier (a forest's, fast)."""
        return forest_probabilities(classifier, features)

    def fit(self, train_images: Iterable[tuple[np.ndarray, dict, dict[str, int]]]) -> None:
        """Fit one classifier per span on (image, record, labels) triples (read one at a time).

        Raises:
            DataError: no training image has a label.
        """
        features, labels = [], []
        for count, (image, _, image_labels) in enumerate(train_images):
            if count >= self.settings.max_train_images:
                break
            features.append(self.features(image))
            labels.append(image_labels)
        for span_name in CLASS_SPANS:
            rows = [i for i, image_labels in enumerate(labels) if span_name in image_labels]
            if not rows:
                continue
            targets = np.array([labels[i][span_name] for i in rows])
            classifier = self.classifier()
            classifier.fit(np.stack([features[i] for i in rows]), targets)
            self.classifiers[span_name] = classifier
        if not self.classifiers:
            raise DataError(
                f"{self.name} found no training images with trusted timestamps in the manifest's "
                "train split; build a manifest with webcam frames (or give --split with labels)"
            )

    def predict_time(self, image: np.ndarray, record: dict[str, Any]) -> dict[str, np.ndarray]:
        """Class probabilities per span (classes unseen in training get 0)."""
        if not self.classifiers:
            raise RuntimeError("colorstats.predict_time called before fit()")
        features = self.features(image)[None]
        out = {}
        for span_name, classifier in self.classifiers.items():
            probabilities = np.zeros(get_span(span_name).n_classes, np.float32)
            probabilities[classifier.classes_.astype(np.int64)] = self.probabilities(
                classifier, features
            )[0]
            out[span_name] = probabilities
        return out
