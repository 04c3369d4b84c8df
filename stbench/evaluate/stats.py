"""Summary statistics with seeded 95 % cluster-bootstrap intervals, and paired tests.

Every summary number is a statistic of per-pair (or per-image) values: a mean, a ratio of sums,
F1 or the pose AUC. The bootstrap resamples *clusters* of items (stbench.evaluate.clusters; a
cluster of one item gives the naive bootstrap) with replacement ``n_boot`` times with a seeded
generator and reports the 2.5 and 97.5 percentiles (the percentile interval).

A resample is represented by its count weights (how often each item was drawn), so statistics
that are sums become matrix-vector products: (B, n) weights @ (n,) values.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from stbench.defaults import N_BOOTSTRAP
from stbench.evaluate.clusters import NOTE_FEW_CLUSTERS, NOTE_SMALL_N

__all__ = [
    "NAN_ESTIMATE",
    "Estimate",
    "PairedComparison",
    "bootstrap_weights",
    "cluster_weights",
    "estimate",
    "interval_note",
    "mean_statistic",
    "paired_comparison",
    "ratio_statistic",
    "single_threaded_blas",
    "weighted_sum",
]


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
    """A summary number with its sample size, clusters and 95 % bootstrap interval.

    The interval is NaN when n == 0, when no bootstrap was asked for, or when ``note`` says
    why not (``n too small``, ``too few clusters``).
    """

    value: float
    ci_low: float
    ci_high: float
    n: int
    n_clusters: int = 0
    note: str | None = None

    def as_dict(self) -> dict[str, float | int | str | None]:
        """JSON-ready dict (NaN becomes None)."""

        def clean(x: float) -> float | None:
            return None if not np.isfinite(x) else float(x)

        return {
            "value": clean(self.value),
            "ci_low": clean(self.ci_low),
            "ci_high": clean(self.ci_high),
            "n": int(self.n),
            "n_clusters": int(self.n_clusters),
            "note": self.note,
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


def cluster_weights(codes: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n) item counts of a seeded cluster bootstrap.

    Clusters (``codes``: (n,) ints 0..G-1) are drawn with replacement; an item counts as often
    as its cluster was drawn. With every item its own cluster this is :func:`bootstrap_weights`.
    """
    codes = np.asarray(codes, dtype=np.int64)
    n_clusters = int(codes.max()) + 1 if len(codes) else 0
    base = bootstrap_weights(n_clusters, n_boot, seed)
    if n_clusters == len(codes) and np.array_equal(codes, np.arange(len(codes))):
        return base
    return base[:, codes]


def _percentiles(replicates: np.ndarray) -> tuple[float, float]:
    replicates = replicates[np.isfinite(replicates)]
    if replicates.size == 0:
        return float("nan"), float("nan")
    low, high = np.percentile(replicates, [2.5, 97.5])
    return float(low), float(high)


def estimate(
    statistic: Statistic,
    *columns: np.ndarray,
    n_boot: int = N_BOOTSTRAP,
    seed: int = 0,
    weights: np.ndarray | None = None,
    clusters: np.ndarray | None = None,
    min_items: int = 1,
    min_clusters: int = 1,
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
        clusters: (n,) cluster codes 0..G-1 of the items (None: every item its own cluster);
            without ``weights``, clusters are resampled (see :func:`cluster_weights`).
        min_items, min_clusters: below either, no interval is computed and ``note`` says why.
    """
    columns = tuple(np.asarray(c, dtype=np.float64) for c in columns)
    n = len(columns[0])
    if n == 0:
        return NAN_ESTIMATE
    codes = np.arange(n) if clusters is None else np.asarray(clusters, dtype=np.int64)
    n_clusters = len(np.unique(codes))
    value = float(statistic(np.ones((1, n)), *columns)[0])
    note = interval_note(n, n_clusters, min_items, min_clusters)
    if n_boot <= 0 or note is not None:
        return Estimate(value, float("nan"), float("nan"), n, n_clusters, note)
    if weights is None:
        weights = cluster_weights(np.unique(codes, return_inverse=True)[1], n_boot, seed)
    low, high = _percentiles(statistic(weights, *columns))
    return Estimate(value, low, high, n, n_clusters)


def interval_note(n: int, n_clusters: int, min_items: int, min_clusters: int) -> str | None:
    """Why no interval is given: ``n too small``, ``too few clusters`` (or None)."""
    if n < min_items:
        return NOTE_SMALL_N
    if n_clusters < min_clusters:
        return NOTE_FEW_CLUSTERS
    return None


@dataclass(frozen=True)
class PairedComparison:
    """A, B and B minus A on the same items, from the same resamples.

    ``delta`` with its 95 % paired-bootstrap interval and permutation p; ``a`` and ``b`` with
    their intervals; ``n`` items in ``n_clusters`` clusters; ``note`` says why intervals are
    missing (too few items or clusters).
    """

    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    n_clusters: int = 0
    a: float = float("nan")
    a_ci: tuple[float, float] = (float("nan"), float("nan"))
    b: float = float("nan")
    b_ci: tuple[float, float] = (float("nan"), float("nan"))
    note: str | None = None


def paired_comparison(
    statistic: Statistic,
    columns_a: tuple[np.ndarray, ...],
    columns_b: tuple[np.ndarray, ...],
    n_boot: int = N_BOOTSTRAP,
    n_permutations: int = N_BOOTSTRAP,
    seed: int = 0,
    clusters: np.ndarray | None = None,
    min_items: int = 1,
    min_clusters: int = 1,
) -> PairedComparison:
    """Compare two methods on the same items (pairs or images).

    The interval resamples clusters of items jointly for both methods (paired cluster
    bootstrap). The two-sided p-value comes from a paired permutation test: the two methods'
    results are swapped cluster by cluster with probability 1/2, and
    p = (1 + #{|delta_perm| >= |delta|}) / (1 + n_permutations).

    Args:
        statistic: vectorised statistic (see :data:`Statistic`).
        columns_a, columns_b: the per-item columns of each method, aligned item by item.
        clusters: (n,) cluster ids or codes of the items (None: every item its own cluster).
        min_items, min_clusters: below either, no intervals (the p-value is still exact).
    """
    a = tuple(np.asarray(c, dtype=np.float64) for c in columns_a)
    b = tuple(np.asarray(c, dtype=np.float64) for c in columns_b)
    n = len(a[0])
    if n == 0:
        return PairedComparison(float("nan"), float("nan"), float("nan"), float("nan"), 0)
    codes = (
        np.arange(n)
        if clusters is None
        else np.unique(np.asarray(clusters), return_inverse=True)[1]
    )
    n_clusters = int(codes.max()) + 1
    ones = np.ones((1, n))
    value_a, value_b = float(statistic(ones, *a)[0]), float(statistic(ones, *b)[0])
    delta = value_b - value_a
    note = interval_note(n, n_clusters, min_items, min_clusters)
    nan2 = (float("nan"), float("nan"))
    low = high = float("nan")
    a_ci = b_ci = nan2
    if note is None and n_boot > 0:
        weights = cluster_weights(codes, n_boot, seed)
        boot_a, boot_b = statistic(weights, *a), statistic(weights, *b)
        low, high = _percentiles(boot_b - boot_a)
        a_ci, b_ci = _percentiles(boot_a), _percentiles(boot_b)
    rng = np.random.default_rng(seed + 1)
    swap = (rng.random((n_permutations, n_clusters)) < 0.5)[:, codes]
    perm_a = tuple(np.where(swap, cb[None], ca[None]) for ca, cb in zip(a, b, strict=True))
    perm_b = tuple(np.where(swap, ca[None], cb[None]) for ca, cb in zip(a, b, strict=True))
    uniform = np.ones((n_permutations, n))
    perm_delta = statistic(uniform, *perm_b) - statistic(uniform, *perm_a)
    extreme = np.sum(np.abs(perm_delta) >= abs(delta) - 1e-12)
    p_value = float((1 + extreme) / (1 + n_permutations)) if np.isfinite(delta) else float("nan")
    return PairedComparison(
        delta, low, high, p_value, n, n_clusters, value_a, a_ci, value_b, b_ci, note
    )
