"""Score webcam indexing against a synthetic world's fault sidecar.

    PYTHONPATH=. nice python benchmarks/webcam_faults.py WORLD [--workers 2]

WORLD is a directory written by ``stbench synth`` (``webcams/`` and ``truth/``). Prints the
detection numbers of :func:`stbench.webcams.evaluate.score_webcams` and, per injected clock fault,
the median correction applied vs the naming error.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

from stbench.parallel import process_pool
from stbench.webcams import WebcamConfig, index_camera, list_cameras
from stbench.webcams.evaluate import CLOCK_KINDS, load_truth, score_webcams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("world", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    root = args.world / "webcams"
    cameras = list_cameras(root)
    start = time.perf_counter()
    with process_pool(args.workers) as pool:
        results = list(
            pool.map(index_camera, [root] * len(cameras), cameras, [WebcamConfig()] * len(cameras))
        )
    elapsed = time.perf_counter() - start
    images = pd.concat([r.images for r in results], ignore_index=True)
    rejects = pd.concat([r.rejects for r in results], ignore_index=True)
    truth = load_truth(args.world)
    print(
        f"{len(cameras)} cameras, {len(images)} frames indexed in {elapsed:.0f} s "
        f"({len(images) / elapsed:.0f} frames/s, {args.workers} workers)"
    )
    print("rejects:", rejects["reason"].value_counts().to_dict())
    print(json.dumps(score_webcams(images, truth), indent=1))
    faults = pd.read_parquet(args.world / "truth" / "webcam_faults.parquet")
    merged = truth.merge(images, on="path")
    for fault in faults[faults["kind"].isin(CLOCK_KINDS)].itertuples():
        inside = merged[
            (merged["camera_id"] == fault.camera_id)
            & (merged["capture_time_utc"] >= fault.start_utc)
            & (merged["capture_time_utc"] < fault.end_utc)
        ]
        applied = inside["clock_offset_s"].median() / 60
        print(
            f"{fault.camera_id} {fault.kind:12s} amount {fault.amount_s / 60:+7.1f} min: "
            f"median correction {applied:+7.1f} min, median naming error "
            f"{inside['name_error_s'].median() / 60:+7.1f} min, {len(inside)} frames"
        )


if __name__ == "__main__":
    main()
