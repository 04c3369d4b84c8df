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


def test_ratio_test_on_mutual_nearest_neighbours_hand_computed():
    # d0[0] matches d1[0] (sim 1, distance 0): unambiguous. d0[1] and d1[1] are mutual nearest
    # neighbours at cos 0.8 (distance sqrt(0.4) = 0.632), but d1[2] is nearly as close to d0[1]
    # (cos 0.6, distance sqrt(0.8) = 0.894): ratio 0.707.
    d0 = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    d1 = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.8, 0.6], [0.0, 0.6, -0.8]])
    ones0, ones1 = torch.ones(2), torch.ones(3)
    matches, _ = mutual_nearest_neighbours(d0, d1, ones0, ones1)
    assert matches.tolist() == [[0, 0], [1, 1]]
    assert mutual_nearest_neighbours(d0, d1, ones0, ones1, 0.75)[0].tolist() == [[0, 0], [1, 1]]
    # below 0.707 the ambiguous match goes, the unambiguous one stays
    matches, scores = mutual_nearest_neighbours(d0, d1, ones0, ones1, 0.7)
    assert matches.tolist() == [[0, 0]] and scores.tolist() == pytest.approx([1.0])
    # both ways: d1[1]'s nearest other descriptor in image 0 is d0[0] (cos 0, distance 1.414),
    # ratio 0.447, so only the 0 -> 1 direction removed it above; swapping the images keeps it
    # removed (the test is symmetric)
    swapped, _ = mutual_nearest_neighbours(d1, d0, ones1, ones0, 0.7)
    assert swapped.tolist() == [[0, 0]]
    # an image with a single descriptor has no second neighbour: every match fails the test
    assert len(mutual_nearest_neighbours(d0, d1[:1], ones0, ones1[:1], 0.9)[0]) == 0
    for bad in (0, 1.5, -0.1, True, "0.8"):
        with pytest.raises(ConfigError, match=r"in \(0, 1\]"):
            mutual_nearest_neighbours(d0, d1, ones0, ones1, bad)


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


def test_match_ratio_from_the_weights_json_and_the_method_option(weights_dir):
    import json

    from stbench.methods.reference import Reference

    rng = np.random.default_rng(1)
    image0 = rng.integers(0, 255, (90, 120, 3), dtype=np.uint8)
    image1 = rng.integers(0, 255, (90, 120, 3), dtype=np.uint8)
    off = Reference(weights=str(weights_dir))
    assert off.matcher.match_ratio == 1.0 and "match_ratio" not in off.config()
    plain = off.match(image0, image1)
    # the option: a subset of the same matches (same keypoints, same scores)
    tested = Reference(weights=str(weights_dir), match_ratio=0.95)
    assert tested.config()["match_ratio"] == 0.95 and tested.config() != off.config()
    kept = tested.match(image0, image1)
    assert np.array_equal(kept.keypoints0, plain.keypoints0)
    pairs = {
        tuple(m): s for m, s in zip(plain.matches.tolist(), plain.scores.tolist(), strict=True)
    }
    assert 0 < len(kept.matches) < len(plain.matches)
    assert all(
        pairs[tuple(m)] == s
        for m, s in zip(kept.matches.tolist(), kept.scores.tolist(), strict=True)
    )
    # the weights JSON's inference.match_ratio is the default; the option overrides it
    meta = json.loads((weights_dir / "model.json").read_text())
    meta["inference"]["match_ratio"] = 0.95
    (weights_dir / "model.json").write_text(json.dumps(meta))
    assert load_matcher(weights_dir).match_ratio == 0.95
    assert Reference(weights=str(weights_dir), match_ratio=1).matcher.match_ratio == 1.0
    with pytest.raises(ConfigError, match=r"reference: match_ratio must be a number in \(0, 1\]"):
        Reference(weights=str(weights_dir), match_ratio=1.2)
    meta["inference"]["match_ratio"] = 0
    (weights_dir / "model.json").write_text(json.dumps(meta))
    with pytest.raises(
        ConfigError, match=r"reference weights .*: the weights JSON.s inference.match_ratio must be"
    ):
        load_matcher(weights_dir)


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
    from stbench.model.matching import CHOSEN_MATCH_RATIO

    assert matcher.match_ratio == CHOSEN_MATCH_RATIO
    from stbench.model.fine import CHOSEN

    assert matcher.fine == CHOSEN  # the bundled JSON holds the fine stage chosen on val
    assert bundled_weights_path().stat().st_size <= 20 * 1024 * 1024
