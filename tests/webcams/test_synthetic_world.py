"""The must-hold numbers of issue #4 on the synthetic world's fault sidecar (small preset)."""

import pytest

from stbench.webcams import WebcamConfig, index_camera, list_cameras
from stbench.webcams.evaluate import load_truth, score_webcams


@pytest.mark.slow
def test_fault_sidecar_precision_recall_and_trust(tmp_path):
    import pandas as pd

    from stbench.synth.sites import SITES
    from stbench.synth.webcams import write_webcams

    write_webcams(tmp_path, SITES, "small", seed=0, workers=1)
    root = tmp_path / "webcams"
    images = pd.concat(
        [index_camera(root, c, WebcamConfig()).images for c in list_cameras(root)],
        ignore_index=True,
    )
    score = score_webcams(images, load_truth(tmp_path))
    assert score["offset_frames"] > 0 and score["frozen_frames"] > 0
    assert score["offset_precision"] >= 0.95 and score["offset_recall"] >= 0.95
    assert score["frozen_precision"] >= 0.95 and score["frozen_recall"] >= 0.95
    assert score["offset_error_abs_max_min"] <= 15
    assert score["trusted_without_time"] == 0
    assert score["trusted_error_abs_max_min"] <= 15
    # the era named in local standard time is recognised as such, the +1 h clock error is not
    frames = load_truth(tmp_path).merge(images, on="path")
    corrected = frames["trust_flags"].apply(lambda f: "clock_corrected" in f)
    local = frames["trust_flags"].apply(lambda f: "era_local_time" in f)
    named_local = frames["faults"].apply(lambda f: "local_time" in list(f))
    assert (local[named_local & corrected]).mean() >= 0.95
    assert not (local & ~named_local).any()
