"""Texture bank: scikit-image's bundled photographs and procedural noise, as mip pyramids.

Surfaces are textured with world-space coordinates (metres), so a surface point carries the same
texture in every view. Sampling picks a mip level from the pixel footprint, which keeps distant
surfaces from aliasing (real photographs do not alias either).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

__all__ = [
    "GREY_TEXTURES",
    "PICTURES",
    "SPLIT_BANKS",
    "Pyramid",
    "TextureSet",
    "hash01",
    "sample",
    "split_bank",
    "texture_bank",
]


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
    if np.issubdtype(image.dtype, np.floating):
        image = np.clip(image, 0, 1).astype(np.float32)
    else:
        image = image.astype(np.float32) / 255.0
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[..., :3]
    return image


def _equalise(grey: np.ndarray) -> np.ndarray:
    """Zero-mean, unit-ish contrast grey texture centred on 0.5 (keeps detail, drops the tone)."""
    g = grey if grey.ndim == 2 else grey.mean(axis=2)
    g = g - g.mean()
    return np.clip(0.5 + 0.22 * g / (g.std() + 1e-6), 0, 1)


class _Bank(dict):
    """Texture pyramids by name, each built on first use (then kept for the process)."""

    def __missing__(self, name: str) -> Pyramid:
        value = _build(name)
        self[name] = value
        return value


def _build(name: str) -> Pyramid:
    from stbench.synth import procedural

    if procedural.is_procedural(name):
        return _pyramid(procedural.make(name)[..., None])
    if procedural.is_poster(name):
        return _pyramid(procedural.make_poster(name))
    if name in _PHOTO_PICTURES:
        image = _load(name)
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=2)
        return _pyramid(image)
    if name in _PHOTO_GREYS or name.startswith("noise"):
        return _pyramid(_equalise(_load(name))[..., None])
    raise KeyError(f"unknown texture {name!r}")


@functools.lru_cache(maxsize=1)
def texture_bank() -> dict[str, Pyramid]:
    """All textures as pyramids by name, each built on first use (deterministic).

    Names: scikit-image photographs (grey tiling ones and colour pictures), ``noise<seed>``
    (1/f noise) and the procedural families of :mod:`stbench.synth.procedural`
    (``<family>:<seed>``).
    """
    return _Bank()


#: Poster seeds per split (disjoint ranges).
POSTER_SEEDS = 10**6


@dataclass(frozen=True)
class TextureSet:
    """The textures one split's towns may use (splits share none of them).

    Attributes:
        walls: grey facade textures; roofs: grey roof textures.
        paving, road, grass, dirt: grey ground textures.
        fine, coarse: 1/f noise for weathering (~7 m) and tone drift (~25 m), snow patches and
            leaf holes.
        pictures: colour photographs for murals, posters, signs and plaques.
        clock: the landmark's clock-face picture.
        posters: first seed of the split's procedural posters (``poster:<seed>``, seeds
            ``posters .. posters + POSTER_SEEDS - 1``).
    """

    walls: tuple[str, ...]
    roofs: tuple[str, ...]
    paving: str
    road: str
    grass: str
    dirt: str
    fine: str
    coarse: str
    pictures: tuple[str, ...]
    clock: str
    posters: int = 0

    def owns(self, name: str) -> bool:
        """True if ``name`` is one of the set's textures or one of its posters."""
        family, _, seed = name.partition(":")
        if family == "poster" and seed.isdigit():
            return self.posters <= int(seed) < self.posters + POSTER_SEEDS
        return name in self.names()

    def names(self) -> set[str]:
        """Every texture name of the set."""
        single = (self.paving, self.road, self.grass, self.dirt, self.fine, self.coarse, self.clock)
        return {*self.walls, *self.roofs, *single, *self.pictures}


def _procedural_set(base: int, photos_grey: tuple[str, ...], pictures: tuple[str, ...], clock: str):
    walls = (
        *(f"bricks:{base + k}" for k in range(4)),
        *(f"ashlar:{base + k}" for k in range(3)),
        *(f"stucco:{base + k}" for k in range(3)),
        *photos_grey,
    )
    return TextureSet(
        walls=walls,
        roofs=(f"tiles:{base}", f"tiles:{base + 1}", f"stucco:{base + 7}"),
        paving=f"setts:{base}",
        road=f"stucco:{base + 8}",
        grass=f"grass:{base}",
        dirt=f"stucco:{base + 9}",
        fine=f"noise{base + 1}",
        coarse=f"noise{base}",
        pictures=pictures,
        clock=clock,
        posters=base * 10**6,
    )


#: Textures per split: procedural seeds in disjoint ranges and disjoint scikit-image photographs,
#: so no test material is ever seen in training (leave-site-out down to the textures).
SPLIT_BANKS: dict[str, TextureSet] = {
    "train": _procedural_set(
        1000,
        ("brick", "gravel"),
        ("astronaut", "coffee", "chelsea", "rocket", "camera", "text"),
        "clock",
    ),
    "val": _procedural_set(2000, ("cell",), ("cat", "logo", "page"), "coins"),
    "test": _procedural_set(
        3000,
        ("moon",),
        ("immunohistochemistry", "colorwheel", "hubble_deep_field", "retina", "horse"),
        "shepp_logan_phantom",
    ),
}

_PHOTO_GREYS = {"brick", "gravel", "grass", "moon", "coins", "cell"}
_PHOTO_PICTURES = {
    *PICTURES,
    "cat",
    "logo",
    "hubble_deep_field",
    "retina",
    "horse",
    "shepp_logan_phantom",
}


def split_bank(split: str) -> TextureSet:
    """The :class:`TextureSet` of ``split`` (``train``, ``val`` or ``test``)."""
    try:
        return SPLIT_BANKS[split]
    except KeyError:
        known = ", ".join(SPLIT_BANKS)
        raise KeyError(f"no texture bank for split {split!r}; known: {known}") from None


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
