"""Procedural grey textures: irregular bricks, ashlar, stucco, roof tiles, setts and grass.

A texture is named ``<family>:<seed>`` and is a deterministic function of that name: a tileable
(wraps at its borders) float32 square in 0..1 with mean ~0.5. Every brick, block, tile and sett
has its own size and tone, so no two patches of a facade look alike: a matcher cannot slip from
one brick to the next as it can on a photograph repeated every few metres.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FAMILIES", "is_poster", "is_procedural", "make", "make_poster"]

SIZE = 512


def _noise(rng: np.random.Generator, size: int, exponent: float) -> np.ndarray:
    """Tileable noise with a 1/f**exponent amplitude spectrum, zero mean, unit std."""
    white = rng.standard_normal((size, size))
    f = np.hypot(np.fft.fftfreq(size)[:, None], np.fft.fftfreq(size)[None, :])
    f[0, 0] = 1.0
    spectrum = np.fft.fft2(white) / f**exponent
    spectrum[0, 0] = 0
    out = np.real(np.fft.ifft2(spectrum))
    return out / (out.std() + 1e-9)


def _partition(rng: np.random.Generator, total: int, low: int, high: int) -> np.ndarray:
    """Cut points (ascending, first 0) splitting ``total`` into parts of ``low``..``high``."""
    cuts = [0]
    while total - cuts[-1] > high:
        cuts.append(cuts[-1] + int(rng.integers(low, high + 1)))
    if total - cuts[-1] < low and len(cuts) > 1:
        cuts.pop()
    return np.array(cuts)


def _courses(rng, rows: tuple[int, int], lengths: tuple[int, int], joint: float, relief: float):
    """Courses of blocks of random length and tone, joints dark: (tone map, joint mask)."""
    size = SIZE
    tone = np.zeros((size, size))
    joints = np.zeros((size, size), dtype=bool)
    row_cuts = _partition(rng, size, *rows)
    xs = np.arange(size)
    for k, top in enumerate(row_cuts):
        bottom = row_cuts[k + 1] if k + 1 < len(row_cuts) else size
        shift = int(rng.integers(size))
        cuts = _partition(rng, size, *lengths)
        block = np.searchsorted(cuts, (xs - shift) % size, side="right") - 1
        tones = rng.normal(0, relief, len(cuts))
        band = slice(top, bottom)
        tone[band] = tones[block][None, :]
        edge = np.zeros(size, dtype=bool)
        edge[(cuts + shift) % size] = True
        width = max(1, round(joint))
        for _ in range(1, width):
            edge |= np.roll(edge, 1)
        joints[band] |= edge[None, :]
        joints[top : top + width] = True
    return tone, joints


def _bricks(rng) -> np.ndarray:
    tone, joints = _courses(rng, (22, 34), (40, 110), 3, 0.45)
    detail = _noise(rng, SIZE, 0.6)
    return np.where(joints, -1.6 + 0.2 * detail, tone + 0.5 * detail)


def _ashlar(rng) -> np.ndarray:
    tone, joints = _courses(rng, (48, 110), (70, 240), 2, 0.3)
    detail = _noise(rng, SIZE, 0.9)
    return np.where(joints, -1.4, tone + 0.6 * detail)


def _stucco(rng) -> np.ndarray:
    base = _noise(rng, SIZE, 1.0)
    spots = np.zeros((SIZE, SIZE))
    n = int(rng.integers(30, 120))
    spots[rng.integers(0, SIZE, n), rng.integers(0, SIZE, n)] = rng.normal(0, 60, n)
    f = np.hypot(np.fft.fftfreq(SIZE)[:, None], np.fft.fftfreq(SIZE)[None, :])
    blur = np.exp(-2 * (np.pi * rng.uniform(4, 14) * f) ** 2)  # Gaussian stains of 4-14 px
    stains = np.real(np.fft.ifft2(np.fft.fft2(spots) * blur))
    return base + stains / (stains.std() + 1e-9) * 0.8 + 0.5 * _noise(rng, SIZE, 0.5)


def _tiles(rng) -> np.ndarray:
    tone, joints = _courses(rng, (14, 22), (16, 30), 2, 0.4)
    # Each course darkens towards its lower edge (the overlap of the next course).
    ramp = np.zeros(SIZE)
    cuts = np.flatnonzero(joints.all(axis=1))
    for k, top in enumerate(cuts):
        bottom = cuts[k + 1] if k + 1 < len(cuts) else SIZE
        ramp[top:bottom] = np.linspace(0, -0.8, bottom - top)
    return np.where(joints, -1.5, tone + ramp[:, None] + 0.3 * _noise(rng, SIZE, 0.9))


def _setts(rng) -> np.ndarray:
    from scipy.spatial import cKDTree

    n = int(rng.integers(500, 900))
    seeds = rng.uniform(0, SIZE, (n, 2))
    tree = cKDTree(seeds, boxsize=SIZE)
    grid = np.stack(np.meshgrid(np.arange(SIZE), np.arange(SIZE), indexing="ij"), -1)
    dist, index = tree.query(grid.reshape(-1, 2) + 0.5, k=2)
    gap = (dist[:, 1] - dist[:, 0]).reshape(SIZE, SIZE)
    tones = rng.normal(0, 0.5, n)[index[:, 0]].reshape(SIZE, SIZE)
    return np.where(gap < 2.5, -1.5, tones + 0.3 * _noise(rng, SIZE, 1.0))


def _grass(rng) -> np.ndarray:
    blades = _noise(rng, SIZE, 0.5)
    clumps = _noise(rng, SIZE, 1.5)
    return blades + 0.8 * clumps


FAMILIES = {
    "bricks": _bricks,
    "ashlar": _ashlar,
    "stucco": _stucco,
    "tiles": _tiles,
    "setts": _setts,
    "grass": _grass,
}


def is_procedural(name: str) -> bool:
    """True for names ``<family>:<seed>`` of a known family."""
    family, _, seed = name.partition(":")
    return family in FAMILIES and seed.isdigit()


def make(name: str) -> np.ndarray:
    """The texture ``<family>:<seed>``: (512, 512) float32 in 0..1, tileable, mean ~0.5."""
    if not is_procedural(name):
        raise KeyError(f"not a procedural texture name: {name!r} (want <family>:<seed>)")
    family, _, seed = name.partition(":")
    rng = np.random.default_rng([int(seed), sum(map(ord, family))])
    raw = FAMILIES[family](rng)
    lo, middle, hi = np.percentile(raw, [1, 50, 99])
    out = 0.5 + 0.9 * (raw - middle) / max(hi - lo, 1e-9)
    return np.clip(out, 0, 1).astype(np.float32)


def is_poster(name: str) -> bool:
    """True for names ``poster:<seed>`` (colour pictures, see :func:`make_poster`)."""
    family, _, seed = name.partition(":")
    return family == "poster" and seed.isdigit()


def make_poster(name: str, size: int = 192) -> np.ndarray:
    """A colour poster ``poster:<seed>``: (size, size, 3) float32 in 0..1, unique per seed.

    Coloured blocks, discs and stripes under rows of glyph-like marks (like lettering), so every
    shop sign and poster of a town is a picture of its own that no other decal repeats.
    """
    if not is_poster(name):
        raise KeyError(f"not a poster name: {name!r} (want poster:<seed>)")
    rng = np.random.default_rng([int(name.partition(":")[2]), 0x5057])
    image = np.empty((size, size, 3), dtype=np.float32)
    image[:] = rng.uniform(0.1, 0.95, 3)
    yy, xx = np.mgrid[0:size, 0:size]
    for _ in range(int(rng.integers(5, 12))):
        colour = rng.uniform(0, 1, 3)
        x0, y0 = rng.uniform(-0.2, 1.0, 2) * size
        w, h = rng.uniform(0.1, 0.6, 2) * size
        kind = rng.choice(3, p=[0.5, 0.35, 0.15])
        if kind == 0:
            mask = (xx >= x0) & (xx < x0 + w) & (yy >= y0) & (yy < y0 + h)
        elif kind == 1:
            mask = (xx - x0) ** 2 + (yy - y0) ** 2 < (w / 2) ** 2
        else:
            period = rng.uniform(6, 24)
            mask = (
                ((xx + yy * rng.uniform(-1, 1)) % period < period / 2) & (yy >= y0) & (yy < y0 + h)
            )
        image[mask] = colour
    ink = rng.uniform(0, 0.25, 3) if image.mean() > 0.5 else rng.uniform(0.8, 1, 3)
    for _ in range(int(rng.integers(1, 4))):  # lines of "lettering": random glyph blocks
        y0 = int(rng.integers(4, size - 24))
        height = int(rng.integers(8, 20))
        x = int(rng.integers(2, 20))
        while x < size - 8:
            width = int(rng.integers(3, 12))
            glyph = rng.random((3, 2)) < 0.55
            cells = np.kron(glyph, np.ones((height // 3 + 1, width // 2 + 1), dtype=bool))
            cells = cells[:height, :width]
            region = image[y0 : y0 + cells.shape[0], x : x + cells.shape[1]]
            region[cells[: region.shape[0], : region.shape[1]]] = ink
            x += (
                width
                + int(rng.integers(2, 6))
                + (int(rng.integers(6, 14)) if rng.random() < 0.2 else 0)
            )
    image += rng.normal(0, 0.03, image.shape).astype(np.float32)
    return np.clip(image, 0, 1)
