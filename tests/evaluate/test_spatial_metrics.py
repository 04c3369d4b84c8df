import numpy as np
import pytest

from stbench.evaluate.spatial import (
    PairGeometry,
    angle_between_rotations_deg,
    angle_between_translations_deg,
    match_metrics,
    pose_auc_statistic,
    pose_errors,
)
from stbench.geometry import intrinsics_matrix
from tests.evaluate.worlds import (
    HEIGHT,
    PLANE_DEPTH,
    R1,
    T1,
    WIDTH,
    K,
    _depth1,
    apply_homography,
    plane_homography,
)


def plane_geometry() -> PairGeometry:
    depth0 = np.full((HEIGHT, WIDTH), PLANE_DEPTH, np.float32)
    return PairGeometry(K, K, np.eye(3), np.zeros(3), R1, T1, depth0, _depth1())


def test_precision_on_plane_equals_homography_formula():
    rng = np.random.default_rng(1)
    keypoints0 = rng.uniform([5, 5], [WIDTH - 6, HEIGHT - 6], (400, 2))
    offsets = rng.choice([0.3, 1.5, 2.5, 4.0, 7.0, 20.0], size=400)
    directions = rng.normal(size=(400, 2))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    keypoints1 = apply_homography(plane_homography(), keypoints0) + offsets[:, None] * directions
    keypoints1 = np.clip(keypoints1, 0, [WIDTH - 1, HEIGHT - 1])
    matches = np.stack([np.arange(400), np.arange(400)], axis=1)
    result = match_metrics(keypoints0, keypoints1, matches, plane_geometry())
    # Independent formula: a keypoint is verifiable when H(x) has 4 valid depth neighbours in
    # image 1 (0 <= x < W-1, 0 <= y < H-1); its error is |H(x) - x'|.
    warped = apply_homography(plane_homography(), keypoints0)
    inside = (warped[:, 0] >= 0) & (warped[:, 0] < WIDTH - 1)
    inside &= (warped[:, 1] >= 0) & (warped[:, 1] < HEIGHT - 1)
    errors = np.linalg.norm(warped - keypoints1, axis=1)
    assert result["n_verifiable"] == inside.sum()
    assert 0 < inside.sum() < 400  # some keypoints leave image 1
    for threshold in (1, 2, 3, 5, 10):
        expected = np.mean(errors[inside] <= threshold)
        assert result[f"precision_{threshold}px"] == pytest.approx(expected, abs=1e-12)
    assert result["verifiable_fraction"] == pytest.approx(inside.mean())


def test_counts_and_matching_score_hand_computed():
    # Fronto-parallel plane, pure x-translation: u1 = u0 - f * 1 / 10 = u0 - 10 (f = 100).
    K0 = intrinsics_matrix(100.0, 100.0, 50.0, 50.0)
    depth = np.full((101, 101), 10.0, np.float32) + 0.001
    depth[:, :] = 10.0
    geometry = PairGeometry(
        K0, K0, np.eye(3), np.zeros(3), np.eye(3), np.array([-1.0, 0, 0]), depth, depth
    )
    keypoints0 = np.array([[50.0, 50], [60, 20], [30, 30], [5, 5], [70, 70]])
    # keypoint 3 lands at x = -5: outside image 1 -> not reprojectable / not verifiable.
    keypoints1 = np.array([[40.0, 50], [50, 22.5], [20, 38], [0, 5]])
    matches = np.array([[0, 0], [1, 1], [2, 2], [3, 3]])
    out = match_metrics(keypoints0, keypoints1, matches, geometry)
    assert out["n_matches"] == 4 and out["n_verifiable"] == 3
    assert out["n_reprojectable"] == 4  # keypoints 0, 1, 2, 4
    assert out["n_correct_1px"] == 1 and out["n_correct_3px"] == 2 and out["n_correct_10px"] == 3
    assert out["precision_3px"] == pytest.approx(2 / 3)
    assert out["verifiable_fraction"] == pytest.approx(3 / 4)
    assert out["matching_score_3px"] == pytest.approx(2 / 4)
    empty = match_metrics(keypoints0, keypoints1, np.zeros((0, 2), np.int64), geometry)
    assert np.isnan(empty["precision_1px"]) and np.isnan(empty["verifiable_fraction"])
    assert empty["matching_score_3px"] == 0.0


def test_pose_auc_hand_computed():
    # errors 1, 3 (n = 2), threshold 5: curve (0,0) (1,.5) (3,1) then flat to 5.
    # area = 0.5*1*0.5 + 2*(0.5+1)/2 + 2*1 = 0.25 + 1.5 + 2 = 3.75 -> 0.75
    assert pose_auc_statistic(np.array([3.0, 1.0]), 5) == pytest.approx(0.75)
    # a failure (inf) counts in n but never reaches the curve: (0,0) (1,.5) flat to 5.
    # area = 0.25 + 4 * 0.5 = 2.25 -> 0.45
    assert pose_auc_statistic(np.array([1.0, np.inf]), 5) == pytest.approx(0.45)
    assert pose_auc_statistic(np.array([6.0, 7.0]), 5) == 0.0
    batch = pose_auc_statistic(np.array([[3.0, 1.0], [1.0, np.inf]]), 5)
    np.testing.assert_allclose(batch, [0.75, 0.45])


def test_angles():
    angle = np.radians(30)
    R = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    assert angle_between_rotations_deg(np.eye(3), R) == pytest.approx(30)
    assert angle_between_translations_deg(np.array([1.0, 0, 0]), np.array([-2.0, 0, 0])) == 0
    assert angle_between_translations_deg(
        np.array([1.0, 0, 0]), np.array([1.0, 1, 0])
    ) == pytest.approx(45)


def test_pose_recovered_on_exact_3d_points():
    rng = np.random.default_rng(0)
    points = rng.uniform([-4, -3, 6], [4, 3, 14], (300, 3))  # a volume, not a plane
    K0 = intrinsics_matrix(300.0, 300.0, 320.0, 240.0)
    R, t = R1, T1
    pix0 = points @ K0.T
    pix0 = pix0[:, :2] / pix0[:, 2:]
    cam1 = points @ R.T + t
    pix1 = cam1 @ K0.T
    pix1 = pix1[:, :2] / pix1[:, 2:]
    matches = np.stack([np.arange(300), np.arange(300)], axis=1)
    geometry = PairGeometry(K0, K0, np.eye(3), np.zeros(3), R, t)
    error_R, error_t = pose_errors(pix0, pix1, matches, geometry)
    assert error_R < 0.1 and error_t < 0.5
    # fewer than 5 matches: failure
    assert pose_errors(pix0, pix1, matches[:4], geometry) == (np.inf, np.inf)


def _loftr_auc(errors, threshold):
    # The LoFTR / SuperGlue reference: sort, prepend 0, trapezoid up to the threshold.
    errors = np.sort(errors)
    recall = (np.arange(len(errors)) + 1) / len(errors)
    errors = np.r_[0.0, errors]
    recall = np.r_[0.0, recall]
    last = np.searchsorted(errors, threshold)
    y = np.r_[recall[:last], recall[last - 1]]
    x = np.r_[errors[:last], threshold]
    return np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2) / threshold


def test_pose_auc_closed_form_equals_trapezoid_reference():
    rng = np.random.default_rng(0)
    for _ in range(20):
        errors = rng.exponential(8.0, rng.integers(1, 60))
        errors[rng.random(len(errors)) < 0.1] = np.inf
        for threshold in (5, 10, 20):
            assert pose_auc_statistic(errors, threshold) == pytest.approx(
                _loftr_auc(errors, threshold), abs=1e-12
            )


def test_pooled_precision_and_share_of_pairs_with_k_verifiable():
    import pandas as pd

    from stbench.evaluate.score import SPATIAL_COLUMNS, _add_same_span
    from stbench.evaluate.summary import MIN_VERIFIABLE_K, spatial_columns

    rows = {c: [np.nan] * 4 for c in SPATIAL_COLUMNS}
    per_pair = pd.DataFrame(rows)
    per_pair["pair_id"] = ["a", "b", "c", "d"]
    per_pair["scene"] = "0015"
    per_pair["status"] = ["ok", "ok", "ok", "failed"]
    per_pair["has_depth"] = [True, True, True, False]
    per_pair["n_matches"] = [12, 4, 3, 0]
    per_pair["n_verifiable"] = [10, 2, 0, np.nan]
    per_pair["n_correct_3px"] = [8, 1, 0, np.nan]
    per_pair["precision_3px"] = [0.8, 0.5, np.nan, np.nan]
    per_pair = _add_same_span(per_pair, per_pair, None)
    columns = spatial_columns(per_pair)

    def value(name):
        statistic, frame = columns[name]
        cols = [frame[c].to_numpy(float) for c in frame.columns]
        return statistic(np.ones((1, len(frame))), *cols)[0]

    assert value("precision_3px") == pytest.approx((0.8 + 0.5) / 2)  # mean over pairs
    assert value("precision_pooled_3px") == pytest.approx(9 / 12)  # pooled over matches
    # pairs with >= K verifiable matches among pairs with depth and failed pairs
    assert MIN_VERIFIABLE_K == 5
    assert value("share_pairs_min_k") == pytest.approx(1 / 4)
