"""benchmarks/reproduce_training.py: its comparison, and the committed history it compares with."""

import importlib
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def reproduce(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    return importlib.import_module("reproduce_training")


def test_equal_histories_differ_by_nothing_and_timings_are_ignored(reproduce):
    recorded = [{"epoch": 0, "val": 0.5, "epoch_wall_s": 3.0}, {"epoch": 1, "val": 0.6}]
    rerun = [{"epoch": 0, "val": 0.5, "epoch_wall_s": 9.0}]
    assert reproduce.compare_histories(rerun, recorded) == [(0, 1, 0.0)]


def test_a_different_figure_is_reported_with_its_size(reproduce):
    recorded = [{"epoch": 1, "loss": 2.0, "val": 0.5}]
    rerun = [{"epoch": 1, "loss": 2.0, "val": 0.25}]
    assert reproduce.compare_histories(rerun, recorded) == [(1, 2, 0.25)]
    with pytest.raises(ValueError, match="epoch 2"):
        reproduce.compare_histories([{"epoch": 2, "val": 0.1}], recorded)


def test_the_committed_history_is_the_bundled_weights_run():
    """Its first and last rows are the validation figures the weights' JSON records."""
    from stbench.model.inference import bundled_weights_path

    training = json.loads(bundled_weights_path().with_suffix(".json").read_text())["training"]
    history = json.loads((ROOT / "benchmarks" / "reference_history.json").read_text())
    assert [row["epoch"] for row in history] == list(range(training["epochs"] + 1))
    assert history[0] == {**history[0], **training["untrained_validation"]}
    assert history[-1] == {**history[-1], **training["validation"]}


def test_missing_inputs_and_a_wrong_process_count_are_clear_errors(
    reproduce, tmp_path, monkeypatch
):
    base = ["--manifest", str(ROOT / "manifests" / "benchmark"), "--out", str(tmp_path / "out")]
    with pytest.raises(SystemExit, match=r"--history: .* not found"):
        reproduce.main([*base, "--history", str(tmp_path / "none.json")])
    monkeypatch.setenv("WORLD_SIZE", "3")
    with pytest.raises(SystemExit, match="torchrun --nproc_per_node 2"):
        reproduce.main(base)
    assert not (tmp_path / "out").exists()  # nothing written before the checks pass
