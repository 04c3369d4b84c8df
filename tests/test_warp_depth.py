import h5py
import numpy as np
import pytest

from stbench.depth import read_depth
from stbench.errors import DataError
from stbench.geometry import intrinsics_matrix
from stbench.warp import bilinear_depth, warp_keypoints


def test_bilinear_needs_all_four_neighbours():
    depth = np.array([[1.0, 2.0, 0.0], [3.0, 4.0, 5.0]])
    values, valid = bilinear_depth(depth, np.array([[0.5, 0.5], [1.5, 0.5], [0, 0], [2.0, 0.5]]))
    assert valid.tolist() == [True, False, True, False]
    assert values[0] == pytest.approx(2.5)  # mean of 1, 2, 3, 4
    assert values[2] == pytest.approx(1.0)


def test_fronto_parallel_plane_translation_hand_computed():
    # Plane at z = 10 seen by two cameras; camera 1 shifted by +1 along x (t1 = -1 in x).
    # A point at pixel u in image 0 lands at u - f * 1 / 10 in image 1.
    K = intrinsics_matrix(100.0, 100.0, 50.0, 50.0)
    depth = np.full((101, 101), 10.0)
    eye = np.eye(3)
    kpts0 = np.array([[50.0, 50.0], [30.0, 70.0]])
    kpts1, valid, consistent = warp_keypoints(
        kpts0, depth, K, eye, np.zeros(3), depth, K, eye, np.array([-1.0, 0, 0])
    )
    np.testing.assert_allclose(kpts1, [[40.0, 50.0], [20.0, 70.0]])
    assert valid.all() and consistent.all()
    # An occluder in image 1 (depth 5 instead of 10) makes the warp inconsistent.
    occluded = depth.copy()
    occluded[40:60, 30:50] = 5.0
    _, _, consistent = warp_keypoints(
        kpts0, depth, K, eye, np.zeros(3), occluded, K, eye, np.array([-1.0, 0, 0])
    )
    assert consistent.tolist() == [False, True]


def _write_h5(path, data):
    with h5py.File(path, "w") as handle:
        handle.create_dataset("depth", data=data)


def test_read_depth_kinds_and_bad_files(tmp_path):
    metric = np.random.default_rng(0).uniform(1, 50, (8, 8)).astype(np.float32)
    metric[0, 0] = np.nan
    metric[0, 1] = -3
    _write_h5(tmp_path / "m.h5", metric)
    loaded = read_depth(tmp_path / "m.h5")
    assert loaded.kind == "metric" and loaded.n_invalid_values == 1 and loaded.n_negative == 1
    assert loaded.depth[0, 0] == 0 and loaded.depth[0, 1] == 0
    _write_h5(tmp_path / "o.h5", np.random.default_rng(0).integers(0, 4, (8, 8)).astype(np.float32))
    assert read_depth(tmp_path / "o.h5").kind == "ordinal"
    (tmp_path / "empty.h5").write_bytes(b"")
    with pytest.raises(DataError, match="empty"):
        read_depth(tmp_path / "empty.h5")
    (tmp_path / "trunc.h5").write_bytes((tmp_path / "m.h5").read_bytes()[:100])
    with pytest.raises(DataError, match="cannot be read"):
        read_depth(tmp_path / "trunc.h5")
    with pytest.raises(DataError, match="does not exist"):
        read_depth(tmp_path / "none.h5")
