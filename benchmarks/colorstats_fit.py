"""Where the colorstats baseline's time goes: decoding, colour statistics, forests, pickling.

Reads up to 2,000 labelled train frames and 600 test frames of a manifest (seeded choice, as the
evaluation does), then for each ``--leaf`` value fits :class:`stbench.methods.colorstats.ColorStats`
and prints CPU seconds of the fit (statistics + forests), the pickled size (what the evaluation
sends to each worker), the prediction time and the season / hour accuracy on the test frames.

Run:  PYTHONPATH=. python benchmarks/colorstats_fit.py --manifest DIR [--leaf 1,5]
"""

from __future__ import annotations

import argparse
import os
import pickle
import time

import numpy as np


def _items(manifest, split: str, limit: int) -> list:
    from stbench.imageio import read_image
    from stbench.spans import CLASS_SPANS

    images = manifest.images
    chosen = images[(images["split"] == split) & images[list(CLASS_SPANS)].notna().any(axis=1)]
    if len(chosen) > limit:
        keep = np.sort(np.random.default_rng(0).choice(len(chosen), limit, replace=False))
        chosen = chosen.iloc[keep]
    roots = {source: manifest.root(source) for source in chosen["source"].unique()}
    out = []
    for row in chosen.itertuples():
        labels = {s: int(getattr(row, s)) for s in CLASS_SPANS if not np.isnan(getattr(row, s))}
        out.append((read_image(roots[row.source], row.path), {}, labels))
    return out


def main() -> None:
    from stbench.manifest.verify import load_verified_manifest
    from stbench.methods.colorstats import ColorStats, color_features

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--leaf", default="1,5", help="min_samples_leaf values to compare")
    args = parser.parse_args()
    print(f"load (uptime): {os.getloadavg()[0]:.2f}")
    manifest = load_verified_manifest(args.manifest, command="benchmarks/colorstats_fit.py")
    start = time.process_time()
    train, test = _items(manifest, "train", 2000), _items(manifest, "test", 600)
    print(f"decode {len(train)} + {len(test)} frames: {time.process_time() - start:.2f} s CPU")
    start = time.process_time()
    for image, _, _ in train:
        color_features(image)
    print(f"colour statistics of the train frames: {time.process_time() - start:.2f} s CPU")
    for leaf in (int(v) for v in args.leaf.split(",")):
        method = ColorStats(min_samples_leaf=leaf)
        start = time.process_time()
        method.fit(train)
        fit_s = time.process_time() - start
        state = pickle.dumps(method)
        start = time.process_time()
        outputs = [method.predict_time(image, {}) for image, _, _ in test]
        predict_s = time.process_time() - start
        accuracy = {}
        for span in ("season", "hour"):
            hits = [
                np.argmax(output[span]) == labels[span]
                for output, (_, _, labels) in zip(outputs, test, strict=True)
                if span in labels
            ]
            accuracy[span] = float(np.mean(hits))
        print(
            f"min_samples_leaf={leaf}: fit {fit_s:.2f} s CPU, fitted method {len(state) / 1e6:.0f} MB,"
            f" {len(test)} predictions {predict_s:.2f} s CPU, season {accuracy['season']:.3f},"
            f" hour {accuracy['hour']:.3f}"
        )


if __name__ == "__main__":
    main()
