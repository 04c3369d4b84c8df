"""``build-manifest``: index every unit of every source, assemble, write atomically.

Stages (timed in :class:`BuildReport`): ``list`` (units and their file fingerprints), ``index``
(the per-unit tasks, cached under ``<out>/.cache``), ``assemble`` (splits, labels, pairs, caps)
and ``write`` (deterministic Parquet + manifest.json, published atomically).
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stbench import __version__
from stbench.config import config_to_dict
from stbench.errors import DataError, StbenchError
from stbench.manifest.assemble import FINALIZERS, UnitRows, combine, count_by, failed_unit
from stbench.manifest.config import MEGADEPTH_TEST_SCENES, MEGADEPTH_VAL_SCENES, BuildConfig
from stbench.manifest.hashing import canonical_floats, json_hash, table_hash, tables_hash
from stbench.manifest.io import MANIFEST_FILE, TABLES
from stbench.manifest.sources import DEFAULT_SOURCES, SourceSpec, check_root, portable_root, resolve
from stbench.manifest.tasks import Task, TaskCache, TaskFailure, execute, task_key, unit_files_hash
from stbench.manifest.world_splits import (
    SITE_RULE,
    hemisphere_camera_splits,
    world_scene_locations,
    world_site_splits,
)
from stbench.manifest.write import (
    CACHE_DIR,
    check_output,
    manifest_json_text,
    publish,
    stage_directory,
    write_table,
)
from stbench.paths import stbench_home
from stbench.progress import Progress, reporter
from stbench.schema import SCHEMA_VERSION
from stbench.synth.config import WorldConfig

__all__ = [
    "BuildOptions",
    "BuildReport",
    "UnitsFailedError",
    "build_manifest",
    "default_out",
    "plan_tasks",
    "portable_config",
    "remove_leftovers",
    "resolve_roots",
    "run_build",
    "split_rules",
    "with_world_defaults",
    "world_defaults",
    "world_scene_locations",
    "world_webcam_splits",
]


@dataclass
class BuildReport:
    """What a build did.

    Attributes:
        out: the manifest directory.
        world: the synthetic world used (None for user sources).
        meta: the content of manifest.json.
        stage_seconds: wall time per stage (world: finding or generating the synthetic world,
            list, index, assemble, write).
        n_tasks, n_cached: units in total / taken from the cache of an earlier build.
        failed: units whose index task raised (``source``, ``unit``, ``error``).
        up_to_date: nothing was built: the manifest in ``out`` already matched.
    """

    out: Path
    world: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    n_tasks: int = 0
    n_cached: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    up_to_date: bool = False


class UnitsFailedError(StbenchError):
    """Index tasks failed and the build was not asked to ``keep_going``: nothing was published.

    Attributes:
        failed: ``source``, ``unit``, ``error`` of each failed unit.
    """

    def __init__(self, out: Path, failed: list[dict[str, str]]) -> None:
        self.failed = failed
        lines = [f"  {f['source']} {f['unit']}: {f['error']}" for f in failed]
        super().__init__(
            f"{len(failed)} unit(s) failed; no manifest written to {out} (finished units are "
            "cached: rerun to retry only these, or pass --keep-going to write a manifest "
            "without them):\n" + "\n".join(lines)
        )


def remove_leftovers(out: Path, cache: bool) -> None:
    """Remove what an interrupted build left in ``out``: ``.staging-*`` folders (a kill during
    the write) and, if ``cache``, the task cache (a kill after publishing, before cleanup)."""
    for staging in out.glob(".staging-*"):
        if staging.is_dir():
            shutil.rmtree(staging, ignore_errors=True)
    if cache:
        shutil.rmtree(out / CACHE_DIR, ignore_errors=True)


def default_out(name: str) -> Path:
    """Where a manifest goes without ``--out``: ``stbench_home()/manifests/<name>``."""
    return stbench_home() / "manifests" / name


def resolve_roots(config: BuildConfig) -> tuple[dict[str, Path], Path | None]:
    """The source roots of a build (generating the synthetic world when none is given)."""
    if config.synthetic:
        ensure_world = resolve("stbench.synth:ensure_world")
        world = Path(ensure_world(WorldConfig(config.synthetic_preset, config.synthetic_seed)))
        roots = {"megadepth": world / "megadepth", "webcam": world / "webcams"}
        return {k: check_root(k, v) for k, v in roots.items() if v.is_dir()}, world
    roots = {}
    if config.megadepth_root is not None:
        roots["megadepth"] = check_root("megadepth", Path(config.megadepth_root))
    if config.webcam_root is not None:
        roots["webcam"] = check_root("webcam", Path(config.webcam_root))
    return roots, None


def world_webcam_splits(world: Path) -> tuple[list[str], list[str]]:
    """Held-out cameras of a world without site splits: (val, test) camera ids (see
    :func:`stbench.manifest.world_splits.hemisphere_camera_splits`)."""
    return hemisphere_camera_splits(world)


def with_world_defaults(config: BuildConfig, world: Path) -> BuildConfig:
    """Fill what a synthetic world knows and the user left unset: scene locations, splits."""
    return world_defaults(config, world)[0]


def world_defaults(config: BuildConfig, world: Path) -> tuple[BuildConfig, dict[str, str]]:
    """:func:`with_world_defaults` and the rule that assigned each source's splits.

    Scene locations come from ``world.json``. Splits, for each source the user left at its
    defaults (MegaDepth: the stock scene lists; webcams: no camera list, camera mode): when the
    world's sites record a split, every scene and camera takes its site's split (rule
    ``world_sites``, leave-site-out); otherwise the hemisphere rule for cameras
    (``world_hemispheres``) and the stock scene lists. A source the user configured keeps the
    user's lists (``config``).
    """
    if "scene_locations" not in config.megadepth:
        megadepth = {**config.megadepth, "scene_locations": world_scene_locations(world)}
        config = dataclasses.replace(config, megadepth=megadepth)
    rules = split_rules(config)
    splits = config.splits
    by_site = world_site_splits(world)
    if rules["megadepth"] == "megadepth_lists" and by_site is not None:
        splits = dataclasses.replace(
            splits, megadepth_test=by_site.scenes["test"], megadepth_val=by_site.scenes["val"]
        )
        rules["megadepth"] = SITE_RULE
    if rules["webcam"] == "camera_hash":
        if by_site is not None:
            splits = dataclasses.replace(
                splits,
                webcam_train=by_site.cameras["train"],
                webcam_val=by_site.cameras["val"],
                webcam_test=by_site.cameras["test"],
            )
            rules["webcam"] = SITE_RULE
        else:
            val, test = hemisphere_camera_splits(world)
            splits = dataclasses.replace(splits, webcam_val=val, webcam_test=test)
            rules["webcam"] = "world_hemispheres"
    return dataclasses.replace(config, splits=splits), rules


def split_rules(config: BuildConfig) -> dict[str, str]:
    """Which rule assigns each source's splits under ``config`` alone (no world): ``config``
    (the user's lists), ``megadepth_lists`` (the stock MegaDepth test/val scenes),
    ``camera_hash`` (a hash of the camera id) or ``time`` (time-disjoint webcams)."""
    splits = config.splits
    stock = list(splits.megadepth_test) == list(MEGADEPTH_TEST_SCENES) and list(
        splits.megadepth_val
    ) == list(MEGADEPTH_VAL_SCENES)
    if splits.webcam_mode == "time":
        webcam = "time"
    elif splits.webcam_train or splits.webcam_val or splits.webcam_test:
        webcam = "config"
    else:
        webcam = "camera_hash"
    return {"megadepth": "megadepth_lists" if stock else "config", "webcam": webcam}


def plan_tasks(
    config: BuildConfig, roots: dict[str, Path], sources: dict[str, SourceSpec]
) -> tuple[list[Task], dict[str, dict[str, Any]]]:
    """Every index task of the build (sorted by source, unit) and the resolved index configs."""
    tasks: list[Task] = []
    index_configs: dict[str, dict[str, Any]] = {}
    for source in sorted(roots):
        spec, root = sources[source], roots[source]
        options = config.megadepth if source == "megadepth" else config.webcam
        index_config = spec.make_config(options)
        index_configs[source] = spec.config_dict(index_config)
        for unit in sorted(str(u) for u in resolve(spec.list_units)(root)):
            files_hash = unit_files_hash(root, spec.unit_paths(root, unit))
            key = task_key(source, spec.version, unit, index_configs[source], files_hash)
            tasks.append(Task(source, unit, root, spec.index_unit, index_config, key, files_hash))
    return tasks, index_configs


def portable_config(config: BuildConfig) -> dict[str, Any]:
    """The resolved config as stored in manifest.json (roots portable)."""
    values = config_to_dict(config)
    for key in ("megadepth_root", "webcam_root"):
        if values[key] is not None:
            values[key] = portable_root(Path(values[key]))
    return values


def _sources_meta(config, roots, specs, world, tasks, record_hashes) -> dict[str, Any]:
    sources: dict[str, Any] = {}
    for source, root in sorted(roots.items()):
        mine = [t for t in tasks if t.source == source]
        sources[source] = {
            "root": portable_root(specs[source].paths_root(root)),
            "units": len(mine),
            "fingerprint": {
                "files": json_hash([[t.unit, t.files_hash] for t in mine]),
                "records": json_hash([[t.unit, record_hashes.get((source, t.unit))] for t in mine]),
            },
        }
    if world is not None:
        sources["synthetic"] = {
            "preset": config.synthetic_preset,
            "seed": config.synthetic_seed,
            "world": portable_root(world),
        }
    return sources


def _build_key(config: dict, index_configs: dict, tasks: list[Task]) -> str:
    return json_hash(
        {
            "schema_version": SCHEMA_VERSION,
            "stbench_version": __version__,
            "config": config,
            "index_config": index_configs,
            "tasks": [[t.source, t.unit, t.key] for t in tasks],
        }
    )


def _existing_meta(out: Path) -> dict[str, Any] | None:
    import json

    path = out / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError:
        return {}


def _run_index(
    tasks, cache, workers, scheduler, show_progress
) -> dict[tuple[str, str], TaskFailure]:
    failures: dict[tuple[str, str], TaskFailure] = {}
    pending = [t for t in tasks if not cache.has(t)]
    bars = reporter().progress(transient=True) if show_progress and pending else Progress()
    with bars:
        advance = bars.task("indexing", total=len(pending))
        for task, result in execute(pending, workers=workers, scheduler=scheduler):
            if isinstance(result, TaskFailure):
                failures[(task.source, task.unit)] = result
            else:
                cache.put(task, result)
            advance(status=f"{task.source} {task.unit}")
    return failures


def _assemble(tasks, cache, failures, config) -> tuple[list[UnitRows], dict]:
    units: list[UnitRows] = []
    record_hashes: dict[tuple[str, str], str] = {}
    for task in tasks:
        failure = failures.get((task.source, task.unit))
        if failure is not None:
            error = f"{failure.error_type}: {failure.message}"
            units.append(failed_unit(task.source, task.unit, error))
            continue
        records, record_hashes[(task.source, task.unit)] = cache.get(task)
        units.append(FINALIZERS[task.source](task.unit, records, config))
    return units, record_hashes


@dataclass(frozen=True)
class BuildOptions:
    """How a build runs, not what it builds (the content hash never depends on these).

    Attributes: as the keyword arguments of :func:`build_manifest`.
    """

    overwrite: bool = False
    progress: bool = False
    workers: int = 1
    scheduler: Any = None
    sources: dict[str, SourceSpec] | None = None
    keep_cache: bool = False
    keep_going: bool = False


def run_build(
    config: BuildConfig, out: str | Path | None = None, options: BuildOptions | None = None
) -> BuildReport:
    """Build a manifest and report what happened (see :func:`build_manifest`).

    Raises:
        UnitsFailedError: some index tasks failed and ``keep_going`` is False (nothing is
            published; the finished units stay cached for the rerun).
    """
    options = options or BuildOptions()
    overwrite, progress, workers = options.overwrite, options.progress, options.workers
    scheduler, keep_cache, keep_going = options.scheduler, options.keep_cache, options.keep_going
    sources = options.sources
    out = Path(out) if out is not None else default_out(config.name)
    sources = {**DEFAULT_SOURCES, **(sources or {})}
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    roots, world = resolve_roots(config)
    if not roots:
        raise _no_sources_error(config, world)
    if world is not None:
        seconds["world"] = time.perf_counter() - start
        start = time.perf_counter()
    rules = split_rules(config)
    if world is not None:
        config, rules = world_defaults(config, world)
    tasks, index_configs = plan_tasks(config, roots, sources)
    stored_config = portable_config(config)
    build_key = _build_key(stored_config, index_configs, tasks)
    seconds["list"] = time.perf_counter() - start
    check_output(out, overwrite=True)
    existing = _existing_meta(out)
    if existing is not None and not overwrite:
        same = existing.get("build_key") == build_key
        if same and not existing.get("failed_units"):
            remove_leftovers(out, cache=not keep_cache)
            return BuildReport(out, world, existing, seconds, len(tasks), len(tasks), [], True)
        if not same:
            check_output(out, overwrite=False)
        # Same inputs and config, but some units failed last time: retry them in place.

    cache = TaskCache(out / CACHE_DIR)
    n_cached = sum(cache.has(t) for t in tasks)
    start = time.perf_counter()
    failures = _run_index(tasks, cache, workers, scheduler, progress)
    seconds["index"] = time.perf_counter() - start
    if failures and not keep_going:
        raise UnitsFailedError(out, _failed_list(failures))

    start = time.perf_counter()
    units, record_hashes = _assemble(tasks, cache, failures, config)
    tables, dropped = combine(units)
    tables = {name: canonical_floats(table) for name, table in tables.items()}
    seconds["assemble"] = time.perf_counter() - start

    start = time.perf_counter()
    failed = _failed_list(failures)
    meta = _meta(
        config=config,
        specs=sources,
        stored_config=stored_config,
        index_configs=index_configs,
        roots=roots,
        world=world,
        tasks=tasks,
        record_hashes=record_hashes,
        tables=tables,
        dropped=dropped,
        failed=failed,
        build_key=build_key,
    )
    meta["split_rule"] = rules
    if keep_going:  # partial results were accepted on purpose: say so
        meta["keep_going"] = True
    staging = stage_directory(out)
    try:
        layout = {
            name: write_table(tables[name], staging, name, config.partition_min_rows)
            for name in TABLES
        }
        meta["layout"] = layout
        (staging / MANIFEST_FILE).write_text(manifest_json_text(meta))
        publish(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not failures:
        remove_leftovers(out, cache=not keep_cache)
    seconds["write"] = time.perf_counter() - start
    return BuildReport(out, world, meta, seconds, len(tasks), n_cached, failed, False)


def _failed_list(failures: dict[tuple[str, str], TaskFailure]) -> list[dict[str, str]]:
    return [
        {"source": s, "unit": u, "error": f"{f.error_type}: {f.message}"}
        for (s, u), f in sorted(failures.items())
    ]


def _no_sources_error(config: BuildConfig, world: Path | None) -> Exception:
    where = f"the synthetic world {world}" if world else "the given roots"
    return DataError(f"no source data found in {where}; give --megadepth and/or --webcams")


def _meta(
    *,
    config,
    specs,
    stored_config,
    index_configs,
    roots,
    world,
    tasks,
    record_hashes,
    tables,
    dropped: Counter,
    failed,
    build_key,
) -> dict[str, Any]:
    pairs = tables["pairs"]
    return {
        "name": config.name,
        "schema_version": SCHEMA_VERSION,
        "stbench_version": __version__,
        "config": stored_config,
        "index_config": index_configs,
        "sources": _sources_meta(config, roots, specs, world, tasks, record_hashes),
        "counts": {
            **{name: tables[name].num_rows for name in TABLES},
            "images_by_source": count_by(tables["images"], "source"),
            "images_by_split": count_by(tables["images"], "split"),
            "pairs_by_kind": count_by(pairs, "kind"),
            "pairs_by_split": count_by(pairs, "split"),
            "pairs_by_overlap_bin": count_by(pairs, "overlap_bin"),
            "rejects_by_reason": count_by(tables["rejects"], "reason"),
        },
        "dropped": dict(sorted(dropped.items())),
        "failed_units": failed,
        "table_hashes": {name: table_hash(tables[name]) for name in TABLES},
        "content_hash": tables_hash(tables),
        "build_key": build_key,
    }


def build_manifest(
    config: BuildConfig,
    out: str | Path | None = None,
    *,
    overwrite: bool = False,
    progress: bool = False,
    workers: int = 1,
    scheduler: Any = None,
    sources: dict[str, SourceSpec] | None = None,
    keep_cache: bool = False,
    keep_going: bool = False,
) -> Path:
    """Build a manifest directory (images/pairs/rejects.parquet + manifest.json).

    Args:
        config: what to build (its inputs are the source roots it names); with no source root
            the embedded synthetic world is used.
        out: the manifest directory (default ``stbench_home()/manifests/<config.name>``).
        overwrite: replace a manifest built with another config or other inputs.
        progress: report progress to :func:`stbench.progress.reporter`.
        workers: local worker processes for the index tasks (1 = in this process).
        scheduler: run the tasks on Dask instead: ``"local"`` (a LocalCluster of ``workers``
            processes), an address ``tcp://host:port`` or a ``distributed.Client``.
        sources: replace index tasks (e.g. in tests).
        keep_cache: keep the per-unit task cache after a successful build.
        keep_going: write a manifest without the units whose task failed (recorded as
            ``"keep_going": true`` in manifest.json).
    Returns:
        ``out``. Same inputs and config give byte-identical files and the same content hash.
    Raises:
        OutputExistsError: ``out`` holds a different manifest and ``overwrite`` is False.
        UnitsFailedError: a unit's index task failed (without ``keep_going``).
        ConfigError, DataError: bad config or source roots.
    """
    options = BuildOptions(overwrite, progress, workers, scheduler, sources, keep_cache, keep_going)
    return run_build(config, out, options).out
