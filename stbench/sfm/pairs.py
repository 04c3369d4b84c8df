"""Which image pairs of a scene the method matches for SfM.

- A scene with at most ``exhaustive_max_images`` images: every pair (exhaustive matching).
- A larger scene: each image with its ``neighbours`` nearest images by ground-truth camera
  centre among those whose optical axes differ by less than 90 degrees (pairs are symmetric:
  the union over images). This oracle retrieval is the same for every method and ignores
  time, so cross-span pairs are offered as often as the scene's geometry allows; the
  benchmark measures the matcher, not a retrieval model.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from stbench.geometry import quaternion_to_rotation

__all__ = ["MAX_AXIS_ANGLE_DEG", "camera_geometry", "scene_pairs"]


#: Optical axes further apart than this are never paired in a retrieval-limited scene.
MAX_AXIS_ANGLE_DEG = 90.0


def camera_geometry(images: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(N, 3, 3) world-to-camera rotations and (N, 3) camera centres of manifest rows."""
    quaternions = images[["qw", "qx", "qy", "qz"]].to_numpy(dtype=np.float64)
    quaternions = quaternions / np.linalg.norm(quaternions, axis=1, keepdims=True)
    rotations = np.stack([quaternion_to_rotation(q) for q in quaternions])
    translations = images[["tx", "ty", "tz"]].to_numpy(dtype=np.float64)
    centres = -np.einsum("nji,nj->ni", rotations, translations)
    return rotations, centres


def scene_pairs(images: pd.DataFrame, exhaustive_max_images: int, neighbours: int) -> pd.DataFrame:
    """Pairs to match in one scene: ``image_id0 < image_id1``, sorted, with a ``rule`` column.

    Args:
        images: the scene's posed manifest rows (image_id, qw..qz, tx..tz).
        exhaustive_max_images: up to this many images, every pair.
        neighbours: otherwise, per image this many nearest images (see the module docstring).
    """
    ids = sorted(images["image_id"])
    if len(ids) <= exhaustive_max_images:
        pairs = list(itertools.combinations(ids, 2))
        rule = "exhaustive"
    else:
        ordered = images.set_index("image_id").loc[ids]
        rotations, centres = camera_geometry(ordered)
        axes = rotations[:, 2, :]  # optical axes in world coordinates
        distance = np.linalg.norm(centres[:, None] - centres[None], axis=-1)
        cosine = np.clip(axes @ axes.T, -1.0, 1.0)
        distance[cosine <= np.cos(np.radians(MAX_AXIS_ANGLE_DEG))] = np.inf
        np.fill_diagonal(distance, np.inf)
        chosen = set()
        for i in range(len(ids)):
            order = np.argsort(distance[i], kind="stable")[:neighbours]
            chosen.update(tuple(sorted((i, int(j)))) for j in order if np.isfinite(distance[i, j]))
        pairs = [(ids[i], ids[j]) for i, j in sorted(chosen)]
        rule = f"nearest-{neighbours}"
    frame = pd.DataFrame(pairs, columns=["image_id0", "image_id1"])
    frame["rule"] = rule
    return frame
