"""Bad MegaDepth input: one bad image, depth map or model file is a reject, never a lost scene."""

import struct
import time

import h5py
import numpy as np
import pytest
from megadepth.megadepth_scenes import write_scene

from stbench.imageio import MAX_IMAGE_PIXELS
from stbench.megadepth import MegaDepthConfig, index_scene

CONFIG = MegaDepthConfig(timestamps=False)
N_VIEWS = 6


def _index(scene):
    return index_scene(scene.root, scene.scene, CONFIG)


def _reasons(records, name):
    rejects = records.rejects
    return rejects.loc[rejects["item"] == f"megadepth/5001/{name}", ["reason", "detail"]].values


def _rewrite_depth(scene, name, edit):
    path = scene.dense_dir / "depths" / name
    with h5py.File(path, "r") as handle:
        depth = handle["depth"][()]
    path.unlink()
    with h5py.File(path, "w") as handle:
        handle.create_dataset("depth", data=edit(depth))


def _pairs_without(records, name):
    pairs = records.pairs
    keep = ~pairs["pair_id"].str.contains(name, regex=False)
    return sorted(pairs.loc[keep, "pair_id"])


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    scene = write_scene(tmp_path_factory.mktemp("clean"), n_views=N_VIEWS)
    return _index(scene)


def test_the_clean_scene_has_pairs(clean):
    assert len(clean.images) == N_VIEWS and len(clean.pairs) > 0 and clean.rejects.empty


def test_a_one_image_scene_has_no_pairs_and_no_failure(tmp_path):
    records = _index(write_scene(tmp_path, n_views=1))
    assert len(records.images) == 1 and records.pairs.empty and records.rejects.empty


def test_a_scene_without_3d_points_has_no_pairs(tmp_path):
    records = _index(write_scene(tmp_path, n_views=3, n_points=0))
    assert len(records.images) == 3 and records.pairs.empty and records.rejects.empty


def test_a_scene_without_depth_maps_has_no_pairs(tmp_path):
    scene = write_scene(tmp_path, n_views=3)
    for path in (scene.dense_dir / "depths").glob("*.h5"):
        path.unlink()
    records = _index(scene)
    assert len(records.images) == 3 and records.pairs.empty
    assert [r for r in _reasons(records, "img_000.jpg")[:, 0]] == ["depth_missing"]
    assert set(records.rejects["reason"]) == {"depth_missing", "depth_unavailable"}


def test_a_scene_whose_depth_maps_are_all_rejected_has_no_pairs(tmp_path):
    scene = write_scene(tmp_path, n_views=3)
    for k in range(3):
        _rewrite_depth(scene, f"img_{k:03d}.h5", np.zeros_like)
    records = _index(scene)
    assert len(records.images) == 3 and records.pairs.empty
    assert set(records.rejects["reason"]) == {"depth_no_valid_pixels", "depth_unavailable"}


def test_a_string_typed_depth_dataset_rejects_only_its_image(tmp_path, clean):
    scene = write_scene(tmp_path, n_views=N_VIEWS)
    _rewrite_depth(scene, "img_001.h5", lambda d: np.full(d.shape, b"x", dtype="S1"))
    records = _index(scene)
    ((reason, detail),) = _reasons(records, "img_001.jpg")
    assert reason == "depth_unreadable" and "holds |S1 values, expected numbers" in detail
    assert "img_001.h5" in detail
    assert _pairs_without(records, "img_001") == _pairs_without(clean, "img_001")
    assert len(_pairs_without(clean, "img_001")) > 0


def test_a_few_negative_depth_values_are_invalid_pixels_not_a_reject(tmp_path, clean):
    scene = write_scene(tmp_path, n_views=N_VIEWS)

    def negatives(depth):
        depth = depth.copy()
        depth[:3, :3] = -0.5  # real MegaDepth maps have a few
        return depth

    for k in range(N_VIEWS):
        _rewrite_depth(scene, f"img_{k:03d}.h5", negatives)
    records = _index(scene)
    assert "depth_invalid_values" not in set(records.rejects["reason"])
    assert sorted(records.pairs["pair_id"]) == sorted(clean.pairs["pair_id"])
    assert set(records.images["depth_kind"]) == {"metric"}


def test_a_jpeg_truncated_to_half_is_rejected(tmp_path, clean):
    scene = write_scene(tmp_path, n_views=N_VIEWS)
    path = scene.dense_dir / "imgs" / "img_002.jpg"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    records = _index(scene)
    ((reason, detail),) = _reasons(records, "img_002.jpg")
    assert reason == "image_unreadable" and "image file is truncated" in detail
    assert "img_002.jpg" not in set(records.images["image_id"].str.split("/").str[-1])
    assert _pairs_without(records, "img_002") == _pairs_without(clean, "img_002")


def _forge_size(path, width, height):
    data = bytearray(path.read_bytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    path.write_bytes(bytes(data))


def test_a_forged_huge_header_is_rejected_without_decoding(tmp_path, clean):
    scene = write_scene(tmp_path, n_views=N_VIEWS)
    _forge_size(scene.dense_dir / "imgs" / "img_003.jpg", 65500, 65500)
    records = _index(scene)
    ((reason, detail),) = _reasons(records, "img_003.jpg")
    assert reason == "image_unreadable"
    assert "header declares too many pixels (Image size (4290250000 pixels)" in detail
    assert _pairs_without(records, "img_003") == _pairs_without(clean, "img_003")


def test_a_forged_header_over_the_stbench_limit_is_rejected(tmp_path):
    scene = write_scene(tmp_path, n_views=3)
    _forge_size(scene.dense_dir / "imgs" / "img_001.jpg", 12000, 9000)
    ((reason, detail),) = _reasons(_index(scene), "img_001.jpg")
    assert reason == "image_unreadable"
    assert f"declares 12000x9000 pixels (limit {MAX_IMAGE_PIXELS})" in detail


def test_a_forged_header_of_another_size_is_a_size_mismatch(tmp_path):
    scene = write_scene(tmp_path, n_views=N_VIEWS)
    _forge_size(scene.dense_dir / "imgs" / "img_004.jpg", 320, 240)
    ((reason, detail),) = _reasons(_index(scene), "img_004.jpg")
    assert reason == "image_size_mismatch" and "is 320x240 but the undistorted camera" in detail


@pytest.mark.parametrize("name", ["points3D.bin", "images.bin", "cameras.bin"])
def test_a_truncated_binary_model_file_is_a_fast_clear_reject(tmp_path, name):
    scene = write_scene(tmp_path, n_views=N_VIEWS)
    path = scene.model_dir / name
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 3])
    start = time.perf_counter()
    records = _index(scene)
    assert time.perf_counter() - start < 10
    assert records.images.empty and records.pairs.empty
    ((reason, detail),) = records.rejects[["reason", "detail"]].values
    assert reason == "model_unreadable"
    assert name in detail and ("truncated" in detail or "declares" in detail)


def test_a_points3d_count_far_beyond_the_file_is_refused(tmp_path):
    scene = write_scene(tmp_path, n_views=3)
    path = scene.model_dir / "points3D.bin"
    data = path.read_bytes()
    path.write_bytes(struct.pack("<Q", 10**12) + data[8:])
    ((reason, detail),) = _index(scene).rejects[["reason", "detail"]].values
    assert reason == "model_unreadable" and "declares 1000000000000 3D points" in detail


def test_an_image_name_with_a_folder_or_bidi_mark_is_rejected(tmp_path):
    scene = write_scene(tmp_path, n_views=N_VIEWS, model_format="text")
    bad = "img_\u202egpj.005.jpg"
    images_txt = scene.model_dir / "images.txt"
    images_txt.write_text(images_txt.read_text().replace("img_005.jpg", bad), encoding="utf-8")
    (scene.dense_dir / "imgs" / "img_005.jpg").rename(scene.dense_dir / "imgs" / bad)
    records = _index(scene)
    rejects = records.rejects
    row = rejects[rejects["reason"] == "image_unsafe_name"]
    assert len(row) == 1 and "U+202E" in row["detail"].iloc[0]
    assert not records.images["image_id"].str.contains("\u202e").any()
    assert len(records.images) == N_VIEWS - 1 and len(records.pairs) > 0
