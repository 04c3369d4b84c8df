"""D2-Net and LoFTR scene-info files convert into the same records as the COLMAP model."""

import numpy as np
import pycolmap
import pytest

from stbench.errors import DataError
from stbench.megadepth import MegaDepthConfig, index_scene, index_scene_info

CONFIG = MegaDepthConfig(timestamps=False)


def _d2net_arrays(scene):
    """What D2-Net's preprocess_scene.py stores for the fixture's undistorted model."""
    model = pycolmap.Reconstruction(str(scene.model_dir))
    images = [model.image(i) for i in sorted(model.images)]
    image_paths, depth_paths, intrinsics, poses, to_2d, to_ndepth = [], [], [], [], [], []
    for image in images:
        fx, fy, cx, cy = model.camera(image.camera_id).params
        K = np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]])
        pose = np.eye(4)
        pose[:3] = image.cam_from_world().matrix()
        stem = image.name[:-4]
        image_paths.append(f"Undistorted_SfM/{scene.scene}/images/{image.name}")
        depth_paths.append(f"phoenix/S6/zl548/MegaDepth_v1/{scene.scene}/dense0/depths/{stem}.h5")
        intrinsics.append(K)
        poses.append(pose)
        observations, ndepth = {}, {}
        for point2d in image.points2D:
            if point2d.has_point3D():
                xyz = model.point3D(point2d.point3D_id).xyz
                observations[point2d.point3D_id] = np.asarray(point2d.xy)
                ndepth[point2d.point3D_id] = (pose[:3, :3] @ xyz + pose[:3, 3])[2] / ((fx + fy) / 2)
        to_2d.append(observations)
        to_ndepth.append(ndepth)
    n = len(images)
    overlap = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j:
                overlap[i, j] = len(to_2d[i].keys() & to_2d[j].keys()) / len(to_2d[i])

    def as_objects(values):  # a 1-D object array even when the items are arrays or dicts
        array = np.empty(len(values), dtype=object)
        array[:] = values
        return array

    return dict(
        image_paths=as_objects(image_paths),
        depth_paths=as_objects(depth_paths),
        intrinsics=np.array(intrinsics),
        poses=np.array(poses),
        overlap_matrix=overlap,
        scale_ratio_matrix=np.ones((n, n)),
        angles=np.zeros((n, n)),
        n_points3D=np.array([len(o) for o in to_2d]),
        points3D_id_to_2D=as_objects(to_2d),
        points3D_id_to_ndepth=as_objects(to_ndepth),
    )


@pytest.fixture(scope="module")
def reference(pinhole_scene):
    return index_scene(pinhole_scene.root, pinhole_scene.scene, CONFIG)


def test_d2net_scene_info_gives_the_same_pairs(pinhole_scene, reference, tmp_path):
    arrays = _d2net_arrays(pinhole_scene)
    np.savez(tmp_path / "5001.npz", **arrays)
    records = index_scene_info(tmp_path / "5001.npz", pinhole_scene.root, CONFIG)
    assert records.images.image_id.tolist() == reference.images.image_id.tolist()
    assert records.images.path.tolist() == reference.images.path.tolist()
    assert records.images.depth_path.tolist() == reference.images.depth_path.tolist()
    np.testing.assert_allclose(records.images.cx, reference.images.cx)
    np.testing.assert_allclose(
        records.images[["tx", "ty", "tz"]], reference.images[["tx", "ty", "tz"]]
    )
    pairs, ref = records.pairs.set_index("pair_id"), reference.pairs.set_index("pair_id")
    assert list(pairs.index) == list(ref.index)
    for column in ("depth_overlap_01", "depth_overlap_10", "covis_overlap_01", "scale_ratio"):
        np.testing.assert_allclose(pairs[column], ref[column], atol=2e-3, err_msg=column)
    names = [p.split("/")[-1] for p in arrays["image_paths"]]
    for pair in records.pairs.itertuples():
        i = names.index(pair.image_id0.split("/")[-1])
        j = names.index(pair.image_id1.split("/")[-1])
        assert pair.covis_overlap_01 == pytest.approx(arrays["overlap_matrix"][i, j])
        assert pair.covis_overlap_10 == pytest.approx(arrays["overlap_matrix"][j, i])


def test_loftr_pair_infos_are_verified(pinhole_scene, reference, tmp_path):
    arrays = _d2net_arrays(pinhole_scene)
    overlap = arrays["overlap_matrix"]
    infos = [
        (np.array([i, j]), min(overlap[i, j], overlap[j, i]), None)
        for i in range(len(overlap))
        for j in range(i + 1, len(overlap))
        if min(overlap[i, j], overlap[j, i]) > 0.3
    ]
    loftr = {k: arrays[k] for k in ("image_paths", "depth_paths", "intrinsics", "poses")}
    pair_infos = np.empty(len(infos), dtype=object)
    pair_infos[:] = infos
    np.savez(tmp_path / "5001_0.3_0.7.npz", pair_infos=pair_infos, **loftr)
    records = index_scene_info(tmp_path / "5001_0.3_0.7.npz", pinhole_scene.root, CONFIG)
    assert 0 < len(records.pairs) <= len(infos)
    assert len(records.pairs) + len(records.rejects) == len(infos)
    ref = reference.pairs.set_index("pair_id")
    for pair in records.pairs.itertuples():
        assert pair.covis_overlap_01 == pair.covis_overlap_10 > 0.3
        assert np.isnan(pair.scale_ratio)
        assert pair.depth_overlap_01 == pytest.approx(
            ref.loc[pair.pair_id, "depth_overlap_01"], abs=2e-3
        )


def test_bad_scene_info_file(tmp_path):
    (tmp_path / "0001.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a readable"):
        index_scene_info(tmp_path / "0001.npz", tmp_path, CONFIG)
    np.savez(tmp_path / "0002.npz", overlap_matrix=np.zeros((2, 2)))
    with pytest.raises(DataError, match="missing arrays"):
        index_scene_info(tmp_path / "0002.npz", tmp_path, CONFIG)
