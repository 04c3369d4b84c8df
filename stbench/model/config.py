"""The reference model's architecture config (a strict dataclass, saved beside the weights)."""

from __future__ import annotations

from dataclasses import dataclass, field

from stbench.config import check_fields
from stbench.errors import ConfigError
from stbench.spans import SPANS

__all__ = ["TEMPORAL_INPUTS", "ModelConfig", "temporal_input_fields"]

#: What the temporal head sees, by name: ``decoder`` (the proposal: global average and max
#: pools of the decoder levels, trained jointly with the matcher), ``colour`` (only the 36
#: statistics of the input image, :func:`stbench.model.network.image_statistics`) or ``both``.
TEMPORAL_INPUTS: dict[str, dict[str, bool]] = {
    "decoder": {"temporal_decoder_features": True, "temporal_image_statistics": False},
    "colour": {"temporal_decoder_features": False, "temporal_image_statistics": True},
    "both": {"temporal_decoder_features": True, "temporal_image_statistics": True},
}


def temporal_input_fields(name: str) -> dict[str, bool]:
    """The :class:`ModelConfig` fields of temporal inputs ``name`` (``decoder``, ``colour`` or
    ``both``); a ConfigError names the choices otherwise."""
    if name not in TEMPORAL_INPUTS:
        raise ConfigError(
            f"unknown temporal inputs {name!r}; choose one of {', '.join(TEMPORAL_INPUTS)}"
        )
    return dict(TEMPORAL_INPUTS[name])


@dataclass
class ModelConfig:
    """Architecture of :class:`stbench.model.network.SpatioTemporalMatcher`.

    Attributes:
        channels: encoder widths per level; level ``k`` has stride ``2 ** (k + 1)``.
        attention_levels: how many of the coarsest levels get co-attention (CoAM: 2).
        attention_dim: query/key width of the co-attention.
        descriptor_dim: length of the L2-normalised dense descriptors.
        descriptor_stride: 2 or 4 (descriptors at 1/2 or 1/4 of the input resolution).
        distinctiveness_hidden: width of the distinctiveness MLP (1x1 convs).
        temporal_hidden: width of the temporal MLP.
        temporal_dropout: dropout on the temporal MLP's standardised inputs in training (after
            its BatchNorm1d, before its first Linear; 0 = none, the recipes' default). A
            regulariser against fitting the training cameras; parameter-free, so weights
            trained with or without it load alike.
        temporal_feature_gradient: scale of the temporal head's gradient into the shared
            encoder/decoder (1 = plain sharing, 0 = detached like the distinctiveness head). At
            1 the temporal loss, growing as the curriculum adds narrow spans, collapsed the
            descriptors of the quick run within two epochs; 0.1 keeps the features shared.
        temporal_decoder_features: the temporal head sees the global average and max pools of
            the decoder levels (the proposal's design, the ``reference`` and ``full`` presets:
            :data:`TEMPORAL_INPUTS` ``decoder``). Off, it sees only the image statistics below
            (the ``quick`` preset, and the bundled weights of before issue #14: on the default
            world's held-out webcam the pooled features of that network fingerprinted the
            training cameras; docs/reference-model.md).
        temporal_image_statistics: the temporal head also sees global statistics of the input
            image (:func:`stbench.model.network.image_statistics`: colour and brightness in RGB
            and CIE Lab, saturation, hue, luma percentiles, sky versus ground). The
            descriptors are trained to be invariant to illumination and season, which is
            exactly what tells the time, so the head gets them directly.
        temporal_image_grid: add the mean colour of each cell of a ``g x g`` layout to those
            statistics (0 = none, the default: a layout fingerprints the camera, and on the
            default world's held-out camera it lowered season accuracy; docs/reference-model.md).
        hemisphere_phase: predict ``month`` and ``week`` in the *seasonal phase* of the
            northern hemisphere (labels of southern-hemisphere images shifted by half a year in
            training, predictions shifted back by the image's latitude at inference), so that
            snow means January in Innsbruck and July in Bariloche. ``season`` labels already
            follow the hemisphere (:mod:`stbench.spans`).
        spans: the spans the temporal head classifies (names in :data:`stbench.spans.SPANS`).
        pretrained_backbone: optional path to a ``.safetensors`` file with encoder weights
            (keys as in ``SpatioTemporalMatcher.encoder``), loaded by
            :func:`stbench.model.network.load_backbone`; None trains from scratch.
    """

    channels: list[int] = field(default_factory=lambda: [16, 32, 64, 128])
    attention_levels: int = 2
    attention_dim: int = 32
    descriptor_dim: int = 64
    descriptor_stride: int = 2
    distinctiveness_hidden: int = 32
    temporal_hidden: int = 64
    temporal_dropout: float = field(default=0.0, metadata={"min": 0.0, "max": 0.9})
    temporal_feature_gradient: float = 0.1
    temporal_decoder_features: bool = True
    temporal_image_statistics: bool = True
    temporal_image_grid: int = 0
    hemisphere_phase: bool = True
    spans: list[str] = field(default_factory=lambda: ["season", "month", "week", "hour"])
    pretrained_backbone: str | None = None

    def __post_init__(self) -> None:
        check_fields(self)
        self.channels = [int(c) for c in self.channels]
        self.spans = [str(s) for s in self.spans]
        if len(self.channels) < 2 or any(c <= 0 for c in self.channels):
            raise ConfigError(f"model.channels must list >= 2 positive widths, got {self.channels}")
        if not 0 <= self.attention_levels <= len(self.channels):
            raise ConfigError(
                f"model.attention_levels must be in 0..{len(self.channels)}, "
                f"got {self.attention_levels}"
            )
        if self.descriptor_stride not in (2, 4):
            raise ConfigError(
                f"model.descriptor_stride must be 2 or 4, got {self.descriptor_stride}"
            )
        if not (self.temporal_decoder_features or self.temporal_image_statistics):
            raise ConfigError(
                "model: the temporal head needs an input; enable temporal_decoder_features or "
                "temporal_image_statistics"
            )
        if self.temporal_image_grid < 0 or (
            self.temporal_image_grid and not self.temporal_image_statistics
        ):
            raise ConfigError(
                f"model.temporal_image_grid must be >= 0 (and 0 without "
                f"temporal_image_statistics), got {self.temporal_image_grid}"
            )
        if self.descriptor_dim <= 0:
            raise ConfigError(f"model.descriptor_dim must be positive, got {self.descriptor_dim}")
        for span in self.spans:
            if span not in SPANS or SPANS[span].n_classes is None:
                known = [name for name, s in SPANS.items() if s.n_classes]
                raise ConfigError(f"model.spans: {span!r} is not a class span; use one of {known}")

    @property
    def temporal_inputs(self) -> str:
        """``decoder``, ``colour`` or ``both``: the name of this config's temporal inputs."""
        for name, fields in TEMPORAL_INPUTS.items():
            if all(getattr(self, key) == value for key, value in fields.items()):
                return name
        raise AssertionError("unreachable: __post_init__ rejects a head without inputs")

    @property
    def input_multiple(self) -> int:
        """Input height and width must be multiples of this (the coarsest stride)."""
        return 2 ** len(self.channels)

    def n_classes(self) -> dict[str, int]:
        """Number of classes per span."""
        return {span: int(SPANS[span].n_classes) for span in self.spans}
