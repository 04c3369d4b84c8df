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

from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from stbench.megadepth.compiled import compiled
from stbench.megadepth.pairsums import upper_pair_sums

__all__ = ["CandidatePairs", "candidate_pairs", "observation_geometry", "observation_values"]


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
    workers: int = 1,
    executor: Executor | None = None,
) -> CandidatePairs:
    """Co-visible image pairs with D2-Net-style statistics.

    Args:
        incidence: (N, P) sparse, non-zero where image n observes point p.
        points_xyz: (P, 3) world points.
        rotations: (N, 3, 3), translations: (N, 3) world-to-camera poses.
        focal: (N,) mean focal length in pixels (fx + fy) / 2.
        min_shared_points, min_covis_overlap, max_scale_ratio: thresholds (see MegaDepthConfig).
        usable: (N,) bool, images that may appear in pairs (default all).
        workers: threads for the pair sums (the same values whatever their number).
        executor: a pool of ``workers`` threads to sum on, shared with other work
            (:func:`stbench.megadepth.pairsums.upper_pair_sums`).
    Returns:
        Pairs i < j sorted by (i, j).
    """
    A, log_ndepth, rays = observation_values(incidence, points_xyz, rotations, translations, focal,
                                             usable)  # fmt: skip
    n_seen = np.asarray(A.sum(axis=1)).reshape(-1)
    sums = upper_pair_sums(
        A, log_ndepth, rays, min_shared_points, workers=workers, executor=executor
    )
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


def observation_values(
    incidence: sp.csr_matrix,
    points_xyz: np.ndarray,
    rotations: np.ndarray,
    translations: np.ndarray,
    focal: np.ndarray,
    usable: np.ndarray | None = None,
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """What the pair sums of :func:`candidate_pairs` sum: the incidence as ones (duplicates
    merged, rows of unusable images emptied), and per observation in its CSR order the log
    normalised depth log(z / focal) (z taken as 1 where z <= 0) and the unit ray camera centre -> point.

    Args: as :func:`candidate_pairs`. Returns: A (N, P) CSR, (nnz,) values, (nnz, 3) rays.
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
    centers = -np.einsum("nji,nj->ni", rotations, translations)
    depth = np.empty(A.nnz)
    rays = np.empty((A.nnz, 3))
    compiled(observation_geometry)(
        A.indptr, A.indices,  # int32 or int64: the kernel takes either
        np.ascontiguousarray(points_xyz, dtype=np.float64),
        np.ascontiguousarray(rotations, dtype=np.float64),
        np.ascontiguousarray(translations, dtype=np.float64),
        np.ascontiguousarray(centers, dtype=np.float64), depth, rays,
    )  # fmt: skip
    log_ndepth = np.log(np.where(depth > 0, depth, 1.0) / focal[rows])
    return A, log_ndepth, rays


def observation_geometry(
    indptr: np.ndarray,
    indices: np.ndarray,
    points_xyz: np.ndarray,
    rotations: np.ndarray,
    translations: np.ndarray,
    centers: np.ndarray,
    depth: np.ndarray,
    rays: np.ndarray,
) -> None:
    """Per observation (image n sees point p, in the incidence's CSR order): the point's depth
    in the camera and the unit ray from the camera centre to it (compiled with numba on first
    use: one pass, no (nnz, 3, 3) gathered rotations).

    The arithmetic is the one of the numpy expressions it replaces, bit for bit (a test
    compares them): ``einsum("nij,nj->ni", R, X)[:, 2] + t[:, 2]`` adds the products of
    coordinates 0 and 2, then 1, then the translation; ``x / np.linalg.norm(x, axis=1)`` divides
    by the root of ((x0² + x1²) + x2²).

    Args:
        indptr, indices: (N + 1,), (nnz,) the incidence's CSR rows (int64).
        points_xyz: (P, 3); rotations: (N, 3, 3); translations, centers: (N, 3) float64.
        depth: (nnz,) output; rays: (nnz, 3) output.
    """
    for n in range(len(indptr) - 1):
        r0, r1, r2 = rotations[n, 2, 0], rotations[n, 2, 1], rotations[n, 2, 2]
        tz = translations[n, 2]
        c0, c1, c2 = centers[n, 0], centers[n, 1], centers[n, 2]
        for a in range(indptr[n], indptr[n + 1]):
            p = indices[a]
            x0, x1, x2 = points_xyz[p, 0], points_xyz[p, 1], points_xyz[p, 2]
            depth[a] = ((r0 * x0 + r2 * x2) + r1 * x1) + tz
            d0, d1, d2 = x0 - c0, x1 - c1, x2 - c2
            norm = np.sqrt((d0 * d0 + d1 * d1) + d2 * d2)
            rays[a, 0] = d0 / norm
            rays[a, 1] = d1 / norm
            rays[a, 2] = d2 / norm
