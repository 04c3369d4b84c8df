import numpy as np

from stbench.geometry import (
    backproject,
    intrinsics_matrix,
    project,
    quaternion_to_rotation,
    rotation_to_quaternion,
)


def test_quaternion_round_trip():
    rng = np.random.default_rng(0)
    for q in rng.normal(size=(50, 4)):
        q = q / np.linalg.norm(q)
        q = q if q[0] >= 0 else -q
        R = quaternion_to_rotation(q)
        np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
        np.testing.assert_allclose(rotation_to_quaternion(R), q, atol=1e-9)


def test_hand_computed_rotation_about_z():
    # 90 degrees about z: q = (cos 45, 0, 0, sin 45) maps x to y.
    R = quaternion_to_rotation(np.array([np.sqrt(0.5), 0, 0, np.sqrt(0.5)]))
    np.testing.assert_allclose(R @ [1, 0, 0], [0, 1, 0], atol=1e-12)


def test_project_backproject_round_trip():
    K = intrinsics_matrix(500, 510, 320, 240)
    pixels = np.array([[0.0, 0.0], [320, 240], [639.5, 100.25]])
    depth = np.array([1.0, 2.5, 10.0])
    uv, z = project(backproject(pixels, depth, K), K)
    np.testing.assert_allclose(uv, pixels, atol=1e-9)
    np.testing.assert_allclose(z, depth)
    # The principal point is pixel (cx, cy) with centers at integers.
    np.testing.assert_allclose(project(np.array([[0, 0, 3.0]]), K)[0], [[320, 240]])


def test_quaternions_follow_scipy_with_w_first():
    """COLMAP's w-first quaternions, active world-to-camera rotations: scipy's conventions to
    1e-12. The hand-written functions stay: scipy differs in the last bits (for 92 % of random
    rotations in quaternion_to_rotation), and the synthetic world writes rotation_to_quaternion's
    bits into its COLMAP model, so a change would change the committed manifests' hashes."""
    from scipy.spatial.transform import Rotation

    rng = np.random.default_rng(1)
    q = rng.normal(size=(500, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    q[q[:, 0] < 0] *= -1
    R = quaternion_to_rotation(q)
    reference = Rotation.from_quat(q, scalar_first=True)
    np.testing.assert_allclose(R, reference.as_matrix(), rtol=0, atol=1e-12)
    ours = np.array([rotation_to_quaternion(r) for r in R])
    theirs = Rotation.from_matrix(R).as_quat(canonical=True, scalar_first=True)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
    # unnormalised input is normalised, batches keep their shape
    np.testing.assert_allclose(
        quaternion_to_rotation(3 * q[:4].reshape(2, 2, 4)), R[:4].reshape(2, 2, 3, 3), atol=1e-12
    )
