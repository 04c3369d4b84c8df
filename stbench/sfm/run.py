"""``stbench sfm``: a method's matches -> per-scene COLMAP reconstructions -> scores.

Matching goes through the evaluation's export (same method protocol, validation and failure
records) into the same prediction cache as ``stbench evaluate`` (by default
``$STBENCH_HOME/runs/<manifest>/<method>/predictions``): pairs already matched there are
read, not recomputed, and pairs matched here serve a later ``evaluate``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stbench import __version__
from stbench.atomic import atomic_path, write_text_atomic
from stbench.config import save_config
from stbench.errors import ConfigError, DataError
from stbench.evaluate.clusters import ClusterSpec
from stbench.evaluate.config import SPLITS
from stbench.evaluate.export import (
    ImageLoader,
    MethodInputs,
    export_matches,
    open_prediction_cache,
)
from stbench.evaluate.selection import POSE_COLUMNS, Selection
from stbench.evaluate.workers import MethodRunner, MethodWorker
from stbench.methods.tracks import inputs_for
from stbench.prediction_cache import PredictionCache
from stbench.progress import Progress, reporter
from stbench.sfm.config import ROTATION_THRESHOLDS_DEG, TRANSLATION_THRESHOLDS_M, SfmConfig
from stbench.sfm.mapping import require_pycolmap
from stbench.sfm.pairs import scene_pairs
from stbench.sfm.scene import ALL, SceneInput, failed_scene_row, reconstruct_scene
from stbench.sfm.spans import check_spans, span_table
from stbench.sfm.summary import scene_table, summarize_sfm, summary_table

__all__ = [
    "pose_units",
    "reconstruct_scenes",
    "report_text",
    "run_sfm",
    "select_scenes",
]

PER_SCENE_FILE = "per_scene.parquet"
SUMMARY_FILE = "summary.json"
REPORT_FILE = "summary.md"
SFM_DIR = "sfm"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.@-]+", "_", name)


def select_scenes(
    manifest: Any, config: SfmConfig
) -> tuple[dict[str, pd.DataFrame], list[dict[str, Any]]]:
    """Posed images of the split grouped by ``source/scene``, and the skipped scenes.

    Returns:
        scenes by key (rows sorted by image_id) and ``{scene, n_images, reason}`` of scenes
        with fewer than ``min_scene_images`` posed images.
    """
    images = manifest.images
    if config.split != "all":
        images = images[images["split"] == config.split]
    posed = images[images[list(POSE_COLUMNS)].notna().all(axis=1)]
    scenes, skipped = {}, []
    for (source, scene), group in posed.groupby(["source", "scene"], sort=True):
        key = f"{source}/{scene}"
        group = group.sort_values("image_id")
        if config.max_scene_images is not None and len(group) > config.max_scene_images:
            keep = np.random.default_rng(config.seed).choice(
                len(group), config.max_scene_images, replace=False
            )
            group = group.iloc[np.sort(keep)]
        if len(group) < config.min_scene_images:
            skipped.append(
                {
                    "scene": key,
                    "n_images": len(group),
                    "reason": f"fewer than {config.min_scene_images} posed images",
                }
            )
            continue
        scenes[key] = group.reset_index(drop=True)
    return scenes, skipped


def pose_units(manifest: Any) -> str:
    """The unit of the ground-truth camera centres: metres for a synthetic world (built in
    metres); otherwise the source's own units (MegaDepth poses are in SfM units, so the
    translation thresholds are not metres there)."""
    if "synthetic" in manifest.meta.get("sources", {}):
        return "metres"
    return "ground-truth units (not metres unless the source's poses are metric)"


def _roots(manifest: Any, images: pd.DataFrame) -> dict[str, Path]:
    sources = set(images["source"].dropna()) & set(manifest.meta.get("sources", {}))
    return {source: manifest.root(source) for source in sorted(sources)}


def run_sfm(
    manifest_dir: str | Path,
    method_name: str,
    split: str = "test",
    out: str | Path | None = None,
    predictions: str | Path | None = None,
    *,
    method_options: dict[str, Any] | None = None,
    overwrite: bool = False,
    clusters: ClusterSpec | None = None,
    show_progress: bool = False,
    trust_modified: bool = False,
    **settings: Any,
) -> Path:
    """Reconstruct every scene of ``split`` from a method's matches and score it.

    ``settings`` are further :class:`SfmConfig` fields (spans, exhaustive_max_images, ...).
    Returns the run directory, which holds ``config.json``, ``per_scene.parquet`` (one row per
    reconstruction), ``summary.json``, ``summary.md`` and ``scenes/<scene>/`` (the COLMAP
    database and the models).

    Raises:
        ConfigError: unknown method, a method that does not match, bad settings, or a split
            without a scene to reconstruct.
        OutputExistsError: the prediction cache was made with another method config or
            manifest and ``overwrite`` is False.
    """
    from stbench.manifest.verify import load_verified_manifest

    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    known = {f.name for f in dataclasses.fields(SfmConfig)} - {"method", "method_options", "split"}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ConfigError(f"unknown sfm setting(s) {unknown}; known: {sorted(known)}")
    config = SfmConfig(
        method=method_name, method_options=dict(method_options or {}), split=split, **settings
    )
    config.spans = tuple(config.spans)
    check_spans(config.spans)
    if config.min_span_images < 3 or config.min_scene_images < 3:
        raise ConfigError("min_span_images and min_scene_images must be >= 3 (a similarity)")
    colmap_version = require_pycolmap()  # before any work: clear error when pycolmap is too old
    manifest = load_verified_manifest(manifest_dir, trust_modified=trust_modified, command="sfm")
    probe = MethodWorker(method_name, config.method_options, config.workers)
    probe.start()  # builds the method in its worker: this process never runs the method's code
    try:
        return _run_sfm(
            probe,
            config,
            manifest,
            out,
            predictions,
            overwrite,
            show_progress,
            clusters,
            colmap_version,
        )
    finally:
        probe.stop()


def _run_sfm(
    probe: MethodWorker,
    config: SfmConfig,
    manifest: Any,
    out: str | Path | None,
    predictions: str | Path | None,
    overwrite: bool,
    show_progress: bool,
    clusters: ClusterSpec | None,
    colmap_version: str,
) -> Path:
    """The body of :func:`run_sfm`, with the method running in ``probe`` (its first worker)."""
    from stbench.evaluate.run import default_run_dir

    info, method_name, split = probe.info, config.method, config.split
    if not info.matches:
        raise ConfigError(f"method {method_name!r} does not match images; sfm needs a matcher")
    scenes, skipped = select_scenes(manifest, config)
    if not scenes:
        raise ConfigError(
            f"split {split!r} of {manifest.directory} has no scene with at least "
            f"{config.min_scene_images} posed images"
        )
    evaluate_dir = default_run_dir(manifest.name, info.name)
    run_dir = Path(out) if out else evaluate_dir / SFM_DIR
    cache_dir = Path(predictions) if predictions else evaluate_dir / "predictions"
    identity, cache = open_prediction_cache(cache_dir, method_name, info, manifest, overwrite)
    run_dir.mkdir(parents=True, exist_ok=True)
    save_config(config, run_dir)

    pairs = pd.concat(
        [
            scene_pairs(group, config.exhaustive_max_images, config.neighbours).assign(scene=key)
            for key, group in scenes.items()
        ],
        ignore_index=True,
    ).sort_values(["image_id0", "image_id1"], ignore_index=True)
    pairs["matchable"] = True
    images = pd.concat(scenes.values(), ignore_index=True)
    selection = Selection(
        pairs=pairs, images=images.set_index("image_id", drop=False), time_images=[]
    )
    # every image of an exhaustive scene is matched with all others: keep such a scene decoded
    largest = max(len(group) for group in scenes.values())
    cached = min(largest, config.exhaustive_max_images)
    loader = ImageLoader(selection.images, _roots(manifest, images), size=cached)

    def runner(training: Any = None) -> MethodRunner:
        return MethodRunner(
            method_name,
            config.method_options,
            config.workers,
            config.item_timeout,
            training=training,
            started=probe if probe.process is not None else None,  # the first runner reuses it
        )

    started = time.perf_counter()
    with reporter().progress(transient=True) if show_progress else Progress() as bars:
        advance = bars.task("matching", total=len(pairs))
        inputs = MethodInputs(loader, inputs_for(method_name, info.track), info.needs_images)
        counts = export_matches(info, selection, cache, runner, inputs, advance)
    export_s = time.perf_counter() - started

    per_scene = reconstruct_scenes(scenes, pairs, cache, run_dir / "scenes", config)
    with atomic_path(run_dir / PER_SCENE_FILE) as tmp:
        per_scene.to_parquet(tmp, index=False)
    spec = clusters or ClusterSpec()
    summary = {
        "task": "sfm",
        "track": "sfm",
        "method_track": info.track,
        "method": info.name,
        "method_spec": method_name,
        "method_version": info.version,
        "method_config": info.config,
        "manifest": identity.manifest,
        "manifest_check": manifest.verification,
        "split": split,
        "n_scenes": int((per_scene["subset"] == ALL).sum()),
        "n_images": int(per_scene.loc[per_scene["subset"] == ALL, "n_images"].sum()),
        "n_pairs": len(pairs),
        "pair_rules": pairs.groupby("scene")["rule"].first().to_dict(),
        "skipped_scenes": skipped,
        "timed_out": per_scene.loc[
            per_scene["timed_out"].fillna(False).astype(bool), ["scene", "subset"]
        ].to_dict("records"),
        "failed_scenes": per_scene.loc[
            per_scene["status"] == "failed", ["scene", "subset", "reason"]
        ].to_dict("records"),
        "metrics": summarize_sfm(per_scene, config.spans, config.n_bootstrap, config.seed, spec),
        "pose_units": pose_units(manifest),
        "thresholds": {
            "rotation_deg": list(ROTATION_THRESHOLDS_DEG),
            "translation_m": list(TRANSLATION_THRESHOLDS_M),
        },
        "export_counts": counts,
        "export_seconds": export_s,
        "ms_per_pair": _ms_per_pair(per_scene),
        "clusters": {"unit": "scene", "min_clusters": spec.min_clusters},
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "stbench_version": __version__,
        "pycolmap_version": colmap_version,
        "config": json.loads(json.dumps(dataclasses.asdict(config), default=str)),
    }
    write_text_atomic(run_dir / SUMMARY_FILE, json.dumps(summary, indent=2, default=_json) + "\n")
    write_text_atomic(run_dir / REPORT_FILE, report_text(summary, per_scene))
    return run_dir


def reconstruct_scenes(
    scenes: dict[str, pd.DataFrame],
    pairs: pd.DataFrame,
    cache: PredictionCache,
    work_dir: Path,
    config: SfmConfig,
) -> pd.DataFrame:
    """Every scene's reconstructions from the cached matches: one row per reconstruction.

    A scene whose pipeline raises is recorded by :func:`~stbench.sfm.scene.failed_scene_row` and the loop goes on.

    Raises:
        DataError: a selected pair is missing from the cache (the export was not completed).
    """
    rows = []
    for key, group in scenes.items():
        selected = pairs.loc[pairs["scene"] == key, ["image_id0", "image_id1"]]
        wanted = list(selected.itertuples(index=False, name=None))
        data = SceneInput(
            scene=key,
            images=group,
            labels=span_table(group.set_index("image_id", drop=False), config.spans),
            pairs=cache.read_pairs(wanted),
        )
        if len(data.pairs) < len(wanted):  # never scored silently on fewer pairs
            raise DataError(
                f"{len(wanted) - len(data.pairs)} pair(s) of scene {key} are missing from "
                f"{cache.directory}; re-run stbench sfm (the export completes them)"
            )
        try:
            rows += reconstruct_scene(
                data,
                work_dir / _safe(key),
                config.spans,
                config.min_span_images,
                config.min_num_matches,
                config.seed,
                config.max_mapping_seconds,
            )
        except Exception as exc:  # a broken scene is recorded, the run goes on
            where = traceback.extract_tb(exc.__traceback__)[-1]
            reason = f"{type(exc).__name__}: {exc} at {Path(where.filename).name}:{where.lineno}"
            rows.append(failed_scene_row(data, reason, config.spans))
    return pd.DataFrame(rows)


def _ms_per_pair(per_scene: pd.DataFrame) -> float | None:
    whole = per_scene[per_scene["subset"] == ALL]
    if not whole["n_pairs"].sum():
        return None
    return float(whole["match_s"].sum() / whole["n_pairs"].sum() * 1000)


def _json(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def report_text(summary: dict[str, Any], per_scene: pd.DataFrame) -> str:
    """summary.md: the run's identity, the summary table and the per-scene table."""
    lines = [
        f"# SfM: {summary['method']} on {summary['manifest']} ({summary['split']})",
        "",
        f"{summary['n_scenes']} scenes, {summary['n_images']} images, "
        f"{summary['n_pairs']} pairs matched; intervals clustered by scene.",
        "",
        "```",
        summary_table(summary["metrics"]),
        "```",
        "",
        "```",
        scene_table(per_scene),
        "```",
    ]
    for scene in summary["skipped_scenes"]:
        lines.append(f"- skipped {scene['scene']} ({scene['n_images']} images): {scene['reason']}")
    return "\n".join(lines) + "\n"
