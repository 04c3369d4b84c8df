"""Summary of an SfM run: every metric with a 95 % bootstrap interval clustered by scene.

A scene is one cluster (its whole-scene row and all its span rows are resampled together).
Scene-level items are few, so an interval needs ``min_clusters`` scenes
(:class:`stbench.evaluate.clusters.ClusterSpec`, default 10) and is otherwise shown with the
note ``too few clusters``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from stbench.evaluate.clusters import ClusterSpec, cluster_codes
from stbench.evaluate.stats import estimate, mean_statistic, ratio_statistic, single_threaded_blas
from stbench.sfm.scene import ALL

__all__ = ["SfmMetric", "metrics_for", "scene_table", "summarize_sfm", "summary_table"]


@dataclass(frozen=True)
class SfmMetric:
    """A summary metric: a mean of ``columns[0]`` or a ratio of sums of two columns.

    ``rows`` selects the per-reconstruction rows it is computed on: ``all`` (whole scenes),
    ``spans`` (span-class reconstructions) or ``ok`` (whole scenes the mapper reconstructed).
    """

    name: str
    kind: str
    columns: tuple[str, ...]
    rows: str
    description: str


def metrics_for(spans: tuple[str, ...]) -> list[SfmMetric]:
    """The summary metrics of a run over ``spans`` (names are leaderboard columns)."""
    out = [
        SfmMetric(
            "sfm_registered",
            "ratio",
            ("n_registered", "n_images"),
            "all",
            "registered share of the scenes' images",
        ),
        SfmMetric("sfm_maa", "mean", ("maa",), "all", "pose mAA per scene (IMC thresholds)"),
        SfmMetric(
            "sfm_span_registered",
            "ratio",
            ("n_registered", "n_images"),
            "spans",
            "registered share in span-class reconstructions",
        ),
        SfmMetric(
            "sfm_span_maa", "mean", ("maa",), "spans", "pose mAA of span-class reconstructions"
        ),
        SfmMetric(
            "sfm_track_length",
            "mean",
            ("mean_track_length",),
            "ok",
            "mean track length (observations per 3D point)",
        ),
        SfmMetric(
            "sfm_reproj_px", "mean", ("mean_reproj_px",), "ok", "mean reprojection error in pixels"
        ),
    ]
    for span in spans:
        out += [
            SfmMetric(
                f"sfm_purity_{span}",
                "ratio",
                (f"pure_points_{span}", f"labelled_points_{span}"),
                "all",
                f"3D points whose images share one {span} class",
            ),
            SfmMetric(
                f"sfm_cross_edges_{span}",
                "ratio",
                (f"cross_edges_{span}", f"labelled_edges_{span}"),
                "all",
                f"accepted two-view edges across {span} classes",
            ),
            SfmMetric(
                f"sfm_cross_pairs_{span}",
                "ratio",
                (f"cross_pairs_{span}", f"labelled_pairs_{span}"),
                "all",
                f"matched pairs across {span} classes (the offer, for reference)",
            ),
        ]
    out += [
        SfmMetric("sfm_match_s", "mean", ("match_s",), "all", "method seconds per scene"),
        SfmMetric(
            "sfm_map_s",
            "mean",
            ("sfm_s",),
            "all",
            "verification + whole-scene mapping seconds per scene",
        ),
    ]
    return out


def _rows(per_scene: pd.DataFrame, which: str) -> pd.DataFrame:
    whole = per_scene["subset"] == ALL
    if which == "all":
        return per_scene[whole]
    if which == "spans":
        return per_scene[~whole]
    return per_scene[whole & (per_scene["status"] == "ok")]


def summarize_sfm(
    per_scene: pd.DataFrame, spans: tuple[str, ...], n_boot: int, seed: int, spec: ClusterSpec
) -> dict[str, dict[str, Any]]:
    """``{metric: Estimate.as_dict() + description}`` over the per-reconstruction rows."""
    per_scene = per_scene.assign(sfm_s=per_scene["verify_s"] + per_scene["map_s"])
    out = {}
    with single_threaded_blas():
        for metric in metrics_for(spans):
            rows = _rows(per_scene, metric.rows)
            missing = [c for c in metric.columns if c not in rows]
            if missing or rows.empty:
                columns = [np.zeros(0)] * len(metric.columns)
                codes = np.zeros(0, np.int64)
            else:
                values = rows[list(metric.columns)].astype(np.float64)
                rows = rows[np.isfinite(values).all(axis=1).to_numpy()]
                columns = [rows[c].to_numpy(np.float64) for c in metric.columns]
                codes = cluster_codes(rows["scene"], len(rows))
            statistic = mean_statistic if metric.kind == "mean" else ratio_statistic
            result = estimate(
                statistic,
                *columns,
                n_boot=n_boot,
                seed=seed,
                clusters=codes,
                min_items=spec.min_clusters,
                min_clusters=spec.min_clusters,
            )
            out[metric.name] = {**result.as_dict(), "description": metric.description}
    return out


def _number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def summary_table(metrics: dict[str, dict[str, Any]]) -> str:
    """A plain-text table of the summary (metric, value, 95 % interval, scenes, note)."""
    lines = [f"{'metric':<26} {'value':>8} {'95% CI':>17} {'n':>4} {'scenes':>6}  note"]
    for name, entry in metrics.items():
        interval = (
            f"[{_number(entry['ci_low'])}, {_number(entry['ci_high'])}]"
            if entry["ci_low"] is not None
            else "-"
        )
        lines.append(
            f"{name:<26} {_number(entry['value']):>8} {interval:>17} {entry['n']:>4} "
            f"{entry['n_clusters']:>6}  {entry['note'] or ''}"
        )
    return "\n".join(lines)


def scene_table(per_scene: pd.DataFrame) -> str:
    """One line per reconstruction: scene, subset, registered/images, mAA, points, times."""
    lines = [
        f"{'scene':<18} {'subset':<18} {'reg':>7} {'mAA':>6} {'points':>7} {'track':>6} "
        f"{'reproj':>6} {'match s':>8} {'map s':>7}  status"
    ]
    for row in per_scene.itertuples():
        lines.append(
            f"{row.scene:<18} {row.subset:<18} {f'{row.n_registered}/{row.n_images}':>7} "
            f"{row.maa:>6.3f} {row.n_points:>7} {row.mean_track_length:>6.2f} "
            f"{row.mean_reproj_px:>6.2f} {row.match_s:>8.1f} {row.map_s:>7.1f}  "
            f"{row.status}{': ' + row.reason if isinstance(row.reason, str) else ''}"
        )
    return "\n".join(lines)
