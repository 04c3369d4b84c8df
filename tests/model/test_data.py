import dataclasses

import numpy as np
import pytest
import torch

from stbench.errors import DataError
from stbench.geometry import intrinsics_matrix
from stbench.manifest.io import load_manifest
from stbench.model.data import Crop, PairDataset, TemporalDataset, ground_truth_points, plan_crop

SPANS = ["season", "month", "week", "hour"]


def test_crop_mapping_hand_computed():
    crop = plan_crop(100, 50, (40, 40))  # cover: scale max(0.4, 0.8) = 0.8 -> 80x40, centre crop
    assert crop.resized == (80, 40) and (crop.offset_x, crop.offset_y) == (20, 0)
    # Pixel 0 (its centre) lands at (0 + 0.5) * 0.8 - 0.5 - 20 = -20.1 in the crop.
    np.testing.assert_allclose(crop.to_crop(np.array([[0.0, 0.0]])), [[-20.1, -0.1]])
    points = np.array([[10.0, 3.0], [99.0, 49.0]])
    np.testing.assert_allclose(crop.to_original(crop.to_crop(points)), points)
    rng = np.random.default_rng(0)
    offsets = {plan_crop(100, 50, (40, 40), rng).offset_x for _ in range(20)}
    assert len(offsets) > 1 and all(0 <= o <= 40 for o in offsets)


def test_ground_truth_points_fronto_parallel_translation():
    # Plane at z = 10, camera 1 shifted +1 along x: a pixel moves by -f / 10 = -10 px.
    K = intrinsics_matrix(100.0, 100.0, 50.0, 50.0)
    depth = np.full((101, 101), 10.0, np.float32)
    identity = Crop(1.0, 1.0, 0, 0, (101, 101), (101, 101))
    camera0 = (K, np.eye(3), np.zeros(3))
    camera1 = (K, np.eye(3), np.array([-1.0, 0.0, 0.0]))
    kpts0, kpts1, valid = ground_truth_points(
        depth, camera0, identity, depth, camera1, identity, step=10, n_points=200, rng=None
    )
    grid = np.arange(5, 101, 10)
    # x = 5 lands at -5 (outside image 1); x = 95 needs depth at 95..96 (inside): 9 x 10 valid.
    assert valid.sum() == 9 * len(grid)
    np.testing.assert_allclose(kpts1[valid], kpts0[valid] - [10.0, 0.0], atol=1e-4)
    assert (kpts0[valid][:, 0] >= 15).all() and not valid[valid.sum() :].any()


def test_pair_dataset_items_are_seeded_and_consistent(toy_manifest):
    manifest = load_manifest(toy_manifest)
    dataset = PairDataset(manifest, "train", (64, 48), n_points=32, seed=3)
    item = dataset[1]
    assert item["image0"].shape == (3, 48, 64) and item["keypoints0"].shape == (32, 2)
    assert item["valid"].sum() > 10
    inside = item["keypoints1"][item["valid"]]
    assert (inside[:, 0] >= 0).all() and (inside[:, 0] <= 63).all() and (inside[:, 1] <= 47).all()
    again = dataset[1]
    assert all(torch.equal(item[k], again[k]) for k in item)
    dataset.epoch = 1
    assert not torch.equal(item["keypoints0"], dataset[1]["keypoints0"])


def test_temporal_dataset_labels(toy_manifest):
    manifest = load_manifest(toy_manifest)
    dataset = TemporalDataset(manifest, "val", SPANS, (48, 32), random_crops=False)
    images = manifest.images
    expected = images[(images.split == "val") & images.hour.notna()].sort_values("image_id")
    assert len(dataset) == len(expected)
    item = dataset[0]
    assert item["image"].shape == (3, 32, 48)
    assert item["labels"].tolist() == expected[SPANS].iloc[0].astype(int).tolist()


def test_bad_manifests_are_clear_errors(toy_manifest):
    manifest = load_manifest(toy_manifest)
    only_temporal = dataclasses.replace(
        manifest, pairs=manifest.pairs[manifest.pairs.kind == "temporal"]
    )
    with pytest.raises(DataError, match="no usable spatial or spatiotemporal pairs"):
        PairDataset(only_temporal, "train", (64, 48))
    no_webcams = dataclasses.replace(
        manifest, images=manifest.images[manifest.images.source != "webcam"]
    )
    with pytest.raises(DataError, match="trusted span labels"):
        TemporalDataset(no_webcams, "train", SPANS, (48, 32))
    for column in ("path", "depth_path"):
        images = manifest.images.copy()
        first = images.index[(images.split == "train") & (images.source == "megadepth")][0]
        images.loc[first, column] = images.loc[first, column].replace("5001_000", "gone")
        dataset = PairDataset(dataclasses.replace(manifest, images=images), "train", (64, 48))
        with pytest.raises(DataError, match=r"missing under .*gone"):
            dataset.check_files()
    images = manifest.images.copy()
    first = images.index[(images.split == "train") & (images.source == "webcam")][0]
    images.loc[first, "path"] = "00000009/2019.01.zip/x.jpg"
    with pytest.raises(DataError, match="00000009"):
        TemporalDataset(
            dataclasses.replace(manifest, images=images), "train", SPANS, (48, 32)
        ).check_files()


def test_decoded_cache_keeps_read_only_arrays_within_its_budget():
    from stbench.model.data import DecodedCache

    cache = DecodedCache(max_bytes=200)
    loads = []

    def load(value):
        def make():
            loads.append(value)
            return (np.full(10, value, dtype=np.float64),)  # 80 bytes

        return make

    first = cache.get("a", load(1.0))
    assert cache.get("a", load(9.0)) is first and loads == [1.0]  # cached: not loaded again
    assert not first[0].flags.writeable  # a caller cannot alter the cached image
    cache.get("b", load(2.0))
    third = cache.get("c", load(3.0))  # over the budget: returned, not kept
    assert third[0].flags.writeable and cache.used == 160
    cache.get("c", load(3.0))
    assert loads == [1.0, 2.0, 3.0, 3.0]
