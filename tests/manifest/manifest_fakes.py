"""Tiny on-disk sources and hand-written index tasks for the manifest builder's tests.

The fake tasks follow the contracts of ``stbench.megadepth.index_scene`` and
``stbench.webcams.index_camera`` (pure functions returning Records) but read their rows from a
small JSON file / zip listing written by the fixtures, so the builder is tested without the
real ingest code.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pandas as pd

from stbench.errors import DataError
from stbench.manifest.sources import SourceSpec
from stbench.records import Records
from stbench.schema import make_image_id, make_pair_id

INDEX_FILE = "fake_index.json"
KILL_FILE = "KILL_AT"
LOG_FILE = "calls.log"


class Killed(BaseException):
    """Simulates the build process dying (not an Exception: nothing catches it)."""


def _log_call(root: Path, unit: str) -> None:
    with open(Path(root) / LOG_FILE, "a") as log:
        log.write(unit + "\n")


def calls(root: Path) -> list[str]:
    """Units indexed so far under ``root`` (in call order)."""
    path = Path(root) / LOG_FILE
    return path.read_text().split() if path.exists() else []


def make_megadepth(root: Path, scenes: dict[str, int]) -> Path:
    """A MegaDepth-layout root with ``n`` images per scene and a fake index per scene.

    Image i of a scene is taken at 2020-01-01 + 40 i days, 10:00 UTC; images with even i have
    trusted times (0.9), odd ones untrusted (0.2). Every pair (i, j) is listed with depth overlaps
    ((3 i + 5 j) % 10) / 10 + 0.05 and the reverse direction 0.02 higher.
    """
    for scene, n in scenes.items():
        dense = root / "MegaDepth_v1" / scene / "dense0"
        (dense / "imgs").mkdir(parents=True)
        (dense / "depths").mkdir(parents=True)
        (root / "MegaDepth_v1_SfM" / scene / "sparse" / "manhattan" / "0").mkdir(parents=True)
        images = []
        for i in range(n):
            name = f"img{i:03d}.jpg"
            (dense / "imgs" / name).write_bytes(b"jpeg" * (i + 1))
            (dense / "depths" / f"img{i:03d}.h5").write_bytes(b"h5" * (i + 1))
            stamp = pd.Timestamp("2020-01-01 10:00", tz="UTC") + pd.Timedelta(days=40 * i)
            images.append(dict(name=name, time=stamp.isoformat(), trust=0.9 if i % 2 == 0 else 0.2))
        pairs = [
            dict(i=i, j=j, overlap=((3 * i + 5 * j) % 10) / 10 + 0.05)
            for i in range(n)
            for j in range(i + 1, n)
        ]
        index = dict(images=images, pairs=pairs)
        (root / "MegaDepth_v1" / scene / INDEX_FILE).write_text(json.dumps(index))
    return root


def list_scenes(root: Path) -> list[str]:
    return sorted(p.name for p in (Path(root) / "MegaDepth_v1").iterdir() if p.is_dir())


def _check_kill(root: Path, unit: str) -> None:
    kill = Path(root) / KILL_FILE
    if kill.exists() and kill.read_text().strip() == unit:
        raise Killed(unit)


def index_scene(root: Path, scene: str, config: dict) -> Records:
    """Fake ``stbench.megadepth.index_scene``: rows from the scene's fake_index.json."""
    root = Path(root)
    _check_kill(root, scene)
    _log_call(root, scene)
    if scene in config.get("broken", []):
        raise DataError(f"scene {scene}: sparse model unreadable")
    index = json.loads((root / "MegaDepth_v1" / scene / INDEX_FILE).read_text())
    rows = []
    for i, image in enumerate(index["images"]):
        stem = Path(image["name"]).stem
        rows.append(
            dict(
                image_id=make_image_id("megadepth", scene, image["name"]),
                source="megadepth",
                dataset="MegaDepth_v1",
                scene=scene,
                path=f"MegaDepth_v1/{scene}/dense0/imgs/{image['name']}",
                width=64,
                height=48,
                fx=50.0,
                fy=50.0,
                cx=31.5,
                cy=23.5,
                qw=1.0,
                qx=0.0,
                qy=0.0,
                qz=0.0,
                tx=float(i),
                ty=0.0,
                tz=0.0,
                depth_path=f"MegaDepth_v1/{scene}/dense0/depths/{stem}.h5",
                depth_kind="metric",
                lat=-33.9 if scene == "5002" else 48.85,
                lon=2.35,
                timestamp_utc=pd.Timestamp(image["time"]),
                utc_offset_min=60,
                timestamp_source="exif_offset",
                timestamp_trust=image["trust"],
                trust_flags=[] if image["trust"] > 0.5 else ["exif_local_no_zone"],
            )
        )
    images = pd.DataFrame(rows)
    ids = images["image_id"].tolist()
    pair_rows = []
    for pair in index["pairs"]:
        # Reverse order on purpose: the builder must put pairs in canonical order.
        a, b = ids[pair["j"]], ids[pair["i"]]
        pair_rows.append(
            dict(
                pair_id=make_pair_id(a, b),
                image_id0=a,
                image_id1=b,
                scene=scene,
                kind="spatial",
                covis_overlap_01=pair["overlap"] + 0.02,
                covis_overlap_10=pair["overlap"],
                depth_overlap_01=pair["overlap"] + 0.02,
                depth_overlap_10=pair["overlap"],
                n_consistent=int(pair["overlap"] * 1000),
                scale_ratio=1.1,
                view_angle_deg=10.0,
            )
        )
    records = Records(images=images, pairs=pd.DataFrame(pair_rows))
    records.add_reject(
        "megadepth",
        scene,
        f"MegaDepth_v1/{scene}/dense0/imgs/missing.jpg",
        "index",
        "depth_missing",
        "no depth map for this image",
    )
    return records


def make_webcams(root: Path, cameras: dict[str, int]) -> Path:
    """A webcam root: cameras.csv and one zip per camera holding ``n`` frames.

    Frame k of a camera is at 2021-01-01 00:00 UTC + k * 7 h 13 min (so hours, days, weeks and
    months vary); every 5th frame gets an untrusted time in the fake index.
    """
    root.mkdir(parents=True, exist_ok=True)
    lines = ["id,name,lat,lon"]
    for camera, n in cameras.items():
        lines.append(f"{camera},cam{camera},40.0,-75.0")
        folder = root / camera
        folder.mkdir()
        start = pd.Timestamp("2021-01-01", tz="UTC")
        with zipfile.ZipFile(folder / "2021.01.zip", "w") as archive:
            for k in range(n):
                stamp = start + pd.Timedelta(minutes=433 * k)
                archive.writestr(stamp.strftime("%Y%m%d_%H%M%S.jpg"), b"frame%d" % k)
            archive.writestr("corrupt.jpg", b"")
    (root / "cameras.csv").write_text("\n".join(lines) + "\n")
    return root


def list_cameras(root: Path) -> list[str]:
    return sorted(p.name for p in Path(root).iterdir() if p.is_dir())


def index_camera(root: Path, camera_id: str, config: dict) -> Records:
    """Fake ``stbench.webcams.index_camera``: frames from the zip listing."""
    root = Path(root)
    _check_kill(root, camera_id)
    _log_call(root, camera_id)
    records = Records()
    rows = []
    for archive_path in sorted((root / camera_id).glob("*.zip")):
        with zipfile.ZipFile(archive_path) as archive:
            members = sorted(archive.namelist())
        for k, member in enumerate(members):
            path = f"{camera_id}/{archive_path.name}/{member}"
            if member == "corrupt.jpg":
                records.add_reject("webcam", camera_id, path, "index", "unreadable", "empty file")
                continue
            stamp = pd.to_datetime(Path(member).stem, format="%Y%m%d_%H%M%S").tz_localize("UTC")
            rows.append(
                dict(
                    image_id=make_image_id("webcam", camera_id, member),
                    source="webcam",
                    dataset="AMOS",
                    scene=camera_id,
                    path=path,
                    width=32,
                    height=24,
                    lat=40.0,
                    lon=-75.0,
                    timestamp_utc=stamp,
                    utc_offset_min=-300,
                    timestamp_source="file_name",
                    timestamp_trust=0.3 if k % 5 == 4 else 0.95,
                    trust_flags=["clock_jump"] if k % 5 == 4 else [],
                    clock_offset_s=0.0,
                )
            )
    records.images = pd.DataFrame(rows)
    return records


def _megadepth_paths(root: Path, scene: str) -> list[Path]:
    return [root / "MegaDepth_v1" / scene]


def _webcam_paths(root: Path, camera: str) -> list[Path]:
    return [root / camera, root / "cameras.csv"]


FAKE_SOURCES = {
    "megadepth": SourceSpec(
        "megadepth", list_scenes, index_scene, None, _megadepth_paths, version="fake-1"
    ),
    "webcam": SourceSpec(
        "webcam", list_cameras, index_camera, None, _webcam_paths, version="fake-1"
    ),
}
