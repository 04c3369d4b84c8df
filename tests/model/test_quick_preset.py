import json

import pytest


@pytest.mark.slow
@pytest.mark.xfail(
    reason="known problem: the descriptors collapse (hardest-negative hinge) within 2-3 quick "
    "epochs, so precision@3px falls below the untrained model's; see docs/reference-model.md",
    strict=False,
)
def test_quick_preset_beats_the_untrained_model(toy_manifest, tmp_path):
    # The quick preset on the toy manifest: matching precision and season/hour accuracy on the
    # validation split improve over the untrained model (history entry 0).
    from stbench.model.presets import preset_config
    from stbench.model.train import run

    out = run(toy_manifest, tmp_path / "quick", preset_config("quick"), "cpu", show_progress=False)
    history = json.loads((out / "history.json").read_text())
    untrained, trained = history[0], history[-1]
    assert trained["epoch"] == 3
    assert trained["precision@3px"] > untrained["precision@3px"]
    assert trained["accuracy_season"] > untrained["accuracy_season"]
    assert trained["accuracy_hour"] > untrained["accuracy_hour"]
