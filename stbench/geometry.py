"""Camera conventions shared by every part of stbench.

- Pixels: centers at integer coordinates (OpenCV / hloc). COLMAP puts pixel centers at +0.5:
  subtract :data:`COLMAP_PIXEL_OFFSET` from COLMAP's cx, cy and 2D points on import, add it on export.
- Poses: world-to-camera, ``x_cam = R @ x_world + t``, stored as ``qw, qx, qy, qz, tx, ty, tz``.
- Depth: z-depth in scene units; 0 or non-finite is invalid.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "COLMAP_PIXEL_OFFSET",
    "backproject",
    "camera_from_record",
    "intrinsics_matrix",
    "project",
    "quaternion_to_rotation",
    "rotation_to_quaternion",
]

COLMAP_PIXEL_OFFSET = 0.5


def quaternion_to_rotation(q: np.ndarray) -> np.ndarray:
    """Rotation matrices from unit quaternions.

    Args:
        q: (..., 4) as ``qw, qx, qy, qz`` (normalised here).
    Returns:
        (..., 3, 3) float64 rotation matrices.
    """
    q = np.asarray(q, dtype=np.float64)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        axis=-2,
    )


def rotation_to_quaternion(rotation: np.ndarray) -> np.ndarray:
    """Unit quaternion ``qw, qx, qy, qz`` (with qw >= 0) of a (3, 3) rotation matrix."""
    r = np.asarray(rotation, dtype=np.float64)
    # Eigenvector method (as COLMAP): robust for every rotation.
    k = (
        np.array(
            [
                [
                    r[0, 0] - r[1, 1] - r[2, 2],
                    r[1, 0] + r[0, 1],
                    r[2, 0] + r[0, 2],
                    r[2, 1] - r[1, 2],
                ],
                [
                    r[1, 0] + r[0, 1],
                    r[1, 1] - r[0, 0] - r[2, 2],
                    r[2, 1] + r[1, 2],
                    r[0, 2] - r[2, 0],
                ],
                [
                    r[2, 0] + r[0, 2],
                    r[2, 1] + r[1, 2],
                    r[2, 2] - r[0, 0] - r[1, 1],
                    r[1, 0] - r[0, 1],
                ],
                [
                    r[2, 1] - r[1, 2],
                    r[0, 2] - r[2, 0],
                    r[1, 0] - r[0, 1],
                    r[0, 0] + r[1, 1] + r[2, 2],
                ],
            ]
        )
        / 3.0
    )
    eigenvalues, eigenvectors = np.linalg.eigh(k)
    x, y, z, w = eigenvectors[:, np.argmax(eigenvalues)]
    q = np.array([w, x, y, z])
    return q if q[0] >= 0 else -q


def intrinsics_matrix(fx: float, fy: float, cx: float, cy: float) -> np.ndarray:
    """(3, 3) K from focal lengths and principal point (pixel centers at integers)."""
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


def project(points_cam: np.ndarray, K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project camera-frame points.

    Args:
        points_cam: (N, 3) points in the camera frame.
        K: (3, 3) intrinsics.
    Returns:
        pixels (N, 2) and z-depth (N,). Pixels of points with z <= 0 are NaN.
    """
    points_cam = np.asarray(points_cam, dtype=np.float64)
    z = points_cam[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = (points_cam @ K.T)[:, :2] / z[:, None]
    uv[z <= 0] = np.nan
    return uv, z


def backproject(pixels: np.ndarray, depth: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Camera-frame 3D points (N, 3) of pixels (N, 2) with z-depth (N,)."""
    pixels = np.asarray(pixels, dtype=np.float64)
    homogeneous = np.concatenate([pixels, np.ones((len(pixels), 1))], axis=1)
    rays = homogeneous @ np.linalg.inv(K).T
    return rays * np.asarray(depth, dtype=np.float64)[:, None]


def camera_from_record(record: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(K, R, t) of a manifest image record (``fx, fy, cx, cy, qw, qx, qy, qz, tx, ty, tz``;
    world-to-camera pose)."""
    K = intrinsics_matrix(record["fx"], record["fy"], record["cx"], record["cy"])
    q = np.array([record["qw"], record["qx"], record["qy"], record["qz"]], float)
    return K, quaternion_to_rotation(q), np.array([record["tx"], record["ty"], record["tz"]], float)
