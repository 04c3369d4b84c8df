"""Webcam streams: frames in AMOS-style archives, their clocks checked against the sun.

``list_cameras(root)`` and ``index_camera(root, camera_id, config) -> Records`` are the pure
per-camera tasks; ``index_webcams(root, out, config, overwrite, workers)`` writes them as Parquet.
"""

from stbench.webcams.config import WebcamConfig
from stbench.webcams.frames import list_cameras, read_cameras
from stbench.webcams.index import index_camera, index_webcams

__all__ = ["WebcamConfig", "index_camera", "index_webcams", "list_cameras", "read_cameras"]
