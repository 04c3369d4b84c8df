"""The reference network: a small U-Net with co-attention, dense descriptors and a temporal head.

Architecture (D2D / CoAM-style, small enough to train on a CPU):

- encoder: ``len(channels)`` levels of two 3x3 convs (the first with stride 2), BatchNorm, ReLU;
  level ``k`` has stride ``2 ** (k + 1)``;
- co-attention at the ``attention_levels`` coarsest levels: each image's features attend to the
  other image's features (scaled dot product) and are fused back with a residual 1x1 conv, so
  every image is conditioned on its partner; a single image is conditioned on itself;
- decoder: upsample x2, concatenate the skip, two 3x3 convs, up to the descriptor stride;
- descriptor head: 3x3 conv to ``descriptor_dim`` channels, L2-normalised per pixel;
- distinctiveness head: 1x1-conv MLP with a sigmoid on the *detached* decoder features (it learns
  how often a descriptor is confused without shaping the descriptors);
- temporal head: MLP on the global average and max pools of every decoder level (the proposal;
  its gradient into the shared features scaled by ``temporal_feature_gradient``), on global
  statistics of the input image (:func:`image_statistics`), or on both
  (:data:`stbench.model.config.TEMPORAL_INPUTS`); one logit vector per span.

BatchNorm (not instance/group norm) keeps absolute brightness and colour in the features, which
the temporal head needs.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from stbench.errors import ConfigError, DataError
from stbench.model.config import ModelConfig

__all__ = [
    "IMAGE_STATISTICS",
    "CoAttention",
    "SpatioTemporalMatcher",
    "image_statistics",
    "load_backbone",
    "scale_gradient",
]


_MEAN = 0.45
_STD = 0.25


def _conv_block(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class _ScaleGradient(torch.autograd.Function):
    """Identity forward; multiplies the gradient by ``scale`` backward."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return tensor.view_as(tensor)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return grad * ctx.scale, None


def scale_gradient(tensor: torch.Tensor, scale: float) -> torch.Tensor:
    """``tensor`` unchanged, with its gradient scaled by ``scale`` (0 detaches it)."""
    if scale == 1.0:
        return tensor
    if scale == 0.0:
        return tensor.detach()
    return _ScaleGradient.apply(tensor, scale)


#: Entries of :func:`image_statistics` besides the ``grid x grid`` colour layout.
IMAGE_STATISTICS = 36


def _lab(image: torch.Tensor) -> torch.Tensor:
    """CIE L*a*b* (D65) of (B, 3, H, W) sRGB in [0, 1], scaled to L / 100, a / 128, b / 128."""
    linear = torch.where(image <= 0.04045, image / 12.92, ((image + 0.055) / 1.055) ** 2.4)
    to_xyz = image.new_tensor(
        [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
    )
    xyz = torch.einsum("ij,bjhw->bihw", to_xyz, linear)
    xyz = xyz / image.new_tensor([0.95047, 1.0, 1.08883])[:, None, None]
    delta = 6 / 29
    f = torch.where(xyz > delta**3, xyz.clamp(min=1e-12) ** (1 / 3), xyz / (3 * delta**2) + 4 / 29)
    lightness = (116 * f[:, 1] - 16) / 100
    a = 500 * (f[:, 0] - f[:, 1]) / 128
    b = 200 * (f[:, 1] - f[:, 2]) / 128
    return torch.stack([lightness, a, b], dim=1)


def image_statistics(image: torch.Tensor, grid: int) -> torch.Tensor:
    """Global appearance of (B, 3, H, W) images in [0, 1]: (B, 3 * grid**2 + IMAGE_STATISTICS).

    The light and colour of a scene as numbers: the mean of each channel over each cell of a
    ``grid x grid`` layout (channel-major: red's cells row-major, then green's, then blue's;
    none when ``grid`` is 0); per-channel mean and standard deviation of RGB and of CIE Lab
    (L / 100, a / 128, b / 128); mean chromaticity
    (r, g, b) / (r + g + b); mean and standard deviation of saturation (max - min) / max; the
    saturation-weighted mean hue as (cos, sin); luma
    percentiles 5/25/50/75/95; dark (< 0.1) and bright (> 0.9) luma fractions; mean luma gradient
    magnitude (haze and night flatten it); mean RGB and luma of the top and bottom thirds (sky
    and ground) and their luma difference. Computed from the input only (no parameters).
    """
    batch, _, height, _ = image.shape
    layout = F.adaptive_avg_pool2d(image, grid).flatten(1) if grid else image.new_zeros(batch, 0)
    luma = 0.299 * image[:, 0] + 0.587 * image[:, 1] + 0.114 * image[:, 2]  # (B, H, W)
    total = image.sum(1, keepdim=True).clamp(min=1e-3)
    chroma = (image / total).mean((2, 3))
    high, low = image.amax(1), image.amin(1)
    saturation = (high - low) / high.clamp(min=1e-3)
    red, green, blue = image[:, 0], image[:, 1], image[:, 2]
    hue = torch.atan2(3**0.5 * (green - blue), 2 * red - green - blue)
    weight = saturation / saturation.sum((1, 2), keepdim=True).clamp(min=1e-6)
    hue_vector = torch.stack(
        [(weight * hue.cos()).sum((1, 2)), (weight * hue.sin()).sum((1, 2))], 1
    )
    percentiles = torch.tensor([0.05, 0.25, 0.5, 0.75, 0.95], device=image.device)
    quantiles = torch.quantile(luma.flatten(1), percentiles.to(luma.dtype), dim=1).T
    gradient = (luma[:, :, 1:] - luma[:, :, :-1]).abs().mean((1, 2)) + (
        luma[:, 1:] - luma[:, :-1]
    ).abs().mean((1, 2))
    lab = _lab(image)  # (B, 3, H, W): L / 100, a / 128, b / 128
    third = max(1, height // 3)
    sky, ground = image[:, :, :third].mean((2, 3)), image[:, :, -third:].mean((2, 3))
    sky_luma, ground_luma = luma[:, :third].mean((1, 2)), luma[:, -third:].mean((1, 2))
    columns = [
        image.mean((2, 3)),
        image.std((2, 3)),
        lab.mean((2, 3)),
        lab.std((2, 3)),
        chroma,
        saturation.mean((1, 2))[:, None],
        saturation.std((1, 2))[:, None],
        hue_vector,
        quantiles,
        (luma < 0.1).float().mean((1, 2))[:, None],
        (luma > 0.9).float().mean((1, 2))[:, None],
        gradient[:, None],
        sky,
        ground,
        torch.stack([sky_luma, ground_luma, sky_luma - ground_luma], dim=1),
    ]
    return torch.cat([layout, *columns], dim=1)


class CoAttention(nn.Module):
    """Condition features of one image on another's (shared weights in both directions)."""

    def __init__(self, channels: int, attention_dim: int) -> None:
        super().__init__()
        self.query = nn.Conv2d(channels, attention_dim, 1)
        self.key = nn.Conv2d(channels, attention_dim, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.fuse = nn.Sequential(
            nn.Conv2d(2 * channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
        )
        self.scale = attention_dim**-0.5

    def attend(self, target: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        """Features of ``target`` (B, C, h, w) conditioned on ``other`` (B, C, h', w')."""
        batch, channels, height, width = target.shape
        query = self.query(target).flatten(2).transpose(1, 2)  # (B, hw, A)
        key = self.key(other).flatten(2)  # (B, A, h'w')
        value = self.value(other).flatten(2).transpose(1, 2)  # (B, h'w', C)
        weights = torch.softmax(query @ key * self.scale, dim=-1)  # (B, hw, h'w')
        attended = (weights @ value).transpose(1, 2).reshape(batch, channels, height, width)
        return target + self.fuse(torch.cat([target, attended], dim=1))

    def forward(self, features0: torch.Tensor, features1: torch.Tensor):
        """Both images conditioned on each other: ((B,C,h0,w0), (B,C,h1,w1))."""
        return self.attend(features0, features1), self.attend(features1, features0)


class SpatioTemporalMatcher(nn.Module):
    """Dense matcher with a temporal head.

    Inputs are (B, 3, H, W) float RGB in [0, 1] with H and W multiples of
    ``config.input_multiple``. Outputs (for each image ``i`` of a pair):

    - ``descriptors{i}``: (B, D, H/s, W/s) L2-normalised, s = ``descriptor_stride``;
    - ``distinctiveness{i}``: (B, 1, H/s, W/s) in (0, 1);
    - ``time_logits{i}``: dict span -> (B, n_classes) logits (left out when ``with_time`` is
      False).
    """

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or ModelConfig()
        channels = config.channels
        self.encoder = nn.ModuleList(
            _conv_block(3 if k == 0 else channels[k - 1], channels[k], stride=2)
            for k in range(len(channels))
        )
        n_levels = len(channels)
        self.attention_start = n_levels - config.attention_levels
        self.attention = nn.ModuleList(
            CoAttention(channels[k], config.attention_dim)
            for k in range(self.attention_start, n_levels)
        )
        # Decoder levels from n_levels - 2 down to the descriptor level.
        self.descriptor_level = {2: 0, 4: 1}[config.descriptor_stride]
        self.decoder = nn.ModuleList(
            _conv_block(channels[k + 1] + channels[k], channels[k])
            for k in range(n_levels - 2, self.descriptor_level - 1, -1)
        )
        top = channels[self.descriptor_level]
        self.descriptor_head = nn.Conv2d(top, config.descriptor_dim, 3, padding=1)
        hidden = config.distinctiveness_hidden
        self.distinctiveness_head = nn.Sequential(
            nn.Conv2d(top, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, 1, 1)
        )
        pooled = (
            2 * sum(channels[self.descriptor_level :]) if config.temporal_decoder_features else 0
        )
        if config.temporal_image_statistics:
            pooled += 3 * config.temporal_image_grid**2 + IMAGE_STATISTICS
        self.n_classes = config.n_classes()
        # Per-feature standardisation (BatchNorm1d) + GELU: with a plain ReLU MLP on raw pools
        # the hidden units died early in training and the head output a constant prediction;
        # LayerNorm fixed that but, normalising across features, left the small variations of
        # the image statistics (a chromaticity moves by 0.01) too small to learn from.
        self.temporal_head = nn.Sequential(
            nn.BatchNorm1d(pooled),
            nn.Linear(pooled, config.temporal_hidden),
            nn.GELU(),
            nn.Linear(config.temporal_hidden, sum(self.n_classes.values())),
        )
        if config.pretrained_backbone:
            load_backbone(self, config.pretrained_backbone)

    def check_image(self, image: torch.Tensor, name: str = "image") -> None:
        """Raise ValueError unless ``image`` is (B, 3, H, W) float with H, W multiples."""
        multiple = self.config.input_multiple
        if image.ndim != 4 or image.shape[1] != 3 or not image.is_floating_point():
            raise ValueError(
                f"{name} must be a (B, 3, H, W) float tensor, got {tuple(image.shape)} {image.dtype}"
            )
        if image.shape[2] % multiple or image.shape[3] % multiple:
            raise ValueError(
                f"{name}: height and width must be multiples of {multiple}, got "
                f"{tuple(image.shape[2:])}; resize or pad the input"
            )

    def encode(self, image: torch.Tensor) -> list[torch.Tensor]:
        """Encoder features per level: list of (B, C_k, H/2^(k+1), W/2^(k+1))."""
        features = []
        x = (image - _MEAN) / _STD
        for block in self.encoder:
            x = block(x)
            features.append(x)
        return features

    def decode(
        self, features: list[torch.Tensor], image: torch.Tensor, with_time: bool = True
    ) -> dict[str, torch.Tensor | dict]:
        """Descriptors, distinctiveness and (``with_time``) time logits from (conditioned)
        encoder features and the (B, 3, H, W) input image they came from."""
        x, pools = self._decoder_maps(features)
        out = {
            "descriptors": F.normalize(self.descriptor_head(x), dim=1),
            "distinctiveness": torch.sigmoid(self.distinctiveness_head(x.detach())),
        }
        if with_time:
            out["time_logits"] = self.time_logits(pools, image)
        return out

    def _decoder_maps(
        self, features: list[torch.Tensor]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The decoder's finest map and the maps the temporal head pools (every decoder level,
        then the coarsest encoder level)."""
        x = features[-1]
        pools = []
        skips = [features[k] for k in range(len(features) - 2, self.descriptor_level - 1, -1)]
        for block, skip in zip(self.decoder, skips, strict=True):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
            pools.append(x)
        pools.append(features[-1])
        return x, pools

    @staticmethod
    def pooled_features(pools: list[torch.Tensor]) -> torch.Tensor:
        """(B, D) the global mean and max of every map in ``pools``: the decoder features
        the temporal head reads."""
        return torch.cat([torch.cat([p.mean((2, 3)), p.amax((2, 3))], 1) for p in pools], 1)

    def decoder_features(self, image: torch.Tensor) -> torch.Tensor:
        """(B, D) pooled decoder features of (B, 3, H, W) images, each conditioned on itself
        (what the temporal head sees of the decoder, whether or not the config feeds them
        to it)."""
        self.check_image(image)
        return self.pooled_features(self._decoder_maps(self._encode_alone(image))[1])

    def _encode_alone(self, image: torch.Tensor) -> list[torch.Tensor]:
        """Encoder features of checked images, each conditioned on itself."""
        features = self.encode(image)
        for level, attention in enumerate(self.attention, start=self.attention_start):
            features[level] = attention.attend(features[level], features[level])
        return features

    def time_logits(self, pools: list[torch.Tensor], image: torch.Tensor) -> dict:
        """span -> (B, n_classes) logits from decoder feature maps and the input image."""
        inputs = []
        if self.config.temporal_decoder_features:
            pooled = self.pooled_features(pools)
            inputs.append(scale_gradient(pooled, self.config.temporal_feature_gradient))
        if self.config.temporal_image_statistics:
            inputs.append(image_statistics(image, self.config.temporal_image_grid))
        standardised = self.temporal_head[0](torch.cat(inputs, dim=1))  # BatchNorm1d
        standardised = F.dropout(standardised, self.config.temporal_dropout, self.training)
        logits = self.temporal_head[1:](standardised)
        return dict(
            zip(self.n_classes, logits.split(list(self.n_classes.values()), 1), strict=True)
        )

    def predict_time_logits(self, image: torch.Tensor) -> dict:
        """span -> (B, n_classes) time logits of (B, 3, H, W) images, each conditioned on itself.

        Runs the encoder and decoder only when the temporal head uses their features
        (``temporal_decoder_features``); otherwise only the image statistics.
        """
        if self.config.temporal_decoder_features:
            return self(image)["time_logits0"]
        self.check_image(image)
        return self.time_logits([], image)

    def forward(
        self, image0: torch.Tensor, image1: torch.Tensor | None = None, with_time: bool = True
    ) -> dict:
        """Run on a pair (each conditioned on the other) or on one image (conditioned on itself).

        Args:
            image0: (B, 3, H0, W0) float RGB in [0, 1].
            image1: (B, 3, H1, W1) or None.
            with_time: also run the temporal head (matching alone does not need it).
        Returns:
            ``descriptors0``, ``distinctiveness0``, ``time_logits0`` (and the same with ``1``
            for a pair); shapes in the class docstring.
        """
        self.check_image(image0, "image0")
        if image1 is None:
            features0 = self._encode_alone(image0)
            return {
                f"{key}0": value for key, value in self.decode(features0, image0, with_time).items()
            }
        features0 = self.encode(image0)
        self.check_image(image1, "image1")
        if image1.shape[0] != image0.shape[0]:
            raise ValueError(f"batch sizes differ: {image0.shape[0]} vs {image1.shape[0]}")
        features1 = self.encode(image1)
        for level, attention in enumerate(self.attention, start=self.attention_start):
            features0[level], features1[level] = attention(features0[level], features1[level])
        out = {f"{key}0": value for key, value in self.decode(features0, image0, with_time).items()}
        out.update(
            {f"{key}1": value for key, value in self.decode(features1, image1, with_time).items()}
        )
        return out


def load_backbone(model: SpatioTemporalMatcher, path: str | Path) -> None:
    """Load pretrained encoder weights (a ``.safetensors`` file keyed like ``model.encoder``).

    The optional hook for users who have a backbone trained elsewhere; the bundled model trains
    from scratch. Keys are those of ``model.encoder.state_dict()`` (e.g. ``0.0.weight``).

    Raises:
        DataError: the file is missing; ConfigError: its keys or shapes do not fit the encoder.
    """
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise DataError(f"pretrained backbone {path} does not exist")
    state = load_file(str(path))
    try:
        model.encoder.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ConfigError(f"pretrained backbone {path} does not fit model.channels: {exc}") from exc
