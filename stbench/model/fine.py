"""Training-free fine stage of the reference matcher: full-resolution NCC refinement.

The network sees a downscaled image and puts keypoints on its descriptor grid (a cell is
``descriptor_stride / scale`` original pixels, about 5.6 px for a 640x360 photo), so a match is
localised no better than a fraction of a cell. :func:`refine_ncc` moves each match's second
keypoint in the ORIGINAL images: a square grayscale patch around keypoint 0 is compared by
zero-mean normalised cross-correlation with every position of a window around the coarse
keypoint 1 (``search_cells`` grid cells on each side, converted to original pixels from the
resize scale), and the best position is refined to sub-pixel by a parabola through its
neighbours in x and in y. A match keeps its coarse position when:

- a patch or the search window does not fit inside its image;
- patch 0 has too little texture (standard deviation below :data:`MIN_PATCH_STD` grey levels);
- the best correlation is below ``min_score``;
- the best position is on the border of the search window (the true peak may lie outside).

Settings come from the weights JSON's ``inference`` block (``fine``, ``fine_patch``,
``fine_min_score``, ``fine_search``) and may be overridden per run (:func:`fine_settings`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from stbench.errors import ConfigError

__all__ = [
    "CHOSEN",
    "FINE_MODES",
    "MIN_PATCH_STD",
    "FineSettings",
    "fine_settings",
    "refine_ncc",
    "search_pixels",
    "to_gray",
]

#: ``none``: coarse positions only (the behaviour of weights without the keys); ``ncc``: refine.
FINE_MODES = ("none", "ncc")

#: Patch 0 flatter than this (standard deviation in grey levels, 0-255) is not refined.
MIN_PATCH_STD = 2.0


@dataclass(frozen=True)
class FineSettings:
    """The fine stage's settings.

    Attributes:
        mode: one of :data:`FINE_MODES`.
        patch: side of the square patch in original pixels (odd, >= 5).
        min_score: lowest normalised cross-correlation that moves a keypoint (in (0, 1]).
        search_cells: search half-width in descriptor-grid cells (converted to original pixels
            with the image's resize scale; > 0).
        back_check: when > 0, a move is kept only if correlating back (a patch of image 1 at
            the refined position, searched in image 0 around keypoint 0) lands within this many
            pixels of keypoint 0; 0 = no back check (the behaviour before it existed).
    """

    mode: str = "none"
    patch: int = 11
    min_score: float = 0.7
    search_cells: float = 1.5
    back_check: float = 0.0

    @property
    def active(self) -> bool:
        return self.mode != "none"

    def as_dict(self) -> dict[str, Any]:
        """The settings under their JSON / option names (``fine_back_check`` only when on, so
        settings from before it existed keep their identity)."""
        values = asdict(self)
        out = {
            "fine": values["mode"],
            "fine_patch": values["patch"],
            "fine_min_score": values["min_score"],
            "fine_search": values["search_cells"],
        }
        if values["back_check"] > 0:
            out["fine_back_check"] = values["back_check"]
        return out


#: The setting chosen on val of the benchmark world (docs/reference-model.md, "Fine stage"):
#: what ``train-baseline`` writes into a new model's ``inference`` block and what the bundled
#: ``reference.json`` holds. Weights without the keys keep ``fine: none``.
CHOSEN = FineSettings("ncc", 11, 0.6, 1.5, 1.0)

_KEYS = {
    "fine": "mode",
    "fine_patch": "patch",
    "fine_min_score": "min_score",
    "fine_search": "search_cells",
    "fine_back_check": "back_check",
}


def fine_settings(
    inference: Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
    where: str = "the weights JSON",
) -> FineSettings:
    """The fine settings of a weights JSON ``inference`` block, with per-run ``overrides``.

    Missing keys take :class:`FineSettings`' defaults (``fine: none``: today's behaviour for
    weights written before the fine stage). ``overrides`` entries that are None are ignored.

    Raises:
        ConfigError: a value of the wrong type or out of range, naming the option, where it
        came from and the valid values.
    """
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for label, mapping in (
        (f"{where}: inference.{{}}", inference),
        ("option {}", overrides or {}),
    ):
        for key, field in _KEYS.items():
            if mapping.get(key) is not None:
                values[field] = mapping[key]
                sources[field] = label.format(key)
    settings = FineSettings()
    mode = values.get("mode", settings.mode)
    if mode not in FINE_MODES:
        raise ConfigError(f"{sources['mode']} must be one of {', '.join(FINE_MODES)}, not {mode!r}")
    patch = values.get("patch", settings.patch)
    if isinstance(patch, bool) or not isinstance(patch, int) or patch < 5 or patch % 2 == 0:
        raise ConfigError(f"{sources['patch']} must be an odd integer >= 5 (pixels), not {patch!r}")
    min_score = values.get("min_score", settings.min_score)
    if (
        isinstance(min_score, bool)
        or not isinstance(min_score, int | float)
        or not 0 < min_score <= 1
    ):
        raise ConfigError(
            f"{sources['min_score']} must be a number in (0, 1] (a correlation), not {min_score!r}"
        )
    search = values.get("search_cells", settings.search_cells)
    if (
        isinstance(search, bool)
        or not isinstance(search, int | float)
        or not 0 < search <= 8
        or not math.isfinite(search)
    ):
        raise ConfigError(
            f"{sources['search_cells']} must be a number of grid cells in (0, 8], not {search!r}"
        )
    back = values.get("back_check", settings.back_check)
    if (
        isinstance(back, bool)
        or not isinstance(back, int | float)
        or not 0 <= back <= 8
        or not math.isfinite(back)
    ):
        raise ConfigError(
            f"{sources['back_check']} must be a number of pixels in [0, 8] (0: no back check), "
            f"not {back!r}"
        )
    return FineSettings(mode, int(patch), float(min_score), float(search), float(back))


def to_gray(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB uint8 -> (H, W) float32 grey levels (0-255)."""
    import cv2

    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)


def _parabola(left: float, centre: float, right: float) -> float:
    """Vertex offset in [-0.5, 0.5] of the parabola through three samples at -1, 0, 1 (0 when
    they are not a peak)."""
    curvature = left - 2 * centre + right
    if curvature >= -1e-9:
        return 0.0
    return float(np.clip((left - right) / (2 * curvature), -0.5, 0.5))


def _correlate(template: np.ndarray, window: np.ndarray) -> np.ndarray:
    """(S, S) zero-mean NCC of a (P, P) template at every position of a (P+S-1, P+S-1)
    window; 0 where the window is flatter than :data:`MIN_PATCH_STD` (OpenCV's normalisation
    is unstable there, e.g. on saturated sky)."""
    import cv2

    patch = template.shape[0]
    half = patch // 2
    scores = cv2.matchTemplate(window, template, cv2.TM_CCOEFF_NORMED)
    mean = cv2.blur(window, (patch, patch), borderType=cv2.BORDER_REFLECT)
    mean2 = cv2.blur(window * window, (patch, patch), borderType=cv2.BORDER_REFLECT)
    size = scores.shape[0]
    variance = (mean2 - mean * mean)[half : half + size, half : half + size]
    return np.where(variance >= MIN_PATCH_STD**2, scores, 0.0)


def refine_ncc(
    gray0: np.ndarray,
    gray1: np.ndarray,
    points0: np.ndarray,
    points1: np.ndarray,
    search_px: int,
    patch: int,
    min_score: float,
    back_check: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Full-resolution NCC refinement of matched positions in image 1.

    Args:
        gray0, gray1: (H, W) float32 grey images at original resolution.
        points0, points1: (K, 2) matched positions (x, y; pixel centres at integers).
        search_px: search half-width in pixels (>= 1). patch: odd patch side (pixels).
        min_score: lowest correlation that moves a point.
        back_check: when > 0, keep a move only if the same search from image 1 back to image 0
            (patch at the refined position, window around keypoint 0, same ``search_px``,
            ``min_score`` and sub-pixel fit) lands within ``back_check`` pixels of keypoint 0.
    Returns:
        refined (K, 2) float32 positions in image 1 (the coarse ones where not moved) and
        moved (K,) bool.
    """
    gray0 = np.ascontiguousarray(gray0, dtype=np.float32)
    gray1 = np.ascontiguousarray(gray1, dtype=np.float32)
    points0 = np.asarray(points0, dtype=np.float64).reshape(-1, 2)
    points1 = np.asarray(points1, dtype=np.float64).reshape(-1, 2)
    refined = points1.astype(np.float32)
    moved = np.zeros(len(points1), dtype=bool)
    if len(points1) == 0:
        return refined, moved
    half = patch // 2
    reach = half + search_px
    centre0 = np.rint(points0).astype(np.int64)
    centre1 = np.rint(points1).astype(np.int64)
    inside = _fits(centre0, half, gray0.shape) & _fits(centre1, reach, gray1.shape)
    # the way back searches image 0 around keypoint 0: its window must fit there too
    back_fits = _fits(centre0, reach, gray0.shape)
    for k in np.flatnonzero(inside):
        shift = _best_shift(gray0, gray1, centre0[k], centre1[k], half, search_px, min_score)
        if shift is None:
            continue
        # the peak is where patch 0's centre lands; keypoint 0 sits (p0 - centre0) from it
        position = centre1[k] + shift + points0[k] - centre0[k]
        if back_check > 0:
            back_centre = np.rint(position).astype(np.int64)
            if not (back_fits[k] and _fits(back_centre, half, gray1.shape)):
                continue
            back = _best_shift(gray1, gray0, back_centre, centre0[k], half, search_px, min_score)
            if back is None:
                continue
            landed = centre0[k] + back + position - back_centre
            if np.hypot(*(landed - points0[k])) > back_check:
                continue
        refined[k] = position
        moved[k] = True
    return refined, moved


def _fits(centres: np.ndarray, margin: int, shape: tuple[int, ...]) -> np.ndarray:
    """Whether squares of half-side ``margin`` around integer ``centres`` (..., 2) (x, y) lie
    inside an image of ``shape`` (height, width)."""
    height, width = shape[:2]
    x, y = centres[..., 0], centres[..., 1]
    return (x >= margin) & (x < width - margin) & (y >= margin) & (y < height - margin)


def _best_shift(
    source: np.ndarray,
    target: np.ndarray,
    centre_source: np.ndarray,
    centre_target: np.ndarray,
    half: int,
    search_px: int,
    min_score: float,
) -> np.ndarray | None:
    """Sub-pixel (dx, dy) from ``centre_target`` where the patch of ``source`` around
    ``centre_source`` correlates best within ``search_px``; None when the patch is flat, the
    peak is below ``min_score`` or on the window's border (both squares must fit their
    images: the caller checks)."""
    (xs, ys), (xt, yt) = centre_source, centre_target
    template = source[ys - half : ys + half + 1, xs - half : xs + half + 1]
    if template.std() < MIN_PATCH_STD:
        return None
    reach = half + search_px
    window = target[yt - reach : yt + reach + 1, xt - reach : xt + reach + 1]
    scores = _correlate(template, window)
    size = 2 * search_px + 1
    row, col = np.unravel_index(int(scores.argmax()), scores.shape)
    best = float(scores[row, col])
    if best < min_score or not (0 < row < size - 1 and 0 < col < size - 1):
        return None
    dx = _parabola(scores[row, col - 1], best, scores[row, col + 1])
    dy = _parabola(scores[row - 1, col], best, scores[row + 1, col])
    return np.array([col - search_px + dx, row - search_px + dy])


def search_pixels(search_cells: float, stride: int, scale: np.ndarray) -> int:
    """Search half-width in original pixels: ``search_cells`` grid cells of ``stride`` network
    pixels, at the larger of the image's per-axis cell sizes (``stride / scale``), rounded up."""
    cell = float(stride / np.min(np.asarray(scale, dtype=np.float64)))
    return max(1, math.ceil(search_cells * cell))
