"""Texture bank: scikit-image's bundled photographs and procedural noise, as mip pyramids.

Surfaces are textured with world-space coordinates (metres), so a surface point carries the same
texture in every view. Sampling picks a mip level from the pixel footprint, which keeps distant
surfaces from aliasing (real photographs do not alias either).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

__all__ = ["GREY_TEXTURES", "PICTURES", "Pyramid", "hash01", "sample", "texture_bank"]


#: Grey tiling textures (name -> scikit-image loader name or "noise<seed>").
GREY_TEXTURES: tuple[str, ...] = ("brick", "gravel", "grass", "noise0", "noise1", "moon", "coins")
#: Photographs the town paints as murals and posters on building walls.
MURALS: tuple[str, ...] = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "immunohistochemistry",
    "colorwheel",
    "camera",
)
#: Colour pictures used as murals, posters and the landmark's plaques (not tiled).
PICTURES: tuple[str, ...] = (*MURALS, "clock", "text", "page")


@dataclass(frozen=True)
class Pyramid:
    """A mip pyramid: ``levels[k]`` is (H / 2**k, W / 2**k, C) float32 in 0..1."""

    levels: tuple[np.ndarray, ...]

    @property
    def shape(self) -> tuple[int, int]:
        return self.levels[0].shape[:2]


def _pyramid(image: np.ndarray, min_size: int = 4) -> Pyramid:
    levels = [image.astype(np.float32)]
    while min(levels[-1].shape[:2]) >= 2 * min_size:
        a = levels[-1]
        h, w = (a.shape[0] // 2) * 2, (a.shape[1] // 2) * 2
        a = a[:h, :w]
        levels.append(0.25 * (a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]))
    return Pyramid(tuple(levels))


def _noise_texture(seed: int, size: int = 256) -> np.ndarray:
    """Tileable multi-octave noise (1/f spectrum), normalised to 0..1."""
    rng = np.random.default_rng(1000 + seed)
    white = rng.standard_normal((size, size))
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.fftfreq(size)[None, :]
    radius = np.sqrt(fx**2 + fy**2)
    radius[0, 0] = 1.0
    spectrum = np.fft.fft2(white) / radius**1.1
    spectrum[0, 0] = 0
    noise = np.real(np.fft.ifft2(spectrum))
    lo, hi = np.percentile(noise, [1, 99])
    return np.clip((noise - lo) / (hi - lo), 0, 1)


def _load(name: str) -> np.ndarray:
    if name.startswith("noise"):
        return _noise_texture(int(name[5:]))
    import skimage.data

    image = getattr(skimage.data, name)()
    image = np.asarray(image)
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    image = image.astype(np.float32) / 255.0
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[..., :3]
    return image


def _equalise(grey: np.ndarray) -> np.ndarray:
    """Zero-mean, unit-ish contrast grey texture centred on 0.5 (keeps detail, drops the tone)."""
    g = grey if grey.ndim == 2 else grey.mean(axis=2)
    g = g - g.mean()
    return np.clip(0.5 + 0.22 * g / (g.std() + 1e-6), 0, 1)


@functools.lru_cache(maxsize=1)
def texture_bank() -> dict[str, Pyramid]:
    """All textures as pyramids, built once per process (deterministic)."""
    bank: dict[str, Pyramid] = {}
    for name in GREY_TEXTURES:
        bank[name] = _pyramid(_equalise(_load(name))[..., None])
    for name in PICTURES:
        image = _load(name)
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=2)
        bank[name] = _pyramid(image)
    return bank


def _bilinear(level: np.ndarray, u: np.ndarray, v: np.ndarray, wrap: bool) -> np.ndarray:
    h, w, channels = level.shape
    flat = level.reshape(h * w, channels)
    x = u - 0.5
    y = v - 0.5
    x0 = np.floor(x)
    y0 = np.floor(y)
    fx = (x - x0).astype(np.float32)[:, None]
    fy = (y - y0).astype(np.float32)[:, None]
    x0 = x0.astype(np.int64)
    y0 = y0.astype(np.int64)
    if wrap:
        xa, xb = x0 % w, (x0 + 1) % w
        ya, yb = (y0 % h) * w, ((y0 + 1) % h) * w
    else:
        xa, xb = np.clip(x0, 0, w - 1), np.clip(x0 + 1, 0, w - 1)
        ya, yb = np.clip(y0, 0, h - 1) * w, np.clip(y0 + 1, 0, h - 1) * w
    top = flat[ya + xa] * (1 - fx) + flat[ya + xb] * fx
    bottom = flat[yb + xa] * (1 - fx) + flat[yb + xb] * fx
    return top * (1 - fy) + bottom * fy


def sample(
    pyramid: Pyramid, u: np.ndarray, v: np.ndarray, footprint: np.ndarray, wrap: bool = True
) -> np.ndarray:
    """Sample a pyramid at texel coordinates of level 0.

    Args:
        pyramid: the texture.
        u, v: (N,) texel coordinates at level 0 (x right, y down), any real value.
        footprint: (N,) size of one image pixel in level-0 texels (selects the mip level).
        wrap: tile the texture (True) or clamp at its border (False).
    Returns:
        (N, C) float32 samples in 0..1.
    """
    n_levels = len(pyramid.levels)
    level_index = np.clip(np.log2(np.maximum(footprint, 1e-6)) + 0.5, 0, n_levels - 1).astype(
        np.int64
    )
    channels = pyramid.levels[0].shape[2]
    present = np.nonzero(np.bincount(level_index, minlength=n_levels))[0]
    if len(present) == 1:
        k = int(present[0])
        return _bilinear(pyramid.levels[k], u * 0.5**k, v * 0.5**k, wrap)
    out = np.empty((len(u), channels), dtype=np.float32)
    for k in present:
        sel = np.nonzero(level_index == k)[0]
        scale = 0.5**k
        out[sel] = _bilinear(pyramid.levels[k], u[sel] * scale, v[sel] * scale, wrap)
    return out


def hash01(*keys: np.ndarray) -> np.ndarray:
    """Deterministic pseudo-random numbers in [0, 1) from integer keys (element-wise)."""
    h = np.uint64(0x9E3779B97F4A7C15)
    acc = np.zeros(np.broadcast(*keys).shape, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for key in keys:
            key64 = np.asarray(key).astype(np.int64).astype(np.uint64)
            acc = acc ^ (key64 + h + (acc << np.uint64(6)) + (acc >> np.uint64(2)))
            acc = acc * np.uint64(0xBF58476D1CE4E5B9)
            acc = acc ^ (acc >> np.uint64(31))
    return (acc >> np.uint64(11)).astype(np.float64) / float(1 << 53)
