"""The compiled day sums' pieces: numpy's pairwise summation, the knot lookup, range correlations."""

from __future__ import annotations

import numpy as np
import pytest

from stbench.webcams.config import WebcamConfig
from stbench.webcams.daysums import knot_lookup, pairwise_sum
from stbench.webcams.sunstats import SHAPE_KNOTS, SunStatistics
from tests.webcams.test_solarfit_segments import LAT, LON, faulty_stream


@pytest.mark.parametrize("n", [1, 2, 7, 8, 9, 15, 16, 17, 127, 128, 129, 130, 257, 1000, 4099])
def test_pairwise_sum_is_numpys_reduction(n):
    values = np.random.default_rng(n).normal(0, 1e3, n + 3) ** 3  # rounding shows in the order
    first_plus_rest = np.add.reduceat(values, [3])[0]  # values[3] + pairwise(values[4:])
    assert values[3] + pairwise_sum(values, 4, n - 1) == first_plus_rest
    assert pairwise_sum(values, 3, n) == np.add.reduce(values[3:])


def test_knot_lookup_bins_step_to_the_right_cell():
    knots = np.array([-90.0, -18.0, -17.5, -3.0, 0.0, 0.1, 40.0, 90.0])
    origin, width, cells = knot_lookup(knots)
    assert width == pytest.approx(0.1)
    xs = np.random.default_rng(0).uniform(-90, 90, 20000)
    # the bin's cell is the true cell or one below it (the kernel steps up at most once more)
    guess = cells[np.minimum(((xs - origin) / width).astype(int), len(cells) - 1)]
    truth = np.searchsorted(knots, xs, side="right") - 1
    assert np.all((truth - guess >= -1) & (truth - guess <= 1))
    assert np.array_equal(knot_lookup(SHAPE_KNOTS)[2][:3], [0, 0, 0])  # -90..-84: the first cell


def test_corr_range_equals_corr_of_unit_weights():
    stats = SunStatistics(*faulty_stream(60, 0), LAT, LON, WebcamConfig())
    for lo, hi in [(0, 60), (3, 17), (40, 41), (10, 12)]:
        weights = np.zeros(len(stats.days))
        weights[lo:hi] = 1.0
        expected = stats.corr(weights)
        got = stats.corr_range(lo, hi)
        assert np.array_equal(np.isnan(got), np.isnan(expected))
        assert np.allclose(got, expected, rtol=0, atol=1e-9, equal_nan=True)
