"""The evaluation's strict configs: what is evaluated, and the identity of cached predictions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stbench.config import check_fields
from stbench.defaults import (
    DEPTH_TAU,
    ITEM_TIMEOUT_S,
    N_BOOTSTRAP,
    POSE_CONFIDENCE,
    POSE_THRESHOLD_PX,
)
from stbench.errors import ConfigError

__all__ = ["SPLITS", "EvaluateConfig", "PredictionIdentity"]


SPLITS = ("test", "val", "train", "all")


@dataclass
class EvaluateConfig:
    """Settings of one ``stbench evaluate`` run (saved as ``<run>/config.json``).

    Attributes:
        method: the method spec (built-in name, entry point, ``module:Factory``, ``file.py:Factory``).
        method_options: keyword arguments for the method's factory.
        split: manifest split to evaluate (``test``, ``val``, ``train`` or ``all``).
        max_pairs: evaluate a seeded random subset of at most this many pairs (None = all).
        max_images: at most this many images for temporal prediction (None = all needed).
        max_train_images: cap on train-split images given to a method's ``fit``.
        tau: relative depth tolerance of a verifiable match (DESIGN: 0.05).
        pose_threshold_px: RANSAC threshold in pixels, divided by the mean focal (LoFTR: 0.5).
        pose_confidence: RANSAC confidence (LoFTR: 0.99999).
        n_bootstrap: bootstrap replicates for the 95 % intervals.
        seed: seed of the pair subset and of the bootstrap.
        workers: worker processes running the method (each under the watchdog).
        item_timeout: seconds a method may take on one pair or image before its worker is
            killed and the item recorded as failed (``--item-timeout``).
        fit_timeout: seconds a method's ``fit`` may take.
    """

    method: str
    method_options: dict[str, Any] = field(default_factory=dict)
    split: str = "test"
    max_pairs: int | None = None
    max_images: int | None = None
    max_train_images: int = 2000
    tau: float = DEPTH_TAU
    pose_threshold_px: float = POSE_THRESHOLD_PX
    pose_confidence: float = POSE_CONFIDENCE
    n_bootstrap: int = N_BOOTSTRAP
    seed: int = 0
    workers: int = 1
    item_timeout: float = ITEM_TIMEOUT_S
    fit_timeout: float = 3600.0

    def __post_init__(self) -> None:
        check_fields(self)
        if self.split not in SPLITS:
            raise ConfigError(f"unknown split {self.split!r}; choose one of {', '.join(SPLITS)}")
        for name in ("item_timeout", "fit_timeout"):
            if not getattr(self, name) > 0:
                raise ConfigError(
                    f"{name} must be a positive number of seconds, not {getattr(self, name)}"
                )
        if self.workers < 1:
            raise ConfigError(f"workers must be at least 1, not {self.workers}")


@dataclass
class PredictionIdentity:
    """What the cached predictions depend on (``<run>/predictions/config.json``).

    The split, pair subset and metric settings are not part of it: predictions are keyed by
    pair and image, so another subset reuses (and extends) the same cache.
    """

    method: str
    method_name: str
    method_version: str
    method_config: dict[str, Any]
    manifest: str
    track: str = "pixels"

    def __post_init__(self) -> None:
        check_fields(self)
