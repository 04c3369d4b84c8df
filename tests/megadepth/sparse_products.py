"""The pair sums as sparse products, the definition the compiled kernel replaced: the tests'
oracle (counts and value sums) and the baseline of ``benchmarks/pair_sums.py``."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def sparse_pair_sums(
    A: sp.csr_matrix, values: np.ndarray, rays: np.ndarray, min_shared: int
) -> tuple[np.ndarray, ...]:
    """(i, j, n_shared, log_sum0, log_sum1, cos_sum) of the pairs i < j sharing >= ``min_shared``
    points, sorted by (i, j): A Aᵀ, L Aᵀ and [Vx|Vy|Vz] [Vx|Vy|Vz]ᵀ read at i < j."""
    layout = (A.indices, A.indptr)
    L = sp.csr_matrix((values, *layout), shape=A.shape)
    V = sp.hstack([sp.csr_matrix((rays[:, k], *layout), shape=A.shape) for k in range(3)]).tocsr()
    shared = sp.triu(A @ A.T, k=1).tocoo()
    keep = shared.data >= min_shared
    order = np.lexsort((shared.col[keep], shared.row[keep]))
    i, j = shared.row[keep][order], shared.col[keep][order]
    log_sums, cos_sums = (L @ A.T).toarray(), (V @ V.T).toarray()  # N x N: small
    return i, j, shared.data[keep][order], log_sums[i, j], log_sums[j, i], cos_sums[i, j]
