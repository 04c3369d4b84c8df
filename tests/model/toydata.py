"""A tiny synthetic manifest for the reference model's tests (and benchmarks/train_throughput).

Test-only fixture, not shipped in the package and not the benchmark's synthetic world
(``stbench synth`` builds that): a few seconds of data that follow the record conventions
exactly, so that the model's code can be exercised end to end.

- MegaDepth-style scenes: a textured plane (textures from ``skimage.data``) seen by cameras on a
  ring; images rendered with the plane's homography, z-depth computed analytically into
  ``dense0/depths/<stem>.h5``; world-to-camera poses; every co-visible pair is a ``spatial`` pair.
- Webcams: one fixed view per camera whose brightness follows the hour (dark at night) and whose
  colour follows the day of the year (seasons), stored in AMOS-style monthly zips with members
  ``YYYYMMDD_HHMMSS.jpg``; trusted timestamps and span labels; consecutive frames are
  ``temporal`` pairs.
"""

from __future__ import annotations

import itertools
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from stbench.manifest.verify import manifest_content_hash
from stbench.schema import IMAGES_SCHEMA, PAIRS_SCHEMA, REJECTS_SCHEMA, SCHEMA_VERSION, make_pair_id

#: (scene id, texture name in skimage.data, split)
TOY_SCENES = (
    ("5001", "astronaut", "train"),
    ("5002", "coffee", "train"),
    ("0008", "chelsea", "val"),
)
#: (camera id, texture name, split)
TOY_CAMERAS = (
    ("00000001", "rocket", "train"),
    ("00000002", "astronaut", "train"),
    ("00000003", "coffee", "val"),
)


def _texture(name: str) -> np.ndarray:
    import skimage.data

    image = getattr(skimage.data, name)()
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image[..., :3])


def _look_at(center: np.ndarray, target: np.ndarray, roll: float = 0.0):
    """World-to-camera (R, t) of a camera at ``center`` looking at ``target``, rolled (radians)."""
    forward = (target - center) / np.linalg.norm(target - center)
    right = np.cross(np.array([0.0, 1.0, 0.0]), forward)
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    rotation = np.stack([right, down, forward])  # rows: camera axes in world
    cos, sin = np.cos(roll), np.sin(roll)
    rotation = np.array([[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]]) @ rotation
    return rotation, -rotation @ center


def render_plane(texture, K, R, t, size):
    """Render a textured plane z = 0 (x, y in [-1, 1] * aspect) and its z-depth.

    Returns:
        image (H, W, 3) uint8, depth (H, W) float32 (0 outside the plane).
    """
    import cv2

    width, height = size
    tex_h, tex_w = texture.shape[:2]
    scale = 2.0 / max(tex_h, tex_w)
    to_world = np.array(
        [[scale, 0, -scale * (tex_w - 1) / 2], [0, scale, -scale * (tex_h - 1) / 2], [0, 0, 1]]
    )
    homography = K @ np.column_stack([R[:, 0], R[:, 1], t]) @ to_world
    image = cv2.warpPerspective(texture, homography, (width, height), flags=cv2.INTER_LINEAR)
    xs, ys = np.meshgrid(np.arange(width), np.arange(height))
    rays = np.stack([xs, ys, np.ones_like(xs)], -1).reshape(-1, 3) @ np.linalg.inv(K).T
    center = -R.T @ t
    directions = rays @ R  # world directions (rows), z-depth 1 along the camera axis
    with np.errstate(divide="ignore", invalid="ignore"):
        s = -center[2] / directions[:, 2]
    points = center + s[:, None] * directions
    half_w, half_h = scale * tex_w / 2, scale * tex_h / 2
    inside = (
        (s > 0) & (np.abs(points[:, 0]) < half_w - scale) & (np.abs(points[:, 1]) < half_h - scale)
    )
    depth = np.where(inside, s, 0.0).reshape(height, width).astype(np.float32)
    return image, depth


def _encode_jpeg(image: np.ndarray) -> bytes:
    import cv2

    ok, data = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return data.tobytes()


def _megadepth_scene(root: Path, scene: str, texture_name: str, split: str, n_images: int, size):
    import h5py

    from stbench.geometry import rotation_to_quaternion

    texture = _texture(texture_name)
    width, height = size
    K = np.array(
        [[0.9 * width, 0, (width - 1) / 2], [0, 0.9 * width, (height - 1) / 2], [0, 0, 1.0]]
    )
    rng = np.random.default_rng(int(scene))
    rows = []
    for index in range(n_images):
        angle = 2 * np.pi * index / n_images + rng.uniform(-0.2, 0.2)
        radius = rng.uniform(0.4, 1.2)
        center = np.array([radius * np.cos(angle), radius * np.sin(angle), -rng.uniform(1.3, 2.4)])
        target = np.array([rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2), 0.0])
        R, t = _look_at(center, target, roll=rng.uniform(-0.5, 0.5))
        image, depth = render_plane(texture, K, R, t, size)
        name = f"{scene}_{index:03d}.jpg"
        image_path = f"MegaDepth_v1/{scene}/dense0/imgs/{name}"
        depth_path = f"MegaDepth_v1/{scene}/dense0/depths/{scene}_{index:03d}.h5"
        (root / image_path).parent.mkdir(parents=True, exist_ok=True)
        (root / depth_path).parent.mkdir(parents=True, exist_ok=True)
        (root / image_path).write_bytes(_encode_jpeg(image))
        with h5py.File(root / depth_path, "w") as handle:
            handle.create_dataset("depth", data=depth)
        q = rotation_to_quaternion(R)
        rows.append(
            dict(
                image_id=f"megadepth/{scene}/{name}", source="megadepth", dataset="MegaDepth_v1",
                scene=scene, path=image_path, width=width, height=height,
                fx=K[0, 0], fy=K[1, 1], cx=K[0, 2], cy=K[1, 2],
                qw=q[0], qx=q[1], qy=q[2], qz=q[3], tx=t[0], ty=t[1], tz=t[2],
                depth_path=depth_path, depth_kind="metric", timestamp_trust=0.0,
                trust_flags=["no_exif"], split=split,
            )
        )  # fmt: skip
    return rows


def webcam_frame(base: np.ndarray, timestamp: pd.Timestamp, rng) -> np.ndarray:
    """A frame whose brightness follows the hour and colour the day of the year."""
    hour = timestamp.hour + timestamp.minute / 60
    daylight = max(0.0, np.sin(np.pi * (hour - 6) / 12))
    brightness = 0.12 + 0.88 * daylight
    phase = 2 * np.pi * (timestamp.day_of_year - 15) / 365.25  # 0 mid-January (coldest)
    warmth = -np.cos(phase)  # -1 winter .. +1 summer
    autumn = np.sin(phase)  # > 0 spring (greening), < 0 autumn (browning)
    gains = np.array([1.0 + 0.12 * warmth - 0.15 * autumn, 1.0 + 0.15 * autumn, 1.0 - 0.2 * warmth])
    frame = base.astype(np.float32) * gains * brightness + rng.normal(0, 3, base.shape)
    return np.clip(frame, 0, 255).astype(np.uint8)


def _webcam(root: Path, camera: str, texture_name: str, split: str, n_frames: int, size, lat):
    import cv2

    from stbench.spans import SPANS, span_labels

    base = cv2.resize(_texture(texture_name), size, interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(int(camera))
    seconds = np.sort(rng.integers(0, 365 * 86400, n_frames))
    times = pd.to_datetime("2019-01-01", utc=True) + pd.to_timedelta(seconds, unit="s")
    archives: dict[str, zipfile.ZipFile] = {}
    rows = []
    for timestamp in times:
        member = timestamp.strftime("%Y%m%d_%H%M%S") + ".jpg"
        archive = f"{camera}/{timestamp:%Y.%m}.zip"
        if archive not in archives:
            (root / archive).parent.mkdir(parents=True, exist_ok=True)
            archives[archive] = zipfile.ZipFile(root / archive, "w")
        archives[archive].writestr(member, _encode_jpeg(webcam_frame(base, timestamp, rng)))
        rows.append(
            dict(
                image_id=f"webcam/{camera}/{member}", source="webcam", dataset="AMOS", scene=camera,
                path=f"{archive}/{member}", width=size[0], height=size[1], lat=lat, lon=0.0,
                timestamp_utc=timestamp, utc_offset_min=0, timestamp_source="filename",
                timestamp_trust=1.0, trust_flags=[], clock_offset_s=0.0, split=split,
            )
        )  # fmt: skip
    for handle in archives.values():
        handle.close()
    frame = pd.DataFrame(rows)
    for name in SPANS:
        frame[name] = span_labels(
            name, frame["timestamp_utc"], frame["utc_offset_min"], frame["lat"]
        )
    return frame


def _spatial_pairs(root: Path, images: pd.DataFrame) -> list[dict]:
    from stbench.depth import read_depth
    from stbench.geometry import intrinsics_matrix, quaternion_to_rotation
    from stbench.warp import warp_keypoints

    rows = []
    records = images.to_dict("records")
    depths = {r["image_id"]: read_depth(root / r["depth_path"]).depth for r in records}
    for i, a in enumerate(records):
        for b in records[i + 1 :]:
            if a["scene"] != b["scene"]:
                continue
            xs, ys = np.meshgrid(np.arange(4, a["width"], 8), np.arange(4, a["height"], 8))
            grid = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float64)
            poses = [
                (
                    intrinsics_matrix(r["fx"], r["fy"], r["cx"], r["cy"]),
                    quaternion_to_rotation([r["qw"], r["qx"], r["qy"], r["qz"]]),
                    np.array([r["tx"], r["ty"], r["tz"]]),
                )
                for r in (a, b)
            ]
            (K0, R0, t0), (K1, R1, t1) = poses
            _, valid, consistent = warp_keypoints(
                grid, depths[a["image_id"]], K0, R0, t0, depths[b["image_id"]], K1, R1, t1
            )
            overlap = float(consistent.sum() / max(valid.sum(), 1))
            if overlap < 0.1:
                continue
            rows.append(
                dict(
                    pair_id=make_pair_id(a["image_id"], b["image_id"]), image_id0=a["image_id"],
                    image_id1=b["image_id"], scene=a["scene"], kind="spatial",
                    depth_overlap_01=overlap, depth_overlap_10=overlap,
                    n_consistent=int(consistent.sum()), split=a["split"],
                )
            )  # fmt: skip
    return rows


def write_toy_manifest(
    out: str | Path,
    n_images: int = 6,
    n_frames: int = 64,
    image_size: tuple[int, int] = (256, 192),
    frame_size: tuple[int, int] = (160, 128),
) -> Path:
    """Write a tiny world and its manifest under ``out``; returns the manifest directory.

    Layout: ``out/megadepth`` and ``out/webcams`` (source roots), ``out/manifest`` (the manifest).
    ``image_size`` / ``frame_size`` are (width, height).
    """
    import pyarrow.parquet as pq

    from stbench.schema import to_table

    out = Path(out)
    megadepth_root, webcam_root, manifest_dir = out / "megadepth", out / "webcams", out / "manifest"
    image_rows = []
    for scene, texture, split in TOY_SCENES:
        image_rows += _megadepth_scene(megadepth_root, scene, texture, split, n_images, image_size)
    megadepth = pd.DataFrame(image_rows)
    webcams = [
        _webcam(webcam_root, camera, texture, split, n_frames, frame_size, lat=51.5)
        for camera, texture, split in TOY_CAMERAS
    ]
    images = pd.concat([megadepth, *webcams], ignore_index=True)
    pair_rows = _spatial_pairs(megadepth_root, megadepth)
    for frame in webcams:
        ids = frame["image_id"].tolist()
        for a, b in itertools.pairwise(ids):
            pair_rows.append(
                dict(pair_id=make_pair_id(a, b), image_id0=min(a, b), image_id1=max(a, b),
                     scene=frame["scene"].iloc[0], kind="temporal", split=frame["split"].iloc[0])
            )  # fmt: skip
    pairs = pd.DataFrame(pair_rows)
    manifest_dir.mkdir(parents=True, exist_ok=True)
    tables = {
        "images": to_table(images, IMAGES_SCHEMA, "images"),
        "pairs": to_table(pairs, PAIRS_SCHEMA, "pairs"),
        "rejects": to_table(pd.DataFrame(columns=REJECTS_SCHEMA.names), REJECTS_SCHEMA, "rejects"),
    }
    for name, table in tables.items():
        pq.write_table(table, manifest_dir / f"{name}.parquet")
    meta = {
        "name": "toy",
        "schema_version": SCHEMA_VERSION,
        "sources": {
            "megadepth": {"root": str(megadepth_root)},
            "webcam": {"root": str(webcam_root)},
        },
        "counts": {"images": len(images), "pairs": len(pairs)},
        "content_hash": manifest_content_hash(tables),
    }
    (manifest_dir / "manifest.json").write_text(json.dumps(meta, indent=2) + "\n")
    return manifest_dir


def fixed_batch(manifest_dir: Path, config, n_images: int = 4) -> tuple[dict, dict]:
    """One unaugmented pair (batch of 1) and ``n_images`` labelled frames of the train split."""
    import torch

    from stbench.manifest.io import load_manifest
    from stbench.model.data import PairDataset, TemporalDataset

    manifest = load_manifest(manifest_dir)
    pairs = PairDataset(manifest, "train", config.image_size, 48, random_crops=False)
    images = TemporalDataset(manifest, "train", config.model.spans, config.temporal_size, False)
    batch = {k: v[None] for k, v in pairs[0].items()}
    keys = ("image", "labels")
    temporal = {k: torch.stack([images[i][k] for i in range(n_images)]) for k in keys}
    return batch, temporal
