"""Training configuration (a strict dataclass) and the ``quick`` / ``full`` presets."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from stbench.config import check_fields, config_from_dict
from stbench.errors import ConfigError
from stbench.model.config import ModelConfig, temporal_input_fields

__all__ = ["PRESETS", "TrainConfig", "preset_config"]


@dataclass
class TrainConfig:
    """Everything that decides a training run (saved as ``config.json`` beside the weights).

    Attributes:
        model: the architecture.
        image_size: (width, height) of the pair crops; multiples of ``model.input_multiple``.
        temporal_size: (width, height) of the temporal crops.
        batch_size: pairs per step and process. temporal_batch_size: images per step and process.
            The latter at least 2 (the temporal head's BatchNorm1d needs two in training).
        n_points: ground-truth correspondences sampled per pair. grid_step: their grid (pixels).
        epochs: number of epochs. steps_per_epoch: optimiser steps per epoch.
        learning_rate, weight_decay: AdamW; the rate decays with a cosine to 10 % at the end.
        margin: hinge margin on descriptor distance (descriptors are unit vectors: 0..2).
        negative_radius: negatives lie farther than this (pixels) from the true match.
        matching_weight, distinctiveness_weight, temporal_weight: loss weights. ``matching_weight``
            multiplies the correspondence loss with its contrastive terms (the descriptor
            losses); 0 trains without matching supervision (the time head then shapes the
            shared features alone; an ablation). ``temporal_weight`` 0 trains the matcher
            without time supervision (the temporal head then stays untrained).
        contrastive_weight, contrastive_temperature: weight and temperature of the InfoNCE term
            (:func:`stbench.model.losses.contrastive_loss`) added to the correspondence loss;
            without it (0) the hardest-negative hinge collapsed the descriptors of the quick run.
        dense_contrastive_weight, dense_negative_radius: weight of the dense InfoNCE term
            (:func:`stbench.model.losses.dense_contrastive_loss`: each point against every
            descriptor cell of the other image farther than ``dense_negative_radius`` pixels
            from its true match; same temperature). The sparse terms never see negatives
            closer than ``negative_radius``, so without it matches are only coarsely localised.
        ce_weight, mse_weight: weights of cross-entropy and normalised MSE in the temporal loss
            (:func:`stbench.model.losses.temporal_loss`); ``ce_weight=0`` is MSE in steps alone.
        curriculum: ramp span weights in from wide to narrow spans; span ``k`` (0-based, in
            ``model.spans`` order) has weight 0 until ``(k - 1) * curriculum_stagger`` of
            training and full weight from ``k * curriculum_stagger`` (the first span always 1).
        val_top_k: keypoints per image in validation. val_max_pairs, val_max_images: caps on
            the validation set (evenly spread; None = all).
        seed: seeds the initialisation and every random crop.
        num_workers: DataLoader workers per process.
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    image_size: list[int] = field(default_factory=lambda: [160, 128])
    temporal_size: list[int] = field(default_factory=lambda: [128, 96])
    batch_size: int = 4
    temporal_batch_size: int = 8
    n_points: int = 256
    grid_step: int = 8
    epochs: int = 3
    steps_per_epoch: int = 40
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    margin: float = 1.0
    negative_radius: float = 16.0
    matching_weight: float = 1.0
    distinctiveness_weight: float = 0.1
    contrastive_weight: float = 1.0
    contrastive_temperature: float = 0.1
    dense_contrastive_weight: float = 1.0
    dense_negative_radius: float = 4.0
    temporal_weight: float = 0.5
    ce_weight: float = 1.0
    mse_weight: float = 1.0
    curriculum: bool = True
    curriculum_stagger: float = 0.1
    val_top_k: int = 512
    val_max_pairs: int | None = 32
    val_max_images: int | None = 256
    seed: int = 0
    num_workers: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.model, dict):
            self.model = config_from_dict(ModelConfig, self.model, "train.model")
        check_fields(self)
        self.image_size = [int(v) for v in self.image_size]
        self.temporal_size = [int(v) for v in self.temporal_size]
        multiple = self.model.input_multiple
        for name in ("image_size", "temporal_size"):
            size = getattr(self, name)
            if len(size) != 2 or any(v <= 0 or v % multiple for v in size):
                raise ConfigError(
                    f"train.{name} must be [width, height], positive multiples of {multiple}; "
                    f"got {size}"
                )
        for name in ("batch_size", "n_points", "epochs", "steps_per_epoch"):
            if int(getattr(self, name)) <= 0:
                raise ConfigError(f"train.{name} must be positive, got {getattr(self, name)}")
        for name in (
            "matching_weight", "distinctiveness_weight", "temporal_weight", "ce_weight",
            "mse_weight", "contrastive_weight", "dense_contrastive_weight",
        ):  # fmt: skip
            value = float(getattr(self, name))
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"train.{name} must be a finite weight >= 0, got {value}")
        if not (self.ce_weight or self.mse_weight):
            raise ConfigError(
                "train: ce_weight and mse_weight are both 0, so the temporal loss is empty; "
                "set temporal_weight=0 to train without time supervision"
            )
        if int(self.temporal_batch_size) < 2:
            raise ConfigError(
                f"train.temporal_batch_size must be at least 2 (per process), got "
                f"{self.temporal_batch_size}: the temporal head standardises its inputs over the "
                "batch (BatchNorm1d)"
            )

    def span_weights(self, progress: float) -> dict[str, float]:
        """Weight per span at ``progress`` (0..1 of training), following the curriculum."""
        if not self.curriculum:
            return {span: 1.0 for span in self.model.spans}
        stagger = max(self.curriculum_stagger, 1e-9)
        return {
            span: min(1.0, max(0.0, (progress - (k - 1) * stagger) / stagger))
            for k, span in enumerate(self.model.spans)
        }


PRESETS: dict[str, dict[str, Any]] = {
    # The demo's model, in about a minute on 2 CPU cores: small crops, few steps, and the temporal
    # head on the image statistics only (`colour`): the temporal batch then skips the network, a
    # third of a step's convolutions. The one preset that departs from the proposal, for the
    # demo's speed (docs/reference-model.md, "Departures from the proposal").
    "quick": dict(
        model=temporal_input_fields("colour"),
        epochs=3,  # 3 x 40 steps (was 6): half the demo's training, still learning (#18)
        steps_per_epoch=40,
        learning_rate=3e-3,
        image_size=[160, 128],
        temporal_size=[128, 96],
    ),
    # The recipe of the bundled weights on a 2-core CPU (2 torchrun processes): quick sizes, a
    # larger temporal batch, more epochs, and the proposal's design: the temporal MLP on the
    # decoder output, trained jointly with the matcher (issue #14; the bundled weights were
    # trained with it on manifests/benchmark). 72 x 40 steps: val matching flattens after
    # ~2,000 (docs/reference-model.md, learning curves); 75 min with 2 CPU processes.
    "reference": dict(
        model=temporal_input_fields("decoder"),
        epochs=72,
        steps_per_epoch=40,
        learning_rate=3e-3,
        temporal_batch_size=16,
        image_size=[160, 128],
        temporal_size=[128, 96],
    ),
    # A longer run with the proposal's design (a GPU helps but is not needed).
    "full": dict(
        model=temporal_input_fields("decoder"),
        epochs=20,
        steps_per_epoch=150,
        batch_size=6,
        temporal_batch_size=16,
        image_size=[256, 192],
        temporal_size=[128, 96],
        n_points=384,
        val_max_pairs=128,
        val_max_images=1024,
    ),
}


def preset_config(name: str, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """The config of preset ``name`` with ``overrides`` (strict keys) applied."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return config_from_dict(TrainConfig, {**PRESETS[name], **(overrides or {})}, f"preset {name}")
