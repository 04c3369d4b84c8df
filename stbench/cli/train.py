"""``stbench train-baseline``: train the reference model (a thin layer over stbench.model.train)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from stbench.cli.options import manifest_option, threads_option, trust_modified_option

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``train-baseline`` command to ``app``."""

    @app.command("train-baseline")
    def train_baseline(
        manifest: Path | None = manifest_option(),
        preset: str = typer.Option(
            "quick",
            "--preset",
            help="quick (<= 5 min on CPU), reference (the bundled weights) or full.",
        ),
        device: str = typer.Option("auto", "--device", help="auto (CUDA when present), cpu, cuda."),
        out: Path | None = typer.Option(
            None, "--out", help="Output directory (default: $STBENCH_HOME/models/<preset>)."
        ),
        resume: bool = typer.Option(False, "--resume", help="Continue from OUT/checkpoint.pt."),
        overwrite: bool = typer.Option(
            False, "--overwrite", help="Discard OUT/checkpoint.pt and train from scratch."
        ),
        seed: int = typer.Option(0, "--seed", min=0, help="Seeds initialisation and data order."),
        epochs: int | None = typer.Option(
            None, "--epochs", min=1, help="Override the preset's epochs."
        ),
        temporal_inputs: str | None = typer.Option(
            None,
            "--temporal-inputs",
            help="What the time head sees: decoder (the proposal), colour (36 image statistics) "
            "or both (default: the preset's).",
        ),
        threads: int | None = threads_option(),
        trust_modified: bool = trust_modified_option("Train on"),
    ) -> None:
        """Train the reference matcher + temporal head; multi-GPU with torchrun (DDP)."""
        from stbench.cli.options import apply_cli_threads
        from stbench.cli.resolve import resolve_manifest
        from stbench.model.config import temporal_input_fields
        from stbench.model.presets import PRESETS, preset_config
        from stbench.paths import stbench_home

        overrides: dict = {"seed": seed}
        if epochs is not None:
            overrides["epochs"] = epochs
        if temporal_inputs is not None:
            model = dict(PRESETS.get(preset, {}).get("model", {}))
            overrides["model"] = {**model, **temporal_input_fields(temporal_inputs)}
        config = preset_config(preset, overrides)
        manifest = resolve_manifest(manifest)
        threads = apply_cli_threads(threads)
        out = out or stbench_home() / "models" / preset
        from stbench.model.train import run

        result = run(
            config,
            manifest,
            out,
            overwrite=overwrite,
            progress=True,
            resume=resume,
            device=device,
            threads=threads,
            trust_modified=trust_modified,
            preset=preset,
            command=" ".join(["stbench", *sys.argv[1:]]),
        )
        import os

        if os.environ.get("RANK", "0") == "0":  # under torchrun only rank 0 reports
            typer.echo(f"weights written to {result / 'model.safetensors'}")
