"""Tiny manifests with exact ground truth for the evaluation tests.

- ``plane``: a textured fronto-parallel plane (depth 10) seen by camera 0 and by camera 1
  (rotated 5° about y and shifted), image 1 rendered with the plane homography, exact depth
  maps for both; one ``spatial`` test pair.
- ``webcam``: one camera (lat 47) with frames in a monthly zip, trusted timestamps and span
  labels; train and test frames; test pairs with same-span truth.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from stbench.geometry import intrinsics_matrix, rotation_to_quaternion
from stbench.schema import IMAGES_SCHEMA, PAIRS_SCHEMA, REJECTS_SCHEMA, make_pair_id, to_table
from stbench.spans import CLASS_SPANS, span_labels

WIDTH, HEIGHT, FOCAL, PLANE_DEPTH = 160, 120, 150.0, 10.25
K = intrinsics_matrix(FOCAL, FOCAL, (WIDTH - 1) / 2, (HEIGHT - 1) / 2)
ANGLE = np.radians(5.0)
R1 = np.array([[np.cos(ANGLE), 0, np.sin(ANGLE)], [0, 1, 0], [-np.sin(ANGLE), 0, np.cos(ANGLE)]])
T1 = np.array([0.4, 0.1, 0.2])


ANGLE2 = np.radians(-4.0)
R2 = np.array(
    [[1, 0, 0], [0, np.cos(ANGLE2), -np.sin(ANGLE2)], [0, np.sin(ANGLE2), np.cos(ANGLE2)]]
)
T2 = np.array([-0.3, 0.2, -0.1])
#: world-to-camera poses of the plane cameras (camera 0 is the world frame).
POSES = [(np.eye(3), np.zeros(3)), (R1, T1), (R2, T2)]


def plane_homography(R: np.ndarray = R1, t: np.ndarray = T1) -> np.ndarray:
    """H mapping pixels of image 0 to a camera (R, t) for the plane z = PLANE_DEPTH of camera 0."""
    normal = np.array([0.0, 0.0, 1.0])
    return K @ (R + np.outer(t, normal) / PLANE_DEPTH) @ np.linalg.inv(K)


def apply_homography(H: np.ndarray, points: np.ndarray) -> np.ndarray:
    homogeneous = np.concatenate([points, np.ones((len(points), 1))], axis=1) @ H.T
    return homogeneous[:, :2] / homogeneous[:, 2:]


def _texture(seed: int = 0) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (HEIGHT, WIDTH, 3)).astype(np.uint8)
    blurred = cv2.GaussianBlur(noise, (0, 0), 1.2)
    return cv2.normalize(blurred, None, 0, 255, cv2.NORM_MINMAX)


def _depth1(R: np.ndarray = R1, t: np.ndarray = T1) -> np.ndarray:
    # Plane in camera (R, t): (R n)^T X = d + (R n)^T t; along the ray K^-1 p, z solves it.
    normal1 = R @ np.array([0.0, 0.0, 1.0])
    u, v = np.meshgrid(np.arange(WIDTH), np.arange(HEIGHT))
    rays = np.stack([u, v, np.ones_like(u)], -1).reshape(-1, 3) @ np.linalg.inv(K).T
    z = (PLANE_DEPTH + normal1 @ t) / (rays @ normal1)
    return z.reshape(HEIGHT, WIDTH).astype(np.float32)


def _encode(image: np.ndarray, exif_time: str | None = None) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    pil = Image.fromarray(image)
    if exif_time:
        import piexif

        exif = piexif.dump({"Exif": {piexif.ExifIFD.DateTimeOriginal: exif_time.encode()}})
        pil.save(buffer, format="JPEG", quality=95, exif=exif)
    else:
        pil.save(buffer, format="PNG")
    return buffer.getvalue()


def _write_manifest(directory: Path, images: list[dict], pairs: list[dict], sources: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    import pyarrow.parquet as pq

    from stbench.manifest.verify import manifest_content_hash

    tables = {
        "images": to_table(pd.DataFrame(images), IMAGES_SCHEMA),
        "pairs": to_table(pd.DataFrame(pairs), PAIRS_SCHEMA),
        "rejects": REJECTS_SCHEMA.empty_table(),
    }
    for name, table in tables.items():
        pq.write_table(table, directory / f"{name}.parquet")
    meta = {
        "name": directory.name,
        "content_hash": manifest_content_hash(tables),
        "sources": sources,
    }
    (directory / "manifest.json").write_text(json.dumps(meta))
    return directory


def _posed(image_id: str, path: str, depth_path: str, R: np.ndarray, t: np.ndarray) -> dict:
    q = rotation_to_quaternion(R)
    return {
        "image_id": image_id,
        "source": "megadepth",
        "dataset": "synthetic",
        "scene": "0015",
        "path": path,
        "width": WIDTH,
        "height": HEIGHT,
        "fx": FOCAL,
        "fy": FOCAL,
        "cx": K[0, 2],
        "cy": K[1, 2],
        "qw": q[0],
        "qx": q[1],
        "qy": q[2],
        "qz": q[3],
        "tx": t[0],
        "ty": t[1],
        "tz": t[2],
        "depth_path": depth_path,
        "depth_kind": "metric",
        "split": "test",
    }


def make_plane_world(root: Path, n_images: int = 2) -> Path:
    """A MegaDepth-layout root with 2 or 3 plane images and all their pairs; returns the
    manifest directory."""
    import cv2

    data = root / "megadepth"
    scene = data / "MegaDepth_v1" / "0015" / "dense0"
    (scene / "imgs").mkdir(parents=True)
    (scene / "depths").mkdir(parents=True)
    image0 = _texture()
    rows = []
    for index, (R, t) in enumerate(POSES[:n_images]):
        image = cv2.warpPerspective(image0, plane_homography(R, t), (WIDTH, HEIGHT))
        depth = _depth1(R, t)
        (scene / "imgs" / f"{index}.png").write_bytes(_encode(image))
        with h5py.File(scene / "depths" / f"{index}.h5", "w") as handle:
            handle.create_dataset("depth", data=depth)
        rows.append(
            _posed(
                f"megadepth/0015/{index}.png",
                f"MegaDepth_v1/0015/dense0/imgs/{index}.png",
                f"MegaDepth_v1/0015/dense0/depths/{index}.h5",
                R,
                t,
            )
        )
    pairs = []
    for i in range(n_images):
        for j in range(i + 1, n_images):
            a, b = rows[i]["image_id"], rows[j]["image_id"]
            pairs.append(
                {
                    "pair_id": make_pair_id(a, b),
                    "image_id0": a,
                    "image_id1": b,
                    "scene": "0015",
                    "kind": "spatial",
                    "split": "test",
                    "overlap_bin": "0.5-0.7" if i == 0 else "0.3-0.5",
                }
            )
    sources = {"megadepth": {"root": str(data)}}
    return _write_manifest(root / "manifests" / "plane", rows, pairs, sources)


WEBCAM_TIMES = {
    # member name (UTC) -> split; local time = UTC + 60 min (utc_offset_min)
    "20240115_080000.jpg": "train",
    "20240115_130000.jpg": "train",
    "20240715_080000.jpg": "train",
    "20240715_130000.jpg": "train",
    "20240116_081000.jpg": "test",
    "20240716_131000.jpg": "test",
    "20241016_131000.jpg": "test",
}


def make_webcam_world(
    root: Path, exif: dict[str, str] | None = None, times: dict[str, str] | None = None
) -> Path:
    """A webcam root (one camera, frames in monthly zips); returns the manifest directory.

    Frame brightness follows the hour and the month. ``exif`` maps member names to an EXIF
    DateTimeOriginal string written into that frame. ``times`` replaces :data:`WEBCAM_TIMES`
    (member name ``YYYYMMDD_HHMMSS.jpg`` in UTC -> split).
    """
    data = root / "webcams"
    camera = "00000001"
    rows = []
    archives: dict[str, zipfile.ZipFile] = {}
    for member, split in (times or WEBCAM_TIMES).items():
        when = pd.Timestamp(pd.to_datetime(member[:15], format="%Y%m%d_%H%M%S"), tz="UTC")
        level = 60 + (80 if when.hour >= 12 else 0) + (60 if when.month in (6, 7, 8) else 0)
        image = np.full((48, 64, 3), level, np.uint8)
        image[:, :, 2] = min(255, level + 30 * (when.month % 3))
        archive = f"{when.year:04d}.{when.month:02d}.zip"
        path = data / camera / archive
        path.parent.mkdir(parents=True, exist_ok=True)
        if archive not in archives:
            archives[archive] = zipfile.ZipFile(path, "w")
        archives[archive].writestr(member, _encode(image, (exif or {}).get(member)))
        row = {
            "image_id": f"webcam/{camera}/{member}",
            "source": "webcam",
            "dataset": "AMOS",
            "scene": camera,
            "path": f"{camera}/{archive}/{member}",
            "width": 64,
            "height": 48,
            "lat": 5.0,
            "lon": 20.0,
            "timestamp_utc": when,
            "utc_offset_min": 60,
            "timestamp_source": "file_name",
            "timestamp_trust": 1.0,
            "split": split,
        }
        for span in CLASS_SPANS:
            row[span] = int(span_labels(span, [when], [60], [5.0])[0])
        rows.append(row)
    for handle in archives.values():
        handle.close()
    tests = [r for r in rows if r["split"] == "test"]
    pairs = []
    for i in range(len(tests)):
        for j in range(i + 1, len(tests)):
            a, b = sorted((tests[i]["image_id"], tests[j]["image_id"]))
            ra = next(r for r in tests if r["image_id"] == a)
            rb = next(r for r in tests if r["image_id"] == b)
            pair = {
                "pair_id": make_pair_id(a, b),
                "image_id0": a,
                "image_id1": b,
                "scene": camera,
                "kind": "temporal",
                "split": "test",
            }
            for span in CLASS_SPANS:
                pair[f"same_{span}"] = ra[span] == rb[span]
            pairs.append(pair)
    sources = {"webcam": {"root": str(data)}}
    return _write_manifest(root / "manifests" / "webcam", rows, pairs, sources)
