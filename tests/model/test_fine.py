"""The full-resolution NCC fine stage (stbench/model/fine.py) and its wiring in Matcher."""

import json

import cv2
import numpy as np
import pytest
import torch

from stbench.errors import ConfigError
from stbench.model.checkpoint import export_weights
from stbench.model.config import ModelConfig
from stbench.model.fine import (
    FineSettings,
    _correlate,
    fine_settings,
    refine_ncc,
    search_pixels,
    to_gray,
)
from stbench.model.inference import load_matcher
from stbench.model.network import SpatioTemporalMatcher

SHIFT = np.array([3.3, -2.6])  # image 1 = image 0 moved right 3.3 px and up 2.6 px


def _texture(height=200, width=260, seed=0, sigma=1.5) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, 1, (height, width)).astype(np.float32)
    image = cv2.GaussianBlur(noise, (0, 0), sigma)
    return ((image - image.min()) / (image.max() - image.min()) * 255).astype(np.float32)


def _shifted(image: np.ndarray, shift=SHIFT) -> np.ndarray:
    matrix = np.float32([[1, 0, shift[0]], [0, 1, shift[1]]])
    size = (image.shape[1], image.shape[0])
    return cv2.warpAffine(image, matrix, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


def _points(n, seed=1, low=40, high=(220, 160)):
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(low, high[0], n), rng.uniform(low, high[1], n)], axis=1)


def test_sub_pixel_shift_is_recovered_from_a_cell_off():
    image0 = _texture()
    image1 = _shifted(image0)
    points0 = _points(200)
    truth = points0 + SHIFT
    cell = 5.6  # a 640-pixel-wide photo at stride 2 of a 228-pixel network input
    coarse = truth + np.random.default_rng(2).uniform(-cell, cell, truth.shape)
    refined, moved = refine_ncc(image0, image1, points0, coarse, 9, 11, 0.8)
    assert refined.shape == coarse.shape and refined.dtype == np.float32
    assert moved.mean() > 0.95
    error = np.linalg.norm(refined[moved] - truth[moved], axis=1)
    before = np.linalg.norm(coarse - truth, axis=1)
    assert np.median(before) > 2.5  # the coarse positions really were off
    assert np.median(error) < 0.15 and np.percentile(error, 90) < 0.3 and error.max() < 0.6


def test_unmatched_content_and_flat_patches_keep_the_coarse_position():
    image0 = _texture(seed=0)
    points0 = _points(60)
    coarse = points0 + SHIFT + 2.0
    # image 1 is unrelated texture: no correlation reaches 0.85 (on this smooth texture one
    # window in 60 reaches 0.8 by chance: the threshold is what keeps such peaks out)
    refined, moved = refine_ncc(image0, _texture(seed=7), points0, coarse, 9, 11, 0.85)
    assert not moved.any() and np.array_equal(refined, coarse.astype(np.float32))
    # a flat image 0 (no texture to correlate) and a flat image 1
    flat = np.full_like(image0, 128.0)
    refined, moved = refine_ncc(flat, _shifted(image0), points0, coarse, 9, 11, 0.8)
    assert not moved.any() and np.array_equal(refined, coarse.astype(np.float32))
    refined, moved = refine_ncc(image0, flat, points0, coarse, 9, 11, 0.5)
    assert not moved.any()


def test_peak_on_the_search_border_keeps_the_coarse_position():
    image0 = _texture(sigma=3.5)  # smooth: the correlation 2 px off the truth stays high
    image1 = _shifted(image0)
    points0 = _points(40)
    # 6 px off with a 4 px search: the true peak lies outside, the best is on the border
    coarse = points0 + SHIFT + np.array([6.0, 0.0])
    for p0, p1 in zip(np.rint(points0).astype(int), np.rint(coarse).astype(int), strict=True):
        scores = _correlate(
            image0[p0[1] - 5 : p0[1] + 6, p0[0] - 5 : p0[0] + 6],
            image1[p1[1] - 9 : p1[1] + 10, p1[0] - 9 : p1[0] + 10],
        )
        assert scores[:, 0].max() == scores.max() >= 0.6  # left border, above the threshold
    refined, moved = refine_ncc(image0, image1, points0, coarse, 4, 11, 0.6)
    assert not moved.any() and np.array_equal(refined, coarse.astype(np.float32))
    # the same points with a search that reaches the truth are moved
    _, moved = refine_ncc(image0, image1, points0, coarse, 9, 11, 0.8)
    assert moved.all()


def test_patches_touching_the_image_border_keep_the_coarse_position():
    image0 = _texture()
    image1 = _shifted(image0)
    points0 = np.array([[3.0, 100.0], [100.0, 196.0], [120.0, 100.0], [120.0, 100.0]])
    coarse = points0 + SHIFT
    coarse[2] = [255.0, 100.0]  # its search window leaves image 1
    coarse[3] += 1.0  # well inside both: moved
    refined, moved = refine_ncc(image0, image1, points0, coarse, 9, 11, 0.8)
    assert moved.tolist() == [False, False, False, True]
    assert np.array_equal(refined[:3], coarse[:3].astype(np.float32))
    assert np.linalg.norm(refined[3] - (points0[3] + SHIFT)) < 0.3


def test_back_check_keeps_true_moves_and_drops_chance_peaks():
    image0 = _texture()
    points0 = _points(200)
    coarse = points0 + SHIFT + np.random.default_rng(2).uniform(-5, 5, points0.shape)
    # a true shift: correlating back lands on keypoint 0, so every move stays, unchanged
    image1 = _shifted(image0)
    plain, moved = refine_ncc(image0, image1, points0, coarse, 9, 11, 0.8)
    checked, moved_checked = refine_ncc(image0, image1, points0, coarse, 9, 11, 0.8, 1.0)
    assert moved.mean() > 0.95 and np.array_equal(moved_checked, moved)
    assert np.array_equal(checked, plain)
    # unrelated texture with a lenient threshold: chance peaks move many points, and the
    # back check drops those whose way back misses keypoint 0 (here 68 of 136: a chance peak
    # is often the best way back too, so the check halves them rather than removing them);
    # it never adds a move
    unrelated = _texture(seed=7)
    _, moved = refine_ncc(image0, unrelated, points0, coarse, 9, 11, 0.4)
    refined, moved_checked = refine_ncc(image0, unrelated, points0, coarse, 9, 11, 0.4, 1.0)
    assert moved.sum() > 100 and moved_checked.sum() <= 0.6 * moved.sum()
    assert not (moved_checked & ~moved).any()
    assert np.array_equal(refined[~moved_checked], coarse[~moved_checked].astype(np.float32))


def test_search_window_follows_the_resize_scale():
    # 640x360 seen at 228x128 (scale ~0.356): a cell of stride 2 is ~5.6 px
    assert search_pixels(1.0, 2, np.array([228 / 640, 128 / 360])) == 6
    assert search_pixels(1.5, 2, np.array([228 / 640, 128 / 360])) == 9
    assert search_pixels(1.0, 2, np.array([1.0, 1.0])) == 2  # no downscale: 2 px


def test_settings_defaults_overrides_and_errors():
    assert fine_settings({}) == FineSettings() and not FineSettings().active
    settings = fine_settings({"fine": "ncc", "fine_patch": 9}, {"fine_min_score": 0.7})
    assert settings == FineSettings("ncc", 9, 0.7, 1.5) and settings.active
    assert fine_settings({"fine": "ncc"}, {"fine": "none", "fine_patch": None}).mode == "none"
    assert settings.as_dict() == {
        "fine": "ncc",
        "fine_patch": 9,
        "fine_min_score": 0.7,
        "fine_search": 1.5,
    }
    with pytest.raises(ConfigError, match=r"option fine must be one of none, ncc, not 'sift'"):
        fine_settings({}, {"fine": "sift"})
    with pytest.raises(ConfigError, match=r"inference\.fine_patch must be an odd integer"):
        fine_settings({"fine_patch": 10})
    for bad in (3, 9.0, True, "11"):
        with pytest.raises(ConfigError, match="option fine_patch"):
            fine_settings({}, {"fine_patch": bad})
    for bad in (0, 1.5, -0.2, "high"):
        with pytest.raises(
            ConfigError, match=r"option fine_min_score must be a number in \(0, 1\]"
        ):
            fine_settings({}, {"fine_min_score": bad})
    for bad in (0, float("nan"), 9, "wide"):
        with pytest.raises(ConfigError, match="option fine_search"):
            fine_settings({}, {"fine_search": bad})
    # the back check: off by default and then absent from as_dict (identities of settings from
    # before it existed are unchanged); named in as_dict when on
    checked = fine_settings({"fine": "ncc"}, {"fine_back_check": 1})
    assert checked.back_check == 1.0 and checked.as_dict()["fine_back_check"] == 1.0
    assert "fine_back_check" not in fine_settings({"fine": "ncc"}).as_dict()
    for bad in (-1, 9, float("nan"), True, "1"):
        with pytest.raises(ConfigError, match=r"option fine_back_check must be a number"):
            fine_settings({}, {"fine_back_check": bad})


SMALL = dict(channels=[8, 16, 24, 32], attention_dim=8, descriptor_dim=16)


def _weights(directory, **inference_extra):
    torch.manual_seed(0)
    model = SpatioTemporalMatcher(ModelConfig(**SMALL))
    inference = {"image_size": [64, 48], "temporal_size": [48, 32], "top_k": 50}
    export_weights(directory, model, {**inference, **inference_extra}, {"note": "test"})
    return directory


def _rgb_pair():
    image0 = _texture(120, 160, seed=3, sigma=2.0).astype(np.uint8)
    image1 = _shifted(image0.astype(np.float32), (1.4, 0.7)).astype(np.uint8)
    return np.repeat(image0[..., None], 3, 2), np.repeat(image1[..., None], 3, 2)


def test_matcher_without_fine_keys_is_unchanged_and_ncc_moves_only_matched_keypoints(
    tmp_path,
):
    image0, image1 = _rgb_pair()
    old = load_matcher(_weights(tmp_path / "old"))
    assert old.fine == FineSettings()
    explicit = load_matcher(_weights(tmp_path / "none", fine="none", fine_patch=9))
    coarse = old.match(image0, image1)
    same = explicit.match(image0, image1)
    for key in coarse:
        assert np.array_equal(coarse[key], same[key])
    # the same weights with the fine stage on (a lenient threshold: the toy net is untrained)
    fine = load_matcher(_weights(tmp_path / "ncc", fine="ncc", fine_min_score=0.3))
    refined = fine.match(image0, image1)
    assert {k: v.shape for k, v in refined.items()} == {k: v.shape for k, v in coarse.items()}
    for key in ("keypoints0", "matches", "scores"):
        assert np.array_equal(refined[key], coarse[key])
    changed = np.flatnonzero((refined["keypoints1"] != coarse["keypoints1"]).any(axis=1))
    assert len(changed) > 0 and set(changed) <= set(coarse["matches"][:, 1])
    # exactly refine_ncc on the matched pairs, in original pixels, with the window of image
    # 1's resize scale (the toy net is untrained: its matches are checked for wiring here, the
    # accuracy of the refinement by the tests above)
    matches = coarse["matches"]
    _, scale1 = fine._resize_for_matching(image1)
    expected, moved = refine_ncc(
        to_gray(image0),
        to_gray(image1),
        coarse["keypoints0"][matches[:, 0]],
        coarse["keypoints1"][matches[:, 1]],
        search_pixels(1.5, 2, scale1),
        11,
        0.3,
    )
    assert np.array_equal(refined["keypoints1"][matches[:, 1]], expected)
    assert moved.sum() == len(changed)


def test_reference_method_options_reach_the_matcher_and_its_identity(tmp_path):
    from stbench.methods.reference import Reference

    weights = _weights(tmp_path / "w")
    coarse = Reference(weights=str(weights))
    assert not coarse.matcher.fine.active and "fine" not in coarse.config()
    fine = Reference(weights=str(weights), fine="ncc", fine_patch=15)
    assert fine.matcher.fine == FineSettings("ncc", 15, 0.7, 1.5)
    assert fine.config()["fine"]["fine_patch"] == 15 and fine.config() != coarse.config()
    with pytest.raises(ConfigError, match="option fine must be one of none, ncc"):
        Reference(weights=str(weights), fine="yes")
    meta = json.loads((weights / "model.json").read_text())
    meta["inference"]["fine"] = "ncc"
    (weights / "model.json").write_text(json.dumps(meta))
    on = Reference(weights=str(weights))
    assert on.matcher.fine.active
    assert not Reference(weights=str(weights), fine="none").matcher.fine.active
