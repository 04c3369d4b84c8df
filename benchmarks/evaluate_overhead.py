"""Evaluation harness overhead and metric computation rate.

Two measurements, each against a baseline taken in the same run:

1. Harness time per pair beyond the method's own time, for SIFT at 2k keypoints on 640x480
   images of a textured plane (exact depth and poses): wall time of ``evaluate`` (export,
   scoring, bootstrap, reports; plots off) minus the time spent inside ``Sift.match``, as a
   ratio of SIFT's own time per pair. Target: <= 10 %.
2. Metric computation rate on synthetic pairs (500 matches, 30 % outliers, depth in memory):
   match metrics (warp + precision), pose (LoFTR RANSAC protocol), temporal metrics and the
   full summary with 1,000 bootstrap replicates. Target: >= 1,000 pairs/s.

Run: ``nice python benchmarks/evaluate_overhead.py [--images 8] [--pairs 2000]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from stbench.evaluate.config import EvaluateConfig
from stbench.evaluate.run import evaluate
from stbench.evaluate.spatial import PairGeometry, match_metrics, pose_errors
from stbench.evaluate.summary import summarize
from stbench.geometry import intrinsics_matrix, rotation_to_quaternion
from stbench.manifest.verify import manifest_content_hash
from stbench.schema import IMAGES_SCHEMA, PAIRS_SCHEMA, REJECTS_SCHEMA, make_pair_id, to_table
from stbench.spans import CLASS_SPANS

WIDTH, HEIGHT, DEPTH = 640, 480, 10.25
K = intrinsics_matrix(500.0, 500.0, (WIDTH - 1) / 2, (HEIGHT - 1) / 2)


def _rotation(rng: np.random.Generator, degrees: float) -> np.ndarray:
    import cv2

    axis = rng.normal(size=3)
    axis *= np.radians(degrees) / np.linalg.norm(axis)
    return cv2.Rodrigues(axis)[0]


def _homography(R: np.ndarray, t: np.ndarray) -> np.ndarray:
    return K @ (R + np.outer(t, [0, 0, 1]) / DEPTH) @ np.linalg.inv(K)


def _depth(R: np.ndarray, t: np.ndarray) -> np.ndarray:
    normal = R @ np.array([0.0, 0.0, 1.0])
    u, v = np.meshgrid(np.arange(WIDTH), np.arange(HEIGHT))
    rays = np.stack([u, v, np.ones_like(u)], -1).reshape(-1, 3) @ np.linalg.inv(K).T
    return ((DEPTH + normal @ t) / (rays @ normal)).reshape(HEIGHT, WIDTH).astype(np.float32)


def make_world(root: Path, n_images: int, seed: int = 0) -> Path:
    """A plane scene with ``n_images`` cameras and all their pairs; returns the manifest dir."""
    import cv2

    rng = np.random.default_rng(seed)
    big = rng.integers(0, 256, (HEIGHT * 2, WIDTH * 2, 3)).astype(np.uint8)
    texture = cv2.resize(cv2.GaussianBlur(big, (0, 0), 2.0), (WIDTH, HEIGHT))
    texture = cv2.normalize(texture, None, 0, 255, cv2.NORM_MINMAX)
    scene = root / "megadepth" / "MegaDepth_v1" / "0015" / "dense0"
    (scene / "imgs").mkdir(parents=True)
    (scene / "depths").mkdir(parents=True)
    rows = []
    for index in range(n_images):
        R = np.eye(3) if index == 0 else _rotation(rng, 4.0)
        t = np.zeros(3) if index == 0 else rng.uniform(-0.4, 0.4, 3)
        image = cv2.warpPerspective(texture, _homography(R, t), (WIDTH, HEIGHT))
        cv2.imwrite(str(scene / "imgs" / f"{index}.jpg"), image[:, :, ::-1])
        with h5py.File(scene / "depths" / f"{index}.h5", "w") as handle:
            handle.create_dataset("depth", data=_depth(R, t))
        q = rotation_to_quaternion(R)
        rows.append(
            dict(
                image_id=f"megadepth/0015/{index}.jpg", source="megadepth", scene="0015",
                path=f"MegaDepth_v1/0015/dense0/imgs/{index}.jpg", width=WIDTH, height=HEIGHT,
                fx=K[0, 0], fy=K[1, 1], cx=K[0, 2], cy=K[1, 2], qw=q[0], qx=q[1], qy=q[2],
                qz=q[3], tx=t[0], ty=t[1], tz=t[2], split="test", depth_kind="metric",
                depth_path=f"MegaDepth_v1/0015/dense0/depths/{index}.h5",
            )
        )  # fmt: skip
    pairs = [
        dict(
            pair_id=make_pair_id(a["image_id"], b["image_id"]), image_id0=a["image_id"],
            image_id1=b["image_id"], scene="0015", kind="spatial", split="test",
            overlap_bin="0.5-0.7",
        )
        for i, a in enumerate(rows)
        for b in rows[i + 1 :]
    ]  # fmt: skip
    manifest = root / "manifest"
    manifest.mkdir()
    import pyarrow.parquet as pq

    tables = {
        "images": to_table(pd.DataFrame(rows), IMAGES_SCHEMA),
        "pairs": to_table(pd.DataFrame(pairs), PAIRS_SCHEMA),
        "rejects": REJECTS_SCHEMA.empty_table(),
    }
    for name, table in tables.items():
        pq.write_table(table, manifest / f"{name}.parquet")
    # evaluate refuses a manifest without the content hash the build would record
    meta = {
        "name": "bench",
        "content_hash": manifest_content_hash(tables),
        "sources": {"megadepth": {"root": str(root / "megadepth")}},
    }
    (manifest / "manifest.json").write_text(json.dumps(meta))
    return manifest


def harness_overhead(n_images: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        manifest = make_world(Path(tmp), n_images)
        start = time.perf_counter()
        run = evaluate(EvaluateConfig("sift"), manifest, out=Path(tmp) / "run", write_plots=False)
        wall = time.perf_counter() - start
        per_pair = pd.read_parquet(run / "per_pair.parquet")
        summary = json.loads((run / "summary.json").read_text())
    n_pairs = len(per_pair)
    method_s = float(per_pair["time_s"].sum())
    overhead = (wall - method_s) / n_pairs
    return {
        "pairs": n_pairs,
        "sift_keypoints_mean": float(per_pair[["n_keypoints0", "n_keypoints1"]].mean().mean()),
        "sift_ms_per_pair": 1000 * method_s / n_pairs,
        "harness_ms_per_pair": 1000 * overhead,
        "harness_over_sift": overhead / (method_s / n_pairs),
        "precision_3px": summary["metrics"]["precision_3px"]["value"],
    }


def metric_rate(n_pairs: int, seed: int = 0) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    R, t = _rotation(rng, 4.0), np.array([0.3, -0.1, 0.1])
    # a non-planar scene for the pose (a plane is degenerate for the essential matrix)
    points = rng.uniform([-4, -3, 6], [4, 3, 14], (500, 3))
    pixels0 = points @ K.T
    pixels0 = pixels0[:, :2] / pixels0[:, 2:]
    pixels1 = (points @ R.T + t) @ K.T
    pixels1 = pixels1[:, :2] / pixels1[:, 2:]
    outliers = rng.random(500) < 0.3
    pixels1[outliers] = rng.uniform([0, 0], [WIDTH - 1, HEIGHT - 1], (outliers.sum(), 2))
    matches = np.stack([np.arange(500), np.arange(500)], axis=1)
    depth0, depth1 = _depth(np.eye(3), np.zeros(3)), _depth(R, t)
    plane1 = (
        np.concatenate([pixels0, np.ones((500, 1))], 1) @ _homography(R, t).T
    )  # matches on the plane for the depth test
    plane1 = plane1[:, :2] / plane1[:, 2:]
    geometry = PairGeometry(K, K, np.eye(3), np.zeros(3), R, t, depth0, depth1)
    start = time.perf_counter()
    for _ in range(n_pairs):
        match_metrics(pixels0, plane1, matches, geometry)
    match_rate = n_pairs / (time.perf_counter() - start)
    n_pose = max(50, n_pairs // 10)
    start = time.perf_counter()
    for _ in range(n_pose):
        pose_errors(pixels0, pixels1, matches, geometry)
    pose_rate = n_pose / (time.perf_counter() - start)
    per_pair, per_image = _synthetic_results(rng, n_pairs)
    start = time.perf_counter()
    summarize(per_pair, per_image, n_boot=1000, seed=0)
    summary_s = time.perf_counter() - start
    return {
        "match_metrics_pairs_per_s": match_rate,
        "pose_pairs_per_s": pose_rate,
        "summary_s_for_pairs": summary_s,
        "summary_pairs_per_s": n_pairs / summary_s,
        "combined_pairs_per_s": 1 / (1 / match_rate + 1 / pose_rate + summary_s / n_pairs),
    }


def _synthetic_results(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    verifiable = rng.integers(50, 400, n)
    per_pair = pd.DataFrame(
        {
            "pair_id": [f"p{i}" for i in range(n)],
            "status": "ok",
            "overlap_bin": rng.choice(["0.1-0.3", "0.3-0.5", "0.5-0.7"], n),
            "has_depth": True,
            "n_matches": verifiable + 20,
            "n_verifiable": verifiable,
            "n_reprojectable": verifiable * 2,
            "verifiable_fraction": verifiable / (verifiable + 20),
            "matching_score_3px": rng.random(n),
            "pose_error_deg": rng.exponential(10, n),
        }
    )
    for threshold in (1, 2, 3, 5, 10):
        correct = rng.binomial(verifiable, min(0.95, 0.3 + threshold / 12))
        per_pair[f"n_correct_{threshold}px"] = correct
        per_pair[f"precision_{threshold}px"] = correct / verifiable
    n_images = n // 2
    per_image = pd.DataFrame({"image_id": [f"i{i}" for i in range(n_images)], "status": "ok"})
    for span in CLASS_SPANS:
        classes = {"season": 4, "month": 12, "week": 52, "hour": 24}[span]
        per_image[f"true_{span}"] = pd.array(rng.integers(0, classes, n_images), dtype="Int64")
        per_image[f"pred_{span}"] = pd.array(rng.integers(0, classes, n_images), dtype="Int64")
        per_pair[f"true_same_{span}"] = pd.array(rng.random(n) < 0.3, dtype="boolean")
        per_pair[f"pred_same_{span}"] = pd.array(rng.random(n) < 0.3, dtype="boolean")
    return per_pair, per_image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=7, help="plane images (pairs = n(n-1)/2)")
    parser.add_argument("--pairs", type=int, default=2000, help="pairs for the metric rate")
    args = parser.parse_args()
    overhead = harness_overhead(args.images)
    print("harness overhead (SIFT 2k, 640x480):")
    for key, value in overhead.items():
        print(f"  {key:24s} {value:10.3f}")
    print(
        f"  -> harness / SIFT time = {100 * overhead['harness_over_sift']:.1f} % (target <= 10 %)"
    )
    rates = metric_rate(args.pairs)
    print(f"metric computation ({args.pairs} pairs):")
    for key, value in rates.items():
        print(f"  {key:26s} {value:10.1f}")


if __name__ == "__main__":
    main()
