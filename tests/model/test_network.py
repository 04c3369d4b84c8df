import cv2
import numpy as np
import pytest
import torch

from stbench.errors import ConfigError, DataError
from stbench.model.config import ModelConfig
from stbench.model.network import (
    IMAGE_STATISTICS,
    SpatioTemporalMatcher,
    image_statistics,
    load_backbone,
)

SMALL = dict(channels=[8, 16, 24, 32], attention_dim=8, descriptor_dim=16)


@pytest.mark.parametrize("stride", [2, 4])
def test_output_shapes_and_normalisation(stride):
    model = SpatioTemporalMatcher(ModelConfig(**SMALL, descriptor_stride=stride)).eval()
    image0, image1 = torch.rand(2, 3, 48, 64), torch.rand(2, 3, 32, 80)
    out = model(image0, image1)
    assert out["descriptors0"].shape == (2, 16, 48 // stride, 64 // stride)
    assert out["descriptors1"].shape == (2, 16, 32 // stride, 80 // stride)
    assert out["distinctiveness1"].shape == (2, 1, 32 // stride, 80 // stride)
    norms = out["descriptors0"].norm(dim=1)
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-5)
    assert ((out["distinctiveness0"] > 0) & (out["distinctiveness0"] < 1)).all()
    assert {k: v.shape for k, v in out["time_logits0"].items()} == {
        "season": (2, 4),
        "month": (2, 12),
        "week": (2, 52),
        "hour": (2, 24),
    }
    single = model(image0)
    assert set(single) == {"descriptors0", "distinctiveness0", "time_logits0"}
    matching_only = model(image0, image1, with_time=False)
    assert "time_logits0" not in matching_only and "time_logits1" not in matching_only


def test_image_statistics_hand_computed():
    # A uniform image of colour (0.2, 0.4, 0.6) whose bottom half is black.
    image = torch.zeros(1, 3, 6, 4)
    image[:, :, :3] = torch.tensor([0.2, 0.4, 0.6])[:, None, None]
    stats = image_statistics(image, 2)
    assert stats.shape == (1, 3 * 2**2 + IMAGE_STATISTICS)
    layout, rest = stats[0, :12], stats[0, 12:]
    # Channel-major: the 2x2 cells (row-major) of red, then green, then blue.
    expected_layout = [0.2, 0.2, 0, 0, 0.4, 0.4, 0, 0, 0.6, 0.6, 0, 0]
    assert torch.allclose(layout, torch.tensor(expected_layout))
    luma = 0.299 * 0.2 + 0.587 * 0.4 + 0.114 * 0.6
    expected_head = [0.1, 0.2, 0.3]  # channel means (half the pixels are black)
    assert torch.allclose(rest[:3], torch.tensor(expected_head))
    # CIE Lab: the mean of the colour's Lab (OpenCV's conversion, within 0.5 units) and black.
    colour_lab = cv2.cvtColor(np.array([[[0.2, 0.4, 0.6]]], np.float32), cv2.COLOR_RGB2Lab)[0, 0]
    expected_lab = colour_lab / np.array([100, 128, 128]) / 2
    assert np.allclose(rest[6:9].numpy(), expected_lab, atol=0.5 / 128)
    # Chromaticity: (1/6, 2/6, 3/6) on the coloured half, 0 on the black half.
    assert torch.allclose(rest[12:15], torch.tensor([1 / 12, 2 / 12, 3 / 12]), atol=1e-3)
    # Saturation (0.6 - 0.2) / 0.6 on half the pixels.
    assert rest[15].item() == pytest.approx(1 / 3, abs=1e-5)
    # Hue of the coloured pixels (the black ones weigh 0).
    hue = torch.atan2(torch.tensor(3**0.5 * (0.4 - 0.6)), torch.tensor(2 * 0.2 - 0.4 - 0.6))
    assert torch.allclose(rest[17:19], torch.stack([hue.cos(), hue.sin()]), atol=1e-5)
    dark, bright = rest[24].item(), rest[25].item()
    assert (dark, bright) == (0.5, 0.0)
    # Top third (rows 0-1) is the colour, bottom third (rows 4-5) black: luma difference.
    assert rest[-1].item() == pytest.approx(luma, abs=1e-5)


def test_temporal_head_sees_the_image_statistics():
    # The head's input grows by exactly the statistics (and the optional layout grid).
    without = SpatioTemporalMatcher(ModelConfig(**SMALL, temporal_image_statistics=False))
    for grid in (0, 4):
        model = SpatioTemporalMatcher(ModelConfig(**SMALL, temporal_image_grid=grid))
        difference = model.temporal_head[0].num_features - without.temporal_head[0].num_features
        assert difference == 3 * grid**2 + IMAGE_STATISTICS
    with pytest.raises(ConfigError, match="temporal_image_grid"):
        ModelConfig(temporal_image_statistics=False, temporal_image_grid=4)


def test_temporal_dropout_acts_in_training_only_and_keeps_the_weights_layout():
    torch.manual_seed(0)
    plain = SpatioTemporalMatcher(ModelConfig(**SMALL))
    dropped = SpatioTemporalMatcher(ModelConfig(**SMALL, temporal_dropout=0.5))
    assert plain.state_dict().keys() == dropped.state_dict().keys()  # parameter-free
    dropped.load_state_dict(plain.state_dict())
    images = torch.rand(4, 3, 32, 48)
    plain.eval(), dropped.eval()
    for span, logits in plain.predict_time_logits(images).items():
        assert torch.equal(dropped.predict_time_logits(images)[span], logits)  # eval: no dropout
    plain.train(), dropped.train()
    torch.manual_seed(1)
    with_dropout = dropped.predict_time_logits(images)["hour"]
    torch.manual_seed(1)
    without = plain.predict_time_logits(images)["hour"]
    assert not torch.allclose(with_dropout, without)
    with pytest.raises(ConfigError, match="temporal_dropout"):
        ModelConfig(temporal_dropout=1.0)


def test_co_attention_conditions_on_the_partner():
    # Train mode: BatchNorm uses batch statistics (fresh running statistics shrink features);
    # the temporal head's BatchNorm1d needs at least 2 images per batch.
    model = SpatioTemporalMatcher(ModelConfig(**SMALL)).train()
    image0 = torch.rand(2, 3, 32, 32)
    a = model(image0, torch.zeros(2, 3, 32, 32))["descriptors0"]
    b = model(image0, torch.ones(2, 3, 32, 32))["descriptors0"]
    assert (a - b).abs().max() > 1e-3
    no_attention = SpatioTemporalMatcher(ModelConfig(**SMALL, attention_levels=0)).train()
    a = no_attention(image0, torch.zeros(2, 3, 32, 32))["descriptors0"]
    b = no_attention(image0, torch.ones(2, 3, 32, 32))["descriptors0"]
    assert torch.allclose(a, b)


def test_bad_inputs_are_clear_errors():
    model = SpatioTemporalMatcher(ModelConfig(**SMALL))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        model(torch.rand(3, 32, 32))
    with pytest.raises(ValueError, match="multiples of 16"):
        model(torch.rand(1, 3, 30, 32))
    with pytest.raises(ValueError, match="float"):
        model(torch.zeros(1, 3, 32, 32, dtype=torch.uint8))
    with pytest.raises(ValueError, match="batch sizes"):
        model(torch.rand(1, 3, 32, 32), torch.rand(2, 3, 32, 32))


def test_config_is_strict():
    from stbench.config import config_from_dict

    with pytest.raises(ConfigError, match="descriptor_dim"):
        config_from_dict(ModelConfig, {"descriptor_dims": 32})
    with pytest.raises(ConfigError, match="class span"):
        ModelConfig(spans=["year"])
    with pytest.raises(ConfigError, match="stride"):
        ModelConfig(descriptor_stride=8)


def test_pretrained_backbone_hook(tmp_path):
    from safetensors.torch import save_file

    source = SpatioTemporalMatcher(ModelConfig(**SMALL))
    save_file(
        {k: v.contiguous() for k, v in source.encoder.state_dict().items()},
        tmp_path / "b.safetensors",
    )
    loaded = SpatioTemporalMatcher(
        ModelConfig(**SMALL, pretrained_backbone=str(tmp_path / "b.safetensors"))
    )
    assert torch.equal(loaded.encoder[0][0].weight, source.encoder[0][0].weight)
    other = SpatioTemporalMatcher(ModelConfig(channels=[4, 8, 16, 32]))
    with pytest.raises(ConfigError, match="does not fit"):
        load_backbone(other, tmp_path / "b.safetensors")
    with pytest.raises(DataError, match="does not exist"):
        load_backbone(other, tmp_path / "missing.safetensors")


def test_temporal_head_on_image_statistics_only():
    # Without decoder features the time logits depend on the image alone, not on the partner,
    # and predict_time_logits (which skips the encoder) gives the same logits as forward.
    model = SpatioTemporalMatcher(ModelConfig(**SMALL, temporal_decoder_features=False)).eval()
    assert model.temporal_head[0].num_features == IMAGE_STATISTICS
    image = torch.rand(2, 3, 32, 48)
    direct = model.predict_time_logits(image)
    through_forward = model(image)["time_logits0"]
    assert all(torch.allclose(direct[s], through_forward[s]) for s in direct)
    paired = model(image, torch.rand(2, 3, 32, 48))["time_logits0"]
    assert all(torch.allclose(direct[s], paired[s]) for s in direct)
    with pytest.raises(ConfigError, match="needs an input"):
        ModelConfig(temporal_decoder_features=False, temporal_image_statistics=False)
