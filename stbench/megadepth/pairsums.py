"""Per-pair sums over shared 3D points, for the pairs i < j only, in one compiled pass.

With A the (N, P) image x point incidence, every pair i < j that shares points gets:

- ``n_shared``: the number of shared points (A Aᵀ);
- ``log_sum0`` / ``log_sum1``: the sums over shared points of a per-observation value of image i,
  resp. of image j (L Aᵀ and A Lᵀ);
- ``cos_sum``: the sum over shared points of the dot product of the two per-observation unit
  rays (V Vᵀ with V = [Vx | Vy | Vz]).

:func:`pair_sums_kernel` (compiled with numba on first use, :mod:`stbench.megadepth.compiled`)
visits image i's points in increasing order and, for each, the images j > i that see it (a
pointer per point walks down its sorted column as i grows, so the lower triangle is never
touched), accumulating into dense per-image sums that are emitted and reset after each row.

The sums are bit-identical to the sparse products they replaced (a test compares them): scipy
accumulates entry (i, j) along row i of the left operand, i.e. over the shared points in
increasing order, and for [Vx | Vy | Vz] all x terms, then the y terms, then the z terms; the
kernel adds the same terms in the same order, starting from 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from stbench.megadepth.compiled import compiled

__all__ = ["PairSums", "pair_sums_kernel", "upper_pair_sums"]


@dataclass
class PairSums:
    """Pairs i < j sharing >= ``min_shared`` points, sorted by (i, j), and their sums, all (M,)."""

    index0: np.ndarray
    index1: np.ndarray
    n_shared: np.ndarray
    log_sum0: np.ndarray
    log_sum1: np.ndarray
    cos_sum: np.ndarray


def upper_pair_sums(
    incidence: sp.csr_matrix,
    values: np.ndarray,
    rays: np.ndarray,
    min_shared: int = 1,
) -> PairSums:
    """Shared-point counts and sums of the pairs i < j sharing at least ``min_shared`` points.

    Args:
        incidence: (N, P) CSR of ones with sorted indices and no duplicates.
        values: (nnz,) a value per observation, in the CSR order of ``incidence``.
        rays: (nnz, 3) a unit ray per observation, in the same order.
        min_shared: pairs sharing fewer points are left out.

    Raises:
        ValueError: unsorted or duplicate indices, or values / rays of another length.
        MissingExtraError: numba (the ``build`` extra) is not installed.
    """
    A = sp.csr_matrix(incidence)
    n_images = A.shape[0]
    indptr = A.indptr.astype(np.int64)
    indices = A.indices.astype(np.int64)
    rows = np.repeat(np.arange(n_images), np.diff(indptr))
    step = np.diff(indices)
    if np.any((step <= 0) & (rows[1:] == rows[:-1])):
        raise ValueError("upper_pair_sums needs an incidence with sorted indices, no duplicates")
    values = np.ascontiguousarray(values, dtype=np.float64)
    rays = np.ascontiguousarray(rays, dtype=np.float64)
    if values.shape != (len(indices),) or rays.shape != (len(indices), 3):
        raise ValueError(
            f"upper_pair_sums: values {values.shape} and rays {rays.shape} must be "
            f"({len(indices)},) and ({len(indices)}, 3), one per observation"
        )
    # the columns: per point, the observations that see it, images in increasing order
    # (scipy's CSR -> CSC conversion is a stable counting sort: rows stay increasing)
    positions = sp.csr_matrix((np.arange(len(indices), dtype=np.float64), indices, indptr), A.shape)
    columns = positions.tocsc()
    by_point = columns.data.astype(np.int64)  # the observations of each point, rows increasing
    column_ptr = columns.indptr.astype(np.int64)
    column_images = columns.indices.astype(np.int32)  # less memory traffic than int64
    column_values = values[by_point]
    column_rays = np.ascontiguousarray(rays[by_point].T)  # (3, nnz): one array per pass
    below = column_ptr[:-1].copy()
    accumulators = np.zeros((4, n_images))  # count, log_sum0, log_sum1, cos_sum per partner
    touched = np.zeros(n_images, np.int64)
    capacity = max(1024, 8 * n_images)
    ints, sums = np.empty((capacity, 3), np.int64), np.empty((capacity, 3))
    kernel = compiled(pair_sums_kernel)
    row, m = 0, 0
    while row < n_images:  # a full output resumes at the row that did not fit
        row, m = kernel(
            indptr, indices, column_ptr, column_images, column_values, column_rays,
            values, rays, int(min_shared), below, accumulators, touched, ints, sums, row, m,
        )  # fmt: skip
        if row < n_images:
            capacity *= 2
            ints = np.concatenate([ints[:m], np.empty((capacity - m, 3), np.int64)])
            sums = np.concatenate([sums[:m], np.empty((capacity - m, 3))])
    ints, sums = ints[:m], sums[:m]
    order = np.argsort(ints[:, 0] * max(1, n_images) + ints[:, 1], kind="stable")  # (i, j)
    ints, sums = ints[order], sums[order]
    return PairSums(
        ints[:, 0], ints[:, 1], ints[:, 2].astype(np.float64), sums[:, 0], sums[:, 1], sums[:, 2]
    )


def pair_sums_kernel(
    indptr: np.ndarray,
    indices: np.ndarray,
    column_ptr: np.ndarray,
    column_images: np.ndarray,
    column_values: np.ndarray,
    column_rays: np.ndarray,
    values: np.ndarray,
    rays: np.ndarray,
    min_shared: int,
    below: np.ndarray,
    accumulators: np.ndarray,
    touched: np.ndarray,
    ints: np.ndarray,
    sums: np.ndarray,
    row: int,
    m: int,
) -> tuple[int, int]:
    """Rows ``row``, ``row + 1``, ... of the pairs i < j sharing >= ``min_shared`` points.

    Args:
        indptr, indices: the incidence's CSR rows (sorted, no duplicates).
        column_ptr, column_images, column_values, column_rays: its columns: entries
            ``column_ptr[p]`` to ``column_ptr[p + 1]`` are the images that see point p
            (increasing) and their observations' values and (3, nnz) rays: each pass streams
            only what it adds (the columns are read once per row: memory traffic bounds it).
        values, rays: (nnz,), (nnz, 3) per observation, in row (CSR) order.
        below: per point, its column entry of image ``row`` (``column_ptr[:-1]`` at row 0).
        accumulators: (4, N) zeros; touched: (N,) scratch.
        ints, sums: (capacity, 3) outputs (i, j, n_shared), (log_sum0, log_sum1, cos_sum),
            filled from ``m`` on; a row's pairs come in the order its partners were met.
    Returns:
        the first row not done (N when all are) and the number of pairs written.
    """
    n_images = len(indptr) - 1
    capacity = len(ints)
    count, log0, log1, cos = accumulators[0], accumulators[1], accumulators[2], accumulators[3]
    for i in range(row, n_images):
        n_touched = 0
        for a in range(indptr[i], indptr[i + 1]):  # counts, value sums and the x terms
            p = indices[a]
            value = values[a]
            ray = rays[a, 0]
            for b in range(below[p] + 1, column_ptr[p + 1]):
                j = column_images[b]
                if count[j] == 0:
                    touched[n_touched] = j
                    n_touched += 1
                count[j] += 1
                log0[j] += value
                log1[j] += column_values[b]
                cos[j] += ray * column_rays[0, b]
        for k in range(1, 3):  # [Vx | Vy | Vz]: after the x terms of all points, y, then z
            for a in range(indptr[i], indptr[i + 1]):
                p = indices[a]
                ray = rays[a, k]
                for b in range(below[p] + 1, column_ptr[p + 1]):
                    cos[column_images[b]] += ray * column_rays[k, b]
        if m + n_touched > capacity:  # no room: undo this row, the caller grows the outputs
            for t in range(n_touched):
                j = touched[t]
                count[j] = log0[j] = log1[j] = cos[j] = 0.0
            return i, m
        for a in range(indptr[i], indptr[i + 1]):
            below[indices[a]] += 1  # now the entry of the next image that sees the point
        for t in range(n_touched):
            j = touched[t]
            if count[j] >= min_shared:
                ints[m, 0] = i
                ints[m, 1] = j
                ints[m, 2] = int(count[j])
                sums[m, 0] = log0[j]
                sums[m, 1] = log1[j]
                sums[m, 2] = cos[j]
                m += 1
            count[j] = log0[j] = log1[j] = cos[j] = 0.0
    return n_images, m
