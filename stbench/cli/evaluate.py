"""``stbench evaluate`` and ``stbench new-method``: thin wrappers over stbench.evaluate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from stbench.cli.options import (
    apply_cli_threads,
    item_timeout_option,
    manifest_option,
    method_option,
    split_option,
    threads_option,
    trust_modified_option,
    workers_option,
)
from stbench.defaults import N_BOOTSTRAP
from stbench.errors import ConfigError
from stbench.threads import resolve_workers

__all__ = ["parse_options", "register"]


def parse_options(values: list[str]) -> dict[str, Any]:
    """``key=value`` strings to a dict; values are JSON when they parse, else strings."""
    options: dict[str, Any] = {}
    for item in values:
        if "=" not in item:
            raise ConfigError(f"--option {item!r} is not key=value")
        key, raw = item.split("=", 1)
        try:
            options[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            options[key.strip()] = raw
    return options


def register(app: typer.Typer) -> None:
    """Add ``evaluate`` and ``new-method`` to the app."""

    @app.command("evaluate")
    def evaluate_command(
        method: str = method_option(
            "Method: built-in name (sift, orb, reference, exif, colorstats, majority, constant, "
            "predictions), entry point, package.module:Factory or path/to/file.py:Factory."
        ),
        manifest: Path | None = manifest_option(),
        split: str = split_option(),
        out: Path | None = typer.Option(
            None, "--out", help="Run directory (default: $STBENCH_HOME/runs/<manifest>/<method>)."
        ),
        option: list[str] = typer.Option(
            [], "--option", "-o", help="Method option key=value (repeatable)."
        ),
        workers: int | None = workers_option("Processes running the method."),
        item_timeout: float = item_timeout_option(),
        threads: int | None = threads_option(),
        max_pairs: int | None = typer.Option(
            None, "--max-pairs", min=1, help="Evaluate a seeded random subset of pairs."
        ),
        max_images: int | None = typer.Option(
            None, "--max-images", min=1, help="Cap the images given a temporal prediction."
        ),
        n_bootstrap: int = typer.Option(
            N_BOOTSTRAP, "--bootstrap", min=1, help="Bootstrap replicates for the 95 % intervals."
        ),
        seed: int = typer.Option(0, "--seed", min=0, help="Seed of the subset and the bootstrap."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Recompute cached predictions."),
        no_plots: bool = typer.Option(False, "--no-plots", help="Skip the PNG plots."),
        image_clusters: str = typer.Option(
            "camera-days",
            "--image-clusters",
            help="Resampling unit of image metrics: camera-days, camera or item.",
        ),
        pair_clusters: str = typer.Option(
            "scene",
            "--pair-clusters",
            help="Resampling unit of pair metrics: scene, scene-days or item.",
        ),
        cluster_days: int = typer.Option(
            14, "--cluster-days", min=1, help="Days per block of the *-days clusters."
        ),
        trust_modified: bool = trust_modified_option("Evaluate"),
    ) -> None:
        """Evaluate a method on a manifest: matching precision, pose AUC, time by span."""
        from stbench.cli.resolve import check_method_spec, resolve_manifest
        from stbench.evaluate.clusters import ClusterSpec
        from stbench.evaluate.config import EvaluateConfig
        from stbench.evaluate.leaderboard import load_summary
        from stbench.evaluate.report import print_summary
        from stbench.evaluate.run import evaluate

        check_method_spec(method)  # a method error is reported before a manifest error
        manifest = resolve_manifest(manifest)
        apply_cli_threads(threads)
        run_dir = evaluate(
            EvaluateConfig(
                method,
                split=split,
                method_options=parse_options(option),
                max_pairs=max_pairs,
                max_images=max_images,
                n_bootstrap=n_bootstrap,
                seed=seed,
                workers=resolve_workers(workers),
                item_timeout=item_timeout,
            ),
            manifest,
            out,
            overwrite=overwrite,
            progress=True,
            write_plots=not no_plots,
            clusters=ClusterSpec(image_clusters, pair_clusters, cluster_days),
            trust_modified=trust_modified,
        )
        summary = load_summary(run_dir)
        print_summary(summary)
        typer.echo(f"track: {summary.get('track', 'pixels')}")
        for kind, counts in (summary.get("failures") or {}).items():
            if counts:
                reasons = ", ".join(f"{name} {n}" for name, n in counts.items())
                typer.echo(f"failed {kind}: {sum(counts.values())} ({reasons})")
        typer.echo(f"results: {run_dir}")

    @app.command("new-method")
    def new_method_command(
        name: str = typer.Argument(..., help="Method name (a Python identifier, e.g. my_matcher)."),
        out: Path = typer.Option(Path("."), "--out", help="Directory to write <name>.py into."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing file."),
    ) -> None:
        """Write a documented method template that runs as is."""
        from stbench.methods.template import write_template

        path, spec = write_template(name, out, overwrite=overwrite)
        typer.echo(f"wrote {path}\nrun it: stbench evaluate --method {spec}")
        typer.echo(
            "(it uses $STBENCH_HOME/manifests/default, which `stbench demo` builds, or the most "
            "recent manifest; add --manifest DIR for another)"
        )
