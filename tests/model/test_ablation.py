"""Ablation variants (stbench.model.ablation), their table, and benchmarks/ablations.py."""

import csv
import json

import pytest

from stbench.errors import ConfigError
from stbench.model import ablation
from stbench.model.ablation import VARIANTS, AblationRow, variant_config, write_table
from stbench.model.presets import preset_config


def test_variant_configs_change_only_what_they_name():
    quick = preset_config("quick")
    expected = {
        "decoder": ("decoder", 1.0, 0.5, 1.0),
        "colour": ("colour", 1.0, 0.5, 1.0),
        "both": ("both", 1.0, 0.5, 1.0),
        "no_time_loss": ("decoder", 1.0, 0.0, 1.0),
        "no_match_loss": ("decoder", 0.0, 0.5, 1.0),
        "mse_only": ("decoder", 1.0, 0.5, 0.0),
        "time_gradient_full": ("decoder", 1.0, 0.5, 1.0),
        "time_detached": ("decoder", 1.0, 0.5, 1.0),
        "head_dropout": ("decoder", 1.0, 0.5, 1.0),
    }
    gradients = {"time_gradient_full": 1.0, "time_detached": 0.0}
    assert [v.name for v in VARIANTS] == list(expected)
    for name, (inputs, matching, temporal, ce) in expected.items():
        config = variant_config(name, seed=3)
        assert config.model.temporal_inputs == inputs
        assert config.model.temporal_feature_gradient == gradients.get(
            name, quick.model.temporal_feature_gradient
        )
        assert config.model.temporal_dropout == (0.3 if name == "head_dropout" else 0.0)
        assert (config.matching_weight, config.temporal_weight, config.ce_weight) == (
            matching,
            temporal,
            ce,
        )
        # one budget for all: the preset's, and the seed given
        assert (config.epochs, config.steps_per_epoch, config.learning_rate, config.seed) == (
            quick.epochs,
            quick.steps_per_epoch,
            quick.learning_rate,
            3,
        )
        assert (
            config.image_size == quick.image_size and config.model.channels == quick.model.channels
        )
    small = variant_config("both", "reference", epochs=2, steps_per_epoch=5)
    assert (small.epochs, small.steps_per_epoch, small.temporal_batch_size) == (2, 5, 16)
    with pytest.raises(ConfigError, match="unknown ablation variant"):
        variant_config("no_such")
    with pytest.raises(ConfigError, match="unknown preset"):
        variant_config("decoder", "huge")


def _row(name, precision, season):
    metric = {"value": precision, "ci_low": None, "ci_high": None, "n": 40, "n_clusters": 1,
              "note": "too few clusters"}  # fmt: skip
    time = {"value": season, "ci_low": season - 0.1, "ci_high": season + 0.1, "n": 300,
            "n_clusters": 24, "note": ""}  # fmt: skip
    return AblationRow(
        variant=name, question=f"question {name}", temporal_inputs="decoder",
        matching_weight=1.0, temporal_weight=0.5, ce_weight=1.0, train_wall_s=61.2,
        eval_wall_s=10.0, steps=240,
        metrics={"precision_3px": metric, "time_accuracy_season": time, "time_mse_hour": {}},
    )  # fmt: skip


def test_write_table_markdown_and_csv(tmp_path):
    header = {"budget": "preset quick: 6 x 40", "seed": 0, "manifest": "default",
              "manifest_content_hash": "abc123", "command": "python benchmarks/ablations.py"}  # fmt: skip
    rows = [_row("decoder", 0.25, 0.4), _row("colour", 0.3, 0.5)]
    rows[1].paired = {
        "time_accuracy_season": {"delta": 0.1, "ci_low": 0.02, "ci_high": 0.18, "p_value": 0.01},
        "precision_3px": {"delta": 0.05, "ci_low": None, "ci_high": None, "note": "n too small"},
    }
    markdown_path, csv_path = write_table(rows, tmp_path / "out", header)
    markdown = markdown_path.read_text()
    for text in ("preset quick: 6 x 40", "abc123", "python benchmarks/ablations.py",
                 "0.250 (too few clusters)", "0.400 [0.300, 0.500]", "| `colour` |",
                 "in 1 scene(s)", "in 24 camera-fortnights", "question colour",
                 "Paired against `decoder`", "+0.100 [+0.020, +0.180], p 0.01",
                 "+0.050 (n too small)"):  # fmt: skip
        assert text in markdown
    table = list(csv.DictReader(csv_path.open()))
    assert [r["variant"] for r in table] == ["decoder", "colour"]
    assert table[1]["precision_3px"] == "0.3" and table[1]["precision_3px_clusters"] == "1"
    assert float(table[0]["time_accuracy_season_ci_low"]) == pytest.approx(0.3)
    assert table[0]["manifest_content_hash"] == "abc123" and table[0]["steps"] == "240"
    assert table[0]["time_mse_hour"] == ""  # a metric without a value stays empty, not 0
    assert table[0]["delta_time_accuracy_season"] == ""  # the first variant is the base
    assert float(table[1]["delta_time_accuracy_season_p"]) == pytest.approx(0.01)
    with pytest.raises(ConfigError, match="no ablation rows"):
        write_table([], tmp_path / "empty", header)


def test_ablation_script_trains_and_scores_on_val(toy_manifest, tiny_config, tmp_path, monkeypatch):
    # One variant at a tiny size end to end: trained, scored by the harness on val, tabled.
    from benchmarks.ablations import run_ablations
    from stbench.config import config_to_dict

    tiny = tiny_config(epochs=1, steps_per_epoch=1)
    monkeypatch.setitem(ablation.PRESETS, "tiny", config_to_dict(tiny))
    lines = []
    rows = run_ablations(
        toy_manifest, tmp_path / "abl", variants=["colour", "mse_only"], preset="tiny",
        max_pairs=2, max_images=8, n_bootstrap=10, command="test", report=lines.append,
    )  # fmt: skip
    colour, mse_only = rows
    assert colour.temporal_inputs == "colour" and colour.steps == 1 and not colour.paired
    assert mse_only.temporal_inputs == "decoder" and mse_only.ce_weight == 0.0
    summary = json.loads((tmp_path / "abl" / "colour" / "val" / "summary.json").read_text())
    assert summary["split"] == "val"
    assert colour.metrics["precision_3px"] == summary["metrics"]["precision_3px"]
    # paired against the first variant on the items both scored (a metric without any,
    # such as precision where neither run has a verifiable match, is left out)
    assert "time_accuracy_season" in mse_only.paired
    assert set(mse_only.paired) <= set(ablation.PAIRED_METRICS)
    assert mse_only.paired["time_accuracy_season"]["n_clusters"] >= 1
    assert "clusters=" in lines[0]
    # A rerun reuses the finished checkpoints and cached predictions instead of failing.
    again = run_ablations(
        toy_manifest, tmp_path / "abl", variants=["colour"], preset="tiny", max_pairs=2,
        max_images=8, n_bootstrap=10, report=lines.append,
    )  # fmt: skip
    assert again[0].steps == 1 and again[0].metrics == colour.metrics
