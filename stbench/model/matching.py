"""From dense outputs to keypoints and matches (shared by validation and :class:`Matcher`).

Keypoints are the descriptor-grid cells with the highest distinctiveness (top-k); matches are
mutual nearest neighbours on the distinctiveness-weighted cosine similarity
``s0_i * s1_j * <d0_i, d1_j>`` (D2D's test-time rule), scored by that weighted similarity.
"""

from __future__ import annotations

import torch

__all__ = ["grid_keypoints", "mutual_nearest_neighbours", "top_k_keypoints"]


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
    min_similarity: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mutual nearest neighbours on distinctiveness-weighted similarity.

    Args:
        descriptors0: (N, D), descriptors1: (M, D) L2-normalised.
        scores0: (N,), scores1: (M,) distinctiveness.
        min_similarity: drop matches whose (unweighted) cosine similarity is below this.
    Returns:
        matches (K, 2) int64 [index into 0, index into 1], scores (K,) float32 weighted similarity.
    """
    if descriptors0.shape[0] == 0 or descriptors1.shape[0] == 0:
        return torch.zeros((0, 2), dtype=torch.int64), torch.zeros(0)
    similarity = descriptors0 @ descriptors1.T
    weighted = similarity * scores0[:, None] * scores1[None, :]
    best1 = weighted.argmax(dim=1)  # for each i in 0
    best0 = weighted.argmax(dim=0)  # for each j in 1
    index0 = torch.arange(descriptors0.shape[0], device=descriptors0.device)
    mutual = best0[best1] == index0
    mutual &= similarity[index0, best1] >= min_similarity
    matches = torch.stack([index0[mutual], best1[mutual]], dim=1)
    return matches.long(), weighted[index0[mutual], best1[mutual]].float()
