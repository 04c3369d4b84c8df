"""Candidate pairs from sparse SfM co-visibility (never a loop over all N² pairs).

With A the (N, P) image x 3D-point incidence, the shared-point counts are the sparse product
A Aᵀ; per-pair means over the shared points come from products of A with value-carrying copies
of itself, so the work grows with the number of co-visible pairs, not with N².

- covis_overlap_01 = shared / points seen in image 0 (D2-Net's ``overlap_matrix[i, j]``),
  covis_overlap_10 = shared / points seen in image 1.
- scale_ratio = exp(|mean over shared points of log(nd0 / nd1)|) >= 1, with nd = z / mean focal
  the focal-normalised depth of the point in each image (D2-Net's ``ndepth``). D2-Net stores the
  *minimum* over shared points of max(nd0/nd1, nd1/nd0), which one lucky point decides; the
  geometric mean is the typical ratio and is a sparse product.
- view_angle_deg = arccos of the mean over shared points of the cosine between the two viewing
  rays (camera centre -> point): the triangulation angle of the shared structure, not the angle
  between the optical axes (which ignores where the cameras look at the same thing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from stbench.megadepth.pairsums import upper_pair_sums

__all__ = ["CandidatePairs", "candidate_pairs"]


@dataclass
class CandidatePairs:
    """Candidate pairs (i < j) of a component with their co-visibility statistics, all (M,)."""

    index0: np.ndarray
    index1: np.ndarray
    n_shared: np.ndarray
    covis_overlap_01: np.ndarray
    covis_overlap_10: np.ndarray
    scale_ratio: np.ndarray
    view_angle_deg: np.ndarray

    def __len__(self) -> int:
        return len(self.index0)


def candidate_pairs(
    incidence: sp.csr_matrix,
    points_xyz: np.ndarray,
    rotations: np.ndarray,
    translations: np.ndarray,
    focal: np.ndarray,
    min_shared_points: int = 5,
    min_covis_overlap: float = 0.01,
    max_scale_ratio: float | None = None,
    usable: np.ndarray | None = None,
) -> CandidatePairs:
    """Co-visible image pairs with D2-Net-style statistics.

    Args:
        incidence: (N, P) sparse, non-zero where image n observes point p.
        points_xyz: (P, 3) world points.
        rotations: (N, 3, 3), translations: (N, 3) world-to-camera poses.
        focal: (N,) mean focal length in pixels (fx + fy) / 2.
        min_shared_points, min_covis_overlap, max_scale_ratio: thresholds (see MegaDepthConfig).
        usable: (N,) bool, images that may appear in pairs (default all).
    Returns:
        Pairs i < j sorted by (i, j).
    """
    n_images = incidence.shape[0]
    A = sp.csr_matrix(incidence, dtype=np.float64, copy=True)
    A.sum_duplicates()
    A.data[:] = 1.0
    if usable is not None:
        A = sp.diags(np.asarray(usable, dtype=np.float64)) @ A
        A.eliminate_zeros()
        A.sort_indices()
    rows = np.repeat(np.arange(n_images), np.diff(A.indptr))
    cols = A.indices
    points_cam = np.einsum("nij,nj->ni", rotations[rows], points_xyz[cols]) + translations[rows]
    depth = points_cam[:, 2]
    centers = -np.einsum("nji,nj->ni", rotations, translations)
    rays = points_xyz[cols] - centers[rows]
    rays /= np.linalg.norm(rays, axis=1, keepdims=True)

    n_seen = np.asarray(A.sum(axis=1)).reshape(-1)
    valid_depth = depth > 0
    log_ndepth = np.log(np.where(valid_depth, depth, 1.0) / focal[rows])
    sums = upper_pair_sums(A, log_ndepth, rays, min_shared_points)
    index0, index1, n_shared = sums.index0, sums.index1, sums.n_shared
    with np.errstate(divide="ignore", invalid="ignore"):
        covis01 = n_shared / n_seen[index0]
        covis10 = n_shared / n_seen[index1]
    keep = np.maximum(covis01, covis10) >= min_covis_overlap
    index0, index1, n_shared, covis01, covis10 = (
        a[keep] for a in (index0, index1, n_shared, covis01, covis10)
    )
    mean_log_ratio = (sums.log_sum0[keep] - sums.log_sum1[keep]) / n_shared
    scale_ratio = np.exp(np.abs(mean_log_ratio))
    mean_cos = sums.cos_sum[keep] / n_shared
    view_angle = np.degrees(np.arccos(np.clip(mean_cos, -1.0, 1.0)))

    keep = np.ones(len(index0), dtype=bool)
    if max_scale_ratio is not None:
        keep &= scale_ratio <= max_scale_ratio
    return CandidatePairs(
        index0=index0[keep],
        index1=index1[keep],
        n_shared=n_shared[keep].astype(np.int64),
        covis_overlap_01=covis01[keep],
        covis_overlap_10=covis10[keep],
        scale_ratio=scale_ratio[keep],
        view_angle_deg=view_angle[keep],
    )
