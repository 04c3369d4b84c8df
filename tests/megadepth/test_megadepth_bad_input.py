"""Each kind of bad input becomes a reject row with its reason; the scene goes on."""

import shutil

import h5py
import numpy as np
import pycolmap
import pytest
from megadepth_scenes import write_scene

from stbench.megadepth import MegaDepthConfig, index_scene

CONFIG = MegaDepthConfig(timestamps=False)


def _write_depth(path, data):
    with h5py.File(path, "w") as handle:
        handle.create_dataset("depth", data=data)


def _damage(scene):
    depths, imgs = scene.dense_dir / "depths", scene.dense_dir / "imgs"
    (depths / "img_001.h5").unlink()  # missing depth
    (depths / "img_002.h5").write_bytes(b"")  # empty depth file
    data = (depths / "img_003.h5").read_bytes()
    (depths / "img_003.h5").write_bytes(data[: len(data) // 2])  # truncated h5
    with h5py.File(depths / "img_004.h5") as handle:
        depth = handle["depth"][()]
    depth[:5, :5] = np.nan
    depth[5:10, :5] = np.inf
    depth[10:15, :5] = -1
    _write_depth(depths / "img_004.h5", depth)  # NaN / inf / negative values
    labels = np.where(depth > 8, 2.0, 1.0).astype(np.float32)
    _write_depth(depths / "img_005.h5", labels)  # ordinal map
    (imgs / "img_006.jpg").unlink()  # listed in the model, absent on disk
    (imgs / "img_007.jpg").write_bytes(b"\xff\xd8\xff garbage, not a JPEG")  # unreadable
    # A duplicate name and an unsupported camera, edited into the text model.
    images_txt = scene.model_dir / "images.txt"
    lines = images_txt.read_text().splitlines()
    body = [line for line in lines if not line.startswith("#")]
    header = [line for line in lines if line.startswith("#")]
    entries = [body[k : k + 2] for k in range(0, len(body), 2)]
    for entry in entries:
        fields = entry[0].split()
        if fields[-1] == "img_009.jpg":
            fields[8] = "2"  # camera 2, an unsupported model
            entry[0] = " ".join(fields)
    duplicate = next(e for e in entries if e[0].split()[-1] == "img_010.jpg")
    fields = duplicate[0].split()
    fields[0] = "99"
    entries.append([" ".join(fields), ""])
    images_txt.write_text("\n".join(header + [line for e in entries for line in e]) + "\n")
    with open(scene.model_dir / "cameras.txt", "a") as handle:
        handle.write("2 FOV 160 120 100 100 80 60 0.2\n")
    # Component 1: a model with zero images; component 2: a model that cannot be read.
    empty = scene.model_dir.parent / "1"
    empty.mkdir()
    pycolmap.Reconstruction().write_text(str(empty))
    broken = scene.model_dir.parent / "2"
    broken.mkdir()
    for name in ("cameras", "images", "points3D"):
        (broken / f"{name}.bin").write_bytes(b"\x01\x02")


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    scene = write_scene(tmp_path_factory.mktemp("bad"), n_views=12, model_format="text")
    _damage(scene)
    records = index_scene(scene.root, scene.scene, CONFIG)
    return scene, records


def _reasons(records, name):
    item = f"megadepth/5001/{name}"
    return set(records.rejects.loc[records.rejects.item == item, "reason"])


@pytest.mark.parametrize(
    ("name", "reason", "in_images"),
    [
        ("img_001.jpg", "depth_missing", True),
        ("img_002.jpg", "depth_unreadable", True),
        ("img_003.jpg", "depth_unreadable", True),
        ("img_004.jpg", "depth_invalid_values", True),
        ("img_005.jpg", "depth_ordinal", True),
        ("img_006.jpg", "image_missing", False),
        ("img_007.jpg", "image_unreadable", False),
        ("img_009.jpg", "camera_model_unsupported", False),
        ("img_010.jpg", "duplicate_image_name", False),
    ],
)
def test_bad_input_becomes_a_reject(damaged, name, reason, in_images):
    _, records = damaged
    assert reason in _reasons(records, name)
    assert (f"megadepth/5001/{name}" in set(records.images.image_id)) == in_images
    assert f"megadepth/5001/{name}" not in set(records.pairs.image_id0) | set(
        records.pairs.image_id1
    )


def test_bad_models_are_rejected_and_the_scene_goes_on(damaged):
    scene, records = damaged
    by_item = records.rejects.set_index("item").reason
    models = str((scene.model_dir.parent).relative_to(scene.root))  # items relative to the root
    assert by_item[f"{models}/1"] == "model_empty"
    assert by_item[f"{models}/2"] == "model_unreadable"
    kinds = records.images.set_index("image_id").depth_kind
    assert kinds["megadepth/5001/img_005.jpg"] == "ordinal"
    assert kinds["megadepth/5001/img_000.jpg"] == "metric"
    assert len(records.pairs) > 0  # the good images still make pairs
    pairs_with_bad_depth = records.rejects[records.rejects.reason == "depth_unavailable"]
    assert len(pairs_with_bad_depth) > 0
    assert pairs_with_bad_depth.item.str.contains("img_00[1-5]").all()


def test_mask_policy_uses_the_valid_part_of_a_map(damaged, tmp_path):
    scene, _ = damaged
    root = tmp_path / "copy"
    shutil.copytree(scene.root, root)
    records = index_scene(
        root, scene.scene, MegaDepthConfig(timestamps=False, invalid_depth="mask")
    )
    assert "depth_invalid_values" not in _reasons(records, "img_004.jpg")
    ids = set(records.pairs.image_id0) | set(records.pairs.image_id1)
    assert "megadepth/5001/img_004.jpg" in ids


def test_missing_model_is_a_reject(tmp_path):
    (tmp_path / "MegaDepth_v1" / "0042" / "dense0").mkdir(parents=True)
    records = index_scene(tmp_path, "0042", CONFIG)
    assert list(records.rejects.reason) == ["model_missing"] and records.images.empty


def test_records_do_not_depend_on_where_the_root_lies(damaged, tmp_path):
    scene, records = damaged
    moved = tmp_path / "elsewhere"
    shutil.copytree(scene.root, moved)
    again = index_scene(moved, scene.scene, CONFIG)
    assert not records.rejects["detail"].str.contains(str(scene.root)).any()
    assert again.rejects.equals(records.rejects)
    assert again.images.equals(records.images)


def test_threads_give_the_same_rejects_and_records(damaged):
    """Images decoded, depth maps read and pairs checked by 3 threads: every reject and row
    as with one (the damaged scene has rejects of each stage)."""
    import pandas as pd

    scene, records = damaged
    threaded = index_scene(scene.root, scene.scene, CONFIG, workers=3)
    for name in ("images", "pairs", "rejects"):
        pd.testing.assert_frame_equal(
            getattr(threaded, name), getattr(records, name), check_exact=True
        )
