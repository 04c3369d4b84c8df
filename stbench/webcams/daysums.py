"""Per-(offset, solar day) sums of the sun model in one compiled pass, bit for bit numpy's.

:class:`~stbench.webcams.sunstats.SunStatistics` needs, for every grid offset ``k`` and solar day
``d``, the sums over the day's frames of ``g``, ``g * g`` and ``g * b``, where ``g`` is the
brightness curve (piecewise linear at the elevation knots) at the sun's elevation at the frame
time shifted by the offset. In numpy that is five passes over a (K, N) array per shape round
(the periodic gathers of :class:`~stbench.webcams.shifted_sun.ShiftedSun`, ``np.interp`` through
the knots, two products, three ``np.add.reduceat``); 29 M values at four years of hourly frames.
:func:`shifted_day_sums` does it in one pass per offset with a day's values in a small buffer,
and evaluates the same floating-point operations in the same order:

- the elevation ``slope[j] * d + elevation[j]`` of the periodic plan (two roundings, no fused
  multiply-add; numba without fast-math does not contract them);
- ``np.interp``'s value: left / right values outside the knots, the knot's value on a knot, else
  ``slope * (x - x_j) + y_j`` with numpy's precomputed slopes (and its retry from the right knot
  when that is NaN);
- ``np.add.reduceat``'s sum of a segment: its first value plus numpy's pairwise sum of the rest
  (8 accumulators per block of at most 128 values, halves above that).

``tests/webcams/test_shifted_sun.py`` checks the sums equal to the numpy construction bit for
bit, with days of fewer than 8, up to 128 and more than 128 frames.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from stbench.extras import import_optional

__all__ = ["interp_slopes", "is_compiled", "knot_lookup", "pairwise_sum", "shifted_day_sums"]

_BLOCK = 128  # numpy's PW_BLOCKSIZE
_DAYS_PER_BLOCK = 16  # days of frames whose sun table rows are reused across all offsets


def interp_slopes(knots: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The slopes ``np.interp`` precomputes: ``(y[i+1] - y[i]) / (x[i+1] - x[i])``."""
    return (values[1:] - values[:-1]) / (knots[1:] - knots[:-1])


def _block_sum(a: np.ndarray, lo: int, n: int) -> float:
    """numpy's pairwise sum of ``a[lo:lo + n]`` for n <= 128 (one block, no recursion)."""
    if n < 8:
        res = -0.0
        for i in range(n):
            res += a[lo + i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    while i < n - (n % 8):
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


def pairwise_sum(a: np.ndarray, lo: int, n: int) -> float:
    """numpy's pairwise sum of ``a[lo:lo + n]`` (what ``np.add.reduce`` adds after the first
    value of a reduction): one block up to 128 values, else the sum of two halves."""
    if n <= _BLOCK:
        return _block_sum(a, lo, n)
    half = n // 2
    half -= half % 8
    return pairwise_sum(a, lo, half) + pairwise_sum(a, lo + half, n - half)


def knot_lookup(knots: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(origin, bin width, cell of each bin): a uniform table over the knots whose bins are no
    wider than the narrowest knot interval, so the cell of ``x`` is the bin's cell or the next
    (the kernel steps to it), without a binary search per value."""
    width = float(np.min(np.diff(knots)))
    n_bins = int(np.ceil((knots[-1] - knots[0]) / width)) + 1
    edges = knots[0] + width * np.arange(n_bins)
    cells = np.clip(np.searchsorted(knots, edges, side="right") - 1, 0, len(knots) - 2)
    return float(knots[0]), width, cells.astype(np.int64)


def _segment_sum(a: np.ndarray, n: int) -> float:
    """``np.add.reduceat``'s sum of ``a[:n]`` (n >= 1): the first value plus the rest."""
    if n == 1:
        return a[0]
    if n - 1 <= _BLOCK:  # a day of at most 129 frames: no call
        return a[0] + _block_sum(a, 1, n - 1)
    return a[0] + pairwise_sum(a, 1, n - 1)


def _day_sums_kernel(
    period: int,
    shift: int,
    cells: np.ndarray,
    distances: np.ndarray,
    slopes: np.ndarray,
    elevation: np.ndarray,
    knots: np.ndarray,
    values: np.ndarray,
    knot_slopes: np.ndarray,
    origin: float,
    width: float,
    bins: np.ndarray,
    brightness: np.ndarray,
    bounds: np.ndarray,
    sg: np.ndarray,
    sgg: np.ndarray,
    sgb: np.ndarray,
) -> None:
    n_days = len(bounds) - 1
    last, n_bins = len(knots) - 1, len(bins)
    inv_width = 1.0 / width  # the bin is a guess (corrected below): rounding does not matter
    longest = 1
    for d in range(n_days):
        longest = max(longest, bounds[d + 1] - bounds[d])
    g = np.empty(longest)
    gg = np.empty(longest)
    gb = np.empty(longest)
    # blocks of days, all offsets per block: the sun table rows a block reads stay in the CPU
    # cache across the offsets (offset by offset over all frames, the scattered gathers
    # streamed the table from memory once per offset)
    for first in range(0, n_days, _DAYS_PER_BLOCK):
        stop = min(first + _DAYS_PER_BLOCK, n_days)
        for k in range(sg.shape[0]):
            r = k % period
            base = shift * (k // period)
            for d in range(first, stop):
                lo, hi = bounds[d], bounds[d + 1]
                for i in range(lo, hi):
                    j = base + cells[r, i]
                    x = slopes[j] * distances[r, i]
                    x = x + elevation[j]
                    # np.interp(x, knots, values), written out here (a helper call costs 10x)
                    if x != x:  # NaN
                        value = x
                    elif x < knots[0]:
                        value = values[0]
                    elif x >= knots[last]:
                        value = values[last]
                    else:
                        c = bins[min(int((x - origin) * inv_width), n_bins - 1)]
                        while c > 0 and x < knots[c]:  # the bin's rounding, either way
                            c -= 1
                        while c < last - 1 and x >= knots[c + 1]:
                            c += 1
                        if knots[c] == x:
                            value = values[c]
                        else:
                            value = knot_slopes[c] * (x - knots[c]) + values[c]
                            if value != value:  # numpy's retry from the right knot
                                value = knot_slopes[c] * (x - knots[c + 1]) + values[c + 1]
                                if value != value and values[c] == values[c + 1]:
                                    value = values[c]
                    g[i - lo] = value
                    gg[i - lo] = value * value
                    gb[i - lo] = value * brightness[i]
                sg[k, d] = _segment_sum(g, hi - lo)
                sgg[k, d] = _segment_sum(gg, hi - lo)
                sgb[k, d] = _segment_sum(gb, hi - lo)


def is_compiled() -> bool:
    """Whether this process has compiled the kernel (a first call of :func:`shifted_day_sums`)."""
    kernel = _compiled_kernel() if _compiled_kernel.cache_info().currsize else None
    return kernel is not None and bool(kernel.signatures)


@functools.cache
def _compiled_kernel() -> Any:
    """The kernel and its helpers compiled with numba (once per process, nothing written to
    disk, ``nogil``, no fast-math: the conventions of :mod:`stbench.megadepth.compiled`)."""
    numba = import_optional("numba")
    jit = functools.partial(numba.njit, cache=False, nogil=True, error_model="numpy")
    namespace = dict(globals())
    # helpers not inlined: compiling takes ~40 % less and the pass is as fast
    for function in (_block_sum, pairwise_sum, _segment_sum, _day_sums_kernel):
        copy = type(function)(function.__code__, namespace, function.__name__)
        namespace[function.__name__] = jit(copy)
    return namespace["_day_sums_kernel"]


def shifted_day_sums(
    plan: tuple,
    n_offsets: int,
    elevation: np.ndarray,
    knots: np.ndarray,
    values: np.ndarray,
    brightness: np.ndarray,
    starts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(K, D) day sums of ``g``, ``g * g`` and ``g * brightness``.

    Args:
        plan: the periodic plan of a :class:`~stbench.webcams.shifted_sun.ShiftedSun`
            (period, table shift per period, cells, distances, table slopes).
        n_offsets: K, the offsets of the plan.
        elevation: the sun table's elevations (deg).
        knots, values: the brightness curve (``np.interp(elevation, knots, values)``).
        brightness: (N,) frame brightness.
        starts: (D,) first frame of each solar day (frames sorted by time, days contiguous).
    Returns:
        Equal to ``np.add.reduceat(g, starts, axis=1)`` etc. with
        ``g = np.interp(sun.rows(0, K), knots, values)``.
    """
    period, shift, cells, distances, slopes = plan
    knots = np.ascontiguousarray(knots, dtype=np.float64)
    values = np.ascontiguousarray(values, dtype=np.float64)
    bounds = np.r_[np.asarray(starts, dtype=np.int64), len(brightness)]
    sums = tuple(np.empty((n_offsets, len(starts))) for _ in range(3))
    _compiled_kernel()(
        int(period),
        int(shift),
        np.ascontiguousarray(cells, dtype=np.int64),
        np.ascontiguousarray(distances, dtype=np.float64),
        np.ascontiguousarray(slopes, dtype=np.float64),
        np.ascontiguousarray(elevation, dtype=np.float64),
        knots,
        values,
        interp_slopes(knots, values),
        *knot_lookup(knots),
        np.ascontiguousarray(brightness, dtype=np.float64),
        bounds,
        *sums,
    )
    return sums
