"""Summary statistics with seeded 95 % bootstrap intervals, and paired tests between two runs.

Every summary number is a statistic of per-pair (or per-image) values: a mean, a ratio of sums,
F1 or the pose AUC. The bootstrap resamples pairs (or images) with replacement ``n_boot`` times
with a seeded generator and reports the 2.5 and 97.5 percentiles (the percentile interval).

A resample is represented by its count weights (how often each item was drawn), so statistics
that are sums become matrix-vector products: (B, n) weights @ (n,) values.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

#: A statistic of per-item columns, vectorised over resamples: ``statistic(weights, *columns)``
#: with weights (B, n) (item counts of each resample) and columns (n,) or (B, n) -> (B,).
Statistic = Callable[..., np.ndarray]


def weighted_sum(weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sum of ``values`` over items weighted by each row of ``weights`` -> (B,)."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        return weights @ values
    return np.sum(weights * values, axis=-1)


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


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit BLAS to one thread while computing summaries.

    The bootstrap's (1000, n) matrix-vector products are small; multi-threaded BLAS makes them
    several times slower on shared cores. The limit applies only inside this context.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield


def mean_statistic(weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Weighted mean of the items (NaN for a resample that drew none of them)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return weighted_sum(weights, values) / weights.sum(axis=-1)


def ratio_statistic(
    weights: np.ndarray, numerator: np.ndarray, denominator: np.ndarray
) -> np.ndarray:
    """Ratio of weighted sums (NaN where the denominator sums to 0)."""
    num = weighted_sum(weights, numerator)
    den = weighted_sum(weights, denominator)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


@functools.lru_cache(maxsize=2)
def bootstrap_weights(n: int, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n) float64 item counts of seeded resamples with replacement (cached, read-only).

    Every metric over the same items uses the same resamples.
    """
    rng = np.random.default_rng(seed)
    index = rng.integers(0, n, size=(n_boot, n))
    flat = (index + n * np.arange(n_boot)[:, None]).ravel()
    weights = np.bincount(flat, minlength=n_boot * n).reshape(n_boot, n).astype(np.float64)
    weights = np.asfortranarray(weights)  # item columns contiguous: cheap subsets
    weights.flags.writeable = False
    return weights


def estimate(
    statistic: Statistic,
    *columns: np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
    weights: np.ndarray | None = None,
) -> Estimate:
    """A statistic of per-item columns with a seeded percentile bootstrap interval.

    Args:
        statistic: vectorised statistic (see :data:`Statistic`).
        columns: (n,) arrays, one per column argument of ``statistic``; items are resampled
            jointly.
        n_boot: bootstrap replicates (0 disables the interval).
        seed: generator seed (same seed + same data = same interval).
        weights: (B, n) resample counts to use instead of drawing new ones (e.g. the columns
            of a resample of a larger item set restricted to the items the metric applies to).
    """
    columns = tuple(np.asarray(c, dtype=np.float64) for c in columns)
    n = len(columns[0])
    if n == 0:
        return NAN_ESTIMATE
    value = float(statistic(np.ones((1, n)), *columns)[0])
    if n_boot <= 0:
        return Estimate(value, float("nan"), float("nan"), n)
    if weights is None:
        weights = bootstrap_weights(n, n_boot, seed)
    replicates = statistic(weights, *columns)
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
        statistic: vectorised statistic (see :data:`Statistic`).
        columns_a, columns_b: the per-item columns of each method, aligned item by item.
    """
    a = tuple(np.asarray(c, dtype=np.float64) for c in columns_a)
    b = tuple(np.asarray(c, dtype=np.float64) for c in columns_b)
    n = len(a[0])
    if n == 0:
        return PairedComparison(float("nan"), float("nan"), float("nan"), float("nan"), 0)
    ones = np.ones((1, n))
    delta = float(statistic(ones, *b)[0] - statistic(ones, *a)[0])
    weights = bootstrap_weights(n, n_boot, seed)
    boot = statistic(weights, *b) - statistic(weights, *a)
    rng = np.random.default_rng(seed + 1)
    boot = boot[np.isfinite(boot)]
    low, high = np.percentile(boot, [2.5, 97.5]) if boot.size else (np.nan, np.nan)
    swap = rng.random((n_permutations, n)) < 0.5
    perm_a = tuple(np.where(swap, cb[None], ca[None]) for ca, cb in zip(a, b, strict=True))
    perm_b = tuple(np.where(swap, ca[None], cb[None]) for ca, cb in zip(a, b, strict=True))
    uniform = np.ones((n_permutations, n))
    perm_delta = statistic(uniform, *perm_b) - statistic(uniform, *perm_a)
    extreme = np.sum(np.abs(perm_delta) >= abs(delta) - 1e-12)
    p_value = float((1 + extreme) / (1 + n_permutations)) if np.isfinite(delta) else float("nan")
    return PairedComparison(delta, float(low), float(high), p_value, n)
