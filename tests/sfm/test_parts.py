"""Pair selection, keypoint merging and day/night labels of the SfM evaluation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stbench.sfm.pairs import scene_pairs
from stbench.sfm.scene import KeypointMerger, one_to_one
from stbench.sfm.spans import daylight_labels, span_table
from tests.sfm.synthetic import make_scene


def test_small_scenes_match_every_pair_large_ones_their_nearest_neighbours():
    images = pd.DataFrame(make_scene(12, n_points=50).images)
    exhaustive = scene_pairs(images, exhaustive_max_images=12, neighbours=2)
    assert len(exhaustive) == 66 and set(exhaustive["rule"]) == {"exhaustive"}
    limited = scene_pairs(images, exhaustive_max_images=11, neighbours=2)
    assert set(limited["rule"]) == {"nearest-2"}
    assert (limited["image_id0"] < limited["image_id1"]).all()
    # cameras lie on a half ring in order: the nearest two of each are its ring neighbours
    index = {name: i for i, name in enumerate(sorted(images["image_id"]))}
    gaps = {
        abs(index[a] - index[b])
        for a, b in zip(limited["image_id0"], limited["image_id1"], strict=True)
    }
    assert gaps <= {1, 2} and len(limited) < len(exhaustive)
    for name in images["image_id"]:  # every image keeps at least its two neighbours
        assert ((limited["image_id0"] == name) | (limited["image_id1"] == name)).sum() >= 2


def test_pair_dependent_keypoints_merge_per_image():
    merger = KeypointMerger()
    first = merger.add("a", np.array([[10.0, 20.0], [30.0, 40.0]], np.float32))
    second = merger.add("a", np.array([[30.04, 39.98], [50.0, 60.0]], np.float32))
    assert first.tolist() == [0, 1] and second.tolist() == [1, 2]
    assert merger.keypoints("a").shape == (3, 2)
    assert merger.keypoints("unknown").shape == (0, 2)
    matches = np.array([[0, 1], [0, 2], [1, 1], [2, 3]])
    assert one_to_one(matches).tolist() == [[0, 1], [2, 3]]


def test_daylight_is_sun_above_horizon_and_null_without_trusted_time():
    images = pd.DataFrame(
        {
            "timestamp_utc": pd.to_datetime(
                ["2019-06-21 12:00", "2019-06-21 23:30", "2019-06-21 12:00"], utc=True
            ),
            "hour": pd.array([13, 1, pd.NA], dtype="Int64"),
            "lat": [47.27, 47.27, 47.27],
            "lon": [11.39, 11.39, 11.39],
            "season": pd.array([2, 2, pd.NA], dtype="Int64"),
        }
    )
    assert daylight_labels(images).tolist() == [1, 0, pd.NA]
    table = span_table(images, ("season", "daylight"))
    assert table.columns.tolist() == ["season", "daylight"]


def _random_rotation(rng) -> np.ndarray:
    from stbench.sfm.metrics import nearest_rotation

    return nearest_rotation(rng.normal(size=(3, 3)))


def test_alignment_recovers_a_similarity_even_for_collinear_centres():
    from stbench.sfm.metrics import mean_average_accuracy, pose_errors

    rng = np.random.default_rng(0)
    truth = {}
    for i in range(5):  # cameras along a straight street, turned differently
        truth[f"im{i}"] = (_random_rotation(rng), np.array([3.0 * i, 0.0, 1.5]))
    scale, rotation, translation = 0.37, _random_rotation(rng), np.array([4.0, -2.0, 7.0])
    estimated = {
        name: (r @ rotation, rotation.T @ (c - translation) / scale)
        for name, (r, c) in truth.items()
        if name != "im4"  # not registered
    }
    errors = pose_errors(estimated, truth)
    registered = errors[errors["registered"]]
    assert len(registered) == 4
    assert registered["rotation_deg"].max() < 1e-5
    assert registered["translation_m"].max() < 1e-6
    assert mean_average_accuracy(errors) == 0.8  # the unregistered image fails every threshold
    # a 20-degree turn of one camera: only that camera is wrong (the refit drops it)
    turned = dict(estimated)
    r, c = turned["im0"]
    turn = np.array([[np.cos(0.35), -np.sin(0.35), 0], [np.sin(0.35), np.cos(0.35), 0], [0, 0, 1]])
    turned["im0"] = (turn @ r, c)
    errors = pose_errors(turned, truth).set_index("name")
    assert errors.loc["im0", "rotation_deg"] > 19
    assert errors.loc[["im1", "im2", "im3"], "rotation_deg"].max() < 1e-5


def test_an_old_pycolmap_is_a_clear_error(monkeypatch):
    import pycolmap
    import pytest

    from stbench.errors import ConfigError
    from stbench.sfm.mapping import require_pycolmap

    assert require_pycolmap() == pycolmap.__version__
    monkeypatch.delattr(pycolmap, "Frame")
    with pytest.raises(ConfigError, match=r"needs pycolmap >= 3\.13.*Frame"):
        require_pycolmap()
