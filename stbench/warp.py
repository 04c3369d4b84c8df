"""Depth warping: the one definition of a ground-truth correspondence.

Pair verification (:mod:`stbench.megadepth`), training targets (:mod:`stbench.model`) and the
evaluation's verifiable matches all follow this definition:

- a keypoint of image 0 is *valid* when its bilinear depth is defined: the four neighbouring
  depth pixels lie in the image and are all valid (finite and > 0);
- it is *consistent* when, back-projected with that depth and projected into image 1, it lands
  where image 1's bilinear depth is valid too, and the relative depth error
  ``|z_projected - depth1| / depth1`` is below ``tau``.

:func:`interpolate_corners` (the bilinear formula) and :func:`depth_consistent` (the test) are
shared with the batched pair verification of :mod:`stbench.megadepth.verify`, so both compute
the same numbers.
"""

from __future__ import annotations

import numpy as np

from stbench.geometry import backproject, project

__all__ = [
    "bilinear_depth",
    "depth_consistent",
    "interpolate_corners",
    "warp_keypoints",
]


def interpolate_corners(
    d00: np.ndarray,
    d01: np.ndarray,
    d10: np.ndarray,
    d11: np.ndarray,
    wx: np.ndarray,
    wy: np.ndarray,
) -> np.ndarray:
    """Bilinear interpolation of the depths at the four neighbours of sub-pixel points.

    Args:
        d00, d01, d10, d11: depth at (x0, y0), (x0 + 1, y0), (x0, y0 + 1), (x0 + 1, y0 + 1).
        wx, wy: the points' offsets from (x0, y0), in [0, 1).
    Returns:
        The interpolated depths (NaN where a neighbour is NaN).
    """
    with np.errstate(invalid="ignore"):
        return (d00 * (1 - wx) + d01 * wx) * (1 - wy) + (d10 * (1 - wx) + d11 * wx) * wy


def depth_consistent(z: np.ndarray, depth: np.ndarray, tau: float) -> np.ndarray:
    """Whether projected depths ``z`` agree with the map's ``depth``: ``|z - depth| / depth < tau``
    (False where ``depth`` is NaN or 0)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.abs(z - depth) / depth < tau


def bilinear_depth(depth: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear depth at sub-pixel points, defined only where all four neighbours are valid.

    Args:
        depth: (H, W) z-depth; 0 or non-finite is invalid.
        points: (N, 2) pixel coordinates (x, y), pixel centers at integers.
    Returns:
        values (N,) float64 (NaN where invalid) and valid (N,) bool.
    """
    height, width = depth.shape
    points = np.asarray(points, dtype=np.float64)
    x, y = points[:, 0], points[:, 1]
    finite = np.isfinite(x) & np.isfinite(y)
    x0 = np.floor(np.where(finite, x, -1)).astype(np.int64)
    y0 = np.floor(np.where(finite, y, -1)).astype(np.int64)
    inside = finite & (x0 >= 0) & (y0 >= 0) & (x0 + 1 < width) & (y0 + 1 < height)
    xc = np.clip(x0, 0, width - 2)
    yc = np.clip(y0, 0, height - 2)
    d00 = depth[yc, xc].astype(np.float64)
    d01 = depth[yc, xc + 1].astype(np.float64)
    d10 = depth[yc + 1, xc].astype(np.float64)
    d11 = depth[yc + 1, xc + 1].astype(np.float64)
    corners = np.stack([d00, d01, d10, d11])
    valid = inside & np.all(np.isfinite(corners) & (corners > 0), axis=0)
    values = interpolate_corners(d00, d01, d10, d11, x - x0, y - y0)
    return np.where(valid, values, np.nan), valid


def warp_keypoints(
    keypoints0: np.ndarray,
    depth0: np.ndarray,
    K0: np.ndarray,
    R0: np.ndarray,
    t0: np.ndarray,
    depth1: np.ndarray,
    K1: np.ndarray,
    R1: np.ndarray,
    t1: np.ndarray,
    tau: float = 0.05,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Warp keypoints of image 0 into image 1 with depth and poses.

    Args:
        keypoints0: (N, 2) pixels in image 0 (centers at integers).
        depth0, depth1: (H0, W0), (H1, W1) z-depth maps.
        K0, K1: (3, 3) intrinsics. R0, R1: (3, 3) and t0, t1: (3,) world-to-camera poses.
        tau: maximum relative depth error for a consistent warp.
    Returns:
        keypoints1 (N, 2) float64 (NaN where keypoint 0 has no valid depth), valid (N,) bool,
        consistent (N,) bool.
    """
    keypoints0 = np.asarray(keypoints0, dtype=np.float64).reshape(-1, 2)
    z0, valid = bilinear_depth(depth0, keypoints0)
    points_cam0 = backproject(keypoints0, np.where(valid, z0, 1.0), K0)
    points_world = (points_cam0 - np.asarray(t0)) @ np.asarray(R0)
    points_cam1 = points_world @ np.asarray(R1).T + np.asarray(t1)
    keypoints1, z1 = project(points_cam1, K1)
    keypoints1[~valid] = np.nan
    depth_at_1, valid1 = bilinear_depth(depth1, keypoints1)
    consistent = valid & valid1 & (z1 > 0) & depth_consistent(z1, depth_at_1, tau)
    return keypoints1, valid, consistent
