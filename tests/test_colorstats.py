import numpy as np
import pytest

from stbench.colorstats import COLOR_STAT_NAMES, color_statistics


def _stats(image: np.ndarray) -> dict[str, float]:
    values = color_statistics(image)
    assert values.shape == (len(COLOR_STAT_NAMES),) and values.dtype == np.float32
    return dict(zip(COLOR_STAT_NAMES, values.tolist(), strict=True))


def test_uniform_red_image_by_hand():
    image = np.zeros((30, 45, 3), np.uint8)
    image[..., 0] = 255
    s = _stats(image)
    assert [s["rgb_mean_r"], s["rgb_mean_g"], s["rgb_mean_b"]] == pytest.approx([1, 0, 0])
    assert [s["rgb_std_r"], s["rgb_std_g"], s["rgb_std_b"]] == pytest.approx([0, 0, 0], abs=1e-6)
    assert s["hsv_sat_mean"] == pytest.approx(1) and s["hsv_val_mean"] == pytest.approx(1)
    assert (s["hue_cos"], s["hue_sin"]) == pytest.approx((1, 0), abs=1e-6)  # hue 0 deg
    assert s["lab_mean_L"] == pytest.approx(53.24 / 100, abs=0.01)  # CIE L* of sRGB red
    assert s["luma_p50"] == pytest.approx(76 / 255)  # 0.299 * 255
    assert s["chroma_r"] == pytest.approx(1) and s["gradient_mean"] == pytest.approx(0)
    grid = [s[f"grid{r}{c}_r"] for r in range(3) for c in range(3)]
    assert grid == pytest.approx([1.0] * 9)


def test_white_sky_over_black_ground_by_hand():
    image = np.zeros((30, 40, 3), np.uint8)
    image[:15] = 255
    s = _stats(image)
    assert s["dark_fraction"] == pytest.approx(0.5) and s["bright_fraction"] == pytest.approx(0.5)
    assert s["sky_luma"] == pytest.approx(1) and s["ground_luma"] == pytest.approx(0)
    assert s["sky_minus_ground_luma"] == pytest.approx(1)
    assert (s["luma_p05"], s["luma_p95"]) == (0.0, 1.0)
    assert s["rgb_std_g"] == pytest.approx(0.5)
    assert s["hsv_sat_mean"] == pytest.approx(0) and s["hue_cos"] == pytest.approx(0)
    rows = [s[f"grid{r}0_g"] for r in range(3)]
    assert rows == pytest.approx([1.0, 0.5, 0.0])  # the middle row of cells straddles the edge
    assert s["gradient_mean"] > 0


def test_statistics_barely_depend_on_resolution():
    rng = np.random.default_rng(0)
    small = (rng.random((60, 80, 3)) * 255).astype(np.uint8)
    big = np.repeat(np.repeat(small, 4, axis=0), 4, axis=1)  # 240x320 -> reduced to 120x160
    a, b = color_statistics(small), color_statistics(big)
    means = [i for i, n in enumerate(COLOR_STAT_NAMES) if "mean" in n or n.startswith("grid")]
    assert np.abs(a[means] - b[means]).max() < 0.01


def test_bad_input():
    for bad in (
        np.zeros((8, 8), np.uint8),
        np.zeros((8, 8, 3), np.float32),
        np.zeros((2, 8, 3), np.uint8),
    ):
        with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8"):
            color_statistics(bad)


def test_forest_predict_proba_equals_sklearn_bit_for_bit():
    from sklearn.ensemble import RandomForestClassifier

    from stbench.colorstats import forest_predict_proba

    rng = np.random.default_rng(1)
    features = rng.normal(size=(300, 8)).astype(np.float32)
    labels = rng.integers(0, 5, 300)
    labels[features[:, 0] > 1.0] = 7  # an uneven class set: classes_ = [0..4, 7]
    forest = RandomForestClassifier(n_estimators=12, random_state=0, n_jobs=1).fit(features, labels)
    queries = rng.normal(size=(25, 8)).astype(np.float32)
    expected = forest.predict_proba(queries)
    assert np.array_equal(forest_predict_proba(forest, queries), expected)
    assert np.array_equal(forest_predict_proba(forest, queries[3:4]), expected[3:4])
