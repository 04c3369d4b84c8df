"""The ``quick`` preset beats the untrained model on the default world (slow).

It trains on the committed manifest ``manifests/default``, whose images live in the default
synthetic world under ``$STBENCH_HOME`` (``stbench synth`` makes it; the test is skipped
without it). About a minute on two cores.
"""

import json
from pathlib import Path

import pytest

from stbench.paths import default_world_dir

COMMITTED = Path(__file__).parents[2] / "manifests" / "default"


@pytest.mark.slow
def test_quick_preset_beats_the_untrained_model(tmp_path):
    from stbench.model.presets import preset_config
    from stbench.model.train import run

    if not (default_world_dir("default", 0) / "world.json").is_file():
        pytest.skip("the default world is not generated; run `stbench synth`")
    out = run(preset_config("quick"), COMMITTED, tmp_path / "quick", device="cpu")
    history = json.loads((out / "history.json").read_text())
    untrained, trained = history[0], history[-1]
    assert trained["epoch"] == 3
    assert trained["val_crop_precision_3px"] > untrained["val_crop_precision_3px"]
    assert trained["accuracy_season"] > untrained["accuracy_season"]
    assert trained["accuracy_hour"] > untrained["accuracy_hour"]
