"""A probe of what the reference network's features carry about time: colorstats' forests on
its frozen decoder features.

The reference model's time head is a small MLP trained jointly with the matcher; the
``colorstats`` baseline is a random forest per span on colour statistics. When the two differ,
the input (decoder features vs colour statistics) and the learner (a jointly trained MLP vs
forests fitted to convergence) are confounded. This method holds the learner fixed: the same
forests, settings and training images as ``colorstats``, on

- ``inputs=decoder``: the pooled decoder features of the reference network (the decoder's share
  of its time head's input, :meth:`stbench.model.inference.Matcher.decoder_features`, on the
  crop its time head sees),
- ``inputs=colour``: the colour statistics (exactly ``colorstats``),
- ``inputs=both``: the two concatenated.

``learner=mlp`` swaps the forests for a one-hidden-layer MLP per span (the width of the
reference's time head), fitted on the same frozen inputs.

It is a pixels-track time method (no matching). Like every learned baseline it is chosen and
read on val (docs/evaluation.md); docs/reference-model.md reports it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from stbench.config import check_fields
from stbench.errors import ConfigError
from stbench.methods.colorstats import ColorStats, ColorStatsConfig, color_features

__all__ = ["PROBE_INPUTS", "PROBE_LEARNERS", "FeatureProbe", "FeatureProbeConfig"]

#: What the classifiers read (``inputs``).
PROBE_INPUTS = ("decoder", "colour", "both")
#: Which classifiers (``learner``): colorstats' random forests, or a one-hidden-layer MLP.
PROBE_LEARNERS = ("forest", "mlp")


@dataclass
class FeatureProbeConfig(ColorStatsConfig):
    """colorstats' forest settings, plus the inputs and the network that gives them.

    ``weights``: reference weights (a ``.safetensors`` file or a training output folder); None
    = the bundled weights. ``device``: where the network runs (not part of the result).
    ``learner``: ``forest`` (colorstats' forests, ``n_estimators`` and ``min_samples_leaf``) or
    ``mlp`` (standardised inputs, one hidden layer of ``hidden`` ReLU units (64: the width
    of the reference's time head), Adam for up to 300 epochs; sklearn's ``MLPClassifier``.
    Its early stopping is not used: it needs two training images of every class, which a
    week or an hour of 2,000 images may not have).
    """

    inputs: str = "decoder"
    weights: str | None = None
    device: str = "cpu"
    learner: str = "forest"
    hidden: int = field(default=64, metadata={"min": 1})

    def __post_init__(self) -> None:
        check_fields(self)
        if self.inputs not in PROBE_INPUTS:
            raise ConfigError(
                f"featureprobe: inputs must be one of {', '.join(PROBE_INPUTS)}, "
                f"not {self.inputs!r}"
            )
        if self.learner not in PROBE_LEARNERS:
            raise ConfigError(
                f"featureprobe: learner must be one of {', '.join(PROBE_LEARNERS)}, "
                f"not {self.learner!r}"
            )


class FeatureProbe(ColorStats):
    """Per-span classifiers (colorstats' random forests, or an MLP) on the reference network's
    frozen decoder features, the colour statistics, or both."""

    name = "featureprobe"
    version = "1"

    settings_class = FeatureProbeConfig

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.matcher = None
        self._weights_digest = None
        if self.settings.inputs != "colour":
            from stbench.methods.base import file_digest
            from stbench.methods.reference import weights_file
            from stbench.model import load_matcher

            self.matcher = load_matcher(self.settings.weights, device=self.settings.device)
            self._weights_digest = file_digest(weights_file(self.settings.weights))

    def config(self) -> dict[str, Any]:
        """The forest settings, the inputs and the weights (path and digest); not the device."""
        config = asdict(self.settings)
        config.pop("device")
        config["weights_sha256_16"] = self._weights_digest
        return config

    def classifier(self) -> Any:
        """A new unfitted classifier for one span (``learner``)."""
        if self.settings.learner == "forest":
            return super().classifier()
        from sklearn.neural_network import MLPClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(
            StandardScaler(),
            MLPClassifier(
                hidden_layer_sizes=(self.settings.hidden,),
                max_iter=300,
                random_state=self.settings.seed,
            ),
        )

    def probabilities(self, classifier: Any, features: np.ndarray) -> np.ndarray:
        """(B, n_seen_classes) probabilities of a fitted classifier."""
        if self.settings.learner == "forest":
            return super().probabilities(classifier, features)
        return classifier.predict_proba(features)

    def features(self, image: np.ndarray) -> np.ndarray:
        """(D,) float32: decoder features, colour statistics, or both (in that order)."""
        parts = []
        if self.matcher is not None:
            parts.append(self.matcher.decoder_features(image))
        if self.settings.inputs != "decoder":
            parts.append(color_features(image))
        return np.concatenate(parts).astype(np.float32)
