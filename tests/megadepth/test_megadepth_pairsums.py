"""The compiled upper-triangle pair sums are bit-identical to the full sparse products (the
previous definition, kept here as the oracle) for the counts and value sums, and to a plain loop
over the shared points for the ray sums (one dot product per point: the product of the stacked
[Vx | Vy | Vz] added the same terms in another order, so only its last bits differ)."""

import numpy as np
import pytest
import scipy.sparse as sp
from sparse_products import sparse_pair_sums

from stbench.megadepth.covis import candidate_pairs
from stbench.megadepth.pairsums import upper_pair_sums


def _random_incidence(rng, n_images, n_points, density):
    dense = rng.random((n_images, n_points)) < density
    dense[n_images // 3] = False  # an image without points
    dense[-1] = False  # and a trailing one
    dense[:, 0] = False  # a point nobody sees
    return sp.csr_matrix(dense.astype(np.float64))


def _full_products(A, values, rays, min_shared):
    """The previous definition (sparse products), with the ray sums of :func:`_dot_sums`."""
    i, j, shared, log0, log1, stacked = sparse_pair_sums(A, values, rays, min_shared)
    cos = _dot_sums(A, rays, i, j)
    # the same terms as the stacked product, in another order: equal up to the last bits
    np.testing.assert_allclose(cos, stacked, rtol=0, atol=1e-12 * A.shape[1])
    return i, j, shared, log0, log1, cos


def _dot_sums(A, rays, index0, index1):
    """Per pair, the sum over its shared points (increasing) of the dot product of the rays."""
    points = [dict(zip(A.indices[a:b].tolist(), rays[a:b].tolist(), strict=True))
              for a, b in zip(A.indptr[:-1], A.indptr[1:], strict=True)]  # fmt: skip
    out = np.zeros(len(index0))
    for k, (i, j) in enumerate(zip(index0.tolist(), index1.tolist(), strict=True)):
        total = 0.0
        for p in sorted(points[i].keys() & points[j].keys()):
            (x, y, z), (u, v, w) = points[i][p], points[j][p]
            total += x * u + y * v + z * w
        out[k] = total
    return out


@pytest.mark.parametrize(
    ("seed", "block", "workers"), [(0, 16, 1), (1, 1, 1), (2, 5, 1), (3, 64, 1), (4, 16, 2),
                                   (5, 5, 3), (6, 1, 40)],
)  # fmt: skip
def test_upper_pair_sums_equal_the_oracle_bit_for_bit(seed, block, workers):
    """Any block of rows summed together (1, 5, 16, more than the 37 images), by any number of
    threads (more than the images too), gives the bits."""
    rng = np.random.default_rng(seed)
    A = _random_incidence(rng, 37, 400, 0.2)
    values = rng.normal(size=A.nnz) * 3
    rays = rng.normal(size=(A.nnz, 3))
    rays /= np.linalg.norm(rays, axis=1, keepdims=True)
    sums = upper_pair_sums(A, values, rays, min_shared=3, block=block, workers=workers)
    expected = _full_products(A, values, rays, min_shared=3)
    got = (sums.index0, sums.index1, sums.n_shared, sums.log_sum0, sums.log_sum1, sums.cos_sum)
    assert len(sums.index0) > 100 and (sums.index0 < sums.index1).all()
    for name, a, b in zip(("i", "j", "n", "log0", "log1", "cos"), got, expected, strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)  # exact, not approximate


def test_candidates_equal_the_full_product_definition():
    """candidate_pairs (upper-triangle sums) gives today's candidates and statistics exactly."""
    rng = np.random.default_rng(5)
    n = 30
    A = _random_incidence(rng, n, 300, 0.15)
    points = rng.normal(size=(300, 3)) * 5 + [0, 0, 20]
    angles = rng.uniform(-0.3, 0.3, n)
    R = np.stack(
        [[[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]] for a in angles]
    )
    t = rng.normal(size=(n, 3))
    focal = rng.uniform(200, 400, n)
    pairs = candidate_pairs(A, points, R, t, focal, min_shared_points=4, min_covis_overlap=0.2)

    # the statistics from the full products, as computed before
    rows = np.repeat(np.arange(n), np.diff(A.indptr))
    cam = np.einsum("nij,nj->ni", R[rows], points[A.indices]) + t[rows]
    values = np.log(np.where(cam[:, 2] > 0, cam[:, 2], 1.0) / focal[rows])
    centers = -np.einsum("nji,nj->ni", R, t)
    rays = points[A.indices] - centers[rows]
    rays /= np.linalg.norm(rays, axis=1, keepdims=True)
    i, j, shared, log0, log1, cos = _full_products(A, values, rays, min_shared=4)
    n_seen = np.diff(A.indptr)
    keep = np.maximum(shared / n_seen[i], shared / n_seen[j]) >= 0.2
    assert 0 < keep.sum() < len(keep)
    np.testing.assert_array_equal(pairs.index0, i[keep])
    np.testing.assert_array_equal(pairs.index1, j[keep])
    np.testing.assert_array_equal(pairs.n_shared, shared[keep])
    np.testing.assert_array_equal(
        pairs.scale_ratio, np.exp(np.abs((log0[keep] - log1[keep]) / shared[keep]))
    )
    mean_cos = np.clip(cos[keep] / shared[keep], -1.0, 1.0)
    np.testing.assert_array_equal(pairs.view_angle_deg, np.degrees(np.arccos(mean_cos)))


def test_no_images_or_no_shared_points():
    empty = upper_pair_sums(sp.csr_matrix((0, 0)), np.zeros(0), np.zeros((0, 3)))
    assert len(empty.index0) == 0
    alone = sp.csr_matrix(np.eye(4))  # every image sees its own point only
    sums = upper_pair_sums(alone, np.ones(4), np.tile([0.0, 0.0, 1.0], (4, 1)))
    assert len(sums.index0) == 0


def test_unsorted_or_duplicate_indices_and_wrong_lengths_are_refused():
    A = sp.csr_matrix((np.ones(2), np.array([1, 0]), np.array([0, 2])), shape=(1, 2))
    with pytest.raises(ValueError, match="sorted indices"):
        upper_pair_sums(A, np.zeros(2), np.zeros((2, 3)))
    A = sp.csr_matrix((np.ones(2), np.array([1, 1]), np.array([0, 2])), shape=(1, 2))
    with pytest.raises(ValueError, match="no duplicates"):
        upper_pair_sums(A, np.zeros(2), np.zeros((2, 3)))
    A = sp.csr_matrix(np.eye(3))
    with pytest.raises(ValueError, match="one per observation"):
        upper_pair_sums(A, np.zeros(2), np.zeros((3, 3)))


def test_an_infinite_value_does_not_spoil_the_counts():
    """A log depth of inf (e.g. a zero focal) keeps its pairs' counts; its sums are inf, as before."""
    rng = np.random.default_rng(3)
    A = _random_incidence(rng, 12, 80, 0.4)
    values = rng.normal(size=A.nnz)
    values[0] = np.inf
    values[5] = np.nan
    rays = np.tile([0.0, 0.0, 1.0], (A.nnz, 1))
    sums = upper_pair_sums(A, values, rays, min_shared=1)
    i, j, n, log0, log1, cos = _full_products(A, values, rays, min_shared=1)
    np.testing.assert_array_equal(sums.index0, i)
    np.testing.assert_array_equal(sums.index1, j)
    np.testing.assert_array_equal(sums.cos_sum, cos)
    np.testing.assert_array_equal(sums.n_shared, n)
    np.testing.assert_array_equal(sums.log_sum0, log0)
    np.testing.assert_array_equal(sums.log_sum1, log1)
    assert np.isinf(sums.log_sum0).any() or np.isinf(sums.log_sum1).any()


@pytest.mark.parametrize(("block", "workers"), [(16, 1), (50, 1), (16, 2)])
def test_more_pairs_than_the_first_output_holds(block, workers):
    """60 images seeing most points: 1,770 pairs > the first 1,024 rows of output (regrown; with
    block 50 the first block alone has more pairs than fit)."""
    rng = np.random.default_rng(7)
    A = _random_incidence(rng, 60, 200, 0.6)
    values = rng.normal(size=A.nnz)
    rays = rng.normal(size=(A.nnz, 3))
    sums = upper_pair_sums(A, values, rays, min_shared=1, block=block, workers=workers)
    expected = _full_products(A, values, rays, min_shared=1)
    got = (sums.index0, sums.index1, sums.n_shared, sums.log_sum0, sums.log_sum1, sums.cos_sum)
    assert len(sums.index0) > 1024
    for name, a, b in zip(("i", "j", "n", "log0", "log1", "cos"), got, expected, strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)


@pytest.mark.parametrize("plain", [False, True])
def test_observation_geometry_equals_the_numpy_expressions_bit_for_bit(plain):
    """Depths and unit rays of the compiled pass (and of its plain definition) are the bits of
    the einsum / norm expressions candidate_pairs used before."""
    from stbench.megadepth.compiled import compiled
    from stbench.megadepth.covis import observation_geometry

    rng = np.random.default_rng(11)
    n, n_points = (6, 50) if plain else (40, 3000)
    A = _random_incidence(rng, n, n_points, 0.3)
    points = rng.normal(size=(n_points, 3)) * 30 + [0, 0, 50]
    q = rng.normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    w, x, y, z = q.T
    R = np.stack([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ]).transpose(2, 0, 1)  # fmt: skip
    t = rng.normal(size=(n, 3)) * 10
    rows = np.repeat(np.arange(n), np.diff(A.indptr))
    expected_depth = (np.einsum("nij,nj->ni", R[rows], points[A.indices]) + t[rows])[:, 2]
    centers = -np.einsum("nji,nj->ni", R, t)
    expected_rays = points[A.indices] - centers[rows]
    expected_rays /= np.linalg.norm(expected_rays, axis=1, keepdims=True)
    depth, rays = np.empty(A.nnz), np.empty((A.nnz, 3))
    kernel = observation_geometry if plain else compiled(observation_geometry)
    kernel(A.indptr.astype(np.int64), A.indices.astype(np.int64), points, R, t, centers,
           depth, rays)  # fmt: skip
    np.testing.assert_array_equal(depth, expected_depth)
    np.testing.assert_array_equal(rays, expected_rays)


def test_row_ranges_share_the_work_and_cover_every_row():
    """The threads' row ranges are contiguous, cover 0..N, and the upper triangle's first rows
    (which meet the most later entries) get fewer rows each."""
    from stbench.megadepth.pairsums import _row_ranges

    n = 100
    A = sp.csr_matrix(np.ones((n, 50)))
    column_ptr = np.arange(0, n * 50 + 1, n, dtype=np.int64)
    column_images = np.tile(np.arange(n, dtype=np.int32), 50)
    assert A.nnz == len(column_images)
    bounds = _row_ranges(column_ptr, column_images, n, 2)
    assert bounds[0] == 0 and bounds[-1] == n and len(bounds) == 3
    assert 20 < bounds[1] < 40  # half of sum(n - i) is reached near n (1 - 1/sqrt 2) = 29
    assert _row_ranges(column_ptr, column_images, n, 1) == [0, n]
    assert _row_ranges(column_ptr[:1] * 0, column_images[:0], 0, 4) == [0, 0]
