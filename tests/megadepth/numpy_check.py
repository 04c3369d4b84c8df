"""The vectorised numpy depth check that the compiled kernel replaced: the tests' oracle and the
fair baseline of ``benchmarks/pair_mining.py`` (one warp per pair and direction).

The same operations as :mod:`stbench.megadepth.checkkernel`, over blocks of samples x partners:
one matrix product projects an image's samples into all its partners (BLAS), then NaN-padded
flat lookups and the bilinear depth and consistency test evaluated in place.
"""

from __future__ import annotations

import numpy as np

from stbench.megadepth.depthcache import DepthCache


def count_block(
    world: np.ndarray, P: np.ndarray, cache: DepthCache, partners: np.ndarray, tau: float
) -> np.ndarray:
    """Consistent samples of ``world`` (n, 4) in each of ``partners`` (m,); P (m, 3, 4)."""
    z = world @ P[:, 2, :].T  # (n, m) depth in each partner
    u = world @ P[:, 0, :].T  # homogeneous: pixel x = u / z
    v = world @ P[:, 1, :].T
    inside = z > 0
    inside &= u >= 0
    inside &= v >= 0
    inside &= u < z * (cache.width[partners] - 1)
    inside &= v < z * (cache.height[partners] - 1)
    keep = np.flatnonzero(inside)
    cols = keep % len(partners)
    z = z.ravel()[keep]
    x = u.ravel()[keep]
    x /= z
    y = v.ravel()[keep]
    y /= z
    x0 = np.floor(x)
    y0 = np.floor(y)
    x -= x0
    y -= y0
    stride = cache.stride[partners][cols]
    index = y0.astype(np.int64) * stride + cache.base[partners][cols] + x0.astype(np.int64)
    flat = cache.flat
    d00, d01 = flat[index], flat[index + 1]
    d10, d11 = flat[index + stride], flat[index + stride + 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        one_minus_x = 1 - x
        depth = d00 * one_minus_x
        depth += d01 * x
        depth *= 1 - y
        bottom = d10 * one_minus_x
        bottom += d11 * x
        bottom *= y
        depth += bottom
        z -= depth
        np.abs(z, out=z)
        z /= depth
        consistent = z < tau
    return np.bincount(cols[consistent], minlength=len(partners))


def numpy_count_consistent(
    cache: DepthCache,
    projections: np.ndarray,
    source: np.ndarray,
    target: np.ndarray,
    tau: float = 0.05,
    chunk_elements: int = 65536,
) -> np.ndarray:
    """Consistent counts of directed pairs source -> target, in blocks of partners per source."""
    source = np.asarray(source, dtype=np.int64)
    target = np.asarray(target, dtype=np.int64)
    n_consistent = np.zeros(len(source), dtype=np.int64)
    for image in np.unique(source):
        _, world = cache.samples(int(image))
        if len(world) == 0:
            continue
        edges = np.flatnonzero(source == image)
        per_block = max(1, chunk_elements // len(world))
        for block in range(0, len(edges), per_block):
            block_edges = edges[block : block + per_block]
            partners = target[block_edges]
            n_consistent[block_edges] = count_block(
                world, projections[partners], cache, partners, tau
            )
    return n_consistent
