"""Figures of runs and boards, drawn on matplotlib's Agg canvas.

No ``pyplot`` and no ``matplotlib.use``: each figure is a :class:`matplotlib.figure.Figure`
with its own Agg canvas, so importing or calling this module changes no global state (the
caller's backend, rcParams and open figures are left alone). matplotlib is imported inside the
functions.

An *entry* is a metric's ``{"value", "ci_low", "ci_high"}`` (a run summary's format); a
*series* is ``(name, {metric: entry})``, one per method.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from stbench.atomic import atomic_path
from stbench.evaluate.chance import chance_accuracy, chance_mse
from stbench.evaluate.spatial import MATCHING_SCORE_PX, THRESHOLDS_PX
from stbench.spans import SEASON_NAMES, get_span

__all__ = [
    "MATCH_COLOURS",
    "confusion_figure",
    "draw_accuracy",
    "draw_mse",
    "has_values",
    "jpeg_bytes",
    "match_figure",
    "mma_figure",
    "new_figure",
    "png_bytes",
    "save_png",
    "temporal_figure",
    "title_of",
]


Entry = dict[str, Any]
Series = tuple[str, dict[str, Entry]]

#: Colours of match lines (hloc / LightGlue convention: green right, red wrong).
MATCH_COLOURS = {"correct": "#1a9641", "wrong": "#d7191c", "unverifiable": "#2b83ba"}


def new_figure(width: float, height: float) -> Any:
    """A figure with its own Agg canvas (no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def png_bytes(figure: Any, dpi: int = 100) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def jpeg_bytes(figure: Any, dpi: int = 100, quality: int = 85) -> bytes:
    """The figure as JPEG bytes (photographs: match pictures are ~10x smaller than PNG)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="jpeg", dpi=dpi, pil_kwargs={"quality": quality})
    return buffer.getvalue()


def save_png(figure: Any, path: Path) -> Path:
    """Write the figure to ``path`` as PNG, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(png_bytes(figure))
    return path


def title_of(what: str, method: str | None, manifest: str | None, split: str | None) -> str:
    """``what — method · manifest@hash8 · split`` (parts that are None are left out)."""
    parts = []
    if method:
        parts.append(method)
    if manifest:
        name, _, content_hash = str(manifest).partition("@")
        parts.append(f"{name}@{content_hash[:8]}" if content_hash else name)
    if split:
        parts.append(split)
    return f"{what} — {' · '.join(parts)}" if parts else what


def _number(value: Any) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _triple(entry: Entry | None) -> tuple[float, float, float]:
    entry = entry or {}
    return _number(entry.get("value")), _number(entry.get("ci_low")), _number(entry.get("ci_high"))


def has_values(series: Sequence[Series], metrics: Sequence[str]) -> bool:
    """Whether any series has a value for any of ``metrics``."""
    return any(not math.isnan(_triple(e.get(m))[0]) for _, e in series for m in metrics)


def mma_figure(series: Sequence[Series], title: str) -> Any:
    """Precision (MMA) against the pixel threshold, one line per method with its 95 % band."""
    figure = new_figure(5.5, 3.6)
    axis = figure.add_subplot()
    for name, entries in series:
        triples = np.array([_triple(entries.get(f"precision_{t}px")) for t in THRESHOLDS_PX])
        if np.isnan(triples[:, 0]).all():
            continue
        (line,) = axis.plot(THRESHOLDS_PX, triples[:, 0], marker="o", label=name)
        axis.fill_between(
            THRESHOLDS_PX, triples[:, 1], triples[:, 2], color=line.get_color(), alpha=0.2
        )
    axis.axvline(MATCHING_SCORE_PX, color="grey", linestyle=":", linewidth=1)
    axis.set(
        xlabel="threshold (px)",
        ylabel="precision (MMA)",
        ylim=(0, 1.02),
        xticks=list(THRESHOLDS_PX),
        title=title,
    )
    axis.grid(alpha=0.3)
    axis.legend(loc="lower right", fontsize="small")
    return figure


def _grouped_bars(
    axis: Any, series: Sequence[Series], spans: Sequence[str], metric: str, scale: dict[str, float]
) -> None:
    width = 0.8 / max(len(series), 1)
    positions = np.arange(len(spans), dtype=float)
    for index, (name, entries) in enumerate(series):
        triples = np.array([_triple(entries.get(f"{metric}_{s}")) for s in spans]).reshape(-1, 3)
        factor = np.array([scale.get(s, 1.0) for s in spans])
        values, low, high = (triples[:, k] / factor for k in range(3))
        errors = np.clip(np.nan_to_num(np.stack([values - low, high - values]), nan=0.0), 0, None)
        offsets = positions - 0.4 + width * (index + 0.5)
        axis.bar(offsets, values, width, yerr=errors, capsize=2, label=name)
    axis.set_xticks(positions, list(spans))


def draw_accuracy(
    axis: Any,
    series: Sequence[Series],
    spans: Sequence[str],
    true_labels: dict[str, np.ndarray] | None = None,
) -> None:
    """Accuracy per span (one bar per method, 95 % interval as error bar) with each span's
    chance level as a dashed line (:func:`stbench.evaluate.chance.chance_accuracy`)."""
    _grouped_bars(axis, series, spans, "time_accuracy", {})
    how = set()
    for position, span in enumerate(spans):
        level, source = chance_accuracy(span, (true_labels or {}).get(span))
        how.add(source)
        axis.hlines(level, position - 0.45, position + 0.45, colors="black", linestyles="--")
    axis.plot([], [], "k--", label=f"chance ({', '.join(sorted(how))})")
    axis.set(ylabel="accuracy", ylim=(0, 1.3), xlabel="span", title="accuracy per span")
    axis.set_yticks(np.linspace(0, 1, 6))
    axis.legend(loc="upper center", ncol=2, fontsize="small")


def draw_mse(axis: Any, series: Sequence[Series], spans: Sequence[str]) -> None:
    """MSE per span divided by its chance MSE (:func:`stbench.evaluate.chance.chance_mse`), so
    spans of different scales share one axis: 1 = chance (dashed), 0 = perfect. The chance
    MSE in steps² is printed under each span."""
    scale = {s: chance_mse(s) for s in spans}
    _grouped_bars(axis, series, spans, "time_mse", scale)
    axis.axhline(1.0, color="black", linestyle="--", label="chance (uniform guess)")
    labels = [f"{s}\n{scale[s]:.3g}" for s in spans]
    axis.set_xticks(np.arange(len(spans)), labels)
    axis.set(
        ylabel="MSE / chance MSE",
        xlabel="span (chance MSE, steps²)",
        title="MSE per span, normalised",
    )
    top = max(1.0, axis.get_ylim()[1])
    axis.set_ylim(0, top * 1.3)  # headroom for the legend
    axis.legend(loc="upper center", ncol=2, fontsize="small")


def temporal_figure(
    series: Sequence[Series],
    spans: Sequence[str],
    title: str,
    true_labels: dict[str, np.ndarray] | None = None,
) -> Any:
    """Two panels: :func:`draw_accuracy` and :func:`draw_mse`."""
    figure = new_figure(max(8.0, 2.2 * len(spans) + 3.0), 3.6)
    left, right = figure.subplots(1, 2)
    draw_accuracy(left, series, spans, true_labels)
    draw_mse(right, series, spans)
    figure.suptitle(title)
    return figure


def confusion_figure(matrix: np.ndarray, span: str, title: str) -> Any:
    """A confusion matrix counts[true, predicted] with the count in each cell and a colour
    bar (cells too small to read at 24 or 52 classes show no numbers; the bar still reads)."""
    matrix = np.asarray(matrix, dtype=np.int64)
    n = len(matrix)
    size = 4.2 if n <= 12 else 6.5
    figure = new_figure(size + 1.0, size)
    axis = figure.add_subplot()
    image = axis.imshow(matrix, cmap="Blues", vmin=0, interpolation="nearest")
    from matplotlib.ticker import MaxNLocator

    bar = figure.colorbar(image, ax=axis, label="images", shrink=0.85)
    bar.locator = MaxNLocator(integer=True)
    bar.update_ticks()
    names = list(SEASON_NAMES) if span == "season" else [str(k) for k in range(n)]
    step = 1 if n <= 24 else 4
    ticks = list(range(0, n, step))
    axis.set_xticks(ticks, [names[k] for k in ticks], rotation=45 if span == "season" else 0)
    axis.set_yticks(ticks, [names[k] for k in ticks])
    axis.tick_params(labelsize="small")
    if n <= 24:
        peak = matrix.max() if matrix.size else 0
        for (row, column), count in np.ndenumerate(matrix):
            if count:
                colour = "white" if count > peak / 2 else "black"
                axis.text(
                    column,
                    row,
                    str(count),
                    ha="center",
                    va="center",
                    color=colour,
                    fontsize="small" if n <= 12 else 6,
                )
    accuracy = np.trace(matrix) / matrix.sum() if matrix.sum() else math.nan
    axis.set(
        xlabel="predicted",
        ylabel="true",
        title=f"{title}\n{get_span(span).n_classes} classes, {matrix.sum()} images, "
        f"diagonal {accuracy:.3f}",
    )
    return figure


def _side_by_side(image0: np.ndarray, image1: np.ndarray, gap: int) -> tuple[np.ndarray, float]:
    """One canvas with both images at the height of image 0; returns it and image 1's scale."""
    from PIL import Image

    height = image0.shape[0]
    scale = height / image1.shape[0]
    if scale != 1.0:
        size = (max(1, round(image1.shape[1] * scale)), height)
        image1 = np.asarray(Image.fromarray(image1).resize(size, Image.BILINEAR))
    canvas = np.full((height, image0.shape[1] + gap + image1.shape[1], 3), 255, np.uint8)
    canvas[:, : image0.shape[1]] = image0[..., :3]
    canvas[:, image0.shape[1] + gap :] = image1[..., :3]
    return canvas, scale


def match_figure(
    image0: np.ndarray,
    image1: np.ndarray,
    keypoints0: np.ndarray,
    keypoints1: np.ndarray,
    labels: np.ndarray,
    title: str,
    max_lines: int = 300,
    seed: int = 0,
) -> Any:
    """Two images side by side with matches as lines, coloured by ``labels`` (``correct``,
    ``wrong``, ``unverifiable``; :data:`MATCH_COLOURS`). At most ``max_lines`` lines are drawn
    (a seeded random subset; the legend counts all matches)."""
    from matplotlib.collections import LineCollection

    gap = max(4, image0.shape[1] // 50)
    canvas, scale = _side_by_side(_rgb(image0), _rgb(image1), gap)
    width = 9.0
    figure = new_figure(width, width * canvas.shape[0] / canvas.shape[1] + 0.9)
    axis = figure.add_subplot()
    axis.imshow(canvas, interpolation="bilinear")
    axis.set_axis_off()
    points0 = np.asarray(keypoints0, float)
    points1 = np.asarray(keypoints1, float) * scale + [image0.shape[1] + gap, 0.0]
    labels = np.asarray(labels)
    shown = np.arange(len(labels))
    if len(shown) > max_lines:
        shown = np.sort(np.random.default_rng(seed).choice(shown, max_lines, replace=False))
    legend = []
    for kind, colour in MATCH_COLOURS.items():
        chosen = shown[labels[shown] == kind]
        segments = np.stack([points0[chosen], points1[chosen]], axis=1)
        axis.add_collection(LineCollection(segments, colors=colour, linewidths=0.7, alpha=0.8))
        axis.scatter(*segments.reshape(-1, 2).T, s=2, color=colour, linewidths=0)
        legend.append(f"{kind} {int(np.sum(labels == kind))}")
    drawn = f" (lines: {len(shown)} of {len(labels)})" if len(shown) < len(labels) else ""
    axis.set_title(f"{title}\n{' · '.join(legend)}{drawn}", fontsize="small")
    for kind, colour in MATCH_COLOURS.items():
        axis.plot([], [], color=colour, label=kind)
    axis.legend(loc="lower center", bbox_to_anchor=(0.5, -0.12), ncol=3, fontsize="small")
    return figure


def _rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    return image[..., :3]
