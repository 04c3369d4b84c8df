import pytest
import torch

from stbench.errors import ConfigError, DataError
from stbench.model.config import ModelConfig
from stbench.model.network import SpatioTemporalMatcher, load_backbone

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


def test_co_attention_conditions_on_the_partner():
    # Train mode: BatchNorm uses batch statistics (fresh running statistics shrink features).
    model = SpatioTemporalMatcher(ModelConfig(**SMALL)).train()
    image0 = torch.rand(1, 3, 32, 32)
    a = model(image0, torch.zeros(1, 3, 32, 32))["descriptors0"]
    b = model(image0, torch.ones(1, 3, 32, 32))["descriptors0"]
    assert (a - b).abs().max() > 1e-3
    no_attention = SpatioTemporalMatcher(ModelConfig(**SMALL, attention_levels=0)).train()
    a = no_attention(image0, torch.zeros(1, 3, 32, 32))["descriptors0"]
    b = no_attention(image0, torch.ones(1, 3, 32, 32))["descriptors0"]
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
