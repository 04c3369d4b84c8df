"""Per-pair sums over shared 3D points, for the pairs i < j only, in one compiled pass.

With A the (N, P) image x point incidence, every pair i < j that shares points gets:

- ``n_shared``: the number of shared points (A Aᵀ);
- ``log_sum0`` / ``log_sum1``: the sums over shared points of a per-observation value of image i,
  resp. of image j (L Aᵀ and A Lᵀ);
- ``cos_sum``: the sum over shared points of the dot product of the two per-observation unit
  rays (V Vᵀ with V = [Vx | Vy | Vz]).

:func:`pair_sums_kernel` (compiled with numba on first use, :mod:`stbench.megadepth.compiled`)
takes the images in blocks of ``block`` rows. For a block it visits the points in increasing
order and, for each image i of the block that sees the point, the images j > i that see it (a
pointer per point walks down its sorted column as the blocks advance, so the lower triangle is
never touched), accumulating into dense per-(row, partner) sums that are emitted and reset after
each block. A point's column is streamed from memory once per block instead of once per row
(the kernel is bound by that traffic: 3.0 instead of 4.5 CPU s at 1,000 dense views, block 16).
Each entry's value and ray sit in one 32-byte row, and the ray term is added in the same pass
as the counts (3.4 -> 2.1 CPU s at 1,000 dense views against three passes, one per ray axis).

``n_shared``, ``log_sum0`` and ``log_sum1`` are bit-identical to the sparse products they
replaced (a test compares them): scipy accumulates entry (i, j) along row i of the left operand,
i.e. over the shared points in increasing order, as the kernel does. ``cos_sum`` adds, per
point, the dot product ``x x' + y y' + z z'``, where the product of the stacked [Vx | Vy | Vz]
added all x terms of all points, then the y terms, then the z terms: the same terms in another
order, so the sum can differ in its last bits (at most 2e-10 relative at 1,000 dense views,
where the view angles it gives differ by at most 2e-10 degree). The manifests store view angles
rounded to 1e-4 degree (docs/manifest.md "Canonical floats"), so the rows and their content
hash are unchanged (``manifest check-hash`` rebuilds the committed manifests and compares).
"""

from __future__ import annotations

from concurrent.futures import Executor
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from stbench.megadepth.compiled import compiled

__all__ = [
    "PairSums",
    "first_entries",
    "pair_sums_kernel",
    "row_work",
    "to_columns",
    "upper_pair_sums",
]


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
    block: int = 16,
    workers: int = 1,
    executor: Executor | None = None,
) -> PairSums:
    """Shared-point counts and sums of the pairs i < j sharing at least ``min_shared`` points.

    Args:
        incidence: (N, P) CSR of ones with sorted indices and no duplicates.
        values: (nnz,) a value per observation, in the CSR order of ``incidence``.
        rays: (nnz, 3) a unit ray per observation, in the same order.
        min_shared: pairs sharing fewer points are left out.
        block: images whose pairs are summed together (memory: 48 bytes x block x N per
            worker).
        workers: threads (the compiled kernel releases the GIL); each sums the pairs of a
            contiguous range of rows holding about an equal share of the work. A pair's sums
            are made by one thread in the same order whatever ``workers`` is, so every value
            is the same.
        executor: a thread pool of ``workers`` threads to sum on instead of a new one, when
            its threads have other work too (e.g. reading depth maps): the rows are then cut
            into 4 x ``workers`` ranges, taken in turn as threads free up.

    Raises:
        ValueError: unsorted or duplicate indices, or values / rays of another length.
        MissingExtraError: numba (the ``build`` extra) is not installed.
    """
    A = sp.csr_matrix(incidence)
    n_images = A.shape[0]
    if not A.has_canonical_format:  # scipy's check, without (nnz,) temporaries
        raise ValueError("upper_pair_sums needs an incidence with sorted indices, no duplicates")
    indptr, indices = A.indptr, A.indices  # int32 or int64: the kernels take either
    values = np.ascontiguousarray(values, dtype=np.float64)
    rays = np.ascontiguousarray(rays, dtype=np.float64)
    if values.shape != (len(indices),) or rays.shape != (len(indices), 3):
        raise ValueError(
            f"upper_pair_sums: values {values.shape} and rays {rays.shape} must be "
            f"({len(indices)},) and ({len(indices)}, 3), one per observation"
        )
    # the columns: per point, the observations that see it, images in increasing order
    n_points = A.shape[1]
    column_ptr = np.zeros(n_points + 1, np.int64)
    column_images = np.empty(len(indices), np.int32)  # less memory traffic than int64
    column_data = np.empty((len(indices), 4))  # value, ray x, y, z: one cache line per entry
    compiled(to_columns)(indptr, indices, values, rays, column_ptr, column_images, column_data)
    kernel = compiled(pair_sums_kernel)
    block = max(1, min(int(block), n_images))
    workers = max(1, int(workers))
    # one range per thread of a pool of its own (more, taken in turn, cost ~10 % more CPU);
    # a shared pool's threads free up at other times, so smaller ranges keep them all busy
    parts = 4 * workers if executor is not None else workers
    bounds = _row_ranges(column_ptr, column_images, n_images, parts)
    arrays = (column_ptr, column_images, column_data)

    def rows_between(start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        return _sum_rows(kernel, arrays, n_images, block, int(min_shared), start, end)

    if len(bounds) <= 2 and executor is None:
        ints, sums = rows_between(0, n_images)
    else:
        from concurrent.futures import ThreadPoolExecutor

        with nullcontext(executor) if executor is not None else ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(rows_between, bounds[:-1], bounds[1:]))
        ints = np.concatenate([part[0] for part in results])
        sums = np.concatenate([part[1] for part in results])
    order = np.argsort(ints[:, 0] * max(1, n_images) + ints[:, 1], kind="stable")  # (i, j)
    ints, sums = ints[order], sums[order]
    return PairSums(
        ints[:, 0], ints[:, 1], ints[:, 2].astype(np.float64), sums[:, 0], sums[:, 1], sums[:, 2]
    )


def _row_ranges(
    column_ptr: np.ndarray, column_images: np.ndarray, n_images: int, parts: int
) -> list[int]:
    """Row bounds ``0 = b0 < b1 < ... = N`` of at most ``parts`` contiguous ranges, each with
    about an equal share of the kernel's work (an entry costs one step per later entry of its
    column: the rows of the upper triangle's first images cost most)."""
    if parts <= 1 or n_images <= 1:
        return [0, n_images]
    work = np.zeros(n_images, np.int64)
    compiled(row_work)(column_ptr, column_images, work)
    work = np.cumsum(work)
    if work[-1] <= 0:
        return [0, n_images]
    cuts = np.searchsorted(work, work[-1] * np.arange(1, parts) / parts) + 1
    return sorted({0, n_images, *(int(c) for c in cuts if 0 < c < n_images)})


def row_work(column_ptr: np.ndarray, column_images: np.ndarray, work: np.ndarray) -> None:
    """``work[i]`` += per entry of row i, that entry and the later ones of its column
    (compiled)."""
    for p in range(len(column_ptr) - 1):
        end = column_ptr[p + 1]
        for b in range(column_ptr[p], end):
            work[column_images[b]] += end - b


def first_entries(
    column_ptr: np.ndarray, column_images: np.ndarray, start: int, below: np.ndarray
) -> None:
    """``below[p]``: point p's first column entry of an image >= ``start`` (its column's
    images increase; compiled)."""
    for p in range(len(column_ptr) - 1):
        r = column_ptr[p]
        while r < column_ptr[p + 1] and column_images[r] < start:
            r += 1
        below[p] = r


def _sum_rows(
    kernel, arrays: tuple, n_images: int, block: int, min_shared: int, start: int, end: int
) -> tuple[np.ndarray, np.ndarray]:
    """(i, j, n_shared) and sums of the pairs of rows ``start`` to ``end`` - 1, in the order
    the kernel emits them (its outputs grow when full)."""
    column_ptr, column_images = arrays[0], arrays[1]
    below = column_ptr[:-1].copy()  # per point, its first entry of an image >= start
    if start > 0:
        compiled(first_entries)(column_ptr, column_images, start, below)
    accumulators = np.zeros((block, n_images, 4))  # count, log_sum0, log_sum1, cos_sum
    touched = np.zeros((block, n_images), np.int64)
    n_touched = np.zeros(block, np.int64)
    capacity = max(1024, 8 * n_images)
    ints, sums = np.empty((capacity, 3), np.int64), np.empty((capacity, 3))
    row, m = start, 0
    while row < end:  # a full output resumes at the block that did not fit
        row, m = kernel(
            *arrays, n_images, end, block, min_shared, below, accumulators, touched,
            n_touched, ints, sums, row, m,
        )  # fmt: skip
        if row < end:
            capacity *= 2
            ints = np.concatenate([ints[:m], np.empty((capacity - m, 3), np.int64)])
            sums = np.concatenate([sums[:m], np.empty((capacity - m, 3))])
    return ints[:m], sums[:m]


def to_columns(
    indptr: np.ndarray,
    indices: np.ndarray,
    values: np.ndarray,
    rays: np.ndarray,
    column_ptr: np.ndarray,
    column_images: np.ndarray,
    column_data: np.ndarray,
) -> None:
    """The incidence's columns (a stable counting sort of its CSR rows by point, compiled):
    ``column_ptr`` (zeros on entry), and per entry the image and (value, ray x, y, z)."""
    for a in range(len(indices)):
        column_ptr[indices[a] + 1] += 1
    for p in range(len(column_ptr) - 1):
        column_ptr[p + 1] += column_ptr[p]
    fill = column_ptr[:-1].copy()
    for i in range(len(indptr) - 1):
        for a in range(indptr[i], indptr[i + 1]):
            b = fill[indices[a]]
            fill[indices[a]] += 1
            column_images[b] = i
            column_data[b, 0] = values[a]
            column_data[b, 1] = rays[a, 0]
            column_data[b, 2] = rays[a, 1]
            column_data[b, 3] = rays[a, 2]


def pair_sums_kernel(
    column_ptr: np.ndarray,
    column_images: np.ndarray,
    column_data: np.ndarray,
    n_images: int,
    stop: int,
    block: int,
    min_shared: int,
    below: np.ndarray,
    accumulators: np.ndarray,
    touched: np.ndarray,
    n_touched: np.ndarray,
    ints: np.ndarray,
    sums: np.ndarray,
    row: int,
    m: int,
) -> tuple[int, int]:
    """The pairs i < j sharing >= ``min_shared`` points, for the blocks of rows from ``row`` on.

    Args:
        column_ptr, column_images, column_data: the incidence's columns: entries
            ``column_ptr[p]`` to ``column_ptr[p + 1]`` are the images that see point p
            (increasing) and their observations' (value, ray x, y, z), (nnz, 4).
        n_images: N; stop: the rows ``row`` to ``stop`` - 1 are summed; block: rows summed
            together.
        below: per point, its first column entry of an image >= ``row``
            (``column_ptr[:-1]`` at row 0).
        accumulators: (block, N, 4) zeros; touched: (block, N), n_touched: (block,) scratch.
        ints, sums: (capacity, 3) outputs (i, j, n_shared), (log_sum0, log_sum1, cos_sum),
            filled from ``m`` on; a row's pairs come in the order its partners were met.

    Every pair's sums add their terms in increasing point order (the block's points are visited
    in that order); a point's ray term is the dot product of its two rays, x + y + z.
    Returns:
        the first row not done (``stop`` when all are) and the number of pairs written.
    """
    n_points = len(column_ptr) - 1
    capacity = len(ints)
    acc = accumulators
    for first in range(row, stop, block):
        last = min(first + block, stop)  # rows first .. last - 1
        for p in range(n_points):
            end = column_ptr[p + 1]
            r = below[p]
            while r < end and column_images[r] < last:
                t = column_images[r] - first
                value = column_data[r, 0]
                x, y, z = column_data[r, 1], column_data[r, 2], column_data[r, 3]
                for b in range(r + 1, end):
                    j = column_images[b]
                    if acc[t, j, 0] == 0:
                        touched[t, n_touched[t]] = j
                        n_touched[t] += 1
                    acc[t, j, 0] += 1
                    acc[t, j, 1] += value
                    acc[t, j, 2] += column_data[b, 0]
                    cos = x * column_data[b, 1] + y * column_data[b, 2] + z * column_data[b, 3]
                    acc[t, j, 3] += cos
                r += 1
        needed = 0
        for t in range(last - first):
            needed += n_touched[t]
        full = m + needed > capacity  # no room: undo this block, the caller grows the outputs
        for t in range(last - first):
            for q in range(n_touched[t]):
                j = touched[t, q]
                if not full and acc[t, j, 0] >= min_shared:
                    ints[m, 0] = first + t
                    ints[m, 1] = j
                    ints[m, 2] = int(acc[t, j, 0])
                    sums[m, 0] = acc[t, j, 1]
                    sums[m, 1] = acc[t, j, 2]
                    sums[m, 2] = acc[t, j, 3]
                    m += 1
                acc[t, j, 0] = acc[t, j, 1] = acc[t, j, 2] = acc[t, j, 3] = 0.0
            n_touched[t] = 0
        if full:
            return first, m
        for p in range(n_points):  # each point's entry of the next block's first image
            end = column_ptr[p + 1]
            r = below[p]
            while r < end and column_images[r] < last:
                r += 1
            below[p] = r
    return stop, m
