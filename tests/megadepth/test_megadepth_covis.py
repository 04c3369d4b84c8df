"""Co-visibility candidates on a hand-computed example."""

import numpy as np
import pytest
import scipy.sparse as sp

from stbench.megadepth.covis import candidate_pairs

POINTS = np.array([[0.0, 0, 2], [1, 0, 2], [0, 1, 4], [5, 5, 5]])
CENTERS = np.array([[0.0, 0, 0], [1, 0, 1], [0, 0, -2]])
INCIDENCE = sp.csr_matrix(np.array([[1, 1, 1, 0], [1, 1, 0, 0], [0, 0, 1, 1]]))


def _pairs(**kwargs):
    rotations = np.tile(np.eye(3), (3, 1, 1))
    return candidate_pairs(INCIDENCE, POINTS, rotations, -CENTERS, focal=np.ones(3), **kwargs)


def test_hand_computed_statistics():
    pairs = _pairs(min_shared_points=1, min_covis_overlap=0.0)
    assert list(zip(pairs.index0, pairs.index1, strict=True)) == [(0, 1), (0, 2)]
    assert pairs.n_shared.tolist() == [2, 1]
    np.testing.assert_allclose(pairs.covis_overlap_01, [2 / 3, 1 / 3])
    np.testing.assert_allclose(pairs.covis_overlap_10, [2 / 2, 1 / 2])
    # depths: p0, p1 at z = 2 in image 0 and z = 1 in image 1; p2 at 4 vs 6 in image 2
    np.testing.assert_allclose(pairs.scale_ratio, [2.0, 1.5])
    # rays to p0: (0,0,1) vs (-1,0,1)/sqrt2; to p1: (1,0,2)/sqrt5 vs (0,0,1)
    mean_cos = (1 / np.sqrt(2) + 2 / np.sqrt(5)) / 2
    assert pairs.view_angle_deg[0] == pytest.approx(np.degrees(np.arccos(mean_cos)))
    ray0, ray2 = np.array([0, 1, 4]) / np.sqrt(17), np.array([0, 1, 6]) / np.sqrt(37)
    assert pairs.view_angle_deg[1] == pytest.approx(np.degrees(np.arccos(ray0 @ ray2)))


def test_thresholds():
    assert len(_pairs(min_shared_points=2, min_covis_overlap=0.0)) == 1
    assert len(_pairs(min_shared_points=1, min_covis_overlap=0.5)) == 2  # max(1/3, 1/2)
    assert len(_pairs(min_shared_points=1, min_covis_overlap=0.6)) == 1
    kept = _pairs(min_shared_points=1, min_covis_overlap=0.0, max_scale_ratio=1.8)
    assert list(zip(kept.index0, kept.index1, strict=True)) == [(0, 2)]


def test_chain_of_many_images_stays_sparse():
    # 5,000 images, each sharing points only with its 3 successors: ~15,000 pairs, not 12.5 M
    n, window = 5000, 4
    rows = np.repeat(np.arange(n), window * 20)
    cols = (np.arange(n)[:, None] * 20 + np.arange(window * 20)[None, :]).reshape(-1)
    incidence = sp.csr_matrix((np.ones(len(rows)), (rows, cols)))
    n_points = incidence.shape[1]
    points = np.c_[np.arange(n_points) / 20.0, np.zeros(n_points), np.full(n_points, 10.0)]
    centers = np.c_[np.arange(n) + 2.0, np.zeros(n), np.zeros(n)]
    pairs = candidate_pairs(
        incidence, points, np.tile(np.eye(3), (n, 1, 1)), -centers, focal=np.ones(n)
    )
    assert len(pairs) == sum(min(window - 1, n - 1 - i) for i in range(n))
    assert (pairs.index1 - pairs.index0 <= window - 1).all()
