"""Generate the embedded synthetic world: MegaDepth-layout scenes, AMOS-layout webcams, truth.

``generate_world`` builds into a temporary sibling directory and renames it into place, so a
failed or interrupted build never leaves a half-written world under the final name.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import Executor
from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import Any

from stbench.errors import ConfigError, StbenchError
from stbench.progress import Progress, reporter
from stbench.synth.config import WorldConfig
from stbench.synth.megadepth import SceneSpec

__all__ = ["ensure_world", "generate_world", "write_megadepth"]

#: Scene id and town seed of each site: one scene per site, the same in every preset (ids of
#: MegaDepth-1500 test scenes and an IMC scene where the old world had them, 5xxx otherwise);
#: every site's town has its own seed (no layout is shared across sites, hence across splits).
SITE_SCENES: dict[str, tuple[str, int]] = {
    "innsbruck": ("0015", 1),
    "christchurch": ("0022", 2),
    "porto": ("0008", 3),
    "madison": ("5001", 4),
    "sapporo": ("5002", 5),
    "bariloche": ("5003", 6),
    "valencia": ("5004", 7),
    "denver": ("5005", 8),
    "seattle": ("5006", 9),
    "lyon": ("5007", 10),
    "kyoto": ("5008", 11),
    "singapore": ("5009", 12),
    "hobart": ("5010", 13),
    "cape_town": ("5011", 14),
    "tromso": ("5012", 15),
    "quebec": ("5013", 16),
    "santiago": ("5014", 17),
    "brisbane": ("5015", 18),
}


#: A second town (scene id, town seed) at every test and val site, for the benchmark preset: the
#: pair metrics need >= 10 test scenes (clusters) for intervals (stbench.evaluate.clusters). Each
#: town belongs to its site's split (its own seed; textures from its split's bank).
SECOND_TOWNS: dict[str, tuple[str, int]] = {
    "christchurch": ("5201", 19),
    "tromso": ("5202", 20),
    "denver": ("5203", 21),
    "quebec": ("5204", 22),
    "santiago": ("5205", 23),
    "brisbane": ("5206", 24),
    "bariloche": ("5207", 25),
    "valencia": ("5208", 26),
}


def _scene(
    site: str,
    n_views: int,
    long_side: tuple[int, int],
    points: int = 120,
    viewpoints: str = "spread",
    towns: dict[str, tuple[str, int]] = SITE_SCENES,
) -> SceneSpec:
    scene, town_seed = towns[site]
    return SceneSpec(scene, site, town_seed, n_views, long_side, points, viewpoints)


def _benchmark_scenes() -> tuple[SceneSpec, ...]:
    """One 60-view town per train site; two 32-view towns per test and val site (popular spots)."""
    from stbench.synth.sites import site_by_name

    specs = []
    for site in _ALL_SITES:
        if site_by_name(site).split == "train":
            specs.append(_scene(site, 60, (560, 960), 160, "popular"))
        else:
            specs.append(_scene(site, 32, (560, 960), 160, "popular"))
            specs.append(_scene(site, 32, (560, 960), 160, "popular", SECOND_TOWNS))
    return tuple(specs)


#: Every site, in the order of :data:`stbench.synth.sites.SITES` (the benchmark preset).
_ALL_SITES = tuple(SITE_SCENES)

#: Tourist-photo scenes per preset (site, town seed, number of views, long side range in px).
#: ``default`` is sized to ~80 CPU-seconds of rendering (docs/synthetic-world.md: measured).
PRESETS: dict[str, tuple[SceneSpec, ...]] = {
    "small": (
        _scene("innsbruck", 14, (360, 460), 80),
        _scene("christchurch", 10, (360, 460), 80),
    ),
    "default": (
        _scene("innsbruck", 22, (520, 760)),
        _scene("porto", 22, (520, 760)),
        _scene("valencia", 14, (520, 760)),
        _scene("christchurch", 22, (520, 760)),
        _scene("denver", 22, (520, 760)),
    ),
    "benchmark": _benchmark_scenes(),
    "large": (
        _scene("innsbruck", 120, (320, 640)),
        _scene("christchurch", 100, (320, 640)),
        _scene("porto", 100, (320, 640)),
        _scene("madison", 100, (320, 640)),
        _scene("sapporo", 100, (320, 640)),
        _scene("bariloche", 1000, (240, 320), 40),
    ),
}
VIEWS_PER_TASK = 6


def _workers(requested: int | None) -> int:
    from stbench.threads import resolve_workers

    return resolve_workers(max(1, requested) if requested is not None else None)


def write_megadepth(
    world: Path,
    preset: str,
    seed: int,
    workers: int | None = None,
    progress: Progress | None = None,
    pool: Executor | None = None,
):
    """Render and write the preset's tourist-photo scenes under ``world/megadepth``.

    Args:
        workers: rendering processes (default: the CPUs available; 1 renders in this process).
        pool: a process pool to render on instead of a new one (shared with other work).
    Returns:
        The truth table (one row per photo) as a pandas DataFrame.
    """
    import pandas as pd

    from stbench.synth import megadepth as md
    from stbench.synth.textures import texture_bank

    root = world / "megadepth"
    texture_bank()
    plans = []
    for index, spec in enumerate(PRESETS[preset]):
        views, points = md.plan_scene(spec, seed=seed * 1000 + index)
        md.prepare_dirs(root, spec.scene)
        plans.append((spec, views, points))
    total = sum(len(v) for _, v, _ in plans)
    advance = (progress or Progress()).task("tourist photos", total=total)
    results: dict[str, list[dict]] = {spec.scene: [] for spec, _, _ in plans}
    n_workers = _workers(workers)
    chunks = [
        (spec, views[i : i + VIEWS_PER_TASK], points)
        for spec, views, points in plans
        for i in range(0, len(views), VIEWS_PER_TASK)
    ]
    if pool is None and n_workers == 1:
        for spec, chunk, points in chunks:
            results[spec.scene] += md.render_views_task(str(root), spec, chunk, points)
            advance(len(chunk))
    else:
        from stbench.parallel import process_pool

        # each spawned worker imports and builds the texture bank on its first task (1.3 s)
        with nullcontext(pool) if pool is not None else process_pool(n_workers) as executor:
            futures = [
                (
                    spec,
                    len(chunk),
                    executor.submit(md.render_views_task, str(root), spec, chunk, points),
                )
                for spec, chunk, points in chunks
            ]
            for spec, size, future in futures:
                results[spec.scene] += future.result()
                advance(size)
    rows = []
    for spec, views, points in plans:
        md.write_sparse_model(root, spec, views, points, results[spec.scene])
        rows += [r["truth"] for r in results[spec.scene]]
    truth = pd.DataFrame(rows)
    truth["capture_time_utc"] = pd.to_datetime(truth["capture_time_utc"], utc=True).astype(
        "datetime64[us, UTC]"
    )
    return truth


def _write_all_on_one_pool(
    world: Path, preset: str, seed: int, workers: int, progress: Progress
) -> tuple[Any, list[dict]]:
    """The tourist photos and the webcams on one pool of ``workers`` processes: the cameras
    (the longest jobs, ~10 s each on the default world) are queued first and the photo chunks
    (~4 s) fill in behind them, so no process waits while another finishes a last camera, and
    the texture bank is built once per process. The files are those of :func:`write_megadepth`
    and :func:`stbench.synth.webcams.write_webcams` run one after the other."""
    from stbench.parallel import process_pool
    from stbench.synth.webcams import PRESETS as WEBCAM_PRESETS
    from stbench.synth.webcams import finish_webcams, preset_sites, webcam_jobs, write_camera

    records, jobs = webcam_jobs(world, list(preset_sites(preset)), WEBCAM_PRESETS[preset], seed)
    with process_pool(workers) as pool:
        cameras = [pool.submit(write_camera, job) for job in jobs]
        truth = write_megadepth(world, preset, seed, workers, progress, pool=pool)
        progress.task("webcams (see log)", total=None)
        finish_webcams(world, records, [future.result() for future in cameras])
    return truth, records


def generate_world(
    config: WorldConfig,
    out: str | os.PathLike[str] | None = None,
    *,
    overwrite: bool = False,
    progress: bool = False,
    workers: int | None = None,
) -> Path:
    """Generate a synthetic world (same config => byte-identical files).

    Args:
        config: preset, seed and whether to write the webcams.
        out: the world directory (default ``stbench_home()/worlds/<preset>-seed<seed>``).
        overwrite: replace a non-empty ``out``.
        progress: report progress to :func:`stbench.progress.reporter` (bars with the CLI).
        workers: rendering processes (default: the CPUs available).
    Returns:
        The world directory.
    Raises:
        ConfigError: unknown preset.
        OutputExistsError: ``out`` is not empty and ``overwrite`` is False.
        StbenchError: ``out`` cannot be written.
    """
    from stbench import __version__
    from stbench.atomic import atomic_directory
    from stbench.paths import default_world_dir
    from stbench.synth.sites import SITES

    preset, seed = config.preset, config.seed
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; choose one of: {', '.join(PRESETS)}")
    final = Path(out) if out is not None else default_world_dir(preset, seed)
    bar = reporter().progress() if progress else Progress()
    n_workers = _workers(workers)
    with bar, atomic_directory(final, overwrite=overwrite) as tmp:
        cameras: list[dict] = []
        try:
            (tmp / "truth").mkdir()
            if config.webcams and n_workers > 1:
                truth, cameras = _write_all_on_one_pool(tmp, preset, seed, n_workers, bar)
            else:
                truth = write_megadepth(tmp, preset, seed, n_workers, bar)
        except PermissionError as exc:
            raise StbenchError(f"cannot write the world under {final.parent}: {exc}") from exc
        truth.to_parquet(tmp / "truth" / "megadepth_images.parquet", index=False)
        if config.webcams and n_workers == 1:
            from stbench.synth.webcams import preset_sites, write_webcams

            bar.task("webcams (see log)", total=None)
            cameras = write_webcams(tmp, list(preset_sites(preset)), preset, seed, workers=1)
        meta = {
            "preset": preset,
            "seed": seed,
            "stbench_version": __version__,
            "sites": [asdict(site) for site in SITES],
            "scenes": [asdict(spec) for spec in PRESETS[preset]],
            "cameras": cameras,
            "megadepth_root": "megadepth",
            "webcam_root": "webcams",
        }
        (tmp / "world.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return final


def ensure_world(config: WorldConfig | None = None) -> Path:
    """The world of ``config`` (default: the default world) at
    ``stbench_home()/worlds/<preset>-seed<seed>``, generated if missing."""
    from stbench.paths import default_world_dir

    config = config or WorldConfig()
    final = default_world_dir(config.preset, config.seed)
    if (final / "world.json").exists():
        return final
    return generate_world(config, final, overwrite=True)
