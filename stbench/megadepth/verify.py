"""Depth verification of candidate pairs (the definition and the arithmetic of
:mod:`stbench.warp`).

For a directed pair (i -> j), image i's samples (world points with valid bilinear depth) are
projected into image j; a sample is consistent when image j's bilinear depth there is valid (all
four neighbours) and ``|z - depth_j| / depth_j < tau`` (:func:`stbench.warp.interpolate_corners`
and :func:`stbench.warp.depth_consistent`, as in :func:`stbench.warp.warp_keypoints`; a test
compares the counts). The compiled kernel :mod:`stbench.megadepth.checkkernel` makes one pass per
sample; the four neighbours come from NaN-padded flat maps (see
:mod:`stbench.megadepth.depthcache`), so no lookup needs a bounds check.
"""

from __future__ import annotations

import numpy as np

from stbench.megadepth.checkkernel import compiled_count_edges
from stbench.megadepth.depthcache import DepthCache

__all__ = [
    "count_consistent",
    "projection_matrices",
]


def projection_matrices(K: np.ndarray, rotations: np.ndarray, translations: np.ndarray):
    """(N, 3, 4) projection matrices K [R | t]."""
    return K @ np.concatenate([rotations, translations[:, :, None]], axis=2)


def count_consistent(
    cache: DepthCache,
    projections: np.ndarray,
    source: np.ndarray,
    target: np.ndarray,
    tau: float = 0.05,
    workers: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Consistent and sampled counts of directed pairs source -> target.

    Args:
        cache: working depth maps and samples.
        projections: (N, 3, 4) projection matrices for the *working* intrinsics.
        source, target: (E,) image indices.
        tau: relative depth tolerance.
        workers: threads (the compiled kernel releases the GIL); each takes a contiguous run
            of the pairs sorted by target.
    Returns:
        n_consistent (E,) int64 and n_sampled (E,) int64.

    Raises:
        MissingExtraError: numba (the ``build`` extra) is not installed.
    """
    source = np.ascontiguousarray(source, dtype=np.int64)
    target = np.ascontiguousarray(target, dtype=np.int64)
    n_images = len(cache.sample_offsets) - 1
    for name, index in (("source", source), ("target", target)):
        if len(index) and (index.min() < 0 or index.max() >= n_images):
            raise IndexError(f"count_consistent: {name} indices must be in [0, {n_images})")
    n_consistent = np.zeros(len(source), dtype=np.int64)
    n_sampled = np.diff(cache.sample_offsets)[source]
    if len(source) == 0:
        return n_consistent, n_sampled
    kernel = compiled_count_edges()
    # Grouped by partner: its depth map (the random lookups) stays in the CPU cache while the
    # samples (read in order) stream past; 36 % less CPU than grouping by source (500 views).
    order = np.argsort(target, kind="stable")
    arrays = (
        np.ascontiguousarray(cache.samples_world[:, :3].T, dtype=np.float64),  # x, y, z rows
        np.ascontiguousarray(cache.sample_offsets, dtype=np.int64),
        np.ascontiguousarray(projections, dtype=np.float64),
        np.ascontiguousarray(cache.flat, dtype=np.float32),
        *(np.ascontiguousarray(a, dtype=np.int64) for a in (cache.base, cache.stride)),
        *(np.ascontiguousarray(a, dtype=np.int64) for a in (cache.width, cache.height)),
        source,
        target,
    )
    parts = np.array_split(order, max(1, min(workers, len(order))))
    if len(parts) == 1:
        kernel(*arrays, order, float(tau), n_consistent)
        return n_consistent, n_sampled
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(parts)) as pool:
        list(pool.map(lambda part: kernel(*arrays, part, float(tau), n_consistent), parts))
    return n_consistent, n_sampled
