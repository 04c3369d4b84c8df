"""``stbench sfm``: time-varying SfM evaluation (a thin wrapper over stbench.sfm.run)."""

from __future__ import annotations

from pathlib import Path

import typer

from stbench.cli import options as opt
from stbench.defaults import N_BOOTSTRAP

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``sfm`` to the app."""

    @app.command("sfm")
    def sfm_command(
        method: str = opt.method_option(
            "Method (as for evaluate): name, module:Factory, file.py:Factory."
        ),
        manifest: Path | None = opt.manifest_option(),
        split: str = opt.split_option(),
        out: Path | None = typer.Option(
            None,
            "--out",
            help="Run directory (default: $STBENCH_HOME/runs/<manifest>/<method>/sfm).",
        ),
        predictions: Path | None = typer.Option(
            None,
            "--predictions",
            help="Prediction cache shared with evaluate (default: $STBENCH_HOME/runs/<manifest>/<method>/predictions).",
        ),
        option: list[str] = typer.Option(
            [], "--option", "-o", help="Method option key=value (repeatable)."
        ),
        span: list[str] = typer.Option(
            ["season", "daylight"],
            "--span",
            help="Span with per-class reconstructions and purity (repeatable): season, month, week, hour, year or daylight.",
        ),
        exhaustive_max_images: int = typer.Option(
            50, "--exhaustive-max", min=3, help="Scenes up to this many images match every pair."
        ),
        neighbours: int = typer.Option(
            20, "--neighbours", min=1, help="Pairs per image in larger scenes."
        ),
        min_span_images: int = typer.Option(
            4, "--min-span-images", min=3, help="Images a span class needs."
        ),
        max_scene_images: int | None = typer.Option(
            None, "--max-scene-images", min=3, help="Seeded subset of each scene's images."
        ),
        max_mapping_seconds: int = typer.Option(
            900, "--max-mapping-seconds", min=0, help="Time limit of each mapper run (0 = none)."
        ),
        workers: int = typer.Option(1, "--workers", min=1, help="Processes running the method."),
        item_timeout: float = opt.item_timeout_option(),
        n_bootstrap: int = typer.Option(
            N_BOOTSTRAP, "--bootstrap", min=1, help="Bootstrap replicates."
        ),
        seed: int = typer.Option(
            0, "--seed", min=0, help="Seed of pycolmap, subsets and the bootstrap."
        ),
        overwrite: bool = typer.Option(False, "--overwrite", help="Recompute cached predictions."),
        trust_modified: bool = opt.trust_modified_option("Use"),
        threads: int | None = opt.threads_option(),
    ) -> None:
        """Reconstruct each scene (and each span class) from a method's matches with pycolmap."""
        from stbench.cli.evaluate import parse_options
        from stbench.cli.resolve import check_method_spec, resolve_manifest
        from stbench.sfm.run import run_sfm

        check_method_spec(method)  # a method error is reported before a manifest error
        manifest = resolve_manifest(manifest)
        opt.apply_cli_threads(threads)
        run_dir = run_sfm(
            manifest,
            method,
            split,
            out,
            predictions,
            method_options=parse_options(option),
            overwrite=overwrite,
            show_progress=True,
            spans=tuple(span),
            exhaustive_max_images=exhaustive_max_images,
            neighbours=neighbours,
            min_span_images=min_span_images,
            max_scene_images=max_scene_images,
            max_mapping_seconds=max_mapping_seconds,
            workers=workers,
            item_timeout=item_timeout,
            n_bootstrap=n_bootstrap,
            seed=seed,
            trust_modified=trust_modified,
        )
        typer.echo((run_dir / "summary.md").read_text())
        typer.echo(f"results: {run_dir}")
