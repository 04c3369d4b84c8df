"""``run_sfm`` over a manifest of synthetic scenes, with the ground-truth-matching method."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

pytest.importorskip("pycolmap")

from stbench.errors import ConfigError
from stbench.manifest.verify import manifest_content_hash
from stbench.schema import IMAGES_SCHEMA, PAIRS_SCHEMA, REJECTS_SCHEMA, to_table
from stbench.sfm.run import run_sfm
from tests.sfm.oracle import BROKEN_SCENE, N_IMAGES, scene_of

METHOD = "tests.sfm.oracle:Oracle"


def _manifest(directory, scenes=("ring1", "ring2", BROKEN_SCENE)):
    rows = []
    for name in scenes:
        for i, row in enumerate(scene_of(name).images):
            rows.append(
                {
                    **row,
                    "source": "megadepth",
                    "dataset": "synthetic",
                    "path": row["image_id"],
                    "season": 0 if i < N_IMAGES // 2 else 2,
                    "split": "test",
                }
            )
    directory.mkdir(parents=True)
    # the oracle reads no pixels, but the metadata track hands every method the file's bytes
    placeholder = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1].tobytes()
    for row in rows:
        (directory / row["path"]).parent.mkdir(parents=True, exist_ok=True)
        (directory / row["path"]).write_bytes(placeholder)
    tables = {
        "images": to_table(pd.DataFrame(rows), IMAGES_SCHEMA),
        "pairs": PAIRS_SCHEMA.empty_table(),
        "rejects": REJECTS_SCHEMA.empty_table(),
    }
    for name, table in tables.items():
        pq.write_table(table, directory / f"{name}.parquet")
    meta = {
        "name": "rings",
        "content_hash": manifest_content_hash(tables),
        "sources": {"megadepth": {"root": str(directory)}},
    }
    (directory / "manifest.json").write_text(json.dumps(meta))
    return directory


def test_run_scores_scenes_records_failures_and_reuses_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("STBENCH_HOME", str(tmp_path / "home"))
    manifest = _manifest(tmp_path / "manifest")
    options = {"spans": ("season",), "n_bootstrap": 50}
    run = run_sfm(manifest, METHOD, out=tmp_path / "run", **options)
    summary = json.loads((run / "summary.json").read_text())
    per_scene = pd.read_parquet(run / "per_scene.parquet")
    whole = per_scene[per_scene["subset"] == "all"].set_index("scene")
    assert set(whole.index) == {"megadepth/ring1", "megadepth/ring2", f"megadepth/{BROKEN_SCENE}"}
    broken = whole.loc[f"megadepth/{BROKEN_SCENE}"]
    assert broken["status"] == "failed" and broken["n_registered"] == 0 and broken["maa"] == 0
    assert broken["n_pair_failures"] == broken["n_pairs"] == N_IMAGES * (N_IMAGES - 1) // 2
    # a failed scene's row has every column of a scored one; counts known without the failed
    # steps are filled (none of its pairs was matched), never-made measurements are NaN
    assert broken[["n_matched_pairs", "n_edges"]].tolist() == [0, 0]
    assert broken["labelled_pairs_season"] == broken["n_pairs"]  # offered pairs, all labelled
    measured_only = {"verify_s", "map_s", "median_rotation_deg", "median_translation_m",
                     "mean_track_length", "mean_reproj_px", "reason"}  # fmt: skip
    filled = whole.loc["megadepth/ring1"].notna()
    assert set(filled[filled].index) - measured_only <= set(broken[broken.notna()].index)
    for scene in ("megadepth/ring1", "megadepth/ring2"):
        assert whole.loc[scene, "n_registered"] == N_IMAGES
        assert whole.loc[scene, "maa"] == pytest.approx(1.0)
    metrics = summary["metrics"]
    assert metrics["sfm_registered"]["value"] == pytest.approx(2 / 3)
    assert metrics["sfm_maa"]["value"] == pytest.approx(2 / 3)
    assert metrics["sfm_maa"]["n_clusters"] == 3
    assert metrics["sfm_track_length"]["n"] == 2  # the failed scene has no structure
    assert {f["scene"] for f in summary["failed_scenes"]} == {f"megadepth/{BROKEN_SCENE}"}
    assert "sfm_purity_season" in metrics and "sfm_cross_edges_season" in metrics
    assert (run / "summary.md").read_text().count("megadepth/ring1") >= 1
    # the predictions went to the evaluation's cache: a second run matches nothing again
    cache = tmp_path / "home" / "runs" / "rings" / "oracle" / "predictions"
    assert (cache / "matches.h5").is_file()
    again = json.loads(
        (run_sfm(manifest, METHOD, out=tmp_path / "run2", **options) / "summary.json").read_text()
    )
    assert again["export_counts"]["computed"] == 0
    assert again["metrics"]["sfm_maa"]["value"] == metrics["sfm_maa"]["value"]


def test_run_refuses_bad_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("STBENCH_HOME", str(tmp_path / "home"))
    manifest = _manifest(tmp_path / "manifest", scenes=("ring1",))
    with pytest.raises(ConfigError, match="unknown span"):
        run_sfm(manifest, METHOD, spans=("weather",))
    with pytest.raises(ConfigError, match="unknown sfm setting"):
        run_sfm(manifest, METHOD, neighbors=3)
    with pytest.raises(ConfigError, match="no scene"):
        run_sfm(manifest, METHOD, split="val")


def test_sfm_row_goes_on_the_board_beside_pixel_rows(tmp_path, monkeypatch):
    from stbench.evaluate.leaderboard import COLUMNS, SFM_COLUMNS, leaderboard_add, read_board

    monkeypatch.setenv("STBENCH_HOME", str(tmp_path / "home"))
    manifest = _manifest(tmp_path / "manifest", scenes=("ring1",))
    run = run_sfm(manifest, METHOD, out=tmp_path / "run", spans=("season",), n_bootstrap=20)
    pixels = tmp_path / "pixels"
    pixels.mkdir()
    summary = {
        "method": "sift",
        "method_version": "1",
        "method_config": {},
        "manifest": "rings@h1",
        "split": "test",
        "n_pairs": 3,
        "n_images": 4,
        "metrics": {"pose_auc_5": {"value": 0.5, "ci_low": 0.4, "ci_high": 0.6, "n": 3}},
        "clusters": {"images": "camera-days", "pairs": "scene", "block_days": 14},
    }
    (pixels / "summary.json").write_text(json.dumps(summary))
    board = tmp_path / "board.csv"
    leaderboard_add(pixels, board)
    before = board.read_text().splitlines()
    leaderboard_add(run, board)
    frame = read_board(board)
    assert list(frame.columns) == [*COLUMNS, *SFM_COLUMNS]
    sfm = frame[frame["track"] == "sfm"].iloc[0]
    assert sfm["method"] == "oracle" and sfm["sfm_maa"] == pytest.approx(1.0)
    assert sfm["sfm_registered"] == pytest.approx(1.0) and sfm["clusters"] == "sfm=scene min=10/10"
    pixel = frame[frame["track"] == "pixels"].iloc[0]
    assert pixel["pose_auc_5"] == 0.5 and pd.isna(pixel["sfm_maa"])
    # the pixel row keeps its values: only empty SfM cells were appended to it
    after = board.read_text().splitlines()
    assert after[0] == before[0] + "," + ",".join(SFM_COLUMNS)
    assert before[1] + "," * len(SFM_COLUMNS) in after


def test_cli_runs_and_prints_the_tables(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from stbench.cli import build_app

    monkeypatch.setenv("STBENCH_HOME", str(tmp_path / "home"))
    manifest = _manifest(tmp_path / "manifest", scenes=("ring1",))
    arguments = ["sfm", "--method", METHOD, "--manifest", str(manifest), "--span", "season"]
    result = CliRunner().invoke(build_app(), [*arguments, "--bootstrap", "10"])
    assert result.exit_code == 0, result.output
    assert "sfm_maa" in result.output and "megadepth/ring1" in result.output
    run = tmp_path / "home" / "runs" / "rings" / "oracle" / "sfm"
    assert (run / "summary.json").is_file() and (run / "per_scene.parquet").is_file()
    bad = CliRunner().invoke(build_app(), [*arguments, "--split", "nope"])
    assert bad.exit_code != 0 and "unknown split" in str(bad.exception)
