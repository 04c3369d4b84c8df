"""Pair mining on a dense scene: stbench vs a D2-Net-style peer vs a fair cached baseline.

On the ``large`` preset's dense scene (``5003``: one town, 240-320 px views; built once and cached
by ``benchmarks/dense_scene.py``), for each number of views:

- **stbench**: ``stbench.megadepth.index_scene`` end to end (read the COLMAP model, sparse
  co-visibility candidates, read every depth map once, batched depth verification of every
  candidate in both directions), timestamps off;
- **peer**: a clean reimplementation of D2-Net's published ``preprocess_scene.py`` algorithm:
  parse the text model in pure Python, then for *all* pairs the co-visibility overlap (set
  intersection of 3D point ids) and the minimum scale ratio over shared points. No depth check.
- **fair**: the same model reading, candidates and depth cache (working maps and samples) as
  stbench, then a vectorised numpy warp per pair and direction (``tests/megadepth/numpy_check.py``,
  the check stbench ran before its compiled kernel; no batching over partners). Its check loop
  is also printed alone against stbench's verification (``verify_candidates``, 1 thread,
  records included) on the same candidates and cache: the comparison issue #18 quotes "for
  verification".

The peer and the fair baseline are slow; by default each is timed on random whole rows of its
loop (an image and all its pairs, ~20,000 and ~3,000 pairs) and its loop time extrapolated
linearly to all pairs (printed as ``~``); ``--full`` runs them completely. Each way is timed in
CPU seconds of this process (``time.process_time``: on a shared machine the wall clock also
counts the time other processes hold the cores) and stbench also in wall seconds; prints the
times, the ratios (CPU), and the growth exponent (time ~ views^k), with the date and
``uptime``'s load before and after. stbench's time is the median of ``--repeat`` runs (default
3: back-to-back runs of the same scene differ by 10-15 % here), after an untimed warm-up that
pays the process's one-off imports and numba compiles (printed; ~3 CPU s, which a first
``stbench index`` in a fresh process pays once); the peer and the fair baseline run once.

With ``--workers N`` (default 2) stbench runs a second time with N threads (pair sums, depth
maps, image checks and the depth check split between them); that run's records are checked equal to the
single-threaded ones, and its wall seconds are printed against the peer's (single-threaded, as
D2-Net publishes it): the time a user waits on a machine with N cores.

Run:  PYTHONPATH=. nice python benchmarks/pair_mining.py [--views 250,500,1000] [--full]
      [--workers 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "megadepth"))

from dense_scene import SCENE, scene_root
from numpy_check import count_block  # the numpy check stbench used before its compiled kernel

from stbench.megadepth.config import MegaDepthConfig
from stbench.megadepth.covis import candidate_pairs
from stbench.megadepth.index import index_scene
from stbench.megadepth.model import read_component_model
from stbench.megadepth.pairs import DepthLoad, load_depth_cache
from stbench.megadepth.verify import projection_matrices


def text_model(root: Path) -> Path:
    """The scene's model as COLMAP text files (the layout D2-Net reads), written once."""
    import pycolmap

    model = root / "MegaDepth_v1_SfM" / SCENE.scene / "sparse" / "manhattan" / "0"
    out = root / "text_model"
    if not (out / "points3D.txt").is_file():
        out.mkdir(parents=True, exist_ok=True)
        pycolmap.Reconstruction(str(model)).write_text(str(out))
    return out


def sampled_rows(pairs_per_row: np.ndarray, sample: int, rng) -> np.ndarray:
    """Random whole rows (image i and all its pairs, in the order a full loop visits them)
    until they hold at least ``sample`` pairs, in increasing order.

    Whole rows keep the full loop's memory locality (the row's image stays in the CPU caches):
    random single pairs each miss it, which made the extrapolated peer and fair times 10-15 %
    slower than complete runs (2026-12-06: 149.5 s sampled vs 130.0 s complete for the peer at
    1,000 views, 53.6 vs 48.2 s for the fair baseline)."""
    order = rng.permutation(len(pairs_per_row))
    take = np.searchsorted(np.cumsum(pairs_per_row[order]), sample) + 1
    return np.sort(order[:take])


# ---- peer: D2-Net's algorithm (co-visibility overlap and scale ratio of all pairs) ----------


def peer_parse(model: Path) -> tuple[list[dict], list[int]]:
    """Per image {3D point id: focal-normalised depth}, parsed from text as D2-Net does."""
    focal = {}
    for line in (model / "cameras.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split()
        params = [float(v) for v in fields[4:]]
        focal[int(fields[0])] = params[0] if fields[1] == "SIMPLE_PINHOLE" else (
            (params[0] + params[1]) / 2
        )  # fmt: skip
    xyz = {}
    for line in (model / "points3D.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split()
        xyz[int(fields[0])] = np.array([float(v) for v in fields[1:4]])
    lines = [ln for ln in (model / "images.txt").read_text().splitlines() if not ln.startswith("#")]
    ndepths, ids = [], []
    for header, points in zip(lines[0::2], lines[1::2], strict=True):
        fields = header.split()
        qw, qx, qy, qz = (float(v) for v in fields[1:5])
        t = np.array([float(v) for v in fields[5:8]])
        R = np.array([
            [1 - 2 * (qy * qy + qz * qz), 2 * (qx * qy - qw * qz), 2 * (qx * qz + qw * qy)],
            [2 * (qx * qy + qw * qz), 1 - 2 * (qx * qx + qz * qz), 2 * (qy * qz - qw * qx)],
            [2 * (qx * qz - qw * qy), 2 * (qy * qz + qw * qx), 1 - 2 * (qx * qx + qy * qy)],
        ])  # fmt: skip
        f = focal[int(fields[8])]
        entries = points.split()
        depth_of = {}
        for k in range(2, len(entries), 3):
            point_id = int(entries[k])
            if point_id == -1 or point_id not in xyz:
                continue
            depth_of[point_id] = (R[2] @ xyz[point_id] + t[2]) / f
        ndepths.append(depth_of)
        ids.append(int(fields[0]))
    return ndepths, ids


def peer_pairs(ndepths: list[dict], pairs: list[tuple[int, int]]) -> int:
    """Overlap (both ways) and minimum scale ratio of ``pairs``, one at a time; returns a checksum."""
    overlap = {}
    scale = {}
    for i, j in pairs:
        shared = ndepths[i].keys() & ndepths[j].keys()
        overlap[i, j] = len(shared) / max(1, len(ndepths[i]))
        overlap[j, i] = len(shared) / max(1, len(ndepths[j]))
        if not shared:
            continue
        d1 = np.array([ndepths[i][p] for p in shared])
        d2 = np.array([ndepths[j][p] for p in shared])
        scale[i, j] = np.min(np.maximum(d1 / d2, d2 / d1))
    return len(scale)


def run_peer(root: Path, sample: int | None, rng) -> tuple[float, float, bool]:
    """CPU and wall seconds of the peer (its pair loop extrapolated from ``sample`` pairs)."""
    model = text_model(root)
    start, wall = time.process_time(), time.perf_counter()
    ndepths, _ = peer_parse(model)
    parse_s, parse_wall = time.process_time() - start, time.perf_counter() - wall
    n = len(ndepths)
    all_pairs = n * (n - 1) // 2
    if sample is None or sample >= all_pairs:
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
        start, wall = time.process_time(), time.perf_counter()
        peer_pairs(ndepths, pairs)
        return (
            parse_s + time.process_time() - start,
            parse_wall + time.perf_counter() - wall,
            False,
        )
    rows = sampled_rows(np.arange(n - 1, -1, -1), sample, rng)  # row i has n - 1 - i pairs
    i = np.repeat(rows, n - 1 - rows)
    j = np.concatenate([np.arange(r + 1, n) for r in rows.tolist()])
    sample = len(i)
    start, wall = time.process_time(), time.perf_counter()
    peer_pairs(ndepths, list(zip(i.tolist(), j.tolist(), strict=True)))
    scale = all_pairs / sample
    return (
        parse_s + (time.process_time() - start) * scale,
        parse_wall + (time.perf_counter() - wall) * scale,
        True,
    )


# ---- fair cached baseline -----------------------------------------------------------------


def run_fair(
    root: Path, config: MegaDepthConfig, sample: int | None, rng
) -> tuple[float, float, float, bool]:
    """CPU seconds of the fair baseline end to end and of its check loop alone (extrapolated
    from ``sample`` pairs), and of stbench's verification (``verify_candidates``, 1 thread) on
    the same candidates and depth cache."""
    from stbench.megadepth.layout import find_components
    from stbench.megadepth.pairs import verify_candidates

    start = time.process_time()
    component = find_components(root, SCENE.scene)[0]
    model = read_component_model(component.model_dir)
    rotations = model.rotations()
    candidates = candidate_pairs(
        model.incidence, model.points_xyz, rotations, model.tvec,
        focal=(model.K[:, 0, 0] + model.K[:, 1, 1]) / 2,
        min_shared_points=config.min_shared_points, min_covis_overlap=config.min_covis_overlap,
    )  # fmt: skip
    depth_dir = component.dense_dir / "depths"
    files = [depth_dir / f"{Path(name).stem}.h5" for name in model.names]
    load = DepthLoad(
        files=[f if f.is_file() else None for f in files],
        sizes=list(zip(model.width.tolist(), model.height.tolist(), strict=True)),
    )
    cache = load_depth_cache(load, model.names, model.K, rotations, model.tvec, config)
    projections = projection_matrices(cache.K, rotations, model.tvec)
    setup_s = time.process_time() - start
    start = time.process_time()
    verify_candidates(candidates, model.names, SCENE.scene, cache, rotations, model.tvec, config)
    verify_s = time.process_time() - start
    edges = np.flatnonzero(cache.usable[candidates.index0] & cache.usable[candidates.index1])
    chosen = edges  # sorted by (i, j), as stbench's candidates come
    if sample is not None and sample < len(edges):
        per_row = np.bincount(candidates.index0[edges], minlength=len(model.names))
        rows = sampled_rows(per_row, sample, rng)
        chosen = edges[np.isin(candidates.index0[edges], rows)]
    start = time.process_time()
    for e in chosen:
        i, j = int(candidates.index0[e]), int(candidates.index1[e])
        for a, b in ((i, j), (j, i)):
            _, world = cache.samples(a)
            count_block(world, projections[b][None], cache, np.array([b]), config.tau)
    loop_s = (time.process_time() - start) * len(edges) / max(1, len(chosen))
    return setup_s + loop_s, loop_s, verify_s, len(chosen) < len(edges)


def run_stbench(root: Path, config: MegaDepthConfig, workers: int = 1, repeat: int = 1):
    """Median CPU and wall seconds of ``repeat`` runs of ``index_scene`` with ``workers``
    threads, and the records of the last (all runs give the same records)."""
    cpus, walls = [], []
    for _ in range(max(1, repeat)):
        wall, cpu = time.perf_counter(), time.process_time()
        records = index_scene(root, SCENE.scene, config, workers=workers)
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return float(np.median(cpus)), float(np.median(walls)), records


def same_records(a, b) -> bool:
    """Whether two ``index_scene`` results hold equal images, pairs and rejects (dtypes too)."""
    import pandas as pd

    try:
        for name in ("images", "pairs", "rejects"):
            pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    except AssertionError:
        return False
    return True


def uptime() -> str:
    """``uptime``'s line (load averages over 1, 5, 15 minutes)."""
    import subprocess

    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "load average: " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", default="250,500,1000")
    parser.add_argument("--peer-sample", type=int, default=20000, help="pairs timed (peer)")
    parser.add_argument("--fair-sample", type=int, default=3000, help="pairs timed (fair)")
    parser.add_argument("--full", action="store_true", help="time every pair of peer and fair")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of stbench per row (the median is printed)"
    )
    parser.add_argument(
        "--workers", type=int, default=2,
        help="threads of stbench's second, wall-clock run (1: no second run)",
    )  # fmt: skip
    args = parser.parse_args()
    config = MegaDepthConfig(timestamps=False)
    views = [int(v) for v in args.views.split(",")]
    roots = {n: scene_root(n) for n in views}  # builds the cached scene once (not timed)
    for n in views:
        text_model(roots[n])
    rng = np.random.default_rng(0)
    run_start = time.perf_counter()
    print(
        f"date {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, OMP_NUM_THREADS="
        f"{os.environ.get('OMP_NUM_THREADS', 'unset')}, 1 worker; uptime: {uptime()}"
    )
    # the process's one-off imports and numba compiles (both thread paths), not in the rows below
    warm_cpu = time.process_time()
    for workers in sorted({1, args.workers}):
        index_scene(roots[min(views)], SCENE.scene, config, workers=workers)
    print(
        f"warm-up (imports and numba compiles, then one index of {min(views)} views with 1 and"
        f" {args.workers} threads; not in the rows): {time.process_time() - warm_cpu:.1f} CPU s"
    )
    print(
        f"CPU seconds (wall seconds of stbench in brackets; stbench: median of {args.repeat}"
        " runs); ~ = extrapolated from a sample"
    )
    print(f"{'views':>5} {'pairs':>7} {'rejected':>8} {'stbench':>9} {'(wall)':>8} {'peer':>10}"
          f" {'fair':>10} {'peer/stb':>8} {'fair/stb':>8} {'load':>5}")  # fmt: skip
    times: dict[str, list[float]] = {"stbench": [], "peer": [], "fair": []}
    walls, checks = [], []
    for n in views:
        stb, stb_wall, records = run_stbench(roots[n], config, 1, args.repeat)
        n_pairs = len(records.pairs)
        n_rejected = int((records.rejects["reason"] == "depth_overlap_low").sum())
        if args.workers > 1:
            _, threaded_wall, threaded = run_stbench(roots[n], config, args.workers, args.repeat)
            if not same_records(records, threaded):
                raise SystemExit(f"{n} views: {args.workers} threads changed the records")
        peer, peer_wall, peer_est = run_peer(roots[n], None if args.full else args.peer_sample, rng)
        fair, fair_loop, stb_verify, fair_est = run_fair(
            roots[n], config, None if args.full else args.fair_sample, rng
        )
        checks.append((n, stb_verify, fair_loop, fair_est))
        times["stbench"].append(stb)
        times["peer"].append(peer)
        times["fair"].append(fair)
        print(
            f"{n:5d} {n_pairs:7d} {n_rejected:8d} {stb:8.1f}s ({stb_wall:5.1f}s)"
            f" {'~' if peer_est else ' '}{peer:8.1f}s"
            f" {'~' if fair_est else ' '}{fair:8.1f}s {peer / stb:7.1f}x {fair / stb:7.1f}x"
            f" {os.getloadavg()[0]:5.2f}"
        )
        if args.workers > 1:
            walls.append((n, stb_wall, threaded_wall, peer_wall, peer_est))
    if walls:
        print(
            f"wall seconds: stbench with 1 and {args.workers} threads (same records, checked),"
            " the peer (single-threaded, as published)"
        )
        print(f"{'views':>5} {'1 thread':>9} {f'{args.workers} threads':>10} {'peer':>10}"
              f" {'peer/stb':>8}")  # fmt: skip
        for n, one, threaded_wall, peer_wall, peer_est in walls:
            print(
                f"{n:5d} {one:8.1f}s {threaded_wall:9.1f}s {'~' if peer_est else ' '}"
                f"{peer_wall:8.1f}s {peer_wall / threaded_wall:7.1f}x"
            )
    print(
        "verification alone, CPU seconds on the same candidates and depth cache: stbench's"
        " verify_candidates (1 thread, records included) and the fair baseline's check loop"
    )
    print(f"{'views':>5} {'stbench':>9} {'fair':>10} {'fair/stb':>8}")
    for n, stb_verify, fair_loop, fair_est in checks:
        print(
            f"{n:5d} {stb_verify:8.1f}s {'~' if fair_est else ' '}{fair_loop:8.1f}s"
            f" {fair_loop / stb_verify:7.1f}x"
        )
    if len(views) > 1:
        growth = {
            name: np.polyfit(np.log(views), np.log(values), 1)[0] for name, values in times.items()
        }
        print(
            "growth exponent (time ~ views^k): "
            + ", ".join(f"{k} {v:.2f}" for k, v in growth.items())
        )
    print(f"run took {time.perf_counter() - run_start:.0f} s wall; uptime: {uptime()}")


if __name__ == "__main__":
    main()
