import numpy as np
import pandas as pd
import pytest

from stbench.evaluate.clusters import ClusterSpec
from stbench.evaluate.stats import bootstrap_weights
from stbench.evaluate.summary import summarize
from stbench.evaluate.temporal import (
    confusion_matrix,
    f1_statistic,
    precision_statistic,
    recall_statistic,
    span_errors,
)
from stbench.spans import CLASS_SPANS


def test_circular_errors_and_confusion():
    np.testing.assert_array_equal(span_errors("month", [11, 0, 3], [0, 11, 5]), [1, 1, 2])
    np.testing.assert_array_equal(span_errors("hour", [23, 1], [1, 23]), [2, 2])
    matrix = confusion_matrix(np.array([0, 0, 1, 3]), np.array([0, 1, 1, 0]), 4)
    assert matrix[0, 0] == 1 and matrix[0, 1] == 1 and matrix[1, 1] == 1 and matrix[3, 0] == 1
    assert matrix.sum() == 4


def _bincount_confusion(true: np.ndarray, predicted: np.ndarray, n: int) -> np.ndarray:
    keep = (true >= 0) & (true < n) & (predicted >= 0) & (predicted < n)
    return np.bincount(true[keep] * n + predicted[keep], minlength=n * n).reshape(n, n)


def test_confusion_matrix_is_the_counts_with_out_of_range_labels_skipped():
    rng = np.random.default_rng(0)
    for n in (2, 4, 12, 24):
        true, predicted = rng.integers(-1, n + 2, size=(2, 500))
        matrix = confusion_matrix(true, predicted, n)
        assert matrix.dtype == np.int64 and matrix.shape == (n, n)
        np.testing.assert_array_equal(matrix, _bincount_confusion(true, predicted, n))
    empty = confusion_matrix(np.array([-1, 9]), np.array([0, 0]), 3)
    np.testing.assert_array_equal(empty, np.zeros((3, 3), np.int64))


def test_precision_recall_f1_hand_computed():
    declared = np.array([True, True, False, False, True], float)
    truth = np.array([True, False, True, False, True], float)
    ones = np.ones((1, 5))  # tp = 2, fp = 1, fn = 1
    assert precision_statistic(ones, declared, truth)[0] == pytest.approx(2 / 3)
    assert recall_statistic(ones, declared, truth)[0] == pytest.approx(2 / 3)
    assert f1_statistic(ones, declared, truth)[0] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))


@pytest.mark.parametrize("case", ["random", "no_declared", "no_true", "all_false"])
def test_precision_recall_f1_equal_scikit_learn_on_every_resample(case):
    from sklearn.metrics import precision_recall_fscore_support

    rng = np.random.default_rng(1)
    declared = rng.random(40) < 0.4
    truth = rng.random(40) < 0.5
    if case in ("no_declared", "all_false"):
        declared[:] = False
    if case in ("no_true", "all_false"):
        truth[:] = False
    weights = bootstrap_weights(40, 50, 0)
    ours = [
        statistic(weights, declared.astype(float), truth.astype(float))
        for statistic in (precision_statistic, recall_statistic, f1_statistic)
    ]
    for row, w in enumerate(weights):
        expected = precision_recall_fscore_support(
            truth, declared, average="binary", sample_weight=w, zero_division=np.nan
        )[:3]
        for value, reference in zip((o[row] for o in ours), expected, strict=True):
            if np.isnan(reference):
                assert np.isnan(value), (case, row)
            else:
                assert value == pytest.approx(reference, abs=1e-12), (case, row)


def _per_image() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "image_id": ["a", "b", "c", "d"],
            "status": ["ok", "ok", "ok", "failed"],
            "true_month": pd.array([0, 11, 5, 2], dtype="Int64"),
            "pred_month": pd.array([11, 11, 8, pd.NA], dtype="Int64"),
        }
    )
    for span in CLASS_SPANS:
        for column in (f"true_{span}", f"pred_{span}"):
            if column not in frame:
                frame[column] = pd.array([pd.NA] * 4, dtype="Int64")
    return frame


def _per_pair() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "pair_id": ["p", "q", "r"],
            "status": ["ok", "ok", "failed"],
            "overlap_bin": ["0.1-0.3", "0.1-0.3", "0.3-0.5"],
            "has_depth": [True, True, False],
            "n_matches": [10, 4, 0],
            "n_verifiable": [8, 2, np.nan],
            "n_reprojectable": [20, 10, np.nan],
            "verifiable_fraction": [0.8, 0.5, np.nan],
            "matching_score_3px": [0.3, 0.1, np.nan],
            "pose_error_deg": [1.0, 3.0, np.inf],
            "true_same_month": pd.array([True, False, True], dtype="boolean"),
            "pred_same_month": pd.array([True, True, pd.NA], dtype="boolean"),
        }
    )
    for t, values in zip((1, 2, 3, 5, 10), ([2, 0], [4, 1], [6, 1], [7, 2], [8, 2]), strict=True):
        frame[f"n_correct_{t}px"] = [*values, np.nan]
        frame[f"precision_{t}px"] = [values[0] / 8, values[1] / 2, np.nan]
    for span in CLASS_SPANS:
        for column in (f"true_same_{span}", f"pred_same_{span}"):
            if column not in frame:
                frame[column] = pd.array([pd.NA] * 3, dtype="boolean")
    return frame


def test_summary_hand_computed():
    spec = ClusterSpec(min_items=1, min_clusters=1)  # tiny hand-made sample: show intervals
    summary = summarize(_per_pair(), _per_image(), n_boot=200, seed=0, clusters=spec)
    default = summarize(_per_pair(), _per_image(), n_boot=200, seed=0)["metrics"]
    assert default["precision_3px"]["note"] == "n too small"
    assert default["precision_3px"]["ci_low"] is None
    m = summary["metrics"]
    # labelled 4, predicted 3, correct 1 (b); circular errors 1, 0, 3
    assert m["time_accuracy_month"]["value"] == pytest.approx(1 / 4)
    assert m["time_accuracy_month"]["n"] == 4
    assert m["time_coverage_month"]["value"] == pytest.approx(3 / 4)
    assert m["time_mse_month"]["value"] == pytest.approx((1 + 0 + 9) / 3)
    assert m["time_mae_month"]["value"] == pytest.approx(4 / 3)
    assert m["image_failure_rate"]["value"] == pytest.approx(1 / 4)
    # precision@3 over pairs with verifiable matches: (6/8 + 1/2) / 2
    assert m["precision_3px"]["value"] == pytest.approx((0.75 + 0.5) / 2)
    assert m["precision_3px"]["n"] == 2
    assert m["num_matches"]["value"] == pytest.approx(14 / 3)  # the failure counts 0
    assert m["pair_failure_rate"]["value"] == pytest.approx(1 / 3)
    # pose errors 1, 3, inf at 5 deg: area 0.5*1/3 + 2*(1/3+2/3)/2 + 2*2/3 -> /5
    assert m["pose_auc_5"]["value"] == pytest.approx((1 / 6 + 1 + 4 / 3) / 5)
    # same-month decisions on p (tp) and q (fp); r undecided
    assert m["same_precision_month"]["value"] == pytest.approx(0.5)
    assert m["same_recall_month"]["value"] == pytest.approx(1.0)
    # spatio-temporal: declared pairs p, q with verifiable matches; correct@3 in truly-same
    # pairs: 6 (p); verifiable: 8 + 2
    assert m["st_precision_month"]["value"] == pytest.approx(6 / 10)
    assert summary["confusion"]["month"][0][11] == 1 and summary["confusion"]["month"][5][8] == 1
    assert set(summary["by_overlap_bin"]) == {"0.1-0.3", "0.3-0.5"}
    assert summary["by_overlap_bin"]["0.3-0.5"]["pair_failure_rate"]["value"] == 1.0
    for name in ("precision_3px", "time_mse_month"):
        low, high = m[name]["ci_low"], m[name]["ci_high"]
        assert low <= m[name]["value"] <= high
