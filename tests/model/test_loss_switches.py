"""The loss on/off switches of TrainConfig (matching_weight, temporal_weight, ce_weight) and the
temporal input choices of ModelConfig, used by the ablations (issue #14)."""

import pytest
import torch
from toydata import fixed_batch

from stbench.errors import ConfigError
from stbench.model.config import TEMPORAL_INPUTS, ModelConfig, temporal_input_fields
from stbench.model.network import SpatioTemporalMatcher
from stbench.model.presets import TrainConfig, preset_config
from stbench.model.train import compute_losses

SMALL = dict(channels=[8, 16, 24, 32], attention_dim=8, descriptor_dim=16)


def _gradients(toy_manifest, config):
    """Loss report and per-part gradient norms of one training step."""
    batch, temporal = fixed_batch(toy_manifest, config)
    torch.manual_seed(0)
    model = SpatioTemporalMatcher(config.model)
    loss, report = compute_losses(
        model, model(batch["image0"], batch["image1"], with_time=False),
        {"time_logits0": model.predict_time_logits(temporal["image"])}, batch,
        temporal["labels"], config, 1.0,
    )  # fmt: skip
    loss.backward()

    def norm(module):
        return sum(float(p.grad.abs().sum()) for p in module.parameters() if p.grad is not None)

    return (
        loss,
        report,
        {
            "descriptor_head": norm(model.descriptor_head),
            "temporal_head": norm(model.temporal_head),
            "encoder": norm(model.encoder),
        },
    )


def test_loss_switches_cut_the_gradients_they_name(toy_manifest, tiny_config):
    decoder = ModelConfig(**SMALL, **temporal_input_fields("decoder"))
    on_loss, on, grads = _gradients(toy_manifest, tiny_config(model=decoder, curriculum=False))
    assert grads["descriptor_head"] > 0 and grads["temporal_head"] > 0
    # Matching loss off: no gradient into the descriptor head; the time head alone trains the
    # shared encoder (through the decoder pools); the total is the rest of the loss.
    loss, report, grads = _gradients(
        toy_manifest, tiny_config(model=decoder, curriculum=False, matching_weight=0.0)
    )
    assert grads["descriptor_head"] == 0 and grads["temporal_head"] > 0 and grads["encoder"] > 0
    config = tiny_config()
    expected = (
        config.distinctiveness_weight * report["dist"] + config.temporal_weight * report["time"]
    )
    assert float(loss.detach()) == pytest.approx(expected, rel=1e-5)
    assert float(on_loss.detach()) == pytest.approx(expected + on["corr"], rel=1e-5)
    # Time loss off: the temporal head gets no gradient, the matcher trains as before.
    loss, report, grads = _gradients(
        toy_manifest, tiny_config(model=decoder, curriculum=False, temporal_weight=0.0)
    )
    assert grads["temporal_head"] == 0 and grads["descriptor_head"] > 0
    assert float(loss.detach()) == pytest.approx(report["corr"] + 0.1 * report["dist"], rel=1e-5)
    # MSE alone: the time part of the loss is the normalised MSE summed over spans.
    _, report, _ = _gradients(
        toy_manifest, tiny_config(model=decoder, curriculum=False, ce_weight=0.0)
    )
    spans = {"season": 4, "month": 36, "week": 676, "hour": 144}
    expected_time = sum(
        report[f"mse_{s}"] / top for s, top in spans.items() if f"mse_{s}" in report
    )
    assert report["time"] == pytest.approx(expected_time, rel=1e-5)


def test_weights_and_temporal_inputs_are_checked():
    for name in ("matching_weight", "temporal_weight", "ce_weight", "mse_weight"):
        with pytest.raises(ConfigError, match=name):
            TrainConfig(**{name: -1.0})
    with pytest.raises(ConfigError, match="temporal loss is empty"):
        TrainConfig(ce_weight=0.0, mse_weight=0.0)
    with pytest.raises(ConfigError, match="unknown temporal inputs"):
        temporal_input_fields("pixels")
    for name in TEMPORAL_INPUTS:
        assert ModelConfig(**temporal_input_fields(name)).temporal_inputs == name


def test_presets_default_to_the_proposals_design():
    # The temporal MLP on the decoder output for the bundled recipe and the long one; quick
    # keeps the colour statistics for the demo's speed (docs/reference-model.md).
    assert preset_config("reference").model.temporal_inputs == "decoder"
    assert preset_config("full").model.temporal_inputs == "decoder"
    assert preset_config("quick").model.temporal_inputs == "colour"
    reference = preset_config("reference")
    assert (reference.matching_weight, reference.temporal_weight, reference.ce_weight) == (
        1.0,
        0.5,
        1.0,
    )
