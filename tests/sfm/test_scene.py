"""SfM on a tiny synthetic scene with ground-truth matches (no images, no method)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pycolmap")

from stbench.sfm.scene import SceneInput, reconstruct_scene
from tests.sfm.synthetic import make_scene

N_IMAGES = 12


def _input(pairs: list[tuple[str, str]], scene, labels: pd.DataFrame) -> SceneInput:
    results = {}
    for name0, name1 in pairs:
        results[(name0, name1)] = {
            "keypoints0": scene.keypoints[name0],
            "keypoints1": scene.keypoints[name1],
            "matches": scene.matches(name0, name1),
            "time_s": 0.01,
        }
    images = pd.DataFrame(scene.images)
    return SceneInput("synthetic/ring", images, labels, results)


def _labels(scene) -> pd.DataFrame:
    """The first half of the ring in winter (0), the second in summer (2)."""
    names = [row["image_id"] for row in scene.images]
    season = pd.array([0 if i < N_IMAGES // 2 else 2 for i in range(N_IMAGES)], dtype="Int64")
    return pd.DataFrame({"season": season}, index=names)


def test_ground_truth_matches_register_every_image_with_near_zero_error(tmp_path):
    scene = make_scene(N_IMAGES, seed=1)
    labels = _labels(scene)
    pairs = list(itertools.combinations(sorted(labels.index), 2))
    rows = reconstruct_scene(_input(pairs, scene, labels), tmp_path, ("season",), seed=0)
    whole = next(r for r in rows if r["subset"] == "all")
    assert whole["status"] == "ok"
    assert whole["n_registered"] == N_IMAGES
    assert whole["maa"] == pytest.approx(1.0)
    assert whole["median_rotation_deg"] < 1e-3
    assert whole["median_translation_m"] < 1e-3
    assert whole["mean_reproj_px"] < 1e-3
    assert whole["mean_track_length"] > 2
    # both seasons have 6 >= 4 images: their own reconstructions, complete as well
    spans = {r["subset"]: r for r in rows if r["span"] == "season"}
    assert set(spans) == {"season=winter", "season=summer"}
    assert all(r["n_registered"] == N_IMAGES // 2 and r["maa"] > 0.99 for r in spans.values())


def test_injected_cross_span_matches_lower_purity(tmp_path):
    scene = make_scene(N_IMAGES, seed=2)
    labels = _labels(scene)
    names = sorted(labels.index)
    season = labels["season"]
    within = [(a, b) for a, b in itertools.combinations(names, 2) if season[a] == season[b]]
    cross = [(names[5], names[6]), (names[4], names[6]), (names[5], names[7])]
    clean = reconstruct_scene(_input(within, scene, labels), tmp_path / "clean", ("season",))[0]
    mixed = reconstruct_scene(
        _input(within + cross, scene, labels), tmp_path / "mixed", ("season",)
    )[0]
    assert clean["cross_edges_season"] == 0
    assert clean["labelled_edges_season"] == len(within)
    assert clean["pure_points_season"] == clean["labelled_points_season"] > 0
    # every injected pair is verified (they are true matches), so the edge share is exact
    assert mixed["cross_edges_season"] == len(cross)
    assert mixed["labelled_edges_season"] == len(within) + len(cross)
    clean_purity = clean["pure_points_season"] / clean["labelled_points_season"]
    mixed_purity = mixed["pure_points_season"] / mixed["labelled_points_season"]
    assert mixed_purity < clean_purity - 0.5  # the seasons are now one model sharing points
    assert mixed["n_registered"] == N_IMAGES > clean["n_registered"]


def test_mapper_failure_is_a_recorded_row(tmp_path):
    scene = make_scene(6, seed=3)
    labels = pd.DataFrame(
        {"season": pd.array([1] * 6, dtype="Int64")}, index=[r["image_id"] for r in scene.images]
    )
    rows = reconstruct_scene(_input([], scene, labels), tmp_path, ("season",))
    whole = rows[0]
    assert whole["status"] == "failed" and whole["reason"]
    assert whole["n_registered"] == 0 and whole["maa"] == 0.0
    assert np.isnan(whole["mean_track_length"])


def test_mapper_time_limit_is_flagged_and_recorded(tmp_path):
    scene = make_scene(120, n_points=400, seed=4)
    names = [row["image_id"] for row in scene.images]  # ring order
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 : i + 4]]
    labels = pd.DataFrame({"season": pd.array([1] * 120, dtype="Int64")}, index=names)
    rows = reconstruct_scene(
        _input(pairs, scene, labels), tmp_path, ("season",), max_mapping_seconds=1
    )
    whole = rows[0]  # unlimited, this mapping takes about 10 s
    # No upper bound on map_s (never assert timings: a loaded machine stretches it); the early
    # stop shows in the partial model or in the failure that names the limit.
    assert whole["timed_out"] and whole["map_s"] >= 1
    if whole["status"] == "ok":  # COLMAP returned the model built so far: it is scored
        assert 0 < whole["n_registered"] < 120
    else:  # COLMAP returned none: a failure that names the limit
        assert whole["n_registered"] == 0 and "time limit of 1 s" in whole["reason"]
