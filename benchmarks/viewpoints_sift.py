"""SIFT figures of benchmark towns rendered with ``spread`` and with ``popular`` viewpoints.

Builds a reduced world in which each named benchmark test town is rendered twice, once per
:data:`stbench.synth.views.VIEWPOINTS` mode (``spread`` keeps the scene id, ``popular`` gets the
id with a leading 9), runs ``benchmarks/world_sift.py`` on it and prints per scene: depth-verified
test pairs, median verifiable matches, the share below 5 and mean precision at 1/3/10 px. The
temporary preset lives only in this process (``stbench.synth.world.PRESETS`` is not changed on disk).

Run (about 25 min on 2 loaded cores for two towns of 40 views):
``python benchmarks/viewpoints_sift.py --scenes 5206,5204 --views 40 --work /tmp/viewpoints``
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["main", "per_scene"]

PRESET = "viewpoints-check"


def per_scene(work: Path) -> pd.DataFrame:
    """Per-scene figures of the run under ``work`` (test pairs with metric depth)."""
    rows = pd.read_parquet(work / "run" / "per_pair.parquet")
    rows = rows[(rows["status"] == "ok") & rows["has_depth"].astype(bool)]
    by = rows.groupby("scene")
    return pd.DataFrame(
        {
            "pairs": by.size(),
            "median_verifiable": by["n_verifiable"].median(),
            "below_5": by["n_verifiable"].apply(lambda v: float(np.mean(v < 5))).round(3),
            **{f"P@{t}px": by[f"precision_{t}px"].mean().round(3) for t in (1, 3, 10)},
        }
    )


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", required=True, help="benchmark test scene ids, comma-separated")
    parser.add_argument("--views", type=int, default=40)
    parser.add_argument("--work", required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    from stbench.synth import world
    from stbench.synth.sites import site_by_name

    bench = {spec.scene: spec for spec in world.PRESETS["benchmark"]}
    specs = []
    for scene in args.scenes.split(","):
        if scene not in bench or site_by_name(bench[scene].site).split != "test":
            raise SystemExit(f"--scenes: {scene!r} is not a test scene of the benchmark preset")
        base = bench[scene]
        specs.append(replace(base, n_views=args.views, viewpoints="spread"))
        specs.append(replace(base, scene="9" + scene[1:], n_views=args.views, viewpoints="popular"))
    world.PRESETS[PRESET] = tuple(specs)

    sys.path.insert(0, str(Path(__file__).parent))
    import world_sift

    work = Path(args.work)
    world_sift.main(["--preset", PRESET, "--work", str(work), "--workers", str(args.workers)])
    table = per_scene(work)
    print(table.to_string())
    return table


if __name__ == "__main__":
    main()
