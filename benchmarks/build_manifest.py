"""Benchmark of ``build-manifest`` and of reading manifests.

Measures, in one run:

1. the end-to-end build of the embedded synthetic world (``--preset default``; ``--large`` adds
   the ``large`` preset), split by stage (list / index / assemble / write), with the peak
   memory of the build process (and its workers); the world itself is generated first if
   missing (timed separately, not part of the build);
2. Parquet bytes per pair of the built manifest;
3. the assembly at scale without rendering: in-memory index records of ``--scale-scenes``
   MegaDepth-like scenes (1000 images, 20k verified pairs each) and ``--scale-cameras`` webcams
   (4000 frames each) through the same build, split by stage, with peak memory;
4. a synthetic 1M-pair pairs table: bytes per pair and the time to read it with pyarrow,
   pandas, Polars and DuckDB, against a CSV of the same rows read with pandas (the baseline
   of the ratios), flat and hive-partitioned.

Run (about two minutes once the world exists)::

    nice python benchmarks/build_manifest.py [--preset default] [--large] [--pairs 1000000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def _peak_rss_mib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024.0


def _build_child(preset: str, out: str, workers: int, queue) -> None:
    from stbench.manifest.build import BuildOptions, run_build
    from stbench.manifest.config import BuildConfig

    start = time.perf_counter()
    report = run_build(
        BuildConfig(synthetic_preset=preset), out, BuildOptions(overwrite=True, workers=workers)
    )
    queue.put(
        dict(
            total=time.perf_counter() - start,
            stages=report.stage_seconds,
            counts=report.meta["counts"],
            peak_mib=_peak_rss_mib(),
            failed=report.failed,
            content_hash=report.meta["content_hash"],
        )
    )


def bench_build(preset: str, workers: int) -> dict:
    """Generate the world if needed, then build its manifest in a fresh process."""
    from stbench.synth import WorldConfig, ensure_world

    start = time.perf_counter()
    world = ensure_world(WorldConfig(preset, 0))
    world_seconds = time.perf_counter() - start
    out = Path(tempfile.mkdtemp(prefix=f"stbench-bench-{preset}-")) / "manifest"
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_build_child, args=(preset, str(out), workers, queue))
    child.start()
    result = queue.get()
    child.join()
    pairs_bytes = sum(p.stat().st_size for p in out.glob("pairs*") if p.is_file())
    pairs_bytes += sum(p.stat().st_size for p in out.glob("pairs/**/*.parquet"))
    result.update(world=str(world), world_seconds=world_seconds, pairs_bytes=pairs_bytes, out=out)
    return result


def _scale_list(root: Path) -> list[str]:
    kind, count = Path(root).name.split("-")
    width = 4 if kind == "md" else 8
    return [f"{9000 + i if kind == 'md' else i:0{width}d}" for i in range(int(count))]


def _scale_scene(root: Path, scene: str, config: dict):
    """Index records of a MegaDepth-like scene: 1000 images, 20k verified pairs."""
    from stbench.records import Records
    from stbench.schema import make_pair_id

    rng = np.random.default_rng(int(scene))
    n, m = 1000, 20_000
    names = [f"{scene}_{i:06d}_abcdef_o.jpg" for i in range(n)]
    ids = np.array([f"megadepth/{scene}/{name}" for name in names], dtype=object)
    trusted = rng.random(n) < 0.3
    images = pd.DataFrame(
        {
            "image_id": ids,
            "source": "megadepth",
            "dataset": "MegaDepth_v1",
            "scene": scene,
            "path": [f"MegaDepth_v1/{scene}/dense0/imgs/{name}" for name in names],
            "width": 1600,
            "height": 1200,
            "fx": 1200.0,
            "fy": 1200.0,
            "cx": 799.5,
            "cy": 599.5,
            "qw": 1.0,
            "qx": 0.0,
            "qy": 0.0,
            "qz": 0.0,
            "tx": 0.0,
            "ty": 0.0,
            "tz": 0.0,
            "depth_path": [f"MegaDepth_v1/{scene}/dense0/depths/{name[:-4]}.h5" for name in names],
            "depth_kind": "metric",
            "lat": 45.0,
            "lon": 7.0,
            "timestamp_utc": pd.Timestamp("2015-01-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 3e8, n), unit="s"),
            "utc_offset_min": 60,
            "timestamp_source": "exif_offset",
            "timestamp_trust": np.where(trusted, 0.85, 0.3).astype(np.float32),
        }
    )
    a = rng.integers(0, n, m)
    b = (a + rng.integers(1, n, m)) % n
    pairs = pd.DataFrame({"image_id0": ids[np.minimum(a, b)], "image_id1": ids[np.maximum(a, b)]})
    pairs = pairs.drop_duplicates().reset_index(drop=True)
    k = len(pairs)
    overlap = rng.uniform(0.05, 1.0, (k, 2)).astype(np.float32)
    pairs["pair_id"] = [
        make_pair_id(x, y) for x, y in zip(pairs.image_id0, pairs.image_id1, strict=True)
    ]
    pairs = pairs.assign(
        scene=scene,
        kind="spatial",
        covis_overlap_01=overlap[:, 0],
        covis_overlap_10=overlap[:, 1],
        depth_overlap_01=overlap[:, 0],
        depth_overlap_10=overlap[:, 1],
        n_consistent=rng.integers(16, 1024, k),
        scale_ratio=np.float32(1.2),
        view_angle_deg=np.float32(20.0),
    )
    return Records(images=images, pairs=pairs)


def _scale_camera(root: Path, camera: str, config: dict):
    """Index records of a webcam: 4000 frames every 2 h 11 min, 10 % untrusted."""
    from stbench.records import Records

    rng = np.random.default_rng(int(camera))
    n = 4000
    times = pd.Timestamp("2019-01-01", tz="UTC") + pd.to_timedelta(np.arange(n) * 131, unit="min")
    members = times.strftime("%Y%m%d_%H%M%S.jpg")
    images = pd.DataFrame(
        {
            "image_id": [f"webcam/{camera}/{m}" for m in members],
            "source": "webcam",
            "dataset": "AMOS",
            "scene": camera,
            "path": [f"{camera}/{t:%Y.%m}.zip/{m}" for t, m in zip(times, members, strict=True)],
            "width": 320,
            "height": 240,
            "lat": 40.0,
            "lon": -75.0,
            "timestamp_utc": times,
            "utc_offset_min": -300,
            "timestamp_source": "filename_utc+solar",
            "timestamp_trust": np.where(rng.random(n) < 0.9, 0.9, 0.2).astype(np.float32),
            "clock_offset_s": 0.0,
        }
    )
    return Records(images=images)


def bench_scale(n_scenes: int, n_cameras: int) -> dict:
    """The build at scale on in-memory records (no files, no rendering)."""
    from stbench.manifest.build import BuildOptions, run_build
    from stbench.manifest.config import BuildConfig
    from stbench.manifest.sources import SourceSpec

    base = Path(tempfile.mkdtemp(prefix="stbench-bench-scale-"))
    md, wc = base / f"md-{n_scenes}", base / f"wc-{n_cameras}"
    md.mkdir()
    wc.mkdir()
    sources = {
        "megadepth": SourceSpec("megadepth", _scale_list, _scale_scene, None, lambda r, u: []),
        "webcam": SourceSpec("webcam", _scale_list, _scale_camera, None, lambda r, u: []),
    }
    config = BuildConfig(megadepth_root=str(md), webcam_root=str(wc))
    start = time.perf_counter()
    report = run_build(config, base / "manifest", BuildOptions(sources=sources))
    total = time.perf_counter() - start
    size = sum(p.stat().st_size for p in (base / "manifest").glob("pairs*") if p.is_file())
    shutil.rmtree(base, ignore_errors=True)
    return dict(
        total=total,
        stages=report.stage_seconds,
        counts=report.meta["counts"],
        peak_mib=_peak_rss_mib(),
        pairs_bytes=size,
    )


def synthetic_pairs(n_pairs: int, seed: int = 0) -> pa.Table:
    """A pairs table shaped like a MegaDepth-scale manifest (200 scenes, ~2000 images each)."""
    from stbench.manifest.io import sort_canonical
    from stbench.schema import PAIRS_SCHEMA, to_table
    from stbench.spans import SPANS

    rng = np.random.default_rng(seed)
    scenes = np.array([f"{s:04d}" for s in rng.choice(10000, 200, replace=False)])
    scene = scenes[rng.integers(0, len(scenes), n_pairs)]
    a = rng.integers(0, 2000, n_pairs)
    b = (a + rng.integers(1, 1999, n_pairs)) % 2000
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    prefix = pd.Series(scene).radd("megadepth/") + "/"
    id0 = prefix + pd.Series(lo).map("{:010d}_a1b2c3d4e5_o.jpg".format)
    id1 = prefix + pd.Series(hi).map("{:010d}_a1b2c3d4e5_o.jpg".format)
    overlap = rng.uniform(0.1, 1.0, (n_pairs, 2)).astype(np.float32)
    trusted = rng.random(n_pairs) < 0.2
    frame = pd.DataFrame(
        {
            "pair_id": id0 + "|" + id1,
            "image_id0": id0,
            "image_id1": id1,
            "scene": scene,
            "kind": np.where(trusted, "spatiotemporal", "spatial"),
            "covis_overlap_01": overlap[:, 0],
            "covis_overlap_10": overlap[:, 1],
            "depth_overlap_01": overlap[:, 0],
            "depth_overlap_10": overlap[:, 1],
            "n_consistent": rng.integers(16, 1024, n_pairs).astype(np.int32),
            "scale_ratio": rng.uniform(1, 3, n_pairs).astype(np.float32),
            "view_angle_deg": rng.uniform(0, 60, n_pairs).astype(np.float32),
            "dt_seconds": np.where(trusted, rng.normal(0, 3e7, n_pairs), np.nan),
            "split": np.where(np.isin(scene, scenes[:2]), "test", "train"),
            "overlap_bin": pd.cut(
                overlap.min(1),
                [0.1, 0.3, 0.5, 0.7, 1.0],
                right=False,
                labels=["0.1-0.3", "0.3-0.5", "0.5-0.7", "0.7-1.0"],
            ).astype(str),
        }
    )
    for name in SPANS:
        frame[f"same_{name}"] = pd.array(
            np.where(trusted, rng.random(n_pairs) < 0.5, None), dtype="boolean"
        )
    frame = frame.drop_duplicates("pair_id")
    return sort_canonical(to_table(frame, PAIRS_SCHEMA), "pairs")


def _best_of(function, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def _best_cpu(function, repeats: int = 3) -> float:
    """CPU seconds of this process (less sensitive than wall time to other load)."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        function()
        times.append(time.process_time() - start)
    return min(times)


def bench_read(n_pairs: int) -> dict:
    """Bytes per pair and read times of a synthetic pairs table, flat and partitioned."""
    import duckdb
    import polars as pl
    import pyarrow.dataset as ds

    from stbench.manifest.io import read_arrow_table
    from stbench.manifest.write import write_table

    table = synthetic_pairs(n_pairs)
    directory = Path(tempfile.mkdtemp(prefix="stbench-bench-read-"))
    flat_dir, hive_dir = directory / "flat", directory / "hive"
    flat_dir.mkdir()
    hive_dir.mkdir()
    write_table(table, flat_dir, "pairs", partition_min_rows=table.num_rows)
    write_table(table, hive_dir, "pairs", partition_min_rows=1)
    flat = flat_dir / "pairs.parquet"
    csv = directory / "pairs.csv"
    table.drop_columns([]).to_pandas().to_csv(csv, index=False)
    partitioning = ds.partitioning(pa.schema([("scene", pa.string())]), flavor="hive")
    results = {
        "rows": table.num_rows,
        "parquet_bytes_per_pair": flat.stat().st_size / table.num_rows,
        "csv_bytes_per_pair": csv.stat().st_size / table.num_rows,
        "pyarrow": _best_of(lambda: pq.read_table(flat)),
        "pandas": _best_of(lambda: pd.read_parquet(flat)),
        "polars": _best_of(lambda: pl.read_parquet(flat)),
        "duckdb_count_by_bin": _best_of(
            lambda: duckdb.sql(f"select overlap_bin, count(*) from '{flat}' group by 1").fetchall()
        ),
        "stbench_read_arrow_table": _best_of(lambda: read_arrow_table(flat_dir, "pairs")),
        "hive_pyarrow": _best_of(
            lambda: ds.dataset(
                hive_dir / "pairs", format="parquet", partitioning=partitioning
            ).to_table()
        ),
        "pandas_csv_baseline": _best_of(lambda: pd.read_csv(csv), repeats=1),
        "pandas_cpu_1thread": _best_cpu(
            lambda: pq.read_table(flat, use_threads=False).to_pandas(use_threads=False)
        ),
    }
    shutil.rmtree(directory, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default", help="synthetic world preset to build")
    parser.add_argument("--large", action="store_true", help="also build the large preset")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--pairs", type=int, default=1_000_000, help="rows of the read benchmark")
    parser.add_argument("--scale-scenes", type=int, default=20)
    parser.add_argument("--scale-cameras", type=int, default=20)
    parser.add_argument("--skip-world", action="store_true", help="skip the synthetic-world build")
    args = parser.parse_args()
    print(
        f"STBENCH_HOME={os.environ.get('STBENCH_HOME', '~/.cache/stbench')}  cpus={os.cpu_count()}"
    )

    presets = [] if args.skip_world else [args.preset] + (["large"] if args.large else [])
    for preset in presets:
        r = bench_build(preset, args.workers)
        stages = "  ".join(f"{k} {v:6.1f}s" for k, v in r["stages"].items())
        counts = r["counts"]
        print(f"\n== build-manifest, synthetic world {preset!r} (workers={args.workers})")
        print(f"world (generated if missing): {r['world']}  {r['world_seconds']:.1f}s")
        print(f"build total {r['total']:.1f}s   {stages}")
        print(
            f"images {counts['images']:,d}  pairs {counts['pairs']:,d}  rejects {counts['rejects']:,d}"
            f"  by kind {counts['pairs_by_kind']}"
        )
        print(f"peak memory (build process and workers): {r['peak_mib']:.0f} MiB")
        print(
            f"pairs Parquet: {r['pairs_bytes']:,d} bytes = "
            f"{r['pairs_bytes'] / max(1, counts['pairs']):.1f} bytes/pair"
        )
        print(f"content hash {r['content_hash']}")
        if r["failed"]:
            print(f"FAILED units: {r['failed']}")
        shutil.rmtree(r["out"].parent, ignore_errors=True)

    if args.scale_scenes or args.scale_cameras:
        r = bench_scale(args.scale_scenes, args.scale_cameras)
        counts = r["counts"]
        stages = "  ".join(f"{k} {v:6.1f}s" for k, v in r["stages"].items())
        print(
            f"\n== assembly at scale: {args.scale_scenes} scenes x (1000 images, 20k pairs), "
            f"{args.scale_cameras} cameras x 4000 frames (in-memory records)"
        )
        print(f"build total {r['total']:.1f}s   {stages}")
        print(
            f"images {counts['images']:,d}  pairs {counts['pairs']:,d}  by kind {counts['pairs_by_kind']}"
            f"  dropped {r.get('dropped', '')}"
        )
        print(
            f"peak memory of this process so far: {r['peak_mib']:.0f} MiB;  pairs Parquet "
            f"{r['pairs_bytes'] / max(1, counts['pairs']):.1f} bytes/pair"
        )

    r = bench_read(args.pairs)
    baseline = r["pandas_csv_baseline"]
    print(f"\n== reading a synthetic pairs table of {r['rows']:,d} rows")
    print(
        f"Parquet {r['parquet_bytes_per_pair']:.1f} bytes/pair  vs CSV {r['csv_bytes_per_pair']:.1f}"
        f" ({r['csv_bytes_per_pair'] / r['parquet_bytes_per_pair']:.1f}x smaller)"
    )
    for key in (
        "pyarrow",
        "pandas",
        "polars",
        "duckdb_count_by_bin",
        "stbench_read_arrow_table",
        "hive_pyarrow",
    ):
        print(f"{key:<26} {r[key]:7.3f}s   {baseline / r[key]:6.1f}x faster than pandas read_csv")
    print(f"{'pandas_csv_baseline':<26} {baseline:7.3f}s")
    print(f"pandas, one thread, CPU time: {r['pandas_cpu_1thread']:.3f}s")
    print(
        f"target: 1M-pair table read in < 1 s with pandas: {'met' if r['pandas'] < 1 else 'MISSED'}"
        f" ({r['pandas']:.3f}s for {r['rows']:,d} rows)"
    )


if __name__ == "__main__":
    main()
