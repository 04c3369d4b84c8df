"""An OpenCV error inside relative-pose estimation is an estimation failure, not a crash."""

import numpy as np


def test_opencv_error_in_essential_matrix_is_a_failed_estimate(monkeypatch):
    import cv2

    from stbench.evaluate.spatial import estimate_relative_pose

    def degenerate(*args, **kwargs):
        raise cv2.error("solvePoly: std::abs(coeffs[n].re) + std::abs(coeffs[n].im) > DBL_EPSILON")

    rng = np.random.default_rng(0)
    points = rng.uniform(0, 100, (20, 2))
    K = np.array([[100.0, 0, 50], [0, 100.0, 50], [0, 0, 1]])
    monkeypatch.setattr(cv2, "findEssentialMat", degenerate)
    assert estimate_relative_pose(points, points + 1.0, K, K) is None
