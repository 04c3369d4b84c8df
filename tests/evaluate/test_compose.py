"""Composite runs (``stbench compose``): a matcher's matches gated by a temporal run.

The runs are crafted tables (per_pair / per_image / summary.json) whose spatio-temporal
precision is computed by hand below.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from stbench.cli import build_app
from stbench.errors import ConfigError, DataError, OutputExistsError
from stbench.evaluate.compose import compose_runs, read_run
from stbench.evaluate.leaderboard import leaderboard_add, read_board
from stbench.evaluate.score import _add_same_span, declared_same_span
from stbench.evaluate.spatial import THRESHOLDS_PX
from stbench.evaluate.summary import summarize
from stbench.spans import CLASS_SPANS

MANIFEST = "toy@" + "ab" * 32

#: (pair, image0, image1, verifiable, correct at 3 px, true same season, true same hour);
#: p4 is a temporal-only pair (no poses), p3 has no verifiable match.
PAIRS = [
    ("p0", "a", "b", 10, 8, True, False),
    ("p1", "a", "c", 20, 10, False, True),
    ("p2", "b", "d", 5, 5, True, False),
    ("p3", "c", "d", 0, 0, False, True),
    ("p4", "e", "f", None, None, True, True),
]
IMAGES = ["a", "b", "c", "d", "e", "f"]
TRUE = {"season": [0, 0, 1, 0, 2, 2], "hour": [5, 7, 5, 5, 1, 1]}
#: The gate's predictions. Season: declared same = p0 (0, 0), p1 (0, 0), p4; not p2, p3.
#: Hour: declared same = p1 (5, 5), p3 (5, 5), p4; not p0 (5 vs 6), p2 (6 vs 5).
GATE = {"season": [0, 0, 0, 1, 2, 2], "hour": [5, 6, 5, 5, 1, 1]}
#: By hand, over declared pairs with verifiable matches (sum of correct x truly same / sum V):
#: season: p0 (8 x 1) + p1 (10 x 0) over 10 + 20; hour: p1 (10 x 1) over 20.
ST_SEASON, ST_HOUR = 8 / 30, 10 / 20


def _per_pair(matcher: bool) -> pd.DataFrame:
    rows = []
    for pair, i0, i1, verifiable, correct, *_ in PAIRS:
        matched = matcher and verifiable is not None
        row = {
            "pair_id": pair,
            "image_id0": i0,
            "image_id1": i1,
            "scene": "s" + pair[-1],
            "kind": "spatiotemporal" if verifiable is not None else "temporal",
            "overlap_bin": "0.3-0.5" if verifiable is not None else None,
            "matchable": verifiable is not None,
            "status": "ok" if matched else "not_matched",
            "failure_reason": None,
            "has_depth": bool(matched),
            "n_matches": float(verifiable + 2) if matched else np.nan,
            "n_verifiable": float(verifiable) if matched else np.nan,
            "n_reprojectable": float(verifiable + 1) if matched else np.nan,
            "verifiable_fraction": verifiable / (verifiable + 2) if matched else np.nan,
            "matching_score_3px": correct / (verifiable + 1) if matched else np.nan,
            "pose_error_deg": 3.0 if matched else np.nan,
            "time_s": 0.01 if matched else np.nan,
        }
        for t in THRESHOLDS_PX:
            row[f"n_correct_{t}px"] = float(correct) if matched else np.nan
            row[f"precision_{t}px"] = correct / verifiable if matched and verifiable else np.nan
        rows.append(row)
    frame = pd.DataFrame(rows)
    for span in CLASS_SPANS:
        truth = {"season": 5, "hour": 6}.get(span)
        frame[f"true_same_{span}"] = pd.array(
            [p[truth] if truth else pd.NA for p in PAIRS], dtype="boolean"
        )
        frame[f"pred_same_{span}"] = pd.array([pd.NA] * len(PAIRS), dtype="boolean")
    frame["cluster"] = frame["scene"]
    return frame


def _per_image(predictions: dict[str, list[int]] | None) -> pd.DataFrame:
    if predictions is None:
        return pd.DataFrame(columns=["image_id", "status"])
    frame = pd.DataFrame({"image_id": IMAGES, "source": "webcam", "scene": "cam", "status": "ok"})
    frame["failure_reason"] = None
    for span in CLASS_SPANS:
        frame[f"true_{span}"] = pd.array(TRUE.get(span, [pd.NA] * 6), dtype="Int64")
        frame[f"pred_{span}"] = pd.array(predictions.get(span, [pd.NA] * 6), dtype="Int64")
    frame["cluster"] = ["c" + i for i in IMAGES]
    return frame


def _write_run(
    directory: Path,
    method: str,
    per_pair: pd.DataFrame,
    per_image: pd.DataFrame,
    *,
    manifest: str = MANIFEST,
    split: str = "test",
    track: str = "pixels",
    metrics: dict | None = None,
) -> Path:
    directory.mkdir(parents=True)
    per_pair.to_parquet(directory / "per_pair.parquet", index=False)
    per_image.to_parquet(directory / "per_image.parquet", index=False)
    summary = {
        "method": method,
        "method_version": "1",
        "method_config": {"name": method},
        "manifest": manifest,
        "split": split,
        "track": track,
        "clusters": {"images": "camera-days", "pairs": "scene", "block_days": 14},
        "config": {"n_bootstrap": 200, "seed": 0, "tau": 0.05},
        "metrics": metrics or {},
        "ms_per_pair": 10.0,
    }
    (directory / "summary.json").write_text(json.dumps(summary))
    (directory / "config.json").write_text(json.dumps(summary["config"]))
    return directory


def _matcher(tmp_path: Path, **kwargs) -> Path:
    return _write_run(tmp_path / "sift", "sift", _per_pair(True), _per_image(None), **kwargs)


def _temporal(tmp_path: Path, name: str = "colorstats", gate=None, **kwargs) -> Path:
    return _write_run(tmp_path / name, name, _per_pair(False), _per_image(gate or GATE), **kwargs)


def _value(run: Path, metric: str) -> dict:
    return json.loads((run / "summary.json").read_text())["metrics"][metric]


def test_declared_same_span_needs_both_predictions():
    predicted = pd.Series([0, 0, 1, pd.NA], index=["a", "b", "c", "d"], dtype="Int64")
    declared = declared_same_span(
        pd.Series(["a", "a", "a", "x"]), pd.Series(["b", "c", "d", "a"]), predicted
    )
    assert declared.tolist() == [True, False, pd.NA, pd.NA]


def test_composite_spatio_temporal_precision_by_hand(tmp_path):
    out = compose_runs(_matcher(tmp_path), [_temporal(tmp_path)], tmp_path / "out")
    season, hour = _value(out, "st_precision_season"), _value(out, "st_precision_hour")
    assert season["value"] == pytest.approx(ST_SEASON) and season["n"] == 2
    assert hour["value"] == pytest.approx(ST_HOUR) and hour["n"] == 1
    assert _value(out, "st_precision_month")["n"] == 0  # the gate predicts no month
    # matching metrics are the matcher's, temporal ones the gate's
    assert _value(out, "precision_3px")["value"] == pytest.approx(np.mean([0.8, 0.5, 1.0]))
    assert _value(out, "time_accuracy_season")["value"] == pytest.approx(4 / 6)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["method"] == "sift+colorstats"
    assert summary["composed_from"]["gate_chosen_on"] == "given"
    assert set(summary["composed_from"]["time"]) == {"season", "hour"}
    per_pair = pd.read_parquet(out / "per_pair.parquet")
    assert per_pair["pred_same_season"].tolist() == [True, True, False, False, True]
    for name in ("per_image.parquet", "summary.csv", "summary.md", "config.json"):
        assert (out / name).is_file()
    assert "- season: time of colorstats" in (out / "summary.md").read_text()
    board = leaderboard_add(out, tmp_path / "board.csv")
    row = read_board(board).iloc[0]
    assert row["method"] == "sift+colorstats"
    assert row["st_precision_season"] == pytest.approx(ST_SEASON, abs=1e-6)  # 6 digits


def test_composing_a_joint_run_with_itself_reproduces_it(tmp_path):
    """The composite's same-span decisions are the harness's: a run that matches and predicts
    time, composed with itself, has exactly its own summary metrics."""
    per_pair = _per_pair(True)
    labels = _per_image(GATE)[["image_id", *[f"pred_{s}" for s in CLASS_SPANS]]]
    labels = labels.rename(columns={f"pred_{s}": s for s in CLASS_SPANS})
    pairs = per_pair.rename(columns={f"true_same_{s}": f"same_{s}" for s in CLASS_SPANS})
    per_pair = _add_same_span(
        per_pair.drop(columns=[c for c in per_pair if "same_" in c]), pairs, labels
    )
    per_pair["cluster"] = per_pair["scene"]
    joint = _write_run(tmp_path / "joint", "joint", per_pair, _per_image(GATE))
    out = compose_runs(joint, [joint], tmp_path / "out")
    own = summarize(per_pair, _per_image(GATE), 200, 0, read_run(joint).spec)["metrics"]
    composed = json.loads((out / "summary.json").read_text())["metrics"]
    for name, entry in own.items():
        assert composed[name] == pytest.approx(entry, nan_ok=True), name


def test_gate_chosen_per_span_on_val(tmp_path):
    match = _matcher(tmp_path)
    # on val, colorstats wins season and trivial wins hour (accuracy); on test, their runs
    colorstats_val = _temporal(
        tmp_path / "val", split="val", metrics=_accuracies(season=0.4, hour=0.1)
    )
    trivial_val = _temporal(
        tmp_path / "val", "trivial", split="val", metrics=_accuracies(season=0.3, hour=0.2)
    )
    trivial_gate = {"season": [1, 1, 1, 1, 1, 1], "hour": [1, 1, 1, 1, 1, 1]}
    colorstats, trivial = _temporal(tmp_path), _temporal(tmp_path, "trivial", trivial_gate)
    out = compose_runs(
        match, [colorstats, trivial], tmp_path / "out", val_runs=[colorstats_val, trivial_val]
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["method"] == "sift+colorstats/trivial"
    assert summary["composed_from"]["gate_chosen_on"] == "val"
    assert summary["composed_from"]["time"]["season"]["method"] == "colorstats"
    assert summary["composed_from"]["time"]["hour"]["method"] == "trivial"
    assert summary["composed_from"]["gate_choice"]["hour"]["value"] == pytest.approx(0.2)
    assert summary["method_version"] == "1+1+1"  # sift, colorstats, trivial
    assert _value(out, "st_precision_season")["value"] == pytest.approx(ST_SEASON)
    # trivial declares every pair same-hour: (p0 8 x 0 + p1 10 x 1 + p2 5 x 0) / (10 + 20 + 5)
    assert _value(out, "st_precision_hour")["value"] == pytest.approx(10 / 35)
    # a val choice whose test run is not given is an error naming it
    with pytest.raises(DataError, match=r"trivial .*no --time run"):
        compose_runs(match, [colorstats], tmp_path / "x", val_runs=[colorstats_val, trivial_val])


def _accuracies(**values: float) -> dict:
    return {f"time_accuracy_{span}": {"value": value} for span, value in values.items()}


def test_val_choice_refuses_test_and_metadata_runs(tmp_path):
    match, colorstats = _matcher(tmp_path), _temporal(tmp_path)
    with pytest.raises(DataError, match="chosen on val only"):
        compose_runs(match, [colorstats], tmp_path / "o1", val_runs=[colorstats])
    exif_val = _temporal(tmp_path / "val", "exif", split="val", track="metadata")
    with pytest.raises(DataError, match="pixels-only"):
        compose_runs(match, [colorstats], tmp_path / "o2", val_runs=[exif_val])


def test_mismatched_runs_give_clear_errors(tmp_path):
    match = _matcher(tmp_path)
    other = _temporal(tmp_path, "other", manifest="toy@" + "cd" * 32)
    with pytest.raises(DataError, match="different manifests"):
        compose_runs(match, [other], tmp_path / "o1")
    unhashed = _temporal(tmp_path, "unhashed", manifest="toy@unhashed")
    with pytest.raises(DataError, match="no content hash"):
        compose_runs(match, [unhashed], tmp_path / "o2")
    val = _temporal(tmp_path, "val", split="val")
    with pytest.raises(DataError, match="different splits"):
        compose_runs(match, [val], tmp_path / "o3")
    fewer = _write_run(tmp_path / "fewer", "fewer", _per_pair(False).iloc[:3], _per_image(GATE))
    with pytest.raises(DataError, match=r"different pairs.*--max-pairs"):
        compose_runs(match, [fewer], tmp_path / "o4")
    with pytest.raises(DataError, match="not a matching run"):
        compose_runs(_temporal(tmp_path), [_temporal(tmp_path, "b")], tmp_path / "o5")
    with pytest.raises(DataError, match="predicted no time"):
        compose_runs(match, [match], tmp_path / "o6")
    with pytest.raises(ConfigError, match="--choose-on-val"):
        compose_runs(match, [_temporal(tmp_path, "c"), _temporal(tmp_path, "d")], tmp_path / "o7")
    with pytest.raises(DataError, match=r"summary\.json is missing"):
        compose_runs(tmp_path / "nothing", [_temporal(tmp_path, "e")], tmp_path / "o8")
    damaged = _write_run(
        tmp_path / "damaged", "damaged", _per_pair(False).drop(columns="status"), _per_image(GATE)
    )
    with pytest.raises(DataError, match=r"per_pair\.parquet lacks column\(s\) \['status'\]"):
        compose_runs(match, [damaged], tmp_path / "o9")
    assert not any((tmp_path / f"o{i}").exists() for i in range(1, 10))


def test_existing_output_is_kept_without_overwrite(tmp_path):
    match, colorstats = _matcher(tmp_path), _temporal(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(OutputExistsError):
        compose_runs(match, [colorstats], out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    compose_runs(match, [colorstats], out, overwrite=True, write_plots=False)
    assert (out / "summary.json").is_file() and not (out / "keep.txt").exists()


def test_cli_compose(tmp_path):
    match, colorstats = _matcher(tmp_path), _temporal(tmp_path)
    runner = CliRunner()
    result = runner.invoke(
        build_app(),
        ["compose", str(match), "--time", str(colorstats), "--out", str(tmp_path / "c")],
    )
    assert result.exit_code == 0, result.output
    assert "st_precision_season" in result.output
    assert "season: gated by colorstats" in result.output
    assert _value(tmp_path / "c", "st_precision_season")["value"] == pytest.approx(ST_SEASON)
