"""What the reference matcher's fine stage costs per pair, side by side with the coarse matcher.

    PYTHONPATH=. python benchmarks/fine_stage.py --manifest manifests/benchmark --pairs 30

On the same geometric pairs of one split (a seeded sample), each pair is matched coarse
(``fine: none``) and then with the fine stage of the bundled weights' JSON (or ``--weights``),
alternately, so both see the same load. Prints CPU seconds per pair of each (``process_time``, one
thread), their difference and ratio, the share of matches the stage moved and the median move in
pixels, and the load average before and after. The images are decoded outside the timed calls.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--split", default="val")
    parser.add_argument("--pairs", type=int, default=30, help="pairs timed (seeded sample)")
    parser.add_argument("--weights", type=Path, default=None, help="default: the bundled ones")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import cv2
    import torch

    from stbench.imageio import read_image
    from stbench.manifest.io import load_manifest
    from stbench.model.inference import load_matcher

    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    manifest = load_manifest(args.manifest)
    pairs = manifest.pairs
    pairs = pairs[(pairs["split"] == args.split) & (pairs["kind"] != "temporal")]
    if pairs.empty:
        raise SystemExit(f"{args.manifest} has no geometric pairs in split {args.split!r}")
    pairs = pairs.sample(min(args.pairs, len(pairs)), random_state=args.seed)
    paths = manifest.images.set_index("image_id")["path"]
    root = manifest.root("megadepth")

    matcher = load_matcher(args.weights)
    fine = matcher.fine
    if not fine.active:
        raise SystemExit("the weights' inference block has the fine stage off; nothing to time")
    coarse = replace(fine, mode="none")
    seconds = {"coarse": [], "fine": []}
    moved, matched, moves = 0, 0, []
    load_before = os.getloadavg()
    for row in pairs.itertuples():
        image0 = read_image(root, paths[row.image_id0])
        image1 = read_image(root, paths[row.image_id1])
        outputs = {}
        for name, settings in (("coarse", coarse), ("fine", fine)):
            matcher.fine = settings
            started = time.process_time()
            outputs[name] = matcher.match(image0, image1)
            seconds[name].append(time.process_time() - started)
        j = outputs["fine"]["matches"][:, 1]
        shift = np.linalg.norm(
            outputs["fine"]["keypoints1"][j] - outputs["coarse"]["keypoints1"][j], axis=1
        )
        moved += int((shift > 0).sum())
        matched += len(j)
        moves.extend(shift[shift > 0].tolist())
    load_after = os.getloadavg()

    mean_coarse, mean_fine = np.mean(seconds["coarse"]), np.mean(seconds["fine"])
    print(f"{len(pairs)} {args.split} pairs of {args.manifest}; fine stage {fine.as_dict()}")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    print(f"coarse  {mean_coarse * 1000:7.1f} ms CPU per pair")
    print(f"fine    {mean_fine * 1000:7.1f} ms CPU per pair")
    print(f"stage   {(mean_fine - mean_coarse) * 1000:+7.1f} ms ({mean_fine / mean_coarse:.2f}x)")
    median = float(np.median(moves)) if moves else 0.0
    print(f"moved {moved / max(matched, 1):.1%} of {matched} matches, median move {median:.2f} px")


if __name__ == "__main__":
    main()
