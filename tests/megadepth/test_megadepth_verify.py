"""Verification agrees with stbench.warp; sampling is stratified; chunking is exact."""

import h5py
import numpy as np
import pytest
from megadepth_scenes import look_rotation, render
from numpy_check import numpy_count_consistent

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


def test_threads_do_not_change_counts(cache_and_views):
    cache, R, t = cache_and_views
    n = len(R)
    source, target = (a.ravel() for a in np.meshgrid(np.arange(n), np.arange(n)))
    projections = projection_matrices(cache.K, R, t)
    reference = count_consistent(cache, projections, source, target)
    assert np.array_equal(reference[0], numpy_count_consistent(cache, projections, source, target))
    for workers in (2, 3, 1000):
        result = count_consistent(cache, projections, source, target, workers=workers)
        assert np.array_equal(result[0], reference[0])


def test_threads_build_the_same_cache(pinhole_scene, cache_and_views):
    cache, R, t = cache_and_views
    n = len(R)
    depths = [cache.working_depth(i) for i in range(n)]  # stride 1 from here on
    names = [f"{i}.jpg" for i in range(n)]
    one = build_depth_cache(depths, names, cache.K, R, t, 0, 200, sizes=None, workers=1)
    sizes = [(d.shape[1], d.shape[0]) for d in depths]
    two = build_depth_cache(depths, names, cache.K, R, t, 0, 200, sizes=sizes, workers=2)
    np.testing.assert_array_equal(one.flat[: len(two.flat)], two.flat)
    np.testing.assert_array_equal(one.samples_world, two.samples_world)
    np.testing.assert_array_equal(one.base, two.base)


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


def test_progressive_check_decides_like_the_full_two_way_check(cache_and_views):
    from stbench.megadepth.config import MegaDepthConfig
    from stbench.megadepth.pairs import verify_candidates

    cache, R, t = cache_and_views
    n = len(R)
    i, j = (a.ravel() for a in np.triu_indices(n, k=1))
    m = len(i)
    projections = projection_matrices(cache.K, R, t)
    consistent, sampled = count_consistent(cache, projections, np.r_[i, j], np.r_[j, i])
    overlap01, overlap10 = consistent[:m] / sampled[:m], consistent[m:] / sampled[m:]
    config = MegaDepthConfig(min_depth_overlap=0.3, min_consistent=16)
    full_accept = (np.minimum(overlap01, overlap10) >= 0.3) & (
        consistent[:m] + consistent[m:] >= 16
    )
    assert 0 < full_accept.sum() < m  # both outcomes occur
    rng = np.random.default_rng(0)
    covis = rng.uniform(0.1, 0.9, (2, m))  # decides which direction is checked first
    candidates = CandidatePairs(i, j, np.full(m, 50), covis[0], covis[1], np.ones(m), np.ones(m))
    ids = [f"megadepth/5001/{k:02d}" for k in range(n)]
    verified = verify_candidates(candidates, ids, "5001", cache, R, t, config)
    expected = {f"{ids[a]}|{ids[b]}" for a, b in zip(i[full_accept], j[full_accept], strict=True)}
    assert {row["pair_id"] for row in verified.rows} == expected
    by_pair = {f"{ids[a]}|{ids[b]}": e for e, (a, b) in enumerate(zip(i, j, strict=True))}
    for row in verified.rows:  # emitted values are those of the full two-way check
        e = by_pair[row["pair_id"]]
        assert row["depth_overlap_01"] == overlap01[e]
        assert row["depth_overlap_10"] == overlap10[e]
        assert row["n_consistent"] == consistent[e] + consistent[m + e]
    skipped = [r for r in verified.rejects if "not computed" in r["detail"]]
    assert skipped and all(r["reason"] == "depth_overlap_low" for r in skipped)


def test_no_candidates_give_no_pairs(cache_and_views):
    from stbench.megadepth.config import MegaDepthConfig
    from stbench.megadepth.pairs import verify_candidates

    cache, R, t = cache_and_views
    empty = np.zeros(0, dtype=np.int64)
    consistent, sampled = count_consistent(cache, projection_matrices(cache.K, R, t), empty, empty)
    assert len(consistent) == 0 and len(sampled) == 0
    candidates = CandidatePairs(*(np.zeros(0) for _ in range(7)))
    candidates.index0 = candidates.index1 = empty
    verified = verify_candidates(candidates, [], "5001", cache, R, t, MegaDepthConfig())
    assert verified.rows == [] and verified.rejects == []


def _numpy_stratified_samples(valid, n_samples, rng):
    """The numpy definition the compiled sampling replaced (the oracle)."""
    h, w = valid.shape
    flat = np.flatnonzero(valid)
    if len(flat) > n_samples:
        grid = int(np.ceil(np.sqrt(n_samples)))
        rows = (np.arange(h) * grid // h).astype(np.int32)
        cols = (np.arange(w) * grid // w).astype(np.int32)
        cell = (rows[:, None] * grid + cols[None, :]).reshape(-1)[flat]
        per_cell = np.bincount(cell, minlength=grid * grid)
        cap = max(8, 2 * -(-n_samples // int(np.count_nonzero(per_cell))))
        keep = rng.random(len(flat), dtype=np.float32) * per_cell[cell] < cap
        if np.count_nonzero(keep) >= n_samples:
            flat, cell = flat[keep], cell[keep]
        shuffle = rng.permutation(len(flat))
        order = shuffle[np.argsort(cell[shuffle], kind="stable")]
        sorted_cells = cell[order]
        starts = np.flatnonzero(np.r_[True, sorted_cells[1:] != sorted_cells[:-1]])
        rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
        per_round = np.cumsum(np.bincount(rank))
        last = int(np.searchsorted(per_round, n_samples))
        taken = order[rank < last]
        in_last = order[rank == last]
        extra = in_last[rng.permutation(len(in_last))[: n_samples - len(taken)]]
        flat = flat[np.sort(np.concatenate([taken, extra]))]
    return np.stack([flat % w, flat // w], axis=1).astype(np.int64)


@pytest.mark.parametrize("seed", range(6))
def test_compiled_sampling_equals_the_numpy_definition(seed):
    """Same pixels and same random draws as the numpy sampling, on dense, sparse, clustered,
    barely-enough and empty masks."""
    rng = np.random.default_rng(seed)
    h, w = rng.integers(5, 120, 2)
    masks = [
        rng.random((h, w)) < 0.9,
        rng.random((h, w)) < 0.05,
        np.zeros((h, w), bool),
        np.pad(np.ones((h // 3, w // 4), bool), ((0, h - h // 3), (0, w - w // 4))),
    ]
    for valid in masks:
        for n_samples in (1, 7, 64, int(valid.sum()), int(valid.sum()) + 1, 1024):
            got = stratified_samples(valid, n_samples, np.random.default_rng(seed + 100))
            expected = _numpy_stratified_samples(
                valid, n_samples, np.random.default_rng(seed + 100)
            )
            np.testing.assert_array_equal(got, expected)
