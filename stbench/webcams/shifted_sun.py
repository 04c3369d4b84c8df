"""Sun elevation at every frame time shifted by every grid clock offset, without a search per value.

The clock fit needs ``np.interp(t_i + o_k, grid, elevation)`` for every frame ``i`` and grid
offset ``o_k`` (29 M values for four years of hourly frames and +-14 h in 2-min steps), once per
brightness-curve round. ``np.interp`` binary-searches the 5-min sun table for each value. Here the
search is done once per frame for a few offsets only: the offset step (120 s) and the table step
(300 s) share a period (600 s = 5 offsets = 2 table steps), so the offset ``k + 5 m`` falls in
table cell ``j_r + 2 m`` at the same distance ``d_r`` from its left node as the offset ``r = k mod
5`` does. Each value is then the two gathers and the multiply-add ``np.interp`` itself does
(``slope[j] * (x - grid[j]) + elevation[j]``), bit for bit the same result, because with whole
seconds (frame times, table nodes, offsets) every time and difference is exact in float64.

Frames with fractional seconds, a table whose steps are not exact, or a step ratio with a long
period fall back to ``np.interp`` (same values, only slower). The rows are kept (and reused by
the next round) when they fit :data:`CACHE_BYTES`.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["CACHE_BYTES", "ShiftedSun"]

#: Shifted elevations (K x N float64) kept between the rounds of one fit when at most this big.
CACHE_BYTES = 256 * 2**20
_MAX_PERIOD = 64  # residues searched per frame at most (else np.interp)
_EXACT = 2.0**52  # whole numbers below this add and subtract exactly in float64


class ShiftedSun:
    """Sun elevation (deg) at ``times_s + offsets_min * 60`` for blocks of offsets.

    Args:
        times_s: (N,) recorded times, s since the epoch.
        offsets_min: (K,) evenly spaced clock offsets (minutes).
        grid: (G,) times of the sun table (s), evenly spaced, covering every shifted time.
        elevation: (G,) sun elevation at ``grid`` (deg).
    """

    def __init__(
        self,
        times_s: np.ndarray,
        offsets_min: np.ndarray,
        grid: np.ndarray,
        elevation: np.ndarray,
    ) -> None:
        self.times_s = np.asarray(times_s, dtype=np.float64)
        self.offsets_min = np.asarray(offsets_min, dtype=np.float64)
        self.grid = np.asarray(grid, dtype=np.float64)
        self.elevation = np.asarray(elevation, dtype=np.float64)
        self._cache: np.ndarray | None = None
        self._plan = self._periodic_plan()

    @property
    def table(self) -> tuple[np.ndarray, np.ndarray]:
        """The (grid s, elevation deg) sun table."""
        return self.grid, self.elevation

    @property
    def plan(self) -> tuple | None:
        """(period, table shift per period, cells (P, N), distances (P, N), table slopes) of
        the periodic gathers, or None (rows by ``np.interp``)."""
        return self._plan

    @property
    def exact_periodic(self) -> bool:
        """Whether rows are built from the periodic gathers (else by ``np.interp``)."""
        return self._plan is not None

    def rows(self, lo: int, hi: int) -> np.ndarray:
        """(hi - lo, N) elevation at the times shifted by ``offsets_min[lo:hi]``; equal to
        ``np.interp(times_s + offsets_min[lo:hi, None] * 60, grid, elevation)``."""
        if self._cache is not None:
            return self._cache[lo:hi]
        if self._plan is None:
            shifted = self.times_s[None, :] + self.offsets_min[lo:hi, None] * 60.0
            return np.interp(shifted, self.grid, self.elevation)
        period, shift, cells, distances, slopes = self._plan
        out = np.empty((hi - lo, len(self.times_s)))
        scratch = np.empty(len(self.times_s))
        # mode="clip": the cells are checked in range (and "raise" with out= copies through a buffer)
        for row, k in enumerate(range(lo, hi)):
            r, m = k % period, k // period
            base = shift * m
            np.take(slopes[base:], cells[r], out=out[row], mode="clip")
            out[row] *= distances[r]
            np.take(self.elevation[base:], cells[r], out=scratch, mode="clip")
            out[row] += scratch
        return out

    def keep(self) -> None:
        """Compute and keep all rows when they fit :data:`CACHE_BYTES` (for later rounds)."""
        size = len(self.offsets_min) * len(self.times_s) * 8
        if self._cache is None and size <= CACHE_BYTES:
            self._cache = self.rows(0, len(self.offsets_min))

    def _periodic_plan(self):
        """(period, table shift per period, cells (P, N), distances (P, N), slopes) or None."""
        t, grid, k = self.times_s, self.grid, len(self.offsets_min)
        if len(t) == 0 or k < 2 or len(grid) < 2:
            return None
        offsets_s = self.offsets_min * 60.0
        step_o, step_g = offsets_s[1] - offsets_s[0], grid[1] - grid[0]
        whole = (t, grid, offsets_s)
        if not all(np.all(a == np.round(a)) and np.all(np.abs(a) < _EXACT) for a in whole):
            return None
        if step_o <= 0 or step_g <= 0 or np.any(np.diff(grid) != step_g):
            return None
        if np.any(offsets_s != offsets_s[0] + step_o * np.arange(k)):
            return None
        common = math.gcd(int(step_o), int(step_g))
        period, shift = int(step_g) // common, int(step_o) // common
        if period > min(_MAX_PERIOD, k):
            return None
        shifted = t[None, :] + offsets_s[:period, None]
        cells = np.searchsorted(grid, shifted, side="right") - 1
        last = shift * (
            (k - 1 - np.arange(period)) // period
        )  # table shift of each residue's last row
        # every shifted time strictly inside the table (np.interp's end rules never apply)
        if cells.min() < 0 or np.any(cells.max(axis=1) + last > len(grid) - 2):
            return None
        distances = shifted - grid[cells]
        # np.interp's slope, computed the same way
        slopes = (self.elevation[1:] - self.elevation[:-1]) / (grid[1:] - grid[:-1])
        return period, shift, cells, distances, slopes
