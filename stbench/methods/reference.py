"""The bundled reference model (``stbench.model``) as an evaluation method."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from stbench.errors import ConfigError
from stbench.methods.base import MatchResult, Method


class Reference(Method):
    """Wraps ``stbench.model.load_matcher(weights, device)``: matching and time prediction.

    Options: ``weights`` (a .safetensors path; default: the bundled weights), ``device``.
    """

    name = "reference"

    def __init__(self, weights: str | None = None, device: str = "cpu") -> None:
        try:
            from stbench.model import load_matcher
        except ImportError as exc:
            raise ConfigError(
                "the 'reference' method needs stbench.model (the reference model), which is "
                f"not available in this installation: {exc}"
            ) from exc
        self.weights = weights
        self.device = device
        self.matcher = load_matcher(Path(weights) if weights else None, device=device)
        self.version = str(getattr(self.matcher, "version", "bundled"))

    def config(self) -> dict[str, Any]:
        """Weights path (None = bundled) and version; the device does not change results."""
        return {"weights": self.weights, "model_version": self.version}

    def match(self, image0: np.ndarray, image1: np.ndarray) -> MatchResult:
        """Match with the co-attention matcher."""
        return MatchResult.from_any(self.matcher.match(image0, image1))

    def predict_time(self, image: np.ndarray, record: dict[str, Any]) -> dict[str, np.ndarray]:
        """Per-span class probabilities from the temporal head."""
        return self.matcher.predict_time(image)
