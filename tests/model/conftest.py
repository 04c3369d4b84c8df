import pytest

from stbench.model.config import ModelConfig
from stbench.model.presets import TrainConfig


@pytest.fixture(scope="session")
def toy_manifest(tmp_path_factory):
    """A tiny manifest: textured-plane MegaDepth scenes (train 5001/5002, val 0008) and webcams."""
    from toydata import write_toy_manifest

    return write_toy_manifest(tmp_path_factory.mktemp("toy"), n_images=4, n_frames=24)


@pytest.fixture
def tiny_config():
    """A factory of training configs small enough for a unit test (seconds on a CPU)."""
    return make_tiny_config


def make_tiny_config(**overrides) -> TrainConfig:
    values = dict(
        model=ModelConfig(channels=[8, 16, 24, 32], attention_dim=8, descriptor_dim=16),
        image_size=[64, 48],
        temporal_size=[48, 32],
        batch_size=2,
        temporal_batch_size=4,
        n_points=64,
        epochs=2,
        steps_per_epoch=2,
        val_max_pairs=2,
        val_max_images=8,
        val_top_k=64,
    )
    values.update(overrides)
    return TrainConfig(**values)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread: on a shared 2-core machine, 2 threads can be ~40x slower."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
