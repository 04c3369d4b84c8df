"""Batched verification agrees with stbench.warp; sampling is stratified; chunking is exact."""

import h5py
import numpy as np
import pytest
from conftest import look_rotation, render

from stbench.megadepth.covis import CandidatePairs
from stbench.megadepth.depthcache import build_depth_cache, stratified_samples, working_stride
from stbench.megadepth.verify import count_consistent, projection_matrices
from stbench.warp import warp_keypoints


@pytest.fixture(scope="module")
def cache_and_views(pinhole_scene):
    views = pinhole_scene.views
    depths = []
    for view in views:
        with h5py.File(pinhole_scene.dense_dir / "depths" / f"{view.name[:-4]}.h5") as handle:
            depths.append(handle["depth"][()])
    K = np.stack([v.K for v in views] * 2)[: len(views) + 1]
    R = np.stack([v.R for v in views] + [look_rotation(0.0, -89.0)])
    t = np.stack([v.t for v in views] + [-R[-1] @ np.array([12.0, 0.0, 2.0])])
    # one more view, looking down at a patch of floor no other view sees
    depths.append(render(K[-1], R[-1], t[-1], views[0].width, views[0].height)[0])
    names = [v.name for v in views] + ["floor.jpg"]
    cache = build_depth_cache(depths, names, K, R, t, 100, 300, seed=3)
    return cache, R, t


def test_counts_agree_with_warp_keypoints_on_the_same_samples(cache_and_views):
    cache, R, t = cache_and_views
    n = len(R)
    assert cache.scale.tolist() == [2] * n  # 160x120 at working_max_side 100
    source, target = (a.ravel() for a in np.meshgrid(np.arange(n), np.arange(n)))
    projections = projection_matrices(cache.K, R, t)
    consistent, sampled = count_consistent(cache, projections, source, target, tau=0.05)
    for e in np.flatnonzero(source != target):  # (i, i) lands on exact integers: floor is moot
        i, j = source[e], target[e]
        pixels, _ = cache.samples(i)
        _, valid, expected = warp_keypoints(
            pixels, cache.working_depth(i), cache.K[i], R[i], t[i],
            cache.working_depth(j), cache.K[j], R[j], t[j], tau=0.05,
        )  # fmt: skip
        assert valid.all()  # samples are pixels with 4 valid neighbours
        assert consistent[e] == expected.sum(), (i, j)
        assert sampled[e] == len(pixels) == 300
    assert (consistent[source == target] > 0.9 * 300).all()
    assert (consistent == 0).any()  # some pairs do not overlap at all


def test_chunking_and_threads_do_not_change_counts(cache_and_views):
    cache, R, t = cache_and_views
    n = len(R)
    source, target = (a.ravel() for a in np.meshgrid(np.arange(n), np.arange(n)))
    projections = projection_matrices(cache.K, R, t)
    reference = count_consistent(cache, projections, source, target, chunk_elements=10**7)
    for chunk, workers in [(1024, 1), (5000, 2)]:
        result = count_consistent(
            cache, projections, source, target, chunk_elements=chunk, workers=workers
        )
        assert np.array_equal(result[0], reference[0])


def test_stratified_samples_cover_sparse_regions():
    valid = np.zeros((100, 100), dtype=bool)
    valid[:, :90] = True  # a large dense region
    valid[::10, 95] = True  # a few isolated pixels on the right
    picked = stratified_samples(valid, 100, np.random.default_rng(0))
    assert len(picked) == 100 and len(np.unique(picked, axis=0)) == 100
    assert valid[picked[:, 1], picked[:, 0]].all()
    # a 10x10 grid: each non-empty cell gets one sample first, the isolated column included
    assert (picked[:, 0] == 95).sum() >= 10
    assert len(stratified_samples(valid[:2, :2], 100, np.random.default_rng(0))) == 4


def test_working_stride():
    assert working_stride(1600, 1200, 512) == 4
    assert working_stride(512, 384, 512) == 1
    assert working_stride(1600, 1200, 0) == 1


def test_non_overlapping_candidate_is_rejected(cache_and_views):
    from stbench.megadepth.config import MegaDepthConfig
    from stbench.megadepth.pairs import verify_candidates

    cache, R, t = cache_and_views
    n = len(R)
    source, target = (a.ravel() for a in np.meshgrid(np.arange(n), np.arange(n)))
    projections = projection_matrices(cache.K, R, t)
    consistent, _ = count_consistent(cache, projections, source, target)
    e = int(np.flatnonzero(consistent == 0)[0])
    i, j = sorted((int(source[e]), int(target[e])))
    candidates = CandidatePairs(
        *(np.array([v]) for v in (i, j, 50, 0.5, 0.5, 1.0, 10.0))  # as if co-visible
    )
    ids = [f"megadepth/5001/{k}" for k in range(n)]
    verified = verify_candidates(candidates, ids, "5001", cache, R, t, MegaDepthConfig())
    assert verified.rows == []
    assert [r["reason"] for r in verified.rejects] == ["depth_overlap_low"]


def test_samples_fill_the_quota_when_depth_is_concentrated():
    valid = np.zeros((200, 200), dtype=bool)
    valid[:20, :20] = True  # 400 valid pixels in a handful of the 1,024 cells
    picked = stratified_samples(valid, 300, np.random.default_rng(1))
    assert len(picked) == 300 and len(np.unique(picked, axis=0)) == 300
