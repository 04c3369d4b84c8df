"""The compiled depth check against the numpy check it replaced (tests/megadepth/numpy_check.py)."""

import sys

import numpy as np
import pytest
from numpy_check import numpy_count_consistent

from stbench.extras import MissingExtraError
from stbench.megadepth import checkkernel
from stbench.megadepth.compiled import compiled
from stbench.megadepth.depthcache import build_depth_cache
from stbench.megadepth.verify import count_consistent, projection_matrices


def _random_world(n_images: int, seed: int, size=(40, 30)):
    """Random cameras around a bumpy surface, random holes in the maps, a few tiny maps."""
    rng = np.random.default_rng(seed)
    width, height = size
    K = np.array([[35.0, 0, (width - 1) / 2], [0, 35.0, (height - 1) / 2], [0, 0, 1]])
    rotations, translations, depths = [], [], []
    for n in range(n_images):
        angle = rng.uniform(-0.4, 0.4)
        c, s = np.cos(angle), np.sin(angle)
        R = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
        center = np.array([rng.uniform(-2, 2), rng.uniform(-1, 1), -10.0 + rng.uniform(-1, 1)])
        rotations.append(R)
        translations.append(-R @ center)
        depth = 10.0 + rng.normal(0, 0.3, (height, width)) + np.linspace(0, 2, width)[None, :]
        holes = rng.random((height, width))
        depth[holes < 0.05] = np.nan
        depth[(holes >= 0.05) & (holes < 0.08)] = 0.0
        depth[(holes >= 0.08) & (holes < 0.09)] = np.inf
        depth[(holes >= 0.09) & (holes < 0.1)] = -1.0
        if n == 5:
            depth[:] = 0.0  # no valid pixel: no samples
        if n % 5 == 4:
            depth = depth[:2, :3]  # a 3 x 2 map: samples only where the 2 x 2 square is valid
        depths.append(depth.astype(np.float32))
    K = np.stack([K] * n_images)
    rotations, translations = np.stack(rotations), np.stack(translations)
    names = [f"{n}.jpg" for n in range(n_images)]
    cache = build_depth_cache(depths, names, K, rotations, translations, 0, 200, seed=seed)
    return cache, projection_matrices(cache.K, rotations, translations)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kernel_counts_equal_the_numpy_check_on_random_scenes(seed):
    cache, projections = _random_world(10, seed)
    n = len(projections)
    source, target = (a.ravel() for a in np.meshgrid(np.arange(n), np.arange(n)))
    consistent, sampled = count_consistent(cache, projections, source, target, tau=0.05)
    assert 0 < consistent.sum() and (consistent < sampled).any()  # both outcomes occur
    for chunk in (1024, 65536):  # one partner per block (BLAS gemv) and many (gemm)
        oracle = numpy_count_consistent(cache, projections, source, target, 0.05, chunk)
        np.testing.assert_array_equal(consistent, oracle)
    np.testing.assert_array_equal(sampled, np.diff(cache.sample_offsets)[source])


def test_kernel_on_edge_cases_of_the_flat_maps():
    cache, projections = _random_world(6, 3)
    n = len(projections)
    rng = np.random.default_rng(0)
    # raw inf, zero and negative depths in the flat maps (the cache turns them into NaN; the
    # kernel must still count them as inconsistent, as the numpy check does)
    real = np.flatnonzero(np.isfinite(cache.flat))
    for value in (np.inf, -np.inf, 0.0, -5.0, np.nan):
        cache.flat[rng.choice(real, len(real) // 20, replace=False)] = value
    source, target = (a.ravel() for a in np.meshgrid(np.arange(n), np.arange(n)))
    for tau in (1e-9, 0.05, 0.9):
        consistent, _ = count_consistent(cache, projections, source, target, tau=tau)
        oracle = numpy_count_consistent(cache, projections, source, target, tau)
        np.testing.assert_array_equal(consistent, oracle)


def test_kernel_on_points_behind_outside_and_on_the_border():
    cache, projections = _random_world(3, 4)
    start, end = cache.sample_offsets[0], cache.sample_offsets[1]
    world = cache.samples_world
    P = projections[1]
    width, height = cache.width[1], cache.height[1]
    # place image 0's samples where image 1 sees them at chosen pixels, at chosen depths
    pixels = np.array([[-0.5, 3], [3, -1e-9], [width - 1, 3], [3, height - 1], [width - 1.5, 2],
                       [2, height - 1.5], [1e12, 3], [3, 3], [0, 0], [width - 2, height - 2]])  # fmt: skip
    depths = np.array([5, 5, 5, 5, 5, 5, 5, -5, 0, 1e-300])
    rays = np.c_[pixels * depths[:, None], depths] - P[:, 3]
    points = np.linalg.solve(P[:, :3], rays.T).T
    count = min(len(points), end - start)
    world[start : start + count, :3] = points[:count]
    world[start + count : end, :3] = [[np.nan, 0, 0], [np.inf, 0, 0]] * ((end - start - count) // 2) + [[np.nan, 0, 0]] * ((end - start - count) % 2)  # fmt: skip
    source, target = np.array([0, 0, 2]), np.array([1, 2, 0])
    consistent, _ = count_consistent(cache, projections, source, target, tau=0.9)
    oracle = numpy_count_consistent(cache, projections, source, target, 0.9)
    np.testing.assert_array_equal(consistent, oracle)


def test_images_without_samples_and_empty_edge_lists():
    cache, projections = _random_world(6, 5)
    empty_images = np.flatnonzero(np.diff(cache.sample_offsets) == 0)
    assert 5 in empty_images
    source = np.r_[empty_images, 0, 1]
    target = np.r_[np.zeros(len(empty_images), dtype=np.int64), 1, 0]
    consistent, sampled = count_consistent(cache, projections, source, target)
    np.testing.assert_array_equal(
        consistent, numpy_count_consistent(cache, projections, source, target)
    )
    assert (consistent[: len(empty_images)] == 0).all() and (
        sampled[: len(empty_images)] == 0
    ).all()
    # a partner without a map (width 0) counts nothing and reads nothing
    depths = [cache.working_depth(n) for n in range(len(projections))]
    depths[2] = None
    names = [f"{n}.jpg" for n in range(len(depths))]
    R, t = np.eye(3)[None].repeat(len(depths), 0), np.zeros((len(depths), 3))
    no_map = build_depth_cache(depths, names, cache.K, R, t, 0, 200)
    assert no_map.width[2] == 0
    P = projection_matrices(no_map.K, R, t)
    consistent, _ = count_consistent(no_map, P, np.array([0, 1, 2]), np.array([2, 2, 0]))
    assert consistent[:2].tolist() == [0, 0]
    nothing = np.zeros(0, dtype=np.int64)
    consistent, sampled = count_consistent(cache, projections, nothing, nothing)
    assert consistent.shape == sampled.shape == (0,)
    with pytest.raises(IndexError, match="target indices"):
        count_consistent(cache, projections, np.array([0]), np.array([len(projections)]))


def test_compiled_kernel_equals_its_python_definition():
    """The compiled kernel (llvm.fma) and the plain function (exact rational fma) agree."""
    cache, projections = _random_world(3, 6, size=(12, 9))
    source, target = np.array([0, 1, 2, 0]), np.array([1, 2, 0, 0])
    assert (cache.samples_world[:, 3] == 1).all()  # the kernel takes x, y, z rows, w = 1
    world = np.ascontiguousarray(cache.samples_world[:, :3].T)
    arrays = (world, cache.sample_offsets, projections, cache.flat, cache.base,
              cache.stride, cache.width, cache.height, source, target, np.arange(4))  # fmt: skip
    compiled, plain = np.zeros(4, np.int64), np.zeros(4, np.int64)
    checkkernel.compiled_count_edges()(*arrays, 0.05, compiled)
    checkkernel.count_edges(*arrays, 0.05, plain)
    np.testing.assert_array_equal(compiled, plain)
    assert compiled.sum() > 0


def test_missing_numba_names_the_build_extra(monkeypatch):
    compiled.cache_clear()
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba raises ImportError
    try:
        with pytest.raises(MissingExtraError, match=r"stbench\[build\]"):
            checkkernel.compiled_count_edges()
    finally:
        compiled.cache_clear()
