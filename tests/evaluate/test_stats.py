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
