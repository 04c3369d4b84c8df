"""A tiny AMOS-like webcam archive whose brightness follows the sun, with known faults."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field

import cv2
import numpy as np
import pandas as pd
import pytest

from stbench.solar import sun_position

LAT, LON = 47.27, 11.40  # Innsbruck


@dataclass
class FakeCamera:
    camera_id: str
    truth: pd.DataFrame  # path, capture_utc, name_error_s, frozen
    faults: list = field(default_factory=list)


def write_camera(
    root,
    camera_id: str,
    days: int = 24,
    interval_min: int = 120,
    offset_era: tuple[int, int, int] | None = None,
    frozen_at: int | None = None,
    frozen_len: int = 4,
    seed: int = 0,
) -> FakeCamera:
    """Frames every ``interval_min`` (grid shifted 40 min a day), named at capture time in UTC
    plus the naming error of ``offset_era`` = (first day, end day, seconds) and a frozen run."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2019-03-01", tz="UTC")
    slots = []
    for day in range(days):
        shift = (day * 40) % interval_min
        for k in range(24 * 60 // interval_min):
            minute = shift + k * interval_min + int(rng.integers(-5, 6))
            slots.append(start + pd.Timedelta(days=day, minutes=minute))
    capture = pd.DatetimeIndex(slots)
    elevation, _ = sun_position(capture, LAT, LON)
    texture = rng.uniform(0.6, 1.0, (48, 64))
    images, names, errors, frozen = [], [], [], []
    for i, (t, e) in enumerate(zip(capture, elevation, strict=True)):
        light = float(np.clip(np.sin(np.radians(e)) + 0.05, 0.03, 1.0)) * rng.uniform(0.8, 1.0)
        picture = np.clip(texture * light * 230 + rng.normal(0, 3, texture.shape), 0, 255)
        data = cv2.imencode(".jpg", picture.astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 90])[1]
        is_frozen = frozen_at is not None and frozen_at < i <= frozen_at + frozen_len
        images.append(images[frozen_at] if is_frozen else data.tobytes())
        day = (t - start).days
        error = offset_era[2] if offset_era and offset_era[0] <= day < offset_era[1] else 0
        name_time = (t + pd.Timedelta(seconds=error)).tz_convert(None)
        names.append(name_time.strftime("%Y%m%d_%H%M%S") + ".jpg")
        errors.append(error)
        frozen.append(is_frozen)
    folder = root / camera_id
    folder.mkdir(parents=True)
    paths = []
    by_month: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        by_month.setdefault(f"{name[:4]}.{name[4:6]}.zip", []).append(i)
    for archive, members in by_month.items():
        with zipfile.ZipFile(folder / archive, "w") as zf:
            for i in members:
                zf.writestr(names[i], images[i])
                paths.append((i, f"{camera_id}/{archive}/{names[i]}"))
    paths = [p for _i, p in sorted(paths)]
    truth = pd.DataFrame(
        {"path": paths, "capture_time_utc": capture, "name_error_s": errors, "frozen": frozen}
    )
    return FakeCamera(camera_id, truth)


@pytest.fixture(scope="session")
def webcam_world(tmp_path_factory):
    root = tmp_path_factory.mktemp("webcams")
    cams = [
        write_camera(root, "00000001", offset_era=(8, 18, -7200), frozen_at=40, seed=1),
        write_camera(root, "00000002", frozen_at=100, frozen_len=3, seed=2),
    ]
    (root / "cameras.csv").write_text(
        "id,name,lat,lon\n1,offset cam,47.27,11.40\n2,clean cam,47.27,11.40\n3,no folder,0,0\n"
    )
    return root, cams
