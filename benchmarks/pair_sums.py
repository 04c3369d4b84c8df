"""The pair sums alone on the dense scene: stbench's compiled kernel vs scipy's sparse products.

On the observations of the first n views of the ``large`` preset's dense scene (``5003``, built
once by ``benchmarks/dense_scene.py``): the incidence A, the per-observation log depth L and
unit rays V = [Vx | Vy | Vz] exactly as ``candidate_pairs`` makes them, then

- **stbench**: ``stbench.megadepth.pairsums.upper_pair_sums`` (counts, value sums and the ray
  sum of every pair i < j in one compiled pass, 1 thread);
- **scipy**: the definition it replaced, the sparse products A Aᵀ, L Aᵀ and V Vᵀ read at i < j
  (scipy's CSR product, 1 thread; ``tests/megadepth/sparse_products.py``, the tests' oracle).

Each is timed ``--repeat`` times (CPU seconds of this process, the median printed) after an
untimed run (numba's compile, first touches); the two results are compared: counts and value
sums must be equal bit for bit, and the largest difference of the ray sums (the same terms
added in another order, docs/megadepth.md "Candidate pairs") is printed.

Run:  PYTHONPATH=. nice python benchmarks/pair_sums.py [--views 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "megadepth"))

from dense_scene import SCENE, scene_root
from sparse_products import sparse_pair_sums  # the definition the kernel replaced

from stbench.megadepth.covis import observation_values
from stbench.megadepth.layout import find_components
from stbench.megadepth.model import read_component_model
from stbench.megadepth.pairsums import upper_pair_sums


def observations(n_views: int) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """The incidence, log normalised depths and unit rays of the first ``n_views`` views, as
    ``candidate_pairs`` sums them."""
    component = find_components(scene_root(n_views), SCENE.scene)[0]
    model = read_component_model(component.model_dir)
    focal = (model.K[:, 0, 0] + model.K[:, 1, 1]) / 2
    return observation_values(
        model.incidence, model.points_xyz, model.rotations(), model.tvec, focal
    )


def median_cpu(function, repeat: int) -> tuple[float, object]:
    """Median CPU seconds of ``repeat`` calls after one untimed call, and the last result."""
    result = function()
    times = []
    for _ in range(max(1, repeat)):
        start = time.process_time()
        result = function()
        times.append(time.process_time() - start)
    return float(np.median(times)), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--min-shared", type=int, default=5)
    args = parser.parse_args()
    A, values, rays = observations(args.views)
    print(
        f"date {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, OMP_NUM_THREADS="
        f"{os.environ.get('OMP_NUM_THREADS', 'unset')}, load {os.getloadavg()[0]:.2f}; "
        f"{args.views} views, {A.nnz:,} observations of {A.shape[1]:,} points"
    )
    stb_s, sums = median_cpu(lambda: upper_pair_sums(A, values, rays, args.min_shared), args.repeat)
    ref_s, ref = median_cpu(lambda: sparse_pair_sums(A, values, rays, args.min_shared), args.repeat)
    got = (sums.index0, sums.index1, sums.n_shared, sums.log_sum0, sums.log_sum1, sums.cos_sum)
    for name, a, b in zip(("i", "j", "n_shared", "log_sum0", "log_sum1"), got, ref, strict=False):
        if not np.array_equal(a, b):
            raise SystemExit(f"{name} differs from the sparse products")
    cos_diff = float(np.max(np.abs(sums.cos_sum - ref[5]), initial=0.0))
    print(f"{len(sums.index0):,} pairs sharing >= {args.min_shared} points")
    print(f"CPU seconds, median of {args.repeat}: stbench {stb_s:.2f}, scipy {ref_s:.2f}, "
          f"ratio {ref_s / stb_s:.1f}x")  # fmt: skip
    print(f"counts and value sums equal bit for bit; largest ray-sum difference {cos_diff:.1e}")
    print(f"load after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
