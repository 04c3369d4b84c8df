"""``stbench manifest stats``: counts by split / kind / bin / span, and histograms as PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stbench.manifest.io import Manifest
from stbench.spans import SPANS

__all__ = ["manifest_stats", "write_plots"]


def _crosstab(rows: pd.Series, columns: pd.Series) -> dict[str, dict[str, int]]:
    table = pd.crosstab(rows.fillna("null"), columns.fillna("null"))
    return {str(r): {str(c): int(table.loc[r, c]) for c in table.columns} for r in table.index}


def manifest_stats(manifest: Manifest) -> dict[str, Any]:
    """Counts of a manifest.

    Returns:
        dict with ``images`` (by source x split, trusted times by source), ``pairs`` (by kind x
        split, by overlap bin x split), ``spans`` (per span and pair kind: same / different /
        unknown counts) and ``rejects`` (by stage x reason).
    """
    images, pairs, rejects = manifest.images, manifest.pairs, manifest.rejects
    trusted = images[list(SPANS)].notna().any(axis=1)
    spatial = pairs[pairs["kind"] != "temporal"]
    spans: dict[str, dict[str, dict[str, int]]] = {}
    for name in SPANS:
        same = pairs[f"same_{name}"].astype("boolean")
        state = np.where(same.isna(), "unknown", np.where(same.fillna(False), "same", "different"))
        spans[name] = _crosstab(pairs["kind"], pd.Series(state, index=pairs.index))
    return {
        "images": {
            "total": len(images),
            "by_source_split": _crosstab(images["source"], images["split"]),
            "trusted_time_by_source": {
                str(k): int(v) for k, v in trusted.groupby(images["source"]).sum().items()
            },
        },
        "pairs": {
            "total": len(pairs),
            "by_kind_split": _crosstab(pairs["kind"], pairs["split"]),
            "by_overlap_bin_split": _crosstab(spatial["overlap_bin"], spatial["split"]),
        },
        "spans": spans,
        "rejects": {
            "total": len(rejects),
            "by_stage_reason": _crosstab(rejects["stage"], rejects["reason"]),
        },
    }


def write_plots(manifest: Manifest, out_dir: str | Path) -> list[Path]:
    """Histograms as PNG: overlaps of depth-verified pairs, time gaps of temporal pairs, and
    the local hour / month of trusted images. Returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    pairs = manifest.pairs

    def save(figure, name: str) -> None:
        path = out_dir / name
        figure.tight_layout()
        figure.savefig(path, dpi=100)
        plt.close(figure)
        written.append(path)

    spatial = pairs[pairs["kind"] != "temporal"]
    figure, axis = plt.subplots(figsize=(6, 4))
    low = np.fmin(
        spatial["depth_overlap_01"].astype(float), spatial["depth_overlap_10"].astype(float)
    )
    for split, values in low.groupby(spatial["split"]):
        axis.hist(
            values.dropna(), bins=np.linspace(0, 1, 21), alpha=0.6, label=f"{split} ({len(values)})"
        )
    axis.set(
        xlabel="min(depth_overlap_01, depth_overlap_10)",
        ylabel="pairs",
        title="Depth-verified pairs",
    )
    if len(spatial):
        axis.legend()
    save(figure, "overlap_hist.png")

    figure, axis = plt.subplots(figsize=(6, 4))
    for kind, group in pairs[pairs["dt_seconds"].notna()].groupby("kind"):
        days = np.abs(group["dt_seconds"].astype(float)) / 86400.0
        axis.hist(np.log10(days + 1e-3), bins=40, alpha=0.6, label=f"{kind} ({len(group)})")
    axis.set(xlabel="log10(|dt| in days + 0.001)", ylabel="pairs", title="Time gap of pairs")
    if pairs["dt_seconds"].notna().any():
        axis.legend()
    save(figure, "dt_hist.png")

    images = manifest.images
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for axis, span in zip(axes, ("hour", "month"), strict=True):
        n = SPANS[span].n_classes or 1
        for source, group in images[images[span].notna()].groupby("source"):
            axis.hist(
                group[span].astype(int),
                bins=np.arange(n + 1) - 0.5,
                alpha=0.6,
                label=f"{source} ({len(group)})",
            )
        axis.set(
            xlabel=f"{span} label (local time)", ylabel="images", title=f"Trusted images by {span}"
        )
        if images[span].notna().any():
            axis.legend()
    save(figure, "time_hist.png")
    return written
