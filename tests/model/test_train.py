import json
import math

import pytest
import torch
from toydata import fixed_batch

from stbench.errors import ConfigError, DataError, OutputExistsError
from stbench.manifest.io import load_manifest
from stbench.model.network import SpatioTemporalMatcher
from stbench.model.presets import TrainConfig, preset_config
from stbench.model.train import compute_losses, run


def test_overfit_tiny_batch(toy_manifest, tiny_config):
    # One fixed pair and four labelled frames: the loss drops to near zero in 100 steps.
    config = tiny_config(curriculum=False, margin=0.5)
    batch, temporal = fixed_batch(toy_manifest, config)
    torch.manual_seed(0)
    model = SpatioTemporalMatcher(config.model)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    history = []
    for _ in range(100):
        loss, report = compute_losses(
            model, model(batch["image0"], batch["image1"], with_time=False), model(temporal["image"]), batch,
            temporal["labels"], config, 1.0,
        )  # fmt: skip
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(report)
    first, last = history[0], history[-1]
    assert last["loss"] < 0.1 * first["loss"]
    assert last["corr"] < 0.25 and last["time"] < 0.1
    assert last["mse_hour"] < 0.5


def test_presets_and_span_curriculum():
    quick = preset_config("quick", {"seed": 3})
    assert quick.seed == 3 and quick.epochs == 3
    weights = quick.span_weights(0.0)
    assert weights == {"season": 1.0, "month": 0.0, "week": 0.0, "hour": 0.0}
    half = TrainConfig(curriculum_stagger=0.2).span_weights(0.1)
    assert half["season"] == 1.0 and half["month"] == pytest.approx(0.5) and half["week"] == 0.0
    assert set(TrainConfig().span_weights(1.0).values()) == {1.0}
    with pytest.raises(ConfigError, match="unknown preset"):
        preset_config("huge")
    with pytest.raises(ConfigError, match="multiples of 16"):
        TrainConfig(image_size=[100, 64])


def test_run_writes_outputs_and_resume_is_equivalent(toy_manifest, tiny_config, tmp_path):
    config = tiny_config()
    straight = run(config, toy_manifest, tmp_path / "straight", device="cpu")
    interrupted = tmp_path / "interrupted"
    run(config, toy_manifest, interrupted, device="cpu", stop_after_epochs=1)
    assert json.loads((interrupted / "history.json").read_text())[-1]["epoch"] == 1
    run(config, toy_manifest, interrupted, resume=True, device="cpu")
    from safetensors.torch import load_file

    a = load_file(str(straight / "model.safetensors"))
    b = load_file(str(interrupted / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.allclose(a[k].float(), b[k].float()) for k in a)
    history = json.loads((straight / "history.json").read_text())
    assert [entry["epoch"] for entry in history] == [0, 1, 2]
    assert {"val_crop_precision_3px", "accuracy_season", "mse_hour", "load_s"} <= set(history[-1])
    saved = json.loads((straight / "config.json").read_text())
    assert saved["model"]["channels"] == [8, 16, 24, 32]
    meta = json.loads((straight / "model.json").read_text())
    assert meta["training"]["epochs"] == 2 and meta["model"]["descriptor_dim"] == 16
    # a new model's inference block carries the fine stage chosen on val
    from stbench.model.fine import CHOSEN, fine_settings

    assert fine_settings(meta["inference"]) == CHOSEN and CHOSEN.active
    # and the ratio test chosen on val
    from stbench.model.matching import CHOSEN_MATCH_RATIO

    assert meta["inference"]["match_ratio"] == CHOSEN_MATCH_RATIO < 1
    # The record a retrain reproduces: recipe, data (name + content hash), steps, wall time,
    # validation figures on val before and after training.
    training = meta["training"]
    assert training["recipe"] == {"preset": None, "config": saved}
    stated = json.loads((toy_manifest / "manifest.json").read_text())["content_hash"]
    assert training["manifest_content_hash"] == stated
    assert training["manifest_name"] == load_manifest(toy_manifest).name
    assert training["steps"] == 2 * config.steps_per_epoch
    assert training["samples_seen"] == {"pairs": 2 * 2 * 2, "images": 2 * 2 * 4}
    epoch_walls = [entry["epoch_wall_s"] for entry in history[1:]]
    assert all(w > 0 for w in epoch_walls)
    assert training["wall_s"] == pytest.approx(sum(epoch_walls), abs=0.06)
    assert training["validation_split"] == "val"
    assert training["validation"]["val_crop_precision_3px"] == history[-1]["val_crop_precision_3px"]
    assert training["untrained_validation"]["epoch"] == 0
    # the resumed run adds up the wall time of both calls and records the same steps
    resumed = json.loads((interrupted / "model.json").read_text())["training"]
    assert resumed["steps"] == training["steps"] and resumed["wall_s"] > 0
    resumed_history = json.loads((interrupted / "history.json").read_text())
    assert resumed["wall_s"] == pytest.approx(
        sum(e["epoch_wall_s"] for e in resumed_history[1:]), abs=0.06
    )

    # An existing checkpoint without --resume, an incompatible config and a corrupt file.
    with pytest.raises(OutputExistsError, match="--resume"):
        run(config, toy_manifest, straight, device="cpu")
    with pytest.raises(ConfigError, match="pass one"):
        run(config, toy_manifest, straight, overwrite=True, resume=True, device="cpu")
    # overwrite starts afresh: the old checkpoint, weights and history are gone
    run(config, toy_manifest, straight, overwrite=True, device="cpu", stop_after_epochs=1)
    assert [e["epoch"] for e in json.loads((straight / "history.json").read_text())] == [0, 1]
    assert json.loads((straight / "model.json").read_text())["training"]["epochs"] == 1
    with pytest.raises(ConfigError, match=r"incompatible.*learning_rate"):
        run(tiny_config(learning_rate=0.5), toy_manifest, straight, resume=True, device="cpu")
    (tmp_path / "corrupt").mkdir()
    (tmp_path / "corrupt" / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="cannot be read"):
        run(config, toy_manifest, tmp_path / "corrupt", resume=True, device="cpu")
    with pytest.raises(DataError, match=r"no checkpoint\.pt"):
        run(config, toy_manifest, tmp_path / "empty", resume=True, device="cpu")


def test_cli_errors_are_clear(tmp_path, toy_manifest, monkeypatch):
    import subprocess
    import sys

    from typer.testing import CliRunner

    from stbench.cli import build_app

    # Through the real entry point: exit status 2 and no traceback.
    env = {"STBENCH_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "stbench", "train-baseline", "--out", str(tmp_path / "o")],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert result.returncode == 2 and "no manifest at" in result.stderr
    assert "Traceback" not in result.stderr
    # In process: the errors themselves.
    monkeypatch.setenv("STBENCH_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    result = runner.invoke(build_app(), ["train-baseline", "--manifest", str(tmp_path)])
    assert isinstance(result.exception, DataError) and "manifest.json is missing" in str(
        result.exception
    )
    result = runner.invoke(
        build_app(), ["train-baseline", "--manifest", str(toy_manifest), "--preset", "huge"]
    )
    assert isinstance(result.exception, ConfigError) and "unknown preset" in str(result.exception)


def test_cli_records_the_preset_and_temporal_inputs(
    tmp_path, toy_manifest, tiny_config, monkeypatch
):
    from typer.testing import CliRunner

    from stbench.cli import build_app
    from stbench.config import config_to_dict
    from stbench.model import presets

    tiny = config_to_dict(tiny_config(epochs=1, steps_per_epoch=1))
    monkeypatch.setitem(presets.PRESETS, "tiny", tiny)
    monkeypatch.setenv("STBENCH_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    args = ["train-baseline", "--manifest", str(toy_manifest), "--preset", "tiny"]
    result = runner.invoke(build_app(), [*args, "--temporal-inputs", "pixels"])
    assert isinstance(result.exception, ConfigError) and "unknown temporal inputs" in str(
        result.exception
    )
    out = tmp_path / "run"
    result = runner.invoke(
        build_app(), [*args, "--temporal-inputs", "colour", "--out", str(out), "--device", "cpu"]
    )
    assert result.exit_code == 0, result.output
    training = json.loads((out / "model.json").read_text())["training"]
    assert training["recipe"]["preset"] == "tiny"
    model = training["recipe"]["config"]["model"]
    assert model["temporal_decoder_features"] is False and model["temporal_image_statistics"]
    assert model["channels"] == tiny["model"]["channels"]  # the preset's model kept


@pytest.mark.parametrize("preset", ["quick", "reference", "full"])
def test_every_preset_trains_a_few_steps_on_cpu(preset, toy_manifest, tmp_path):
    """Each preset's own model, crops and batches run on a CPU (``full`` is meant for a GPU,
    which is never required); only the budget and the validation's size are cut."""
    overrides = {"epochs": 1, "steps_per_epoch": 2, "val_max_pairs": 2, "val_max_images": 4}
    out = run(preset_config(preset, overrides), toy_manifest, tmp_path / preset, device="cpu")
    history = json.loads((out / "history.json").read_text())
    assert [row["epoch"] for row in history] == [0, 1]
    assert math.isfinite(history[-1]["train_loss"])
    meta = json.loads((out / "model.json").read_text())
    assert meta["training"]["steps"] == 2
    assert meta["model"]["channels"] == list(preset_config(preset).model.channels)


def test_a_checkpoint_from_before_a_new_default_field_resumes(tmp_path):
    from stbench.config import config_to_dict
    from stbench.model.checkpoint import load_checkpoint, save_checkpoint
    from stbench.model.presets import preset_config

    config = config_to_dict(preset_config("quick"))
    older = json.loads(json.dumps(config))
    del older["model"]["temporal_dropout"]  # written before the field existed (default 0)
    path = save_checkpoint(tmp_path / "old.pt", {"config": older, "epoch": 3})
    assert load_checkpoint(path, config)["epoch"] == 3
    # a field the run sets away from its default is still a different model
    changed = json.loads(json.dumps(config))
    changed["model"]["temporal_dropout"] = 0.3
    with pytest.raises(ConfigError, match=r"incompatible.*model"):
        load_checkpoint(path, changed)
    # a field since removed is named, not dropped
    removed = json.loads(json.dumps(older))
    removed["model"]["no_such_field"] = 1
    path = save_checkpoint(tmp_path / "removed.pt", {"config": removed, "epoch": 3})
    with pytest.raises(ConfigError, match=r"incompatible.*model"):
        load_checkpoint(path, config)
