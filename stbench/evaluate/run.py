"""``evaluate``: export a method's predictions on a manifest, score them, write the reports."""

from __future__ import annotations

import dataclasses
import re
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from stbench import __version__
from stbench.atomic import atomic_path
from stbench.config import save_config
from stbench.errors import ConfigError
from stbench.evaluate.clusters import ClusterSpec
from stbench.evaluate.config import EvaluateConfig
from stbench.evaluate.export import (
    ImageLoader,
    MethodInputs,
    export_matches,
    export_time,
    open_prediction_cache,
)
from stbench.evaluate.score import add_clusters, score_images, score_pairs_parallel
from stbench.evaluate.selection import select
from stbench.evaluate.summary import summarize
from stbench.evaluate.workers import MethodRunner, MethodWorker, failure_kind
from stbench.methods.tracks import inputs_for, replays_stored_predictions
from stbench.paths import stbench_home
from stbench.progress import Progress, reporter

__all__ = ["default_run_dir", "evaluate", "failure_summary"]

PREDICTIONS_DIR = "predictions"
PER_PAIR_FILE = "per_pair.parquet"
PER_IMAGE_FILE = "per_image.parquet"


def default_run_dir(manifest_name: str, method_name: str) -> Path:
    """``stbench_home()/runs/<manifest>/<method>``."""
    safe = re.sub(r"[^A-Za-z0-9_.@-]+", "_", method_name)
    return stbench_home() / "runs" / manifest_name / safe


def _roots(manifest: Any) -> dict[str, Path]:
    """Data roots of the sources the manifest names (a source without one fails when read)."""
    sources = set(manifest.images["source"].dropna()) & set(manifest.meta.get("sources", {}))
    return {source: manifest.root(source) for source in sorted(sources)}


def _write_parquet(frame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


def evaluate(
    config: EvaluateConfig,
    manifest_dir: str | Path,
    out: str | Path | None = None,
    *,
    overwrite: bool = False,
    progress: bool = False,
    write_plots: bool = True,
    clusters: ClusterSpec | None = None,
    trust_modified: bool = False,
) -> Path:
    """Evaluate ``config.method`` on split ``config.split`` of a manifest; returns the run
    directory (default ``stbench_home()/runs/<manifest>/<method>``).

    The run directory holds ``config.json``, ``predictions/`` (the cache, reused when the
    method and manifest are unchanged), ``per_pair.parquet``, ``per_image.parquet``,
    ``summary.json``, ``summary.csv`` (one leaderboard row), ``summary.md`` and ``plots/``.
    ``clusters`` sets the resampling units of the intervals (default: camera x 14 days for
    images, scene for pairs; :class:`stbench.evaluate.clusters.ClusterSpec`). The manifest is
    verified first (:func:`stbench.manifest.verify.load_verified_manifest`); ``trust_modified``
    accepts tables that no longer match their content hash, recorded in the summary's
    ``manifest_check``.

    The method runs in ``workers`` supervised processes and sees only its track's inputs
    (:mod:`stbench.methods.tracks`); an item on which it takes longer than ``item_timeout``
    seconds, raises or crashes is a recorded failure (``summary.json``: ``failures``).
    ``progress`` reports to :func:`stbench.progress.reporter`; ``write_plots`` False skips
    the PNG plots.

    Raises:
        ConfigError: unknown method, a split the manifest lacks, a method that implements
            nothing usable.
        DataError: the manifest fails verification (hash, schema, ids, paths, source roots).
        OutputExistsError: cached predictions were made with another method config or
            manifest and ``overwrite`` is False.
    """
    from stbench.manifest.verify import load_verified_manifest

    manifest = load_verified_manifest(
        manifest_dir, trust_modified=trust_modified, command="evaluate"
    )
    probe = MethodWorker(config.method, config.method_options, config.workers)
    probe.start()  # builds the method in its worker: this process never runs the method's code
    try:
        return _evaluate(probe, config, manifest, out, overwrite, progress, write_plots, clusters)
    finally:
        probe.stop()  # nothing left to stop once a runner took it over


def _evaluate(
    probe: MethodWorker,
    config: EvaluateConfig,
    manifest: Any,
    out: str | Path | None,
    overwrite: bool,
    progress: bool,
    write_plots: bool,
    clusters: ClusterSpec | None,
) -> Path:
    """The body of :func:`evaluate`, with the method running in ``probe`` (its first worker)."""
    info = probe.info
    method_name, split, seed = config.method, config.split, config.seed
    workers, tau, n_bootstrap = config.workers, config.tau, config.n_bootstrap
    run_dir = Path(out) if out else default_run_dir(manifest.name, info.name)
    selection = select(manifest, split, config.max_pairs, config.max_images, seed)
    matches, times = info.matches, info.times
    n_matchable = int(selection.pairs["matchable"].sum()) if len(selection.pairs) else 0
    if not (matches and n_matchable) and not (times and selection.time_images):
        raise ConfigError(
            f"nothing to evaluate: {method_name!r} "
            + ("matches images" if matches else "predicts time")
            + f", but split {split!r} of {manifest.directory} has "
            + ("no pairs with poses" if matches else "no images with trusted timestamps")
            + (" and the method predicts no time" if not times else "")
        )
    identity, cache = open_prediction_cache(
        run_dir / PREDICTIONS_DIR, method_name, info, manifest, overwrite
    )
    save_config(config, run_dir)

    roots = _roots(manifest)
    loader = ImageLoader(selection.images, roots)
    # what the method sees, decided here from its spec and track; a fresh secret per run for
    # the opaque item ids, which mean nothing outside it
    inputs = MethodInputs(loader, inputs_for(method_name, info.track), info.needs_images)

    def runner(training: Any = None) -> MethodRunner:
        return MethodRunner(
            method_name,
            config.method_options,
            workers,
            config.item_timeout,
            training=training,
            fit_timeout=config.fit_timeout,
            started=probe if probe.process is not None else None,  # the first runner reuses it
        )

    started = time.perf_counter()
    counts: dict[str, Any] = {}
    with reporter().progress(transient=True) if progress else Progress() as bars:
        if matches:
            total = int(selection.pairs["matchable"].sum())
            counts["pairs"] = export_matches(
                info, selection, cache, runner, inputs, bars.task("matching", total)
            )
        if times:
            counts["images"] = export_time(
                info,
                selection,
                cache,
                runner,
                inputs,
                config.max_train_images,
                bars.task("time", len(selection.time_images)),
            )
        export_s = time.perf_counter() - started
        time_labels = cache.read_time() if times else None
        per_pair = score_pairs_parallel(
            selection,
            cache,
            roots if matches else None,
            time_labels,
            workers,
            progress=bars.task("scoring", len(selection.pairs)),
            tau=tau,
            pose_threshold_px=config.pose_threshold_px,
            pose_confidence=config.pose_confidence,
        )
    if not matches:
        per_pair["status"] = "not_matched"
    per_image = score_images(selection, cache.read_time(), cache.read_failures())
    if not times:  # a matcher only: no temporal results at all (not zeros)
        per_image = per_image.iloc[:0]
    clusters = clusters or ClusterSpec()
    per_pair, per_image = add_clusters(per_pair, per_image, selection, clusters)
    _write_parquet(per_pair, run_dir / PER_PAIR_FILE)
    _write_parquet(per_image, run_dir / PER_IMAGE_FILE)
    summary = summarize(per_pair, per_image, n_bootstrap, seed, clusters)
    matched = per_pair[per_pair["status"].isin(["ok", "failed"])]
    summary.update(
        method=info.name,
        method_spec=method_name,
        method_version=info.version,
        method_config=info.config,
        manifest=identity.manifest,
        manifest_check=manifest.verification,
        split=split,
        track=info.track,
        track_declared_by="user" if replays_stored_predictions(method_name) else "method",
        failures=failure_summary(per_pair, per_image),
        n_pairs=len(per_pair),
        n_matched_pairs=len(matched),
        n_images=len(per_image),
        ms_per_pair=float(matched["time_s"].mean() * 1000) if len(matched) else None,
        export_counts=counts,
        export_seconds=export_s,
        n_pairs_without_depth=int((matched["status"] == "ok").sum() - matched["has_depth"].sum()),
        date=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        stbench_version=__version__,
        config=dataclasses.asdict(config),
    )
    from stbench.evaluate.report import write_reports

    write_reports(summary, per_pair, per_image, run_dir, with_plots=write_plots)
    return run_dir


def failure_summary(per_pair: Any, per_image: Any) -> dict[str, dict[str, int]]:
    """Failed pairs and images counted by kind (``timeout``, ``crash``, ``raised``,
    ``invalid_output``, ``image_unreadable``, ``fit_failed``)."""
    out: dict[str, dict[str, int]] = {}
    for name, frame in (("pairs", per_pair), ("images", per_image)):
        failed = frame[frame["status"] == "failed"] if "status" in frame else frame.iloc[:0]
        kinds: dict[str, int] = {}
        for reason in failed.get("failure_reason", []):
            kind = failure_kind(str(reason)) if reason is not None else "raised"
            kinds[kind] = kinds.get(kind, 0) + 1
        out[name] = dict(sorted(kinds.items()))
    return out
