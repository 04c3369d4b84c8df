"""Colour and brightness statistics of an image: the content baseline for telling time.

:func:`color_statistics` maps an RGB image to a fixed-length vector of global appearance
statistics (:data:`COLOR_STAT_NAMES` names every entry). They carry the signals a photo has about
its time without any matching: overall brightness and contrast (day / night / twilight), colour
temperature of the light and the sky (noon vs golden hour), saturation and greenness (foliage,
snow), and where the light is (sky region vs ground region, a coarse 3x3 layout).

The image is first reduced by area averaging to at most :data:`MAX_SIDE` pixels on its long side,
so the cost is bounded and the statistics barely depend on resolution. All values are in 0..1
units (fractions or normalised intensities) except the Lab channels, scaled to roughly -1..1.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "BRIGHT",
    "COLOR_STAT_NAMES",
    "DARK",
    "MAX_SIDE",
    "ForestTables",
    "color_statistics",
    "forest_predict_proba",
    "forest_tables",
]


#: Long side (px) the image is reduced to before the statistics are taken.
MAX_SIDE = 160
#: Luminance below this is "dark", above :data:`BRIGHT` is "bright" (0..1 units).
DARK = 0.1
BRIGHT = 0.9
_PERCENTILES = (5, 25, 50, 75, 95)
_GRID = 3


def _names() -> tuple[str, ...]:
    names = [f"rgb_mean_{c}" for c in "rgb"] + [f"rgb_std_{c}" for c in "rgb"]
    names += [f"lab_mean_{c}" for c in "Lab"] + [f"lab_std_{c}" for c in "Lab"]
    names += ["hsv_sat_mean", "hsv_sat_std", "hsv_val_mean", "hsv_val_std"]
    names += ["hue_cos", "hue_sin"]
    names += [f"luma_p{p:02d}" for p in _PERCENTILES]
    names += ["dark_fraction", "bright_fraction", "gradient_mean"]
    names += ["chroma_r", "chroma_g", "chroma_b"]
    for region in ("sky", "ground"):
        names += [f"{region}_mean_{c}" for c in "rgb"] + [f"{region}_luma", f"{region}_sat"]
    names += ["sky_minus_ground_luma"]
    names += [f"grid{r}{c}_{ch}" for r in range(_GRID) for c in range(_GRID) for ch in "rgb"]
    return tuple(names)


#: Name of each entry of the :func:`color_statistics` vector, in order.
COLOR_STAT_NAMES: tuple[str, ...] = _names()


def color_statistics(image: np.ndarray) -> np.ndarray:
    """Colour and brightness statistics of one RGB image.

    Entries (see :data:`COLOR_STAT_NAMES`): per-channel mean and std of RGB (0..1) and CIE Lab
    (L/100, a/128, b/128); mean and std of HSV saturation and value; the saturation-weighted
    circular mean hue as (cos, sin); luminance (Rec. 601 luma) percentiles 5/25/50/75/95; the
    fraction of dark (< 0.1) and bright (> 0.9) pixels; mean gradient magnitude of luma (haze and
    night flatten it); mean rg-chromaticity r/(r+g+b) etc.; for the top third ("sky") and bottom
    third ("ground") of the frame: mean RGB, luma and saturation, and their luma difference; the
    mean RGB of each cell of a 3x3 grid (row-major).

    Args:
        image: (H, W, 3) uint8 RGB, H, W >= 3.
    Returns:
        (D,) float32, D = ``len(COLOR_STAT_NAMES)``.
    Raises:
        ValueError: the image is not (H, W, 3) uint8 with H, W >= 3.
    """
    import cv2

    image = np.asarray(image)
    if (
        image.ndim != 3
        or image.shape[2] != 3
        or image.dtype != np.uint8
        or min(image.shape[:2]) < 3
    ):
        raise ValueError(
            f"color_statistics expects an (H, W, 3) uint8 RGB image with H, W >= 3, "
            f"got shape {image.shape} dtype {image.dtype}"
        )
    height, width = image.shape[:2]
    scale = MAX_SIDE / max(height, width)
    if scale < 1:
        size = (max(3, round(width * scale)), max(3, round(height * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    image = np.ascontiguousarray(image)
    rgb = image.astype(np.float32) * np.float32(1 / 255)
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)  # H in degrees, S and V in 0..1
    luma = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)  # Rec. 601 weights
    sat = np.ascontiguousarray(hsv[..., 1])

    rgb_mean, rgb_std = cv2.meanStdDev(rgb)
    lab_mean, lab_std = cv2.meanStdDev(lab)
    lab_scale = np.array([100.0, 128.0, 128.0])
    hsv_mean, hsv_std = cv2.meanStdDev(hsv)
    hue = np.radians(hsv[..., 0])
    sat_total = max(float(sat.sum()), 1e-6)
    gy, gx = np.gradient(luma)
    total = np.maximum(rgb.sum(axis=2, keepdims=True), 1e-3)
    chroma_mean = cv2.mean(rgb / total)[:3]

    parts = [
        rgb_mean,
        rgb_std,
        lab_mean.ravel() / lab_scale,
        lab_std.ravel() / lab_scale,
        [hsv_mean[1, 0], hsv_std[1, 0], hsv_mean[2, 0], hsv_std[2, 0]],
        [
            float((sat * np.cos(hue)).sum()) / sat_total,
            float((sat * np.sin(hue)).sum()) / sat_total,
        ],
        _percentiles(image),
        [np.mean(luma < DARK), np.mean(luma > BRIGHT), cv2.mean(cv2.magnitude(gx, gy))[0]],
        chroma_mean,
    ]
    third = max(1, rgb.shape[0] // 3)
    region_luma = []
    for rows in (slice(0, third), slice(rgb.shape[0] - third, None)):
        region_luma.append(cv2.mean(luma[rows])[0])
        parts += [cv2.mean(rgb[rows])[:3], [region_luma[-1], cv2.mean(sat[rows])[0]]]
    parts.append([region_luma[0] - region_luma[1]])
    parts.append(_grid_means(rgb).ravel())
    return np.concatenate([np.asarray(p, dtype=np.float32).ravel() for p in parts])


def _percentiles(image: np.ndarray) -> np.ndarray:
    """Luma percentiles (0..1) from the 256-bin histogram of the 8-bit luma (lower value)."""
    import cv2

    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    counts = np.bincount(gray.ravel(), minlength=256)
    cumulative = np.cumsum(counts) / gray.size
    levels = np.searchsorted(cumulative, np.array(_PERCENTILES) / 100.0)
    return levels / 255.0


def _grid_means(rgb: np.ndarray) -> np.ndarray:
    """(3, 3, 3) mean RGB of each cell of a 3x3 grid (cells split as evenly as possible)."""
    rows = np.array_split(np.arange(rgb.shape[0]), _GRID)
    cols = np.array_split(np.arange(rgb.shape[1]), _GRID)
    row_sums = np.add.reduceat(rgb, [r[0] for r in rows], axis=0)
    cell_sums = np.add.reduceat(row_sums, [c[0] for c in cols], axis=1)
    counts = (
        np.array([len(r) for r in rows])[:, None, None]
        * np.array([len(c) for c in cols])[None, :, None]
    )
    return cell_sums / counts


@dataclass(frozen=True)
class ForestTables:
    """The trees of a fitted sklearn forest as padded arrays, (T, max nodes) each.

    ``left`` is -1 at leaves; ``proba`` (T, max nodes, C) holds each node's class fractions
    normalised as ``DecisionTreeClassifier.predict_proba`` does.
    """

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    proba: np.ndarray


_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def forest_tables(forest: Any) -> ForestTables:
    """The (cached) :class:`ForestTables` of a fitted ``RandomForestClassifier``."""
    if forest in _TABLES:
        return _TABLES[forest]
    trees = [estimator.tree_ for estimator in forest.estimators_]
    n_nodes = max(tree.node_count for tree in trees)
    n_classes = int(forest.n_classes_)
    shape = (len(trees), n_nodes)
    feature = np.zeros(shape, np.int64)
    threshold = np.zeros(shape, np.float64)
    left = np.full(shape, -1, np.int64)
    right = np.full(shape, -1, np.int64)
    proba = np.zeros((*shape, n_classes), np.float64)
    for t, tree in enumerate(trees):
        count = tree.node_count
        feature[t, :count] = np.maximum(tree.feature, 0)
        threshold[t, :count] = tree.threshold
        left[t, :count] = tree.children_left
        right[t, :count] = tree.children_right
        values = tree.value[:, 0, :n_classes].copy()
        normalizer = values.sum(axis=1)[:, None]
        normalizer[normalizer == 0.0] = 1.0
        proba[t, :count] = values / normalizer
    tables = ForestTables(feature, threshold, left, right, proba)
    _TABLES[forest] = tables
    return tables


def forest_predict_proba(forest: Any, features: np.ndarray) -> np.ndarray:
    """(N, C) mean class probabilities of the forest's trees for (N, D) features.

    Equal to ``RandomForestClassifier.predict_proba`` (features compared as float32, trees
    summed in order), at a fraction of its cost for a few samples.
    """
    tables = forest_tables(forest)
    x = np.asarray(features, dtype=np.float32)
    n_trees = tables.left.shape[0]
    trees = np.arange(n_trees)[:, None]
    samples = np.arange(len(x))[None, :]
    node = np.zeros((n_trees, len(x)), np.int64)
    while True:
        child_left = tables.left[trees, node]
        inner = child_left >= 0
        if not inner.any():
            break
        go_left = x[samples, tables.feature[trees, node]] <= tables.threshold[trees, node]
        step = np.where(go_left, child_left, tables.right[trees, node])
        node = np.where(inner, step, node)
    leaf_proba = tables.proba[trees, node]  # (T, N, C)
    total = leaf_proba[0]
    for t in range(1, n_trees):
        total = total + leaf_proba[t]
    return total / n_trees
