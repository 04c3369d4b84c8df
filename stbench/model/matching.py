"""From dense outputs to keypoints and matches (shared by validation and :class:`Matcher`).

Keypoints are the descriptor-grid cells with the highest distinctiveness (top-k); matches are
mutual nearest neighbours on the distinctiveness-weighted cosine similarity
``s0_i * s1_j * <d0_i, d1_j>`` (D2D's test-time rule), scored by that weighted similarity, and
optionally ratio-tested both ways on the descriptor distances (``max_ratio``; the weights JSON's
``inference.match_ratio``).
:func:`refine_positions` then moves each match's second keypoint off the grid: the expected
position under a softmax of the first descriptor's similarity to the dense descriptors around
it (a soft-argmax, at the temperature the descriptors were trained with). :func:`match_outputs`
does all three, for inference and validation alike.
"""

from __future__ import annotations

import torch

from stbench.errors import ConfigError

__all__ = [
    "CHOSEN_MATCH_RATIO",
    "REFINE_RADIUS",
    "check_match_ratio",
    "grid_keypoints",
    "match_outputs",
    "mutual_nearest_neighbours",
    "refine_positions",
    "top_k_keypoints",
]

#: Cells on each side of a match searched by the sub-pixel refinement (1: a 3 x 3 window).
REFINE_RADIUS = 1

#: The ratio test's threshold chosen on val of the benchmark world (docs/reference-model.md,
#: "Ratio test"): what ``train-baseline`` writes into a new model's ``inference.match_ratio``
#: and what the bundled ``reference.json`` holds. Weights without the key keep 1 (no test).
CHOSEN_MATCH_RATIO = 0.95


def grid_keypoints(height: int, width: int, stride: int, device=None) -> torch.Tensor:
    """(h*w, 2) image pixels (x, y) of the centres of a (h, w) map at ``stride``."""
    ys, xs = torch.meshgrid(
        torch.arange(height, device=device), torch.arange(width, device=device), indexing="ij"
    )
    cells = torch.stack([xs.flatten(), ys.flatten()], dim=1).float()
    return (cells + 0.5) * stride - 0.5


def top_k_keypoints(
    descriptors: torch.Tensor, distinctiveness: torch.Tensor, stride: int, top_k: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The ``top_k`` most distinctive cells of one image.

    Args:
        descriptors: (D, h, w) L2-normalised. distinctiveness: (1, h, w) in (0, 1).
        stride: image pixels per cell. top_k: how many keypoints (fewer if the map is smaller).
    Returns:
        keypoints (K, 2) float32 image pixels, descriptors (K, D), scores (K,), sorted by score.
    """
    if descriptors.ndim != 3 or distinctiveness.shape != (1, *descriptors.shape[1:]):
        raise ValueError(
            f"expected descriptors (D, h, w) and distinctiveness (1, h, w), got "
            f"{tuple(descriptors.shape)} and {tuple(distinctiveness.shape)}"
        )
    height, width = descriptors.shape[1:]
    scores = distinctiveness.flatten()
    k = min(top_k, scores.numel())
    scores, order = torch.topk(scores, k)
    keypoints = grid_keypoints(height, width, stride, descriptors.device)[order]
    return keypoints, descriptors.flatten(1).T[order], scores


def mutual_nearest_neighbours(
    descriptors0: torch.Tensor,
    descriptors1: torch.Tensor,
    scores0: torch.Tensor,
    scores1: torch.Tensor,
    max_ratio: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mutual nearest neighbours on distinctiveness-weighted similarity, ratio-tested.

    A mutual pair (i, j) is kept when its descriptor distance is below ``max_ratio`` times the
    distance from i to the nearest *other* descriptor of image 1, and below ``max_ratio`` times
    the distance from j to the nearest other descriptor of image 0 (Lowe's ratio test, both
    ways, on the unweighted L2 distances ``sqrt(2 - 2 <d0_i, d1_j>)`` of unit descriptors).
    At ``max_ratio`` 1 the test is off and every mutual pair is kept (the rule before the test
    existed).

    Args:
        descriptors0: (N, D), descriptors1: (M, D) L2-normalised.
        scores0: (N,), scores1: (M,) distinctiveness.
        max_ratio: in (0, 1]; 1 turns the ratio test off.
    Returns:
        matches (K, 2) int64 [index into 0, index into 1], scores (K,) float32 weighted similarity.
    """
    check_match_ratio(max_ratio)
    if descriptors0.shape[0] == 0 or descriptors1.shape[0] == 0:
        return torch.zeros((0, 2), dtype=torch.int64), torch.zeros(0)
    similarity = descriptors0 @ descriptors1.T
    weighted = similarity * scores0[:, None] * scores1[None, :]
    best1 = weighted.argmax(dim=1)  # for each i in 0
    best0 = weighted.argmax(dim=0)  # for each j in 1
    index0 = torch.arange(descriptors0.shape[0], device=descriptors0.device)
    mutual = best0[best1] == index0
    index0, index1 = index0[mutual], best1[mutual]
    if max_ratio < 1 and len(index0):
        keep = _ratio_passes(similarity, index0, index1, max_ratio)
        keep &= _ratio_passes(similarity.T, index1, index0, max_ratio)
        index0, index1 = index0[keep], index1[keep]
    matches = torch.stack([index0, index1], dim=1)
    return matches.long(), weighted[index0, index1].float()


def _ratio_passes(
    similarity: torch.Tensor, rows: torch.Tensor, partners: torch.Tensor, max_ratio: float
) -> torch.Tensor:
    """Whether ``distance(row, partner) < max_ratio * distance(row, nearest other column)``
    for each row of a cosine ``similarity`` matrix; a row with no other column fails."""
    if similarity.shape[1] < 2:
        return torch.zeros(len(rows), dtype=torch.bool, device=rows.device)
    chosen = similarity[rows, partners]
    others = similarity[rows].clone()
    others[torch.arange(len(rows), device=rows.device), partners] = -torch.inf
    nearest_other = others.max(dim=1).values
    distance = torch.sqrt(torch.clamp(2 - 2 * chosen, min=0))
    other_distance = torch.sqrt(torch.clamp(2 - 2 * nearest_other, min=0))
    return distance < max_ratio * other_distance


def check_match_ratio(value: object, source: str = "max_ratio") -> float:
    """``value`` as a ratio-test threshold in (0, 1] (1: off).

    Raises:
        ConfigError: not a number in (0, 1], naming ``source`` and the valid values.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise ConfigError(
            f"{source} must be a number in (0, 1] (Lowe's ratio of descriptor distances; "
            f"1 turns the ratio test off), not {value!r}"
        )
    return float(value)


def refine_positions(
    descriptors0: torch.Tensor,
    dense1: torch.Tensor,
    keypoints1: torch.Tensor,
    stride: int,
    radius: int = REFINE_RADIUS,
    temperature: float = 0.1,
) -> torch.Tensor:
    """Sub-pixel positions in image 1 of matched keypoints (a soft-argmax around each match).

    Args:
        descriptors0: (K, D) descriptors of the matches' first keypoints.
        dense1: (D, h, w) dense descriptors of image 1. keypoints1: (K, 2) the matches' second
            keypoints, at grid cells (pixels of the network input, as :func:`grid_keypoints`).
        stride: image pixels per cell. radius: cells searched on each side (0: no change).
        temperature: softmax temperature on the cosine similarity.
    Returns:
        (K, 2) float32 pixels: the similarity-weighted mean position of the cells of the
        ``(2 radius + 1)^2`` window (cells outside the map are clamped to its border).
    """
    if radius <= 0 or len(keypoints1) == 0:
        return keypoints1.float()
    _, height, width = dense1.shape
    cells = torch.round((keypoints1 + 0.5) / stride - 0.5).long()
    steps = torch.arange(-radius, radius + 1, device=dense1.device)
    dy, dx = torch.meshgrid(steps, steps, indexing="ij")
    xs = (cells[:, :1] + dx.flatten()[None]).clamp(0, width - 1)
    ys = (cells[:, 1:] + dy.flatten()[None]).clamp(0, height - 1)
    window = dense1[:, ys, xs]  # (D, K, n)
    similarity = torch.einsum("kd,dkn->kn", descriptors0, window)
    weights = torch.softmax(similarity / temperature, dim=1)
    refined = torch.stack([(weights * xs).sum(1), (weights * ys).sum(1)], dim=1)
    return ((refined + 0.5) * stride - 0.5).float()


def match_outputs(
    out: dict[str, torch.Tensor],
    stride: int,
    top_k: int,
    refine_radius: int = REFINE_RADIUS,
    temperature: float = 0.1,
    max_ratio: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Keypoints, mutual-nearest-neighbour matches and refined positions of one pair.

    Args:
        out: the network's pair outputs (``descriptors0/1`` (1, D, h, w), ``distinctiveness0/1``
            (1, 1, h, w)). stride, top_k: as :func:`top_k_keypoints`.
        refine_radius, temperature: as :func:`refine_positions` (radius 0: grid positions).
        max_ratio: as :func:`mutual_nearest_neighbours` (1: no ratio test).
    Returns:
        keypoints0 (N, 2), keypoints1 (M, 2) float32 (pixels of the network input; a matched
        keypoint of image 1 at its refined position), matches (K, 2) int64, scores (K,).
    """
    keypoints0, desc0, score0 = top_k_keypoints(
        out["descriptors0"][0], out["distinctiveness0"][0], stride, top_k
    )
    keypoints1, desc1, score1 = top_k_keypoints(
        out["descriptors1"][0], out["distinctiveness1"][0], stride, top_k
    )
    matches, scores = mutual_nearest_neighbours(desc0, desc1, score0, score1, max_ratio)
    if len(matches) and refine_radius > 0:
        keypoints1 = keypoints1.clone()
        keypoints1[matches[:, 1]] = refine_positions(
            desc0[matches[:, 0]],
            out["descriptors1"][0],
            keypoints1[matches[:, 1]],
            stride,
            refine_radius,
            temperature,
        )
    return keypoints0, keypoints1, matches, scores
