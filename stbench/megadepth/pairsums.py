"""Per-pair sums over shared 3D points, computed on the upper triangle only.

With A the (N, P) image x point incidence, every pair i < j that shares points gets:

- ``n_shared``: the number of shared points (A Aᵀ);
- ``log_sum0`` / ``log_sum1``: the sums over shared points of a per-observation value of image i,
  resp. of image j (L Aᵀ and A Lᵀ);
- ``cos_sum``: the sum over shared points of the dot product of the two per-observation unit
  rays (V Vᵀ with V = [Vx | Vy | Vz]).

The full products A Aᵀ, L Aᵀ and V Vᵀ compute both triangles; here the images are cut into
blocks of rows and each block is multiplied only by the rows from its own first row on (so about
half the work), and A Aᵀ and L Aᵀ are one complex product: row i of (A + iL) times row j of A sums
1 + i L_ik over the shared points, giving the count (real part) and the sum of image i's values
(imaginary part) at once. The sum of image j's values is A Lᵀ on the same upper triangle.

The sums are bit-identical to the full products: scipy accumulates entry (i, j) along row i of
the left operand (points k in increasing order; for [Vx | Vy | Vz] all x terms, then y, then z),
which the row blocks do not change, and the complex terms are exact (1 * 1 - 0 * L = 1,
1 * L + 0 * 1 = L for a finite L; values with an inf or NaN take two real products instead, so
that they cannot spoil the counts). A test compares them with the full products.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["PairSums", "upper_pair_sums"]

#: Row blocks of the upper-triangle products (more blocks: less work, more calls).
N_BLOCKS = 8


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
    n_blocks: int | None = None,
) -> PairSums:
    """Shared-point counts and sums of the pairs i < j sharing at least ``min_shared`` points.

    Args:
        incidence: (N, P) CSR of ones with sorted indices and no duplicates.
        values: (nnz,) a finite value per observation, in the CSR order of ``incidence``.
        rays: (nnz, 3) a unit ray per observation, in the same order.
        min_shared: pairs sharing fewer points are left out.
        n_blocks: row blocks (default ``N_BLOCKS``); the products cover about
            1/2 + 1/(2 n_blocks) of both triangles, each block rebuilds the right operands.
    """
    A = sp.csr_matrix(incidence, dtype=np.float64)
    if not A.has_sorted_indices:
        raise ValueError("upper_pair_sums needs an incidence with sorted indices")
    n_images = A.shape[0]
    layout = (A.indices, A.indptr)
    values = np.asarray(values, dtype=np.float64)
    finite = bool(np.isfinite(values).all())  # else 0 * inf would make a count NaN
    left_values = sp.csr_matrix((values, *layout), shape=A.shape)
    left_complex = sp.csr_matrix((1.0 + 1j * values, *layout), shape=A.shape) if finite else None
    left_rays = sp.hstack(
        [sp.csr_matrix((rays[:, k], *layout), shape=A.shape) for k in range(3)], format="csr"
    )
    # right operands, transposed once: rows of points, their images in increasing order
    right_ones = _transposed(A)
    right_values = _transposed(left_values)
    right_rays = _transposed(left_rays)
    n_blocks = N_BLOCKS if n_blocks is None else n_blocks
    bounds = np.unique(np.linspace(0, n_images, max(1, n_blocks) + 1).astype(np.int64))
    parts = []
    right = [right_ones, right_values, right_rays]
    for first, last in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        # shrink the previous block's right operands (they hold the columns >= its first)
        right = [_from_column(m, first) for m in right]
        if finite:
            counts, log0_sums = _rows(left_complex, first, last) @ right[0], None
        else:
            counts = _rows(A, first, last) @ right[0]
            log0_sums = _rows(left_values, first, last) @ right[0]
        log1_sums = _rows(A, first, last) @ right[1]
        cos_sums = _rows(left_rays, first, last) @ right[2]
        parts.append(_block(counts, log0_sums, log1_sums, cos_sums, first, min_shared))
    if not parts:
        parts = [tuple(np.zeros(0, t) for t in (np.int64, np.int64) + (np.float64,) * 4)]
    index0, index1, n_shared, log0, log1, cos = (
        np.concatenate(p) for p in zip(*parts, strict=True)
    )
    return PairSums(index0, index1, n_shared, log0, log1, cos)


def _transposed(matrix: sp.csr_matrix) -> sp.csr_matrix:
    out = matrix.T.tocsr()
    out.sort_indices()
    return out


def _rows(matrix: sp.csr_matrix, first: int, last: int) -> sp.csr_matrix:
    """Rows first..last-1 of a CSR matrix (views of its arrays)."""
    lo, hi = int(matrix.indptr[first]), int(matrix.indptr[last])
    return sp.csr_matrix(
        (matrix.data[lo:hi], matrix.indices[lo:hi], matrix.indptr[first : last + 1] - lo),
        shape=(last - first, matrix.shape[1]),
    )


def _from_column(matrix: sp.csr_matrix, first: int) -> sp.csr_matrix:
    """The entries of a CSR matrix with sorted indices whose column is >= first."""
    if first == 0:
        return matrix
    kept = np.flatnonzero(matrix.indices >= first)
    return sp.csr_matrix(
        (matrix.data[kept], matrix.indices[kept], np.searchsorted(kept, matrix.indptr)),
        shape=matrix.shape,
    )


def _block(
    counts, log0_sums, log1_sums, cos_sums, first: int, min_shared: int
) -> tuple[np.ndarray, ...]:
    """Pairs (i, j), first <= i, i < j, in (i, j) order, with their sums.

    ``counts`` is complex (real: shared points, imaginary: sums of image i's values) when
    ``log0_sums`` is None, else real.
    """
    counts = counts.tocoo()
    width = counts.shape[1]
    row, col = counts.row.astype(np.int64) + first, counts.col.astype(np.int64)
    keep = (col > row) & (counts.data.real >= min_shared)
    order = np.lexsort((col[keep], row[keep]))
    index0, index1, data = row[keep][order], col[keep][order], counts.data[keep][order]
    keys = index0 * width + index1
    if log0_sums is None:
        log0 = data.imag.copy()
    else:
        log0 = _values_at(log0_sums, first, keys, width)
    log1 = _values_at(log1_sums, first, keys, width)
    cos = _values_at(cos_sums, first, keys, width)
    return index0, index1, np.real(data).astype(np.float64), log0, log1, cos


def _values_at(product: sp.spmatrix, first: int, keys: np.ndarray, width: int) -> np.ndarray:
    """Entries of ``product`` (rows offset by ``first``) at sorted keys, 0 where absent (a
    product drops the entries whose sum is exactly 0)."""
    coo = product.tocoo()
    found = (coo.row.astype(np.int64) + first) * width + coo.col.astype(np.int64)
    order = np.argsort(found)
    found = found[order]
    out = np.zeros(len(keys))
    if len(found):
        at = np.minimum(np.searchsorted(found, keys), len(found) - 1)
        hit = found[at] == keys
        out[hit] = coo.data[order][at[hit]]
    return out
