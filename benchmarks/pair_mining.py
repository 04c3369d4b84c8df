"""Depth-verified pair mining: batched (stbench) vs a straightforward per-pair loop.

Builds a planar scene (a textured-less wall and floor seen by cameras moving along it; depth
maps written as MegaDepth .h5 files at full resolution), then in one run:

1. candidate generation (sparse co-visibility) at 500 / 1,000 / 2,000 views;
2. stbench's verification of every candidate pair of the 500-view scene (read each depth map
   once, working resolution, batched numpy), timed wall-clock and CPU;
3. a per-pair baseline on a random subset of the same candidates: reload both depth maps from
   .h5 per pair, full resolution, sample, stbench.warp.warp_keypoints in both directions;
4. peak memory of step 2 (tracemalloc, a separate untimed pass) and the process peak RSS.

Run:  nice python benchmarks/pair_mining.py [--views 500] [--samples 1024] [--baseline-pairs 150]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import h5py
import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stbench.depth import read_depth
from stbench.megadepth.config import MegaDepthConfig
from stbench.megadepth.covis import candidate_pairs
from stbench.megadepth.pairs import DepthLoad, load_depth_cache, verify_candidates
from stbench.warp import warp_keypoints

WIDTH, HEIGHT, FOCAL = 640, 480, 500.0
WALL_Z, FLOOR_Y = 24.0, 4.0
SPACING = 0.3  # metres between consecutive cameras along the wall


def cameras(n_views: int, seed: int = 0):
    """K (N,3,3), R (N,3,3), t (N,3) of cameras moving along x, looking at the wall."""
    rng = np.random.default_rng(seed)
    K = np.tile(
        np.array([[FOCAL, 0, WIDTH / 2 - 0.5], [0, FOCAL, HEIGHT / 2 - 0.5], [0, 0, 1]]),
        (n_views, 1, 1),
    )
    K[:, 0, 0] *= rng.uniform(0.8, 1.4, n_views)  # zoom: scale changes
    K[:, 1, 1] = K[:, 0, 0]
    yaw = np.radians(rng.uniform(-15, 15, n_views))
    pitch = np.radians(rng.uniform(-12, 0, n_views))
    centers = np.c_[
        np.arange(n_views) * SPACING, rng.uniform(-1, 1, n_views), rng.uniform(0, 8, n_views)
    ]
    R = np.empty((n_views, 3, 3))
    for k in range(n_views):
        cy, sy, cp, sp_ = np.cos(yaw[k]), np.sin(yaw[k]), np.cos(pitch[k]), np.sin(pitch[k])
        ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
        rx = np.array([[1, 0, 0], [0, cp, -sp_], [0, sp_, cp]])
        R[k] = (ry @ rx).T
    t = -np.einsum("nij,nj->ni", R, centers)
    return K, R, t, centers


def render_depth(K, R, t) -> np.ndarray:
    """(H, W) z-depth of the wall z = WALL_Z and the floor y = FLOOR_Y (nearest hit)."""
    x = ((np.arange(WIDTH, dtype=np.float32) - K[0, 2]) / K[0, 0])[None, :]
    y = ((np.arange(HEIGHT, dtype=np.float32) - K[1, 2]) / K[1, 1])[:, None]
    Rt = R.T.astype(np.float32)  # world direction of the ray (x, y, 1) in camera coordinates
    dir_y = Rt[1, 0] * x + Rt[1, 1] * y + Rt[1, 2]
    dir_z = Rt[2, 0] * x + Rt[2, 1] * y + Rt[2, 2]
    center = (-R.T @ t).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_wall = (WALL_Z - center[2]) / dir_z
        t_floor = (FLOOR_Y - center[1]) / dir_y
    t_wall[~(t_wall > 0)] = np.inf
    t_floor[~(t_floor > 0) | (center[2] + t_floor * dir_z > WALL_Z)] = np.inf
    depth = np.minimum(t_wall, t_floor)  # ray parameter = z-depth since the ray's z is 1
    return np.where(np.isfinite(depth), depth, 0).astype(np.float32)


def sfm_points(n_views: int, seed: int = 1) -> np.ndarray:
    """3D points on the wall and floor, ~6 per square metre over the covered stretch."""
    rng = np.random.default_rng(seed)
    length = n_views * SPACING + 40
    n_wall, n_floor = int(6 * length * 16), int(6 * length * 10)
    wall = np.c_[
        rng.uniform(-20, length - 20, n_wall),
        rng.uniform(-12, FLOOR_Y, n_wall),
        np.full(n_wall, WALL_Z),
    ]
    floor = np.c_[
        rng.uniform(-20, length - 20, n_floor),
        np.full(n_floor, FLOOR_Y),
        rng.uniform(8, WALL_Z, n_floor),
    ]
    return np.concatenate([wall, floor])


#: Share of visible points an image observes (matched features): gives SfM-like mean track
#: lengths of ~15 views instead of every view that could see the point (~100 here).
OBSERVED = 0.15


def incidence(points, K, R, t, centers, seed=2) -> sp.csr_matrix:
    """Image x point incidence: a point is observed where it projects inside the image."""
    rng = np.random.default_rng(seed)
    order = np.argsort(points[:, 0])
    sorted_x = points[order, 0]
    rows, cols = [], []
    for k in range(len(K)):
        lo, hi = np.searchsorted(sorted_x, [centers[k, 0] - 45, centers[k, 0] + 45])
        idx = order[lo:hi]
        cam = points[idx] @ R[k].T + t[k]
        uv = cam @ K[k].T
        with np.errstate(divide="ignore", invalid="ignore"):
            u, v = uv[:, 0] / uv[:, 2], uv[:, 1] / uv[:, 2]
        seen = (cam[:, 2] > 0) & (u >= 0) & (u < WIDTH) & (v >= 0) & (v < HEIGHT)
        seen &= rng.random(len(idx)) < OBSERVED
        rows.append(np.full(seen.sum(), k))
        cols.append(idx[seen])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(K), len(points)))


def candidates_for(n_views: int, config: MegaDepthConfig):
    K, R, t, centers = cameras(n_views)
    points = sfm_points(n_views)
    A = incidence(points, K, R, t, centers)
    start, cpu_start = time.perf_counter(), time.process_time()
    pairs = candidate_pairs(
        A, points, R, t, focal=K[:, 0, 0],
        min_shared_points=config.min_shared_points, min_covis_overlap=config.min_covis_overlap,
    )  # fmt: skip
    return pairs, (time.perf_counter() - start, time.process_time() - cpu_start), A


def baseline(files, K, R, t, pairs, n_pairs, samples, tau, seed=0):
    """Per pair: reload both maps, full resolution, sample, warp both ways (no batching)."""
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(pairs.index0), size=min(n_pairs, len(pairs.index0)), replace=False)
    overlaps = []
    start, cpu_start = time.perf_counter(), time.process_time()
    for e in chosen:
        i, j = int(pairs.index0[e]), int(pairs.index1[e])
        depth_i = read_depth(files[i]).depth
        depth_j = read_depth(files[j]).depth
        result = []
        for a, b, depth_a, depth_b in ((i, j, depth_i, depth_j), (j, i, depth_j, depth_i)):
            ys, xs = np.nonzero(depth_a > 0)
            pick = rng.choice(len(xs), size=min(samples, len(xs)), replace=False)
            kpts = np.stack([xs[pick], ys[pick]], 1).astype(np.float64)
            _, valid, consistent = warp_keypoints(
                kpts, depth_a, K[a], R[a], t[a], depth_b, K[b], R[b], t[b], tau=tau
            )
            result.append(consistent.sum() / max(1, valid.sum()))
        overlaps.append(result)
    seconds = (time.perf_counter() - start, time.process_time() - cpu_start)
    return len(chosen), seconds, chosen, np.array(overlaps)


def ours(files, K, R, t, pairs, config, workers):
    names = [f"img_{k:05d}.jpg" for k in range(len(files))]
    wall0, cpu0 = time.perf_counter(), time.process_time()
    load = DepthLoad(files=list(files), sizes=[(WIDTH, HEIGHT)] * len(files))
    cache = load_depth_cache(load, names, K, R, t, config, workers)
    wall1, cpu1 = time.perf_counter(), time.process_time()
    verified = verify_candidates(pairs, names, "bench", cache, R, t, config, workers=workers)
    wall2, cpu2 = time.perf_counter(), time.process_time()
    return cache, verified, (wall1 - wall0, cpu1 - cpu0), (wall2 - wall1, cpu2 - cpu1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=500)
    parser.add_argument("--samples", type=int, default=1024)
    parser.add_argument("--baseline-pairs", type=int, default=150)
    parser.add_argument("--workers", type=int, default=1, help="threads (load and verify)")
    parser.add_argument("--scaling", default="500,1000,2000", help="views for candidate timing")
    args = parser.parse_args()
    config = MegaDepthConfig(samples_per_direction=args.samples, timestamps=False)

    print("== candidate generation (sparse co-visibility) ==")
    for n in [int(v) for v in args.scaling.split(",")]:
        pairs, (seconds, cpu_seconds), A = candidates_for(n, config)
        track = A.nnz / max(1, np.count_nonzero(A.getnnz(axis=0)))
        print(
            f"views={n:5d} observations={A.nnz:8d} (mean track {track:4.1f}) "
            f"candidates={len(pairs):7d} "
            f"time={seconds:6.3f}s wall {cpu_seconds:6.3f}s cpu "
            f"({1e6 * cpu_seconds / max(1, len(pairs)):.2f} cpu-us/candidate)"
        )

    K, R, t, _ = cameras(args.views)
    pairs, (cand_seconds, cand_cpu), _ = candidates_for(args.views, config)
    with tempfile.TemporaryDirectory(prefix="stbench_pair_mining_") as tmp:
        start = time.perf_counter()
        files = []
        for k in range(args.views):
            path = Path(tmp) / f"img_{k:05d}.h5"
            with h5py.File(path, "w") as handle:
                handle.create_dataset("depth", data=render_depth(K[k], R[k], t[k]))
            files.append(path)
        print(
            f"\n== scene: {args.views} views, depth {WIDTH}x{HEIGHT}, {len(pairs)} candidates, "
            f"{args.samples} samples/direction (written in {time.perf_counter() - start:.1f}s) =="
        )

        cache, verified, (load_wall, load_cpu), (ver_wall, ver_cpu) = ours(
            files, K, R, t, pairs, config, args.workers
        )
        total_wall = load_wall + ver_wall + cand_seconds
        total_cpu = load_cpu + ver_cpu + cand_cpu
        n = len(pairs)
        print(
            f"stbench : load+sample {load_wall:6.2f}s wall ({load_cpu:6.2f}s cpu), "
            f"verify {ver_wall:6.2f}s wall ({ver_cpu:6.2f}s cpu), candidates {cand_seconds:.2f}s"
        )
        print(
            f"stbench : {n / total_wall:9.0f} verified pairs/s end to end (wall), "
            f"{n / ver_wall:9.0f} pairs/s verification only; per CPU-second: "
            f"{n / total_cpu:9.0f} / {n / ver_cpu:9.0f}"
        )
        print(
            f"stbench : {len(verified.rows)} pairs kept, {len(verified.rejects)} rejected; "
            f"cache {cache.flat.nbytes / 2**20:.0f} MiB depth + "
            f"{cache.samples_world.nbytes / 2**20:.0f} MiB samples"
        )

        m, (base_wall, base_cpu), chosen, base_overlap = baseline(
            files, K, R, t, pairs, args.baseline_pairs, args.samples, config.tau
        )
        print(
            f"baseline: {m} pairs in {base_wall:.2f}s wall ({base_cpu:.2f}s cpu) = "
            f"{m / base_wall:7.1f} pairs/s wall, {m / base_cpu:7.1f} per CPU-second "
            "(reload both .h5 per pair, full resolution, no batching)"
        )
        print(
            f"speed-up: {n / total_wall / (m / base_wall):6.1f}x end to end (wall), "
            f"{n / total_cpu / (m / base_cpu):6.1f}x end to end (CPU), "
            f"{n / ver_cpu / (m / base_cpu):6.1f}x verification only (CPU)"
        )

        # agreement of the two estimates of the same quantity on the baseline's pairs
        ids = {r["pair_id"]: r for r in verified.rows}
        diffs = []
        for e, (o01, o10) in zip(chosen, base_overlap, strict=True):
            a, b = f"img_{pairs.index0[e]:05d}.jpg", f"img_{pairs.index1[e]:05d}.jpg"
            row = ids.get(f"{a}|{b}")
            if row is not None:
                diffs += [row["depth_overlap_01"] - o01, row["depth_overlap_10"] - o10]
        if diffs:
            print(
                f"agreement: mean |stbench - baseline| depth overlap = {np.mean(np.abs(diffs)):.4f} "
                f"over {len(diffs) // 2} kept pairs"
            )

        tracemalloc.start()
        ours(files, K, R, t, pairs, config, args.workers)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"memory  : peak traced during load+verify {peak / 2**20:.0f} MiB; "
            f"process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
        )


if __name__ == "__main__":
    main()
