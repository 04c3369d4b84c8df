"""The reference model's architecture config (a strict dataclass, saved beside the weights)."""

from __future__ import annotations

from dataclasses import dataclass, field

from stbench.errors import ConfigError
from stbench.spans import SPANS


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
        temporal_feature_gradient: scale of the temporal head's gradient into the shared
            encoder/decoder (1 = plain sharing, 0 = detached like the distinctiveness head). At
            1 the temporal loss, growing as the curriculum adds narrow spans, collapsed the
            descriptors of the quick run within two epochs; 0.1 keeps the features shared.
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
    temporal_feature_gradient: float = 0.1
    spans: list[str] = field(default_factory=lambda: ["season", "month", "week", "hour"])
    pretrained_backbone: str | None = None

    def __post_init__(self) -> None:
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
        if self.descriptor_dim <= 0:
            raise ConfigError(f"model.descriptor_dim must be positive, got {self.descriptor_dim}")
        for span in self.spans:
            if span not in SPANS or SPANS[span].n_classes is None:
                known = [name for name, s in SPANS.items() if s.n_classes]
                raise ConfigError(f"model.spans: {span!r} is not a class span; use one of {known}")

    @property
    def input_multiple(self) -> int:
        """Input height and width must be multiples of this (the coarsest stride)."""
        return 2 ** len(self.channels)

    def n_classes(self) -> dict[str, int]:
        """Number of classes per span."""
        return {span: int(SPANS[span].n_classes) for span in self.spans}
