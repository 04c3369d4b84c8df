"""featureprobe: colorstats' forests on the reference network's frozen decoder features."""

import numpy as np
import pytest
import torch

from stbench.errors import ConfigError
from stbench.methods.colorstats import ColorStats, color_features
from stbench.methods.featureprobe import FeatureProbe
from stbench.methods.registry import resolve_method
from stbench.model.checkpoint import export_weights
from stbench.model.config import ModelConfig
from stbench.model.inference import load_matcher
from stbench.model.network import SpatioTemporalMatcher, image_statistics

SMALL = dict(channels=[8, 16, 24, 32], attention_dim=8, descriptor_dim=16)


@pytest.fixture
def weights_dir(tmp_path):
    torch.manual_seed(0)
    model = SpatioTemporalMatcher(ModelConfig(**SMALL, temporal_image_statistics=True))
    inference = {"image_size": [64, 48], "temporal_size": [48, 32], "top_k": 50}
    export_weights(tmp_path, model, inference, {"note": "untrained, for a test"})
    return tmp_path


def _train_images(n=24, seed=0):
    """(image, record, labels) triples: brighter images later in the day."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        hour = k % 6
        image = np.clip(rng.normal(40 * hour + 20, 10, (40, 56, 3)), 0, 255).astype(np.uint8)
        out.append((image, {"item": str(k)}, {"season": k % 4, "hour": hour}))
    return out


def test_decoder_features_are_what_the_time_head_reads(weights_dir):
    """The time head applied to decoder_features (+ the image statistics) gives the logits of
    predict_time_logits: the refactored pooling is the one the head was trained on."""
    matcher = load_matcher(weights_dir)
    model = matcher.model
    image = torch.rand(2, 3, 32, 48)
    with torch.no_grad():
        expected = model.predict_time_logits(image)
        inputs = [model.decoder_features(image)]
        inputs.append(image_statistics(image, model.config.temporal_image_grid))
        logits = model.temporal_head(torch.cat(inputs, 1))
    got = dict(zip(model.n_classes, logits.split(list(model.n_classes.values()), 1), strict=True))
    for span, value in expected.items():
        torch.testing.assert_close(got[span], value, rtol=0, atol=0)


def test_colour_inputs_are_colorstats_exactly(weights_dir):
    train = _train_images()
    probe = FeatureProbe(inputs="colour", n_estimators=5)
    reference = ColorStats(n_estimators=5)
    probe.fit(train)
    reference.fit(train)
    assert probe.matcher is None  # no network for colour statistics
    for image, record, _ in _train_images(6, seed=1):
        a, b = probe.predict_time(image, record), reference.predict_time(image, record)
        assert a.keys() == b.keys()
        for span in a:
            np.testing.assert_array_equal(a[span], b[span])


def test_decoder_and_both_inputs(weights_dir):
    matcher = load_matcher(weights_dir)
    image = _train_images(1)[0][0]
    n_decoder = len(matcher.decoder_features(image))
    n_colour = len(color_features(image))
    for inputs, size in (("decoder", n_decoder), ("both", n_decoder + n_colour)):
        probe = FeatureProbe(inputs=inputs, weights=str(weights_dir), n_estimators=5)
        assert probe.features(image).shape == (size,)
        probe.fit(_train_images())
        out = probe.predict_time(image, {"item": "x"})
        assert set(out) == {"season", "hour"}
        for probabilities in out.values():
            assert probabilities.dtype == np.float32 and abs(probabilities.sum() - 1) < 1e-5
        config = probe.config()
        assert config["inputs"] == inputs and len(config["weights_sha256_16"]) >= 12
        assert "device" not in config


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 300 epochs, toy
def test_mlp_learner_predicts_probabilities_and_learns_the_hour():
    """The MLP learner on colour statistics: valid probabilities, and the toy hour (brightness)
    is learned (above the 1/6 of chance on held-out images)."""
    probe = FeatureProbe(inputs="colour", learner="mlp", hidden=16)
    probe.fit(_train_images(120))
    held_out = _train_images(60, seed=3)
    right = 0
    for image, record, labels in held_out:
        out = probe.predict_time(image, record)
        for probabilities in out.values():
            assert probabilities.dtype == np.float32 and abs(probabilities.sum() - 1) < 1e-5
        right += int(np.argmax(out["hour"]) == labels["hour"])
    assert right / len(held_out) > 0.5
    assert probe.config()["learner"] == "mlp"


def test_bad_inputs_and_unknown_options_are_refused():
    with pytest.raises(ConfigError, match="decoder, colour, both"):
        FeatureProbe(inputs="pixels")
    with pytest.raises(ConfigError, match="forest, mlp"):
        FeatureProbe(learner="svm")
    with pytest.raises(ConfigError, match="unknown key"):
        FeatureProbe(input="decoder")


def test_registered_as_a_builtin(weights_dir):
    method = resolve_method("featureprobe", {"inputs": "colour"})
    assert method.name == "featureprobe"
