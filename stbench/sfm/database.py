"""Writing a scene's keypoints and matches into a COLMAP database (pycolmap's Database API).

stbench keypoints have pixel centres at integer coordinates; COLMAP puts the centre of the
top-left pixel at (0.5, 0.5). Keypoints and principal points are shifted by +0.5 on the way in,
so a reconstruction's poses are directly comparable to the manifest's.

Every image gets its own ``PINHOLE`` camera from the manifest's fx, fy, cx, cy with
``has_prior_focal_length`` set; the mapper keeps them fixed (see :mod:`stbench.sfm.mapping`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "COLMAP_PIXEL_SHIFT",
    "ImageEntry",
    "open_database",
    "write_images",
    "write_keypoints",
    "write_matches",
]


#: COLMAP's pixel convention minus stbench's (pixel centres at integers).
COLMAP_PIXEL_SHIFT = 0.5


@dataclass(frozen=True)
class ImageEntry:
    """One image of a scene as the database needs it (intrinsics in stbench's convention)."""

    name: str
    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float


def open_database(path: Path):
    """A new, empty COLMAP database at ``path`` (an existing file is replaced)."""
    import pycolmap

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    return pycolmap.Database.open(str(path))


def write_images(database, images: list[ImageEntry]) -> dict[str, int]:
    """Add one fixed PINHOLE camera, a trivial rig and frame, and an image per entry.

    Returns:
        the database image id of each image name.
    """
    import pycolmap

    ids: dict[str, int] = {}
    for entry in images:
        camera = pycolmap.Camera(
            model="PINHOLE",
            width=int(entry.width),
            height=int(entry.height),
            params=[
                float(entry.fx),
                float(entry.fy),
                float(entry.cx) + COLMAP_PIXEL_SHIFT,
                float(entry.cy) + COLMAP_PIXEL_SHIFT,
            ],
        )
        camera.has_prior_focal_length = True
        camera_id = database.write_camera(camera)
        rig = pycolmap.Rig()
        rig.add_ref_sensor(pycolmap.sensor_t(pycolmap.SensorType.CAMERA, camera_id))
        rig_id = database.write_rig(rig)
        image_id = database.write_image(pycolmap.Image(name=entry.name, camera_id=camera_id))
        frame = pycolmap.Frame()
        frame.rig_id = rig_id
        frame.add_data_id(
            pycolmap.data_t(pycolmap.sensor_t(pycolmap.SensorType.CAMERA, camera_id), image_id)
        )
        database.write_frame(frame)
        ids[entry.name] = image_id
    return ids


def write_keypoints(database, image_id: int, keypoints: np.ndarray) -> None:
    """Store (N, 2) stbench-convention keypoints of an image."""
    points = np.asarray(keypoints, dtype=np.float32).reshape(-1, 2) + COLMAP_PIXEL_SHIFT
    database.write_keypoints(image_id, np.ascontiguousarray(points))


def write_matches(database, image_id0: int, image_id1: int, matches: np.ndarray) -> None:
    """Store (K, 2) keypoint index pairs of two images (raw, before verification)."""
    array = np.ascontiguousarray(np.asarray(matches, dtype=np.uint32).reshape(-1, 2))
    database.write_matches(image_id0, image_id1, array)
