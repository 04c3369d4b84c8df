"""The compiled depth check: consistent samples of directed pairs, one pass per sample.

:func:`count_edges` is compiled with numba on first use (:mod:`stbench.megadepth.compiled`:
lazily, single-threaded, GIL released, no fast-math), so
:func:`stbench.megadepth.verify.count_consistent` can split the pairs between ``workers``
threads.

Per sample it evaluates, in this order, what the vectorised numpy check it replaces evaluated
(``tests/megadepth/numpy_check.py`` keeps that check as the tests' oracle):

- the projection into the partner, ``world @ P.T`` as BLAS's dgemm computes it: a chain of
  fused multiply-adds over the four homogeneous coordinates (:func:`fma`); the last one,
  ``fma(1, p, acc)``, is ``p + acc`` exactly, so the samples are passed as x, y, z rows
  (27 % less CPU than (S, 4) rows at 1,000 dense views: contiguous vector loads);
- the bounds test on homogeneous coordinates: ``z > 0``, ``0 <= u < z (w - 1)``,
  ``0 <= v < z (h - 1)``, and the division ``x = u / z``, ``y = v / z``;
- the four neighbours from the flat NaN-bordered maps (:mod:`stbench.megadepth.depthcache`),
  the bilinear depth of :func:`stbench.warp.interpolate_corners` and the test of
  :func:`stbench.warp.depth_consistent`, ``|z - d| / d < tau`` (False when d is NaN).

Samples outside the partner are evaluated too, on pixel (0, 0), and masked (branch-free: a third
less CPU than branching on the bounds); a partner narrower or lower than 2 pixels has no inside
sample and is skipped.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from stbench.megadepth.compiled import compiled, fma

__all__ = ["compiled_count_edges", "count_edges"]


def count_edges(
    world: np.ndarray,
    offsets: np.ndarray,
    projections: np.ndarray,
    flat: np.ndarray,
    base: np.ndarray,
    stride: np.ndarray,
    width: np.ndarray,
    height: np.ndarray,
    source: np.ndarray,
    target: np.ndarray,
    order: np.ndarray,
    tau: float,
    out: np.ndarray,
) -> None:
    """``out[e]`` = consistent samples of image ``source[e]`` in image ``target[e]``.

    Args:
        world: (3, S) float64 world points x, y, z of all samples (homogeneous coordinate
            1), one contiguous row per coordinate (vector loads); image n's are columns
            ``offsets[n]:offsets[n + 1]``.
        projections: (N, 3, 4) float64 working projection matrices.
        flat, base, stride, width, height: the depth cache's maps (:class:`DepthCache`).
        source, target: (E,) image indices.
        order: the edges to count, in this order (grouped by target, its depth map stays in
            the CPU cache).
        tau: relative depth tolerance.
        out: (E,) int64, written at ``order``'s edges.
    """
    for k in range(len(order)):
        e = order[k]
        i = source[e]
        j = target[e]
        w_limit = width[j] - 1
        h_limit = height[j] - 1
        start = base[j]
        row = stride[j]
        p00, p01, p02, p03 = projections[j, 0, 0], projections[j, 0, 1], projections[j, 0, 2], projections[j, 0, 3]  # fmt: skip
        p10, p11, p12, p13 = projections[j, 1, 0], projections[j, 1, 1], projections[j, 1, 2], projections[j, 1, 3]  # fmt: skip
        p20, p21, p22, p23 = projections[j, 2, 0], projections[j, 2, 1], projections[j, 2, 2], projections[j, 2, 3]  # fmt: skip
        count = 0
        if w_limit < 1 or h_limit < 1:  # no sample can be inside (and no pixel to read)
            out[e] = 0
            continue
        for s in range(offsets[i], offsets[i + 1]):
            a0, a1, a2 = world[0, s], world[1, s], world[2, s]
            z = p23 + fma(a2, p22, fma(a1, p21, a0 * p20))
            u = p03 + fma(a2, p02, fma(a1, p01, a0 * p00))
            v = p13 + fma(a2, p12, fma(a1, p11, a0 * p10))
            # without branches (a mispredicted one costs more than the arithmetic): a sample
            # outside reads pixel (0, 0) instead, and its result is masked
            inside = (z > 0) & (u >= 0) & (u < z * w_limit) & (v >= 0) & (v < z * h_limit)
            x = u / z
            y = v / z
            x0 = np.floor(x) if inside else 0.0
            y0 = np.floor(y) if inside else 0.0
            x -= x0
            y -= y0
            index = start + int(y0) * row + int(x0)
            one_minus_x = 1 - x
            depth = np.float64(flat[index]) * one_minus_x
            depth += np.float64(flat[index + 1]) * x
            depth *= 1 - y
            bottom = np.float64(flat[index + row]) * one_minus_x
            bottom += np.float64(flat[index + row + 1]) * x
            bottom *= y
            depth += bottom
            count += inside & (abs(z - depth) / depth < tau)
        out[e] = count


def compiled_count_edges() -> Callable[..., None]:
    """:func:`count_edges` compiled with numba (once per process, on its first call).

    Raises:
        MissingExtraError: numba is not installed (it comes with the ``build`` extra).
    """
    return compiled(count_edges)
