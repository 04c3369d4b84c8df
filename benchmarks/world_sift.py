"""SIFT figures of a synthetic world's test pairs: how much matching signal the scenes carry.

Builds (or takes) a world, indexes its MegaDepth part into a manifest whose test scenes are the
scenes of the world's test sites (``world.json``: each scene's site, each site's split; worlds
without site splits keep the manifest's default test scenes), evaluates the ``sift`` method on
the test split with the project's own harness (``stbench.evaluate.run.evaluate``: same keypoints,
matching, depth warp and precision as ``stbench evaluate --method sift``) and prints, over the
test pairs with metric depth:

- median verifiable matches per pair and the share of pairs with fewer than 5;
- mean (over pairs) and pooled (correct / verifiable over all pairs) precision at 1/2/3/5/10 px.

Run:
``python benchmarks/world_sift.py --preset default --work /tmp/world-sift`` (builds the world), or
``python benchmarks/world_sift.py --world $STBENCH_HOME/worlds/default-seed0 --work /tmp/ws``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from stbench.evaluate.spatial import THRESHOLDS_PX

__all__ = ["main", "sift_figures", "world_splits"]


def world_splits(world: Path) -> dict[str, list[str]] | None:
    """``{"test": [...], "val": [...]}`` scene ids by their site's split; None without splits."""
    meta = json.loads((world / "world.json").read_text())
    split_of = {site["name"]: site.get("split") for site in meta["sites"]}
    if not all(split_of.values()):
        return None
    out: dict[str, list[str]] = {"test": [], "val": []}
    for scene in meta["scenes"]:
        split = split_of[scene["site"]]
        if split in out:
            out[split].append(scene["scene"])
    return out


def sift_figures(per_pair: pd.DataFrame) -> dict[str, float]:
    """The figures of an evaluation's ``per_pair`` table (matched pairs with metric depth)."""
    rows = per_pair[(per_pair["status"] == "ok") & per_pair["has_depth"].astype(bool)]
    if rows.empty:
        raise SystemExit("no test pair was scored against depth: nothing to report")
    verifiable = rows["n_verifiable"].to_numpy(dtype=float)
    out: dict[str, float] = {
        "pairs": float(len(rows)),
        "median_matches": float(np.median(rows["n_matches"])),
        "median_verifiable": float(np.median(verifiable)),
        "share_below_5": float(np.mean(verifiable < 5)),
    }
    for t in THRESHOLDS_PX:
        out[f"mean_precision_{t}px"] = float(np.nanmean(rows[f"precision_{t}px"]))
        out[f"pooled_precision_{t}px"] = float(
            rows[f"n_correct_{t}px"].sum() / max(verifiable.sum(), 1.0)
        )
    return out


def _world(args: argparse.Namespace) -> Path:
    if args.world is not None:
        return Path(args.world)
    from stbench.synth.config import WorldConfig
    from stbench.synth.world import generate_world

    out = Path(args.work) / f"world-{args.preset}-seed{args.seed}"
    if (out / "world.json").exists():
        return out
    start_cpu, start = time.process_time(), time.perf_counter()
    generate_world(
        WorldConfig(args.preset, args.seed, webcams=False),
        out,
        overwrite=True,
        workers=args.workers,
    )
    print(
        f"world built in {time.perf_counter() - start:.0f} s wall "
        f"(main process CPU {time.process_time() - start_cpu:.0f} s; workers not counted)"
    )
    return out


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--world", help="an existing world directory (else one is built)")
    parser.add_argument("--preset", default="default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", required=True, help="scratch directory (manifest, run)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--max-keypoints", type=int, default=4000)
    parser.add_argument("--ratio", type=float, default=0.8)
    args = parser.parse_args(argv)

    from stbench.evaluate.config import EvaluateConfig
    from stbench.evaluate.run import evaluate
    from stbench.manifest.build import build_manifest
    from stbench.manifest.config import BuildConfig, SplitConfig

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    world = _world(args)
    splits = SplitConfig()
    by_site = world_splits(world)
    if by_site is not None:
        splits = SplitConfig(megadepth_test=by_site["test"], megadepth_val=by_site["val"])
    config = BuildConfig(name="world-sift", megadepth_root=str(world / "megadepth"), splits=splits)
    manifest = build_manifest(config, work / "manifest", overwrite=True, workers=args.workers)
    run = evaluate(
        EvaluateConfig(
            "sift",
            method_options={"max_keypoints": args.max_keypoints, "ratio": args.ratio},
            split="test",
            workers=args.workers,
            n_bootstrap=50,
        ),
        manifest,
        work / "run",
        overwrite=True,
        write_plots=False,
    )
    figures = sift_figures(pd.read_parquet(run / "per_pair.parquet"))
    print(f"world {world}  test scenes {', '.join(splits.megadepth_test)}")
    print(
        f"SIFT {args.max_keypoints} keypoints, ratio {args.ratio}: {figures['pairs']:.0f} test "
        f"pairs, median {figures['median_verifiable']:.0f} verifiable matches "
        f"(median {figures['median_matches']:.0f} matches), "
        f"{100 * figures['share_below_5']:.0f} % of pairs below 5"
    )
    print("threshold  " + "  ".join(f"{t:>5d}px" for t in THRESHOLDS_PX))
    for kind in ("mean", "pooled"):
        values = "  ".join(f"{figures[f'{kind}_precision_{t}px']:7.3f}" for t in THRESHOLDS_PX)
        print(f"{kind:<9}  {values}")
    return figures


if __name__ == "__main__":
    main()
