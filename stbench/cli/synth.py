"""``stbench synth``: generate the embedded synthetic world."""

from __future__ import annotations

from pathlib import Path

import typer

from stbench.cli.options import apply_cli_threads, threads_option

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``synth`` command to ``app``."""

    @app.command("synth")
    def synth(
        out: Path | None = typer.Option(
            None,
            "--out",
            help="World directory (default: $STBENCH_HOME/worlds/<preset>-seed<seed>).",
        ),
        preset: str = typer.Option(
            "default", "--preset", help="small | default | benchmark | large."
        ),
        seed: int = typer.Option(
            0, "--seed", min=0, help="World seed (same seed + preset = same bytes)."
        ),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty --out."),
        webcams: bool = typer.Option(
            True, "--webcams/--no-webcams", help="Also write the AMOS webcams."
        ),
        workers: int | None = typer.Option(
            None, "--workers", min=1, help="Rendering processes (default: all CPUs)."
        ),
        threads: int | None = threads_option(),
    ) -> None:
        """Render a synthetic town as MegaDepth scenes and AMOS webcams, with ground truth."""
        import time

        from stbench.cli.common import console
        from stbench.errors import StbenchError
        from stbench.synth.config import WorldConfig
        from stbench.synth.world import generate_world

        apply_cli_threads(threads)
        start = time.perf_counter()
        try:
            config = WorldConfig(preset=preset, seed=seed, webcams=webcams)
            path = generate_world(config, out, overwrite=overwrite, progress=True, workers=workers)
        except ImportError as exc:
            raise StbenchError(str(exc)) from exc
        elapsed = time.perf_counter() - start
        console().print(f"wrote the {preset} world (seed {seed}) to {path} in {elapsed:.1f} s")
