"""Webcam streams: frames in AMOS-style archives, their clocks checked against the sun.

``list_cameras(root)`` and ``index_camera(root, camera_id, config) -> Records`` are the pure
per-camera tasks; ``index_webcams(config, root, out, *, overwrite, workers)`` writes them as Parquet.
"""

from stbench.extras import lazy_exports

_EXPORTS = {
    "WebcamConfig": "stbench.webcams.config",
    "index_camera": "stbench.webcams.index",
    "index_webcams": "stbench.webcams.index",
    "list_cameras": "stbench.webcams.frames",
    "read_cameras": "stbench.webcams.frames",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
