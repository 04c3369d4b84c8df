"""What the ingest checks of docs/reliability.md cost: image verification and model walks.

Usage (from the repository root)::

    python docs/scripts/ingest_check_costs.py

Prints the time to verify (fully decode) a generated 1600x1200 JPEG and to walk a generated
1,000,000-point ``points3D.bin``, whole and cut in half. Files go to a temporary directory.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from stbench.imageio import verify_image
from stbench.megadepth.modelcheck import ModelFileError, check_points3d


def _seconds(function, repeat: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        function()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    rng = np.random.default_rng(0)
    small = rng.uniform(0, 255, (120, 160, 3)).astype(np.uint8)
    image = cv2.resize(small, (1600, 1200)) * 0.7 + rng.normal(0, 20, (1200, 1600, 3))
    jpeg = cv2.imencode(".jpg", image.clip(0, 255).astype(np.uint8))[1].tobytes()
    seconds = _seconds(lambda: verify_image(jpeg), repeat=20)
    print(f"verify_image 1600x1200 JPEG ({len(jpeg) / 1e6:.1f} MB): {seconds * 1e3:.1f} ms")

    n, track = 1_000_000, 6
    record = np.dtype(
        [("id", "<u8"), ("xyz", "<f8", 3), ("rgb", "u1", 3), ("error", "<f8"),
         ("length", "<u8"), ("track", "<u4", 2 * track)]
    )  # fmt: skip
    points = np.zeros(n, record)
    points["id"] = np.arange(n)
    points["length"] = track
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "points3D.bin"
        data = np.uint64(n).tobytes() + points.tobytes()
        path.write_bytes(data)
        whole = _seconds(lambda: check_points3d(path))
        path.write_bytes(data[: len(data) // 2])
        start = time.perf_counter()
        try:
            check_points3d(path)
        except ModelFileError:
            pass
        cut = time.perf_counter() - start
    print(f"check_points3d {n:,} points ({len(data) / 1e6:.0f} MB): {whole:.2f} s whole")
    print(f"check_points3d cut in half: refused in {cut:.2f} s")


if __name__ == "__main__":
    main()
