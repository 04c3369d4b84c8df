import numpy as np
import pytest

from stbench.evaluate.stats import estimate, mean_statistic, paired_comparison, ratio_statistic


def test_bootstrap_seeded_and_covering():
    values = np.random.default_rng(0).normal(2.0, 1.0, 400)
    first = estimate(mean_statistic, values, n_boot=500, seed=3)
    again = estimate(mean_statistic, values, n_boot=500, seed=3)
    assert first == again
    assert first.value == pytest.approx(values.mean())
    assert first.ci_low < first.value < first.ci_high
    # the interval width is about 2 * 1.96 * sigma / sqrt(n)
    assert first.ci_high - first.ci_low == pytest.approx(2 * 1.96 / np.sqrt(400), rel=0.2)
    assert estimate(mean_statistic, np.array([]), n_boot=10).n == 0


def test_ratio_of_sums():
    result = estimate(ratio_statistic, np.array([1.0, 3.0]), np.array([2.0, 6.0]), n_boot=50)
    assert result.value == pytest.approx(0.5) and result.ci_low == pytest.approx(0.5)


def test_paired_comparison():
    rng = np.random.default_rng(0)
    a = rng.normal(0.5, 0.2, 300)
    same = paired_comparison(mean_statistic, (a,), (a.copy(),), n_boot=200, n_permutations=200)
    assert same.delta == 0 and same.p_value == 1.0
    b = a + 0.05 + rng.normal(0, 0.01, 300)
    shifted = paired_comparison(mean_statistic, (a,), (b,), n_boot=200, n_permutations=200)
    assert shifted.delta == pytest.approx(np.mean(b - a))
    assert shifted.ci_low > 0 and shifted.p_value < 0.01


def test_unclustered_bootstrap_matches_scipy_percentile():
    from scipy.stats import bootstrap

    rng = np.random.default_rng(1)
    values = rng.gamma(2.0, 1.0, 300)
    ours = estimate(mean_statistic, values, n_boot=5000, seed=0)
    theirs = bootstrap(
        (values,), np.mean, n_resamples=5000, method="percentile", random_state=0
    ).confidence_interval
    assert ours.n_clusters == 300 and ours.note is None
    assert ours.ci_low == pytest.approx(theirs.low, abs=0.02)
    assert ours.ci_high == pytest.approx(theirs.high, abs=0.02)
    numerator, denominator = rng.poisson(5, 300).astype(float), rng.poisson(9, 300) + 1.0
    ratio = estimate(ratio_statistic, numerator, denominator, n_boot=5000, seed=0)
    theirs = bootstrap(
        (numerator, denominator),
        lambda a, b, axis=-1: a.sum(axis=axis) / b.sum(axis=axis),
        paired=True,
        n_resamples=5000,
        method="percentile",
        random_state=0,
    ).confidence_interval
    assert ratio.ci_low == pytest.approx(theirs.low, abs=0.01)
    assert ratio.ci_high == pytest.approx(theirs.high, abs=0.01)


def _clustered_values(n_clusters=20, per_cluster=40, seed=0):
    rng = np.random.default_rng(seed)
    effects = rng.normal(0.0, 1.0, n_clusters)  # strong cluster effect, little item noise
    clusters = np.repeat(np.arange(n_clusters), per_cluster)
    return effects[clusters] + rng.normal(0.0, 0.1, len(clusters)), clusters


def test_clustered_intervals_wider_than_naive():
    values, clusters = _clustered_values()
    naive = estimate(mean_statistic, values, n_boot=1000)
    clustered = estimate(mean_statistic, values, n_boot=1000, clusters=clusters)
    assert naive.value == clustered.value and clustered.n_clusters == 20
    naive_width = naive.ci_high - naive.ci_low
    clustered_width = clustered.ci_high - clustered.ci_low
    # design effect sqrt(1 + (m - 1) rho) ~ sqrt(40): the clustered interval is ~6x wider
    assert clustered_width > 4 * naive_width
    assert clustered_width == pytest.approx(2 * 1.96 * values.std() / np.sqrt(20), rel=0.35)


def test_minimums_suppress_intervals():
    values, clusters = _clustered_values(n_clusters=4)
    few = estimate(mean_statistic, values, clusters=clusters, min_items=30, min_clusters=10)
    assert few.note == "too few clusters" and np.isnan(few.ci_low) and few.n_clusters == 4
    small = estimate(mean_statistic, values[:5], min_items=30, min_clusters=10)
    assert (
        small.note == "n too small" and np.isnan(small.ci_high) and small.value == values[:5].mean()
    )


def test_paired_comparison_swaps_whole_clusters():
    values, clusters = _clustered_values(n_clusters=2, per_cluster=200)
    shifted = values + 1.0
    naive = paired_comparison(mean_statistic, (values,), (shifted,), 200, 200)
    assert naive.p_value < 0.01
    clustered = paired_comparison(
        mean_statistic, (values,), (shifted,), 200, 200, clusters=clusters, min_clusters=10
    )
    # two clusters: 4 equally likely swaps, two of them as extreme as the observed delta
    assert clustered.p_value > 0.3 and clustered.n_clusters == 2
    assert clustered.note == "too few clusters" and np.isnan(clustered.ci_low)
    assert clustered.a == pytest.approx(values.mean()) and clustered.delta == pytest.approx(1.0)
