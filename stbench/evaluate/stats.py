"""Summary statistics with seeded 95 % bootstrap intervals, and paired tests between two runs.

Every summary number is a statistic of per-pair (or per-image) values: a mean, a ratio of sums or
the pose AUC. The bootstrap resamples pairs (or images) with replacement ``n_boot`` times with a
seeded generator and reports the 2.5 and 97.5 percentiles (the percentile interval).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: A statistic of per-item columns, vectorised over bootstrap replicates:
#: takes (B, n) arrays (one per column, the same resampling) and returns (B,).
Statistic = Callable[..., np.ndarray]


@dataclass(frozen=True)
class Estimate:
    """A summary number with its sample size and 95 % bootstrap interval (NaN when n == 0)."""

    value: float
    ci_low: float
    ci_high: float
    n: int

    def as_dict(self) -> dict[str, float | int | None]:
        """JSON-ready dict (NaN becomes None)."""

        def clean(x: float) -> float | None:
            return None if not np.isfinite(x) else float(x)

        return {
            "value": clean(self.value),
            "ci_low": clean(self.ci_low),
            "ci_high": clean(self.ci_high),
            "n": int(self.n),
        }


NAN_ESTIMATE = Estimate(float("nan"), float("nan"), float("nan"), 0)


def mean_statistic(values: np.ndarray) -> np.ndarray:
    """Mean over the last axis."""
    return values.mean(axis=-1)


def ratio_statistic(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Ratio of sums over the last axis (NaN where the denominator sums to 0)."""
    num = numerator.sum(axis=-1)
    den = denominator.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


@functools.lru_cache(maxsize=4)
def bootstrap_indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n) resampling indices from a seeded generator (cached, read-only).

    Every metric over the same items uses the same resamples, so intervals of metrics on the
    same pairs are computed on the same bootstrap replicates.
    """
    rng = np.random.default_rng(seed)
    dtype = np.int32 if n < 2**31 else np.int64
    index = rng.integers(0, n, size=(n_boot, n), dtype=dtype)
    index.flags.writeable = False
    return index


def estimate(
    statistic: Statistic, *columns: np.ndarray, n_boot: int = 1000, seed: int = 0
) -> Estimate:
    """A statistic of per-item columns with a seeded percentile bootstrap interval.

    Args:
        statistic: vectorised statistic, (B, n) arrays -> (B,).
        columns: (n,) arrays, one per argument of ``statistic``; items are resampled jointly.
        n_boot: bootstrap replicates (0 disables the interval).
        seed: generator seed (same seed + same data = same interval).
    """
    columns = tuple(np.asarray(c, dtype=np.float64) for c in columns)
    n = len(columns[0])
    if n == 0:
        return NAN_ESTIMATE
    value = float(statistic(*(c[None, :] for c in columns))[0])
    if n_boot <= 0:
        return Estimate(value, float("nan"), float("nan"), n)
    index = bootstrap_indices(n, n_boot, seed)
    replicates = statistic(*(c[index] for c in columns))
    replicates = replicates[np.isfinite(replicates)]
    if replicates.size == 0:
        return Estimate(value, float("nan"), float("nan"), n)
    low, high = np.percentile(replicates, [2.5, 97.5])
    return Estimate(value, float(low), float(high), n)


@dataclass(frozen=True)
class PairedComparison:
    """B minus A on the same items: delta, its 95 % paired-bootstrap interval, permutation p."""

    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int


def paired_comparison(
    statistic: Statistic,
    columns_a: tuple[np.ndarray, ...],
    columns_b: tuple[np.ndarray, ...],
    n_boot: int = 1000,
    n_permutations: int = 1000,
    seed: int = 0,
) -> PairedComparison:
    """Compare two methods on the same items (pairs or images).

    The interval resamples items jointly for both methods (paired bootstrap). The two-sided
    p-value comes from a paired permutation test: each item's two results are swapped with
    probability 1/2, and p = (1 + #{|delta_perm| >= |delta|}) / (1 + n_permutations).

    Args:
        statistic: vectorised statistic, (B, n) arrays -> (B,).
        columns_a, columns_b: the per-item columns of each method, aligned item by item.
    """
    a = tuple(np.asarray(c, dtype=np.float64) for c in columns_a)
    b = tuple(np.asarray(c, dtype=np.float64) for c in columns_b)
    n = len(a[0])
    if n == 0:
        return PairedComparison(float("nan"), float("nan"), float("nan"), float("nan"), 0)
    delta = float(statistic(*(c[None] for c in b))[0] - statistic(*(c[None] for c in a))[0])
    rng = np.random.default_rng(seed)
    index = rng.integers(0, n, size=(n_boot, n))
    boot = statistic(*(c[index] for c in b)) - statistic(*(c[index] for c in a))
    boot = boot[np.isfinite(boot)]
    low, high = np.percentile(boot, [2.5, 97.5]) if boot.size else (np.nan, np.nan)
    swap = rng.random((n_permutations, n)) < 0.5
    perm_a = tuple(np.where(swap, cb[None], ca[None]) for ca, cb in zip(a, b, strict=True))
    perm_b = tuple(np.where(swap, ca[None], cb[None]) for ca, cb in zip(a, b, strict=True))
    perm_delta = statistic(*perm_b) - statistic(*perm_a)
    extreme = np.sum(np.abs(perm_delta) >= abs(delta) - 1e-12)
    p_value = float((1 + extreme) / (1 + n_permutations)) if np.isfinite(delta) else float("nan")
    return PairedComparison(delta, float(low), float(high), p_value, n)
