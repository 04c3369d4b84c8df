"""Batched depth verification of candidate pairs (the definition and the arithmetic of
:mod:`stbench.warp`).

For a directed pair (i -> j), image i's samples (world points with valid bilinear depth) are
projected into image j; a sample is consistent when image j's bilinear depth there is valid (all
four neighbours) and ``|z - depth_j| / depth_j < tau`` (:func:`stbench.warp.interpolate_corners`
and :func:`stbench.warp.depth_consistent`, as in :func:`stbench.warp.warp_keypoints`, evaluated in
place here with the same operations in the same order; a test compares the counts). All partners j of a source image are
handled in vectorised blocks of at most ``chunk_elements`` samples x partners: one matrix
product projects the samples into every partner, then NaN-padded flat lookups (see
:mod:`stbench.megadepth.depthcache`) give the four neighbours without bounds checks.
"""

from __future__ import annotations

import numpy as np

from stbench.megadepth.depthcache import DepthCache

__all__ = [
    "count_consistent",
    "projection_matrices",
]


#: Flat maps shorter than this are indexed with int32 (room left for the +1 / +stride steps).
_INT32_LOOKUPS = 2**31 - 2**20


def projection_matrices(K: np.ndarray, rotations: np.ndarray, translations: np.ndarray):
    """(N, 3, 4) projection matrices K [R | t]."""
    return K @ np.concatenate([rotations, translations[:, :, None]], axis=2)


def _count_block(
    world: np.ndarray, P: np.ndarray, cache: DepthCache, partners: np.ndarray, tau: float
) -> np.ndarray:
    """Consistent samples of ``world`` (n, 4) in each of ``partners`` (m,); P (m, 3, 4)."""
    z = world @ P[:, 2, :].T  # (n, m) depth in each partner
    u = world @ P[:, 0, :].T  # homogeneous: pixel x = u / z
    v = world @ P[:, 1, :].T
    # A bilinear lookup needs x0 in [0, w - 2], y0 in [0, h - 2]: test on the homogeneous
    # coordinates (no division yet) and divide only the samples that pass. A point that
    # rounding puts on the last column reads the NaN border and fails, as it should.
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
    x -= x0  # now the offsets from (x0, y0)
    y -= y0
    # 32-bit lookups (less memory traffic) while every index of the flat maps fits
    itype = np.int32 if len(cache.flat) < _INT32_LOOKUPS else np.int64
    stride = cache.stride[partners].astype(itype)[cols]
    index = y0.astype(itype)
    index *= stride
    index += cache.base[partners].astype(itype)[cols]
    index += x0.astype(itype)
    flat = cache.flat
    d00 = flat[index]
    index += 1
    d01 = flat[index]
    index += stride
    d11 = flat[index]
    index -= 1
    d10 = flat[index]
    # interpolate_corners and depth_consistent, evaluated in place (same operations, same
    # order, so the same bits; a NaN neighbour makes the depth NaN and the sample inconsistent)
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


def count_consistent(
    cache: DepthCache,
    projections: np.ndarray,
    source: np.ndarray,
    target: np.ndarray,
    tau: float = 0.05,
    chunk_elements: int = 65536,
    workers: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Consistent and sampled counts of directed pairs source -> target.

    Args:
        cache: working depth maps and samples.
        projections: (N, 3, 4) projection matrices for the *working* intrinsics.
        source, target: (E,) image indices; both must have usable depth.
        tau: relative depth tolerance.
        chunk_elements: samples x partners per block (bounds temporary memory).
        workers: threads (numpy releases the GIL in the array work).
    Returns:
        n_consistent (E,) int64 and n_sampled (E,) int64.
    """
    source = np.asarray(source, dtype=np.int64)
    target = np.asarray(target, dtype=np.int64)
    n_consistent = np.zeros(len(source), dtype=np.int64)
    n_sampled = np.diff(cache.sample_offsets)[source]
    if len(source) == 0:
        return n_consistent, n_sampled
    order = np.argsort(source, kind="stable")
    sorted_source = source[order]
    starts = np.flatnonzero(np.r_[True, sorted_source[1:] != sorted_source[:-1]])
    ends = np.r_[starts[1:], len(order)]

    def run_group(start: int, end: int) -> None:
        _, world = cache.samples(int(sorted_source[start]))
        if len(world) == 0:
            return
        edges = order[start:end]
        per_block = max(1, chunk_elements // len(world))
        for block in range(0, len(edges), per_block):
            block_edges = edges[block : block + per_block]
            partners = target[block_edges]
            n_consistent[block_edges] = _count_block(
                world, projections[partners], cache, partners, tau
            )

    if workers > 1 and len(starts) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run_group, starts, ends))
    else:
        for start, end in zip(starts, ends, strict=True):
            run_group(start, end)
    return n_consistent, n_sampled
