"""Reports of a run: summary.json, a one-row CSV, a Markdown table, PNG plots, a rich table.

The page of a whole board is :mod:`stbench.report.html` (``stbench report``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stbench.atomic import write_text_atomic
from stbench.evaluate.leaderboard import board_text, row_from_summary
from stbench.evaluate.spatial import THRESHOLDS_PX
from stbench.evaluate.summary import METRICS
from stbench.spans import CLASS_SPANS

__all__ = [
    "markdown",
    "print_summary",
    "summary_rows",
    "true_labels_of",
    "write_plots",
    "write_reports",
]


def _format(entry: dict | None, digits: int = 3) -> str:
    """``value [low, high]``, or ``value (n too small)`` / ``value (too few clusters)``."""
    if not entry or entry.get("value") is None:
        return "–"
    value = f"{entry['value']:.{digits}f}"
    if entry.get("ci_low") is not None and entry.get("ci_high") is not None:
        value += f" [{entry['ci_low']:.{digits}f}, {entry['ci_high']:.{digits}f}]"
    elif entry.get("note"):
        value += f" ({entry['note']})"
    return value


def summary_rows(summary: dict[str, Any]) -> list[tuple[str, str, int, int]]:
    """(metric, 'value [low, high]', n, clusters) for every metric that applies to the run."""
    rows = []
    for name in METRICS:
        entry = summary["metrics"].get(name)
        if entry and entry.get("n"):
            clusters = int(entry.get("n_clusters") or 0)
            rows.append((name, _format(entry), int(entry["n"]), clusters))
    return rows


def _cluster_tables(summary: dict[str, Any]) -> list[str]:
    """Markdown tables of point values per scene and per camera (no intervals: one cluster)."""
    lines: list[str] = []
    by_cluster = summary.get("by_cluster") or {}
    for kind, count in (("scene", "n_pairs"), ("camera", "n_images")):
        groups = by_cluster.get(kind) or {}
        if not groups:
            continue
        names = [k for k in next(iter(groups.values())) if k != count]
        lines += ["", f"## By {kind}", "", f"| {kind} | " + " | ".join(names) + f" | {count} |"]
        lines.append("| --- |" + " ---: |" * len(names) + " ---: |")
        for group, values in groups.items():
            cells = [_format({"value": (values.get(m) or {}).get("value")}) for m in names]
            lines.append(f"| {group} | " + " | ".join(cells) + f" | {values[count]} |")
    return lines


def markdown(summary: dict[str, Any]) -> str:
    """A Markdown report: header, metric table with intervals, and the overlap-bin breakdown."""
    lines = [
        f"# {summary['method']} on {summary['manifest']} ({summary['split']})",
        "",
        f"{summary['n_pairs']} pairs ({summary['n_matched_pairs']} matched), "
        f"{summary['n_images']} images; ms per pair: "
        + (f"{summary['ms_per_pair']:.1f}" if summary.get("ms_per_pair") else "–")
        + f"; stbench {summary['stbench_version']}, {summary['date']}.",
        "",
        _clusters_line(summary),
        *_composition_lines(summary),
        "",
        "| metric | value [95 % CI] | n | clusters |",
        "| --- | --- | ---: | ---: |",
    ]
    lines += [f"| {name} | {value} | {n} | {k} |" for name, value, n, k in summary_rows(summary)]
    bins = summary.get("by_overlap_bin") or {}
    if bins:
        names = ["precision_3px", "matching_score_3px", "pose_auc_10", "num_matches"]
        lines += ["", "## By overlap bin", "", "| bin | " + " | ".join(names) + " | n |"]
        lines.append("| --- |" + " --- |" * len(names) + " ---: |")
        for bin_name, metrics in bins.items():
            n = metrics.get("num_matches", {}).get("n", 0)
            lines.append(
                f"| {bin_name} | "
                + " | ".join(_format(metrics.get(m)) for m in names)
                + f" | {n} |"
            )
    lines += _cluster_tables(summary)
    return "\n".join(lines) + "\n"


def _composition_lines(summary: dict[str, Any]) -> list[str]:
    """For a composite run (``stbench compose``): where its matches and time come from."""
    composed = summary.get("composed_from")
    if not composed:
        return []
    lines = [
        "",
        f"Composite: matches of {composed['match']['method']} ({composed['match']['run']}).",
    ]
    for span in CLASS_SPANS:
        gate = (composed.get("time") or {}).get(span)
        if gate is None:
            continue
        choice = (composed.get("gate_choice") or {}).get(span)
        why = f", best on val: {choice['metric']} = {choice['value']:.3f}" if choice else ""
        lines.append(f"- {span}: time of {gate['method']} ({gate['run']}{why})")
    return lines


def _clusters_line(summary: dict[str, Any]) -> str:
    spec = summary.get("clusters") or {}
    return (
        f"Intervals resample clusters: images by {spec.get('images', '?')} "
        f"({spec.get('block_days', '?')}-day blocks), pairs by {spec.get('pairs', '?')}; "
        f"no interval below {spec.get('min_items', '?')} items or "
        f"{spec.get('min_clusters', '?')} clusters."
    )


def true_labels_of(per_image: pd.DataFrame | None) -> dict[str, np.ndarray]:
    """True span labels of a run's labelled images (for the chance levels), by span."""
    out: dict[str, np.ndarray] = {}
    if per_image is None:
        return out
    for span in CLASS_SPANS:
        column = f"true_{span}"
        if column in per_image.columns:
            out[span] = pd.to_numeric(per_image[column], errors="coerce").to_numpy(float)
    return out


def write_plots(
    summary: dict[str, Any], directory: Path, per_image: pd.DataFrame | None = None
) -> list[Path]:
    """``mma.png``, ``temporal.png`` (accuracy with chance lines, MSE / chance MSE) and
    ``confusion_<span>.png`` (counts and colour bar), titled with method, manifest and split.

    ``per_image`` (the run's per-image results) gives the majority-class chance levels; without
    it the chance accuracy is 1 / classes (:mod:`stbench.evaluate.chance`).
    """
    from stbench.evaluate import figures

    written = []
    metrics = summary["metrics"]
    series = [(str(summary["method"]), metrics)]
    where = (summary.get("method"), summary.get("manifest"), summary.get("split"))
    directory.mkdir(parents=True, exist_ok=True)
    if figures.has_values(series, [f"precision_{t}px" for t in THRESHOLDS_PX]):
        figure = figures.mma_figure(series, figures.title_of("MMA", *where))
        written.append(figures.save_png(figure, directory / "mma.png"))
    spans = [s for s in CLASS_SPANS if (metrics.get(f"time_accuracy_{s}") or {}).get("n")]
    if spans:
        figure = figures.temporal_figure(
            series, spans, figures.title_of("Time", *where), true_labels_of(per_image)
        )
        written.append(figures.save_png(figure, directory / "temporal.png"))
    for span, matrix in (summary.get("confusion") or {}).items():
        title = figures.title_of(f"{span} confusion", *where)
        figure = figures.confusion_figure(np.asarray(matrix), span, title)
        written.append(figures.save_png(figure, directory / f"confusion_{span}.png"))
    return written


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if not np.isfinite(value) else float(value)
    return str(value)


def _clean(value: Any) -> Any:
    """JSON-safe copy: NaN/inf floats become None, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def write_reports(
    summary: dict[str, Any],
    per_pair: pd.DataFrame,
    per_image: pd.DataFrame,
    run_dir: Path,
    with_plots: bool = True,
) -> None:
    """Write summary.json, summary.csv, summary.md and plots/ into ``run_dir`` (atomically)."""
    text = json.dumps(_clean(summary), indent=2, sort_keys=True, default=_json_default)
    write_text_atomic(run_dir / "summary.json", text + "\n")
    write_text_atomic(run_dir / "summary.csv", board_text([row_from_summary(summary)]))
    write_text_atomic(run_dir / "summary.md", markdown(summary))
    if with_plots:
        write_plots(summary, run_dir / "plots", per_image)


def print_summary(summary: dict[str, Any]) -> None:
    """A rich table of the run's metrics on the terminal (k = clusters)."""
    from rich.console import Console
    from rich.table import Table

    name, _, content_hash = str(summary["manifest"]).partition("@")
    manifest = f"{name}@{content_hash[:8]}" if content_hash else name
    table = Table(title=f"{summary['method']} · {manifest} · {summary['split']} (k = clusters)")
    table.add_column("metric")
    table.add_column("value [95 % CI]", justify="right")
    table.add_column("n", justify="right")
    table.add_column("k", justify="right")
    for name, value, n, clusters in summary_rows(summary):
        table.add_row(name, value, str(n), str(clusters))
    Console().print(table)
