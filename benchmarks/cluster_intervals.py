"""Naive vs clustered 95 % intervals of evaluation runs: how much wider clustering makes them.

Re-summarises each run's per-pair / per-image results twice: with every item its own cluster
(the naive bootstrap) and with the run's ``cluster`` column (camera x 14 days for images, scene
for pairs by default), and prints both intervals, their width ratio and the number of clusters.
Minimums are disabled here so that both intervals are shown even where the board would say
"too few clusters".

    PYTHONPATH=. python benchmarks/cluster_intervals.py RUN_DIR [RUN_DIR ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from stbench.evaluate.clusters import ClusterSpec
from stbench.evaluate.summary import summarize

SHOWN = (
    "precision_3px",
    "precision_pooled_3px",
    "pose_auc_10",
    "time_accuracy_season",
    "time_accuracy_month",
    "time_accuracy_hour",
    "same_f1_season",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--bootstrap", type=int, default=1000)
    args = parser.parse_args()
    no_minimum = ClusterSpec(min_items=1, min_clusters=1)
    for run in args.runs:
        per_pair = pd.read_parquet(run / "per_pair.parquet")
        per_image = pd.read_parquet(run / "per_image.parquet")
        clustered = summarize(per_pair, per_image, args.bootstrap, 0, no_minimum)["metrics"]
        naive = summarize(
            per_pair.drop(columns="cluster", errors="ignore"),
            per_image.drop(columns="cluster", errors="ignore"),
            args.bootstrap,
            0,
            no_minimum,
        )["metrics"]
        print(f"\n{run}")
        print(f"{'metric':24} {'value':>6} {'naive 95 % CI':>17} {'clustered':>17} {'ratio':>6} k")
        for metric in SHOWN:
            a, b = naive.get(metric) or {}, clustered.get(metric) or {}
            if a.get("ci_low") is None or b.get("ci_low") is None:
                continue
            width_a, width_b = a["ci_high"] - a["ci_low"], b["ci_high"] - b["ci_low"]
            ratio = width_b / width_a if width_a > 0 else float("nan")
            print(
                f"{metric:24} {a['value']:6.3f} [{a['ci_low']:.3f}, {a['ci_high']:.3f}] "
                f"[{b['ci_low']:.3f}, {b['ci_high']:.3f}] {ratio:6.2f} {b['n_clusters']}"
            )


if __name__ == "__main__":
    main()
