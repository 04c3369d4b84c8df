"""Validation-style numbers of trained weights on a manifest split, next to the untrained model.

Uses the training's validation code (:func:`stbench.model.validate.validate`):
``val_crop_precision_3px`` of mutual-NN matches on centre crops of ``spatial``/``spatiotemporal``
pairs, and per span top-1 accuracy and MSE (steps^2) on images with trusted labels. The baseline
of the comparison is the same architecture untrained (seed 0), run in the same process on the
same samples. The full evaluation (SIFT, the colour-statistics baseline, bootstrap intervals) is
``stbench evaluate``.

Run::

    nice python -m benchmarks.reference_numbers --weights DIR_OR_FILE --manifest DIR \\
        [--split test] [--max-pairs 64] [--max-images 400]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from stbench.manifest.io import load_manifest
from stbench.model.checkpoint import load_weights
from stbench.model.data import PairDataset, TemporalDataset
from stbench.model.network import SpatioTemporalMatcher
from stbench.model.validate import validate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--max-pairs", type=int, default=64)
    parser.add_argument("--max-images", type=int, default=400)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, meta = load_weights(args.weights)
    manifest = load_manifest(args.manifest)
    inference = meta["inference"]
    pairs = PairDataset(
        manifest, args.split, inference["image_size"], random_crops=False, max_pairs=args.max_pairs
    )
    images = TemporalDataset(
        manifest,
        args.split,
        model.config.spans,
        inference["temporal_size"],
        random_crops=False,
        max_images=args.max_images,
    )
    torch.manual_seed(0)
    untrained = SpatioTemporalMatcher(model.config).eval()
    device = torch.device("cpu")
    results = {
        "untrained": validate(untrained, pairs, images, device),
        "trained": validate(model, pairs, images, device),
    }
    print(f"split {args.split}: {len(pairs)} pairs, {len(images)} labelled images")
    print(f"{'metric':<18}{'untrained':>12}{'trained':>12}")
    for key in results["trained"]:
        if key.startswith("n_"):
            continue
        print(f"{key:<18}{results['untrained'][key]:>12.3f}{results['trained'][key]:>12.3f}")


if __name__ == "__main__":
    main()
