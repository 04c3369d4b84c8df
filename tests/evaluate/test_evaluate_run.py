import json
import os

import numpy as np
import pandas as pd
import pytest

from stbench.errors import OutputExistsError
from stbench.evaluate.config import EvaluateConfig
from stbench.evaluate.run import evaluate
from tests.evaluate.worlds import (
    HEIGHT,
    POSES,
    WIDTH,
    apply_homography,
    make_plane_world,
    make_webcam_world,
    plane_homography,
)

# Keypoints of image 0 matched to their exact plane correspondence plus a known offset.
PLUGIN = """
import os
from pathlib import Path

import numpy as np

from stbench.methods.base import MatchResult, Method
from tests.evaluate.worlds import HEIGHT, POSES, WIDTH, apply_homography, plane_homography

OFFSETS = np.array([0.5, 1.5, 2.5, 4.0, 7.0, 30.0])


def exact_matches(index0, index1, n=240, seed=0):
    rng = np.random.default_rng(seed)
    keypoints = rng.uniform([3, 3], [WIDTH - 4, HEIGHT - 4], (n, 2))
    # image index0 keypoints -> plane -> image index1: go through image 0's plane homography.
    to_plane = np.linalg.inv(plane_homography(*POSES[index0]))
    warped = apply_homography(plane_homography(*POSES[index1]) @ to_plane, keypoints)
    offsets = OFFSETS[np.arange(n) % len(OFFSETS)]
    keypoints1 = warped + np.stack([offsets, np.zeros(n)], axis=1)
    keep = (keypoints1[:, 0] >= 0) & (keypoints1[:, 0] <= WIDTH - 1)
    keep &= (keypoints1[:, 1] >= 0) & (keypoints1[:, 1] <= HEIGHT - 1)
    return keypoints[keep], keypoints1[keep], warped[keep]


class Exact(Method):
    name = "exact"
    version = "1"
    track = "metadata"  # reads the image ids to know the true correspondences

    def __init__(self, mode="ok", counter=None, tag=0):
        self.mode, self.counter, self.tag = mode, counter, tag

    def config(self):
        return {"mode": self.mode, "tag": self.tag}

    def match_pair(self, image0, image1, record0, record1):
        if self.counter:
            with open(self.counter, "a") as handle:
                handle.write("x")
        if os.environ.get("STOP_AT") and record1["image_id"].endswith(os.environ["STOP_AT"]):
            raise KeyboardInterrupt
        index0 = int(record0["image_id"][-5])
        index1 = int(record1["image_id"][-5])
        kp0, kp1, _ = exact_matches(index0, index1)
        if self.mode == "garbage" and index1 == 2:
            if index0 == 0:
                raise RuntimeError("boom")
            kp1 = kp1.copy()
            kp1[0, 0] = np.nan
        matches = np.stack([np.arange(len(kp0)), np.arange(len(kp0))], axis=1)
        return MatchResult(kp0, kp1, matches, np.ones(len(kp0)))
"""


@pytest.fixture
def plugin(tmp_path):
    path = tmp_path / "exact_plugin.py"
    path.write_text(PLUGIN)
    return f"{path}:Exact"


def _metrics(run_dir):
    return json.loads((run_dir / "summary.json").read_text())["metrics"]


def test_plane_precision_end_to_end_equals_homography(tmp_path, plugin):
    manifest = make_plane_world(tmp_path, n_images=2)
    run = evaluate(EvaluateConfig(plugin, n_bootstrap=100), manifest, out=tmp_path / "run")
    # Independent formula on the one pair (0, 1): verifiable = H(x) with 4 depth neighbours.
    rng = np.random.default_rng(0)
    keypoints = rng.uniform([3, 3], [WIDTH - 4, HEIGHT - 4], (240, 2))
    warped = apply_homography(plane_homography(*POSES[1]), keypoints)
    offsets = np.array([0.5, 1.5, 2.5, 4.0, 7.0, 30.0])[np.arange(240) % 6]
    shifted_x = warped[:, 0] + offsets
    kept = (shifted_x >= 0) & (shifted_x <= WIDTH - 1) & (warped[:, 1] >= 0)
    kept &= warped[:, 1] <= HEIGHT - 1
    inside = (warped[:, 0] < WIDTH - 1) & (warped[:, 1] < HEIGHT - 1) & (warped[:, 1] >= 0)
    verifiable = inside[kept]
    errors = offsets[kept][verifiable]
    metrics = _metrics(run)
    for threshold in (1, 2, 3, 5, 10):
        assert metrics[f"precision_{threshold}px"]["value"] == pytest.approx(
            np.mean(errors <= threshold), abs=1e-9
        )
    assert metrics["num_matches"]["value"] == kept.sum()
    for name in ("per_pair.parquet", "per_image.parquet", "summary.csv", "summary.md"):
        assert (run / name).is_file()
    assert (run / "plots" / "mma.png").is_file()
    row = pd.read_csv(run / "summary.csv")
    assert (
        len(row) == 1
        and row["manifest"][0]
        == "plane@" + json.loads((manifest / "manifest.json").read_text())["content_hash"]
    )
    import h5py

    with h5py.File(run / "predictions" / "matches.h5") as handle:
        key = "megadepth-0015-0.png/megadepth-0015-1.png"  # hloc names_to_pair
        assert (handle[key]["matches0"][()] >= 0).sum() == kept.sum()


def test_garbage_output_is_recorded_and_other_pairs_kept(tmp_path, plugin):
    manifest = make_plane_world(tmp_path, n_images=3)
    run = evaluate(
        EvaluateConfig(plugin, method_options={"mode": "garbage"}, n_bootstrap=50),
        manifest,
        out=tmp_path / "run",
    )
    per_pair = pd.read_parquet(run / "per_pair.parquet").set_index("pair_id")
    assert sorted(per_pair["status"]) == ["failed", "failed", "ok"]
    reasons = per_pair["failure_reason"].dropna().tolist()
    assert any("RuntimeError: boom" in r for r in reasons)
    assert any("NaN" in r for r in reasons)
    assert _metrics(run)["pair_failure_rate"]["value"] == pytest.approx(2 / 3)
    assert _metrics(run)["precision_10px"]["n"] == 1


def test_cache_reuse_config_change_and_resume(tmp_path, plugin, monkeypatch):
    manifest = make_plane_world(tmp_path, n_images=3)
    counter = tmp_path / "calls.txt"
    options = {"counter": str(counter)}
    out = tmp_path / "run"
    monkeypatch.setenv("STOP_AT", "2.png")  # interrupted at the first pair with image 2
    with pytest.raises(KeyboardInterrupt):
        evaluate(EvaluateConfig(plugin, method_options=options, n_bootstrap=10), manifest, out=out)
    assert counter.read_text() == "xx"  # pair (0, 1) done, (0, 2) interrupted
    monkeypatch.delenv("STOP_AT")
    first = evaluate(
        EvaluateConfig(plugin, method_options=options, n_bootstrap=10), manifest, out=out
    )
    assert counter.read_text() == "xx" + "xx"  # resumed: only (0, 2) and (1, 2)
    evaluate(EvaluateConfig(plugin, method_options=options, n_bootstrap=10), manifest, out=out)
    assert counter.read_text() == "xxxx"  # unchanged config: nothing recomputed
    assert _metrics(first)["num_matches"]["n"] == 3
    changed = {**options, "tag": 1}
    with pytest.raises(OutputExistsError, match="different config"):
        evaluate(EvaluateConfig(plugin, method_options=changed, n_bootstrap=10), manifest, out=out)
    evaluate(
        EvaluateConfig(plugin, method_options=changed, n_bootstrap=10),
        manifest,
        out=out,
        overwrite=True,
    )
    assert counter.read_text() == "xxxx" + "xxx"


def test_sift_and_predictions_round_trip_and_workers(tmp_path):
    manifest = make_plane_world(tmp_path, n_images=3)
    sift = evaluate(
        EvaluateConfig("sift", n_bootstrap=50), manifest, out=tmp_path / "sift", write_plots=False
    )
    metrics = _metrics(sift)
    assert metrics["precision_3px"]["value"] > 0.9
    assert metrics["num_matches"]["value"] > 50
    replay = evaluate(
        EvaluateConfig(
            "predictions", method_options={"dir": str(sift / "predictions")}, n_bootstrap=50
        ),
        manifest,
        out=tmp_path / "replay",
        write_plots=False,
    )
    for name in ("precision_1px", "precision_3px", "matching_score_3px", "num_matches"):
        assert _metrics(replay)[name]["value"] == pytest.approx(metrics[name]["value"])
    parallel = evaluate(
        EvaluateConfig("orb", n_bootstrap=10, workers=2),
        manifest,
        out=tmp_path / "orb2",
        write_plots=False,
    )
    serial = evaluate(
        EvaluateConfig("orb", n_bootstrap=10), manifest, out=tmp_path / "orb1", write_plots=False
    )
    assert _metrics(parallel)["num_matches"] == _metrics(serial)["num_matches"]


def test_temporal_methods_on_webcam_manifest(tmp_path):
    # Frame 20240716_131000 (local 14:10, July) carries a wrong EXIF time (March, 02:00):
    # month error 4 (circular), hour error 12; the other frames fall back to their UTC file
    # name and the zone of (5 N, 20 E): UTC+1, which the manifest's offset agrees with.
    manifest = make_webcam_world(tmp_path, exif={"20240716_131000.jpg": "2024:03:01 02:00:00"})
    run = evaluate(
        EvaluateConfig("exif", n_bootstrap=50), manifest, out=tmp_path / "exif", write_plots=False
    )
    metrics = _metrics(run)
    assert metrics["time_accuracy_month"]["value"] == pytest.approx(2 / 3)
    assert metrics["time_mse_month"]["value"] == pytest.approx(16 / 3)
    assert metrics["time_mse_hour"]["value"] == pytest.approx(144 / 3)
    assert metrics["time_accuracy_season"]["value"] == pytest.approx(2 / 3)
    assert metrics["num_matches"]["n"] == 0  # temporal-only manifest: nothing matched
    colorstats = evaluate(
        EvaluateConfig("colorstats", method_options={"n_estimators": 10}, n_bootstrap=50),
        manifest,
        out=tmp_path / "cs",
        write_plots=False,
    )
    per_image = pd.read_parquet(colorstats / "per_image.parquet")
    assert len(per_image) == 3 and (per_image["status"] == "ok").all()
    assert _metrics(colorstats)["time_accuracy_hour"]["n"] == 3
    # clusters from the manifest (camera x 14-day block of the capture date), never the method
    days = (pd.to_datetime(per_image["image_id"].str[-19:-4], format="%Y%m%d_%H%M%S") -
            pd.Timestamp("1970-01-01")).dt.days  # fmt: skip
    expected = "webcam/" + per_image["scene"] + "/d" + (days // 14).astype(str)
    assert per_image["cluster"].tolist() == expected.tolist()
    hour = _metrics(colorstats)["time_accuracy_hour"]
    assert hour["n_clusters"] == per_image["cluster"].nunique()
    assert hour["note"] == "n too small" and hour["ci_low"] is None


def test_template_runs_as_is(tmp_path):
    from stbench.methods.template import write_template

    path, spec = write_template("my_matcher", tmp_path)
    assert path.is_file() and spec.endswith(":MyMatcher")
    with pytest.raises(OutputExistsError):
        write_template("my_matcher", tmp_path)
    manifest = make_plane_world(tmp_path, n_images=2)
    run = evaluate(
        EvaluateConfig(spec, n_bootstrap=10), manifest, out=tmp_path / "run", write_plots=False
    )
    per_pair = pd.read_parquet(run / "per_pair.parquet")
    assert (per_pair["status"] == "ok").all() and per_pair["n_matches"].iloc[0] > 0
    webcam = make_webcam_world(tmp_path / "w")
    run = evaluate(EvaluateConfig(spec, n_bootstrap=10), webcam, out=tmp_path / "run_w")
    assert _metrics(run)["time_coverage_hour"]["value"] == 1.0
    assert _metrics(run)["time_accuracy_month"]["n"] == 0  # the template predicts hours only
    assert (run / "plots" / "confusion_hour.png").is_file()
    assert (run / "plots" / "temporal.png").is_file()
    assert os.path.exists(run / "summary.md")


def test_predictions_cache_reads_reversed_hloc_pairs(tmp_path):
    from stbench.prediction_cache import PredictionCache

    keypoints_a = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]], np.float32)
    keypoints_b = np.array([[5.0, 5.0], [6.0, 6.0]], np.float32)
    with PredictionCache(tmp_path) as cache:  # stored as (b, a): b's keypoint 1 -> a's 2
        cache.write_pair("img/b", "img/a", keypoints_b, keypoints_a, np.array([[1, 2]]),
                         np.array([0.5]), 0.1)  # fmt: skip
    entry = PredictionCache(tmp_path).read_pairs([("img/a", "img/b")])[("img/a", "img/b")]
    assert entry["matches"].tolist() == [[2, 1]]
    np.testing.assert_array_equal(entry["keypoints0"], keypoints_a)
    np.testing.assert_array_equal(entry["keypoints1"], keypoints_b)


def test_predictions_method_opens_its_files_once_per_process(tmp_path, monkeypatch):
    import pickle

    import h5py

    from stbench.methods.predictions import Predictions
    from stbench.prediction_cache import PredictionCache

    keypoints = np.array([[1.0, 1.0], [2.0, 2.0]], np.float32)
    with PredictionCache(tmp_path) as cache:
        for b in ("b", "c", "d"):
            cache.write_pair("a", b, keypoints, keypoints, np.array([[0, 1]]), np.array([0.5]), 0.1)
    opened = []
    real_file = h5py.File
    monkeypatch.setattr(h5py, "File", lambda *a, **k: opened.append(a[0]) or real_file(*a, **k))
    method = Predictions(dir=str(tmp_path))
    for b in ("b", "c", "d", "b"):
        result = method.match_pair(None, None, {"image_id": "a"}, {"image_id": b})
        assert result.matches.tolist() == [[0, 1]]
    assert len(opened) == 2  # features.h5 and matches.h5, once
    with pytest.raises(ValueError, match="not found"):
        method.match_pair(None, None, {"image_id": "a"}, {"image_id": "zz"})
    clone = pickle.loads(pickle.dumps(method))  # the open files stay behind
    assert clone.match_pair(None, None, {"image_id": "a"}, {"image_id": "c"}).matches.shape == (
        1,
        2,
    )


def test_matcher_without_time_has_no_temporal_metrics(tmp_path):
    from stbench.errors import ConfigError

    manifest = make_plane_world(tmp_path, n_images=2)
    run = evaluate(
        EvaluateConfig("sift", n_bootstrap=10), manifest, out=tmp_path / "run", write_plots=False
    )
    hour = _metrics(run)["time_accuracy_hour"]
    assert hour["n"] == 0 and hour["value"] is None
    assert len(pd.read_parquet(run / "per_image.parquet")) == 0
    webcam = make_webcam_world(tmp_path / "w")  # temporal-only: nothing a matcher can do
    with pytest.raises(ConfigError, match="nothing to evaluate"):
        evaluate(EvaluateConfig("sift"), webcam, out=tmp_path / "run_w")


def test_learned_baseline_never_trains_on_evaluated_images(tmp_path):
    from stbench.errors import DataError

    manifest = make_webcam_world(tmp_path)
    # split "all" evaluates every labelled image, so no training image is left.
    with pytest.raises(DataError, match="no training images"):
        evaluate(
            EvaluateConfig("colorstats", split="all", n_bootstrap=10),
            manifest,
            out=tmp_path / "run",
        )
