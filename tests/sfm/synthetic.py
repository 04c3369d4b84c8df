"""A tiny synthetic SfM scene: cameras on a ring around a random point cloud, exact projections.

No rendering: every 3D point seen by two cameras is a ground-truth match between them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stbench.geometry import rotation_to_quaternion

WIDTH, HEIGHT, FOCAL = 640, 480, 500.0


@dataclass
class SyntheticScene:
    """Images (manifest-like rows), per-image keypoints and the point id behind each keypoint."""

    images: list[dict]
    keypoints: dict[str, np.ndarray]
    point_ids: dict[str, np.ndarray]

    def matches(self, name0: str, name1: str) -> np.ndarray:
        """(K, 2) indices of keypoints of the same 3D point in both images."""
        ids0, ids1 = self.point_ids[name0], self.point_ids[name1]
        _, index0, index1 = np.intersect1d(ids0, ids1, return_indices=True)
        return np.stack([index0, index1], axis=1).astype(np.int64)


def _look_at(center: np.ndarray, target: np.ndarray) -> np.ndarray:
    forward = target - center
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, np.array([0.0, 0.0, 1.0]))
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    return np.stack([right, down, forward])  # rows: camera axes in world coordinates


def make_scene(
    n_images: int = 12, n_points: int = 600, seed: int = 0, noise_px: float = 0.0
) -> SyntheticScene:
    """Cameras on a ring of radius 6 looking at a cloud of points in a 2 m cube (metres)."""
    rng = np.random.default_rng(seed)
    points = rng.uniform(-1.0, 1.0, size=(n_points, 3))
    images, keypoints, point_ids = [], {}, {}
    for i in range(n_images):
        angle = 2 * np.pi * i / n_images * 0.5  # half a ring: neighbours overlap well
        center = np.array([6 * np.cos(angle), 6 * np.sin(angle), 1.0 + 0.2 * rng.standard_normal()])
        rotation = _look_at(center, rng.normal(0, 0.1, 3))
        translation = -rotation @ center
        camera = points @ rotation.T + translation
        pixels = FOCAL * camera[:, :2] / camera[:, 2:3] + [WIDTH / 2 - 0.5, HEIGHT / 2 - 0.5]
        pixels += rng.normal(0, noise_px, pixels.shape) if noise_px else 0.0
        inside = (
            (camera[:, 2] > 0)
            & (pixels[:, 0] > 0)
            & (pixels[:, 1] > 0)
            & (pixels[:, 0] < WIDTH - 1)
            & (pixels[:, 1] < HEIGHT - 1)
        )
        name = f"synthetic/ring/{i:03d}.jpg"
        qw, qx, qy, qz = rotation_to_quaternion(rotation)
        images.append(
            {
                "image_id": name,
                "source": "synthetic",
                "scene": "ring",
                "width": WIDTH,
                "height": HEIGHT,
                "fx": FOCAL,
                "fy": FOCAL,
                "cx": WIDTH / 2 - 0.5,
                "cy": HEIGHT / 2 - 0.5,
                "qw": qw,
                "qx": qx,
                "qy": qy,
                "qz": qz,
                "tx": translation[0],
                "ty": translation[1],
                "tz": translation[2],
            }
        )
        keypoints[name] = pixels[inside].astype(np.float32)
        point_ids[name] = np.flatnonzero(inside)
    return SyntheticScene(images, keypoints, point_ids)
