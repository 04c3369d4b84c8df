import numpy as np
import pytest
import torch

from stbench.errors import ConfigError, DataError
from stbench.model.checkpoint import export_weights
from stbench.model.config import ModelConfig
from stbench.model.inference import bundled_weights_path, load_matcher
from stbench.model.matching import mutual_nearest_neighbours, top_k_keypoints
from stbench.model.network import SpatioTemporalMatcher

SMALL = dict(channels=[8, 16, 24, 32], attention_dim=8, descriptor_dim=16)


@pytest.fixture
def weights_dir(tmp_path):
    torch.manual_seed(0)
    model = SpatioTemporalMatcher(ModelConfig(**SMALL))
    inference = {"image_size": [64, 48], "temporal_size": [48, 32], "top_k": 50}
    export_weights(tmp_path, model, inference, {"note": "untrained, for a test"})
    return tmp_path


def test_mutual_nearest_neighbours_hand_computed():
    d0 = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    d1 = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    s0 = torch.tensor([1.0, 1.0, 1.0])
    s1 = torch.tensor([1.0, 1.0])
    matches, scores = mutual_nearest_neighbours(d0, d1, s0, s1)
    # 0 <-> 1 (sim 1), 1 <-> 0 (sim 1); 2's best is 0 (0.8) but 0's best is 1.
    assert matches.tolist() == [[0, 1], [1, 0]] and scores.tolist() == pytest.approx([1.0, 1.0])
    # Distinctiveness weighting: with s0[1] = 0.5, column 0's best is 2 (0.8 > 0.5).
    matches, scores = mutual_nearest_neighbours(d0, d1, torch.tensor([1.0, 0.5, 1.0]), s1)
    assert matches.tolist() == [[0, 1], [2, 0]] and scores.tolist() == pytest.approx([1.0, 0.8])


def test_top_k_keypoints_are_cell_centres():
    descriptors = torch.nn.functional.normalize(torch.rand(4, 2, 3), dim=0)
    scores = torch.tensor([[[0.1, 0.9, 0.2], [0.3, 0.4, 0.8]]])
    keypoints, desc, top = top_k_keypoints(descriptors, scores, stride=2, top_k=2)
    # Cell (row 0, col 1) -> pixel ((1 + .5) * 2 - .5, (0 + .5) * 2 - .5) = (2.5, 0.5).
    assert keypoints.tolist() == [[2.5, 0.5], [4.5, 2.5]] and top.tolist() == pytest.approx(
        [0.9, 0.8]
    )
    assert torch.equal(desc[0], descriptors[:, 0, 1])


def test_matcher_contract(weights_dir):
    matcher = load_matcher(weights_dir)
    rng = np.random.default_rng(0)
    image0 = rng.integers(0, 255, (90, 120, 3), dtype=np.uint8)
    image1 = rng.integers(0, 255, (70, 100, 3), dtype=np.uint8)
    out = matcher.match(image0, image1)
    assert set(out) == {"keypoints0", "keypoints1", "matches", "scores"}
    assert out["keypoints0"].dtype == np.float32 and out["keypoints0"].shape == (50, 2)
    assert out["matches"].dtype == np.int64 and out["matches"].shape[1] == 2
    assert out["scores"].dtype == np.float32 and len(out["scores"]) == len(out["matches"])
    assert (out["keypoints0"] >= -0.5).all() and (out["keypoints0"][:, 0] <= 119.5).all()
    assert (out["matches"][:, 0] < 50).all() and len(set(out["matches"][:, 1])) == len(
        out["matches"]
    )
    probabilities = matcher.predict_time(image0)
    assert {k: v.shape for k, v in probabilities.items()} == {
        "season": (4,),
        "month": (12,),
        "week": (52,),
        "hour": (24,),
    }
    assert all(v.dtype == np.float32 and abs(v.sum() - 1) < 1e-5 for v in probabilities.values())
    # Seasonal phase: a southern latitude shifts month and week by half a year, nothing else.
    south = matcher.predict_time(image0, latitude=-41.0)
    assert np.allclose(south["month"], np.roll(probabilities["month"], 6))
    assert np.allclose(south["week"], np.roll(probabilities["week"], 26))
    assert np.allclose(south["season"], probabilities["season"])
    assert np.allclose(south["hour"], probabilities["hour"])
    with pytest.raises(ValueError, match="uint8"):
        matcher.match(image0.astype(np.float32), image1)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        matcher.predict_time(image0[..., 0])


def test_bad_weights_are_clear_errors(weights_dir, tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_matcher(tmp_path / "nothing")
    meta = (weights_dir / "model.json").read_text()
    (weights_dir / "model.json").write_text(
        meta.replace('"descriptor_dim": 16', '"descriptor_dim": 32')
    )
    with pytest.raises(ConfigError, match="do not fit"):
        load_matcher(weights_dir)


def test_bundled_weights_load_when_shipped():
    if not bundled_weights_path().is_file():
        pytest.skip("no bundled weights in this checkout")
    matcher = load_matcher()
    assert matcher.meta["training"]["epochs"] >= 1
    assert bundled_weights_path().stat().st_size <= 20 * 1024 * 1024
