"""End-to-end indexing of exact-geometry scenes: accuracy, conventions, layouts."""

import h5py
import numpy as np
import pycolmap
import pytest
from megadepth_scenes import exact_overlap, write_scene

from stbench.megadepth import MegaDepthConfig, index_scene, list_scenes
from stbench.megadepth.model import records_to_reconstruction
from stbench.schema import IMAGES_SCHEMA, PAIRS_SCHEMA, to_table

CONFIG = MegaDepthConfig(timestamps=False)


@pytest.fixture(scope="module")
def pinhole_records(pinhole_scene):
    return index_scene(pinhole_scene.root, pinhole_scene.scene, CONFIG)


def _depth(scene, name):
    with h5py.File(scene.dense_dir / "depths" / f"{name[:-4]}.h5") as handle:
        return handle["depth"][()]


def test_records_follow_the_schema_and_conventions(pinhole_scene, pinhole_records):
    assert list_scenes(pinhole_scene.root) == ["5001"]
    images, pairs = pinhole_records.images, pinhole_records.pairs
    to_table(images, IMAGES_SCHEMA)
    to_table(pairs, PAIRS_SCHEMA)
    assert len(images) == len(pinhole_scene.views) and pinhole_records.rejects.empty
    first = images.iloc[0]
    assert first.image_id == "megadepth/5001/img_000.jpg"
    assert first.path == "MegaDepth_v1/5001/dense0/imgs/img_000.jpg"
    assert first.depth_path == "MegaDepth_v1/5001/dense0/depths/img_000.h5"
    assert first.depth_kind == "metric"
    assert first.timestamp_source == "unresolved" and first.timestamp_trust == 0
    assert (pairs.image_id0 < pairs.image_id1).all()
    assert (pairs.kind == "spatial").all()
    assert pairs.pair_id.is_unique and len(pairs) > 10


def test_depth_overlap_matches_exact_geometry(pinhole_scene, pinhole_records):
    views = {view.name: view for view in pinhole_scene.views}
    errors = []
    for pair in pinhole_records.pairs.itertuples():
        a, b = pair.image_id0.split("/")[-1], pair.image_id1.split("/")[-1]
        exact01 = exact_overlap(views[a], views[b], _depth(pinhole_scene, a))
        exact10 = exact_overlap(views[b], views[a], _depth(pinhole_scene, b))
        assert exact01 > 0 and exact10 > 0  # never a pair that does not overlap
        errors += [pair.depth_overlap_01 - exact01, pair.depth_overlap_10 - exact10]
    assert np.mean(np.abs(errors)) < 0.02


def test_intrinsics_and_poses_round_trip_colmap_exactly(pinhole_scene, pinhole_records, tmp_path):
    model = pycolmap.Reconstruction(str(pinhole_scene.model_dir))
    by_name = {image.name: image for image in model.images.values()}
    for row in pinhole_records.images.itertuples():
        image = by_name[row.image_id.split("/")[-1]]
        fx, fy, cx, cy = model.camera(image.camera_id).params
        assert (row.fx, row.fy, row.cx + 0.5, row.cy + 0.5) == (fx, fy, cx, cy)
        x, y, z, w = image.cam_from_world().rotation.quat
        assert (row.qw, row.qx, row.qy, row.qz) == (w, x, y, z)
        assert (row.tx, row.ty, row.tz) == tuple(image.cam_from_world().translation)
    exported = records_to_reconstruction(pinhole_records.images)
    exported.write_binary(str(tmp_path))
    reread = pycolmap.Reconstruction(str(tmp_path))
    for image in reread.images.values():
        original = by_name[image.name]
        assert list(reread.camera(image.camera_id).params) == list(
            model.camera(original.camera_id).params
        )
        assert list(image.cam_from_world().rotation.quat) == list(
            original.cam_from_world().rotation.quat
        )
        assert list(image.cam_from_world().translation) == list(
            original.cam_from_world().translation
        )


def test_distorted_text_model_is_undistorted_like_colmap(make_scene):
    scene = make_scene(camera_model="SIMPLE_RADIAL", model_format="text", n_views=5)
    assert (scene.model_dir / "cameras.txt").exists()
    records = index_scene(scene.root, scene.scene, CONFIG)
    camera = pycolmap.Reconstruction(str(scene.model_dir)).camera(1)
    assert camera.model.name == "SIMPLE_RADIAL"
    undistorted = pycolmap.undistort_camera(pycolmap.UndistortCameraOptions(), camera)
    fx, fy, cx, cy = undistorted.params
    row = records.images.iloc[0]
    assert (row.width, row.height) == (undistorted.width, undistorted.height)
    assert (row.fx, row.fy, row.cx, row.cy) == (fx, fy, cx - 0.5, cy - 0.5)
    np.testing.assert_allclose(scene.views[0].K, [[fx, 0, cx - 0.5], [0, fy, cy - 0.5], [0, 0, 1]])
    assert len(records.pairs) > 3
    assert set(records.rejects.reason) <= {"depth_overlap_low"}


def test_same_input_same_records(pinhole_scene, pinhole_records):
    again = index_scene(pinhole_scene.root, pinhole_scene.scene, CONFIG)
    assert again.pairs.equals(pinhole_records.pairs)
    assert again.images.equals(pinhole_records.images)


def test_phoenix_prefix_layout(tmp_path):
    scene = write_scene(tmp_path / "flat", n_views=3)
    moved = tmp_path / "nested"
    (moved / "phoenix/S6/zl548").mkdir(parents=True)
    (scene.root / "MegaDepth_v1").rename(moved / "phoenix/S6/zl548/MegaDepth_v1")
    (scene.root / "MegaDepth_v1_SfM").rename(moved / "MegaDepth_v1_SfM")
    records = index_scene(moved, scene.scene, CONFIG)
    assert records.images.path.iloc[0].startswith("phoenix/S6/zl548/MegaDepth_v1/5001/dense0/")
    assert len(records.images) == 3 and len(records.pairs) >= 2


def test_root_prefix_removal_equals_one_replace_per_value():
    from stbench.megadepth.index import _without

    prefix = "/data/root/"
    values = [
        "/data/root/a.h5 and /data/root/b.h5",
        "plain",
        "",
        "x\ny /data/root/c",
        "/data/root/",
    ]
    for subset in (values, values[:3], values[1:2], []):
        assert _without(subset, prefix) == [str(v).replace(prefix, "") for v in subset]
    assert _without(["a\n/data/r\noot/b"], "/data/r\noot/") == ["a\nb"]  # a prefix with "\n"
