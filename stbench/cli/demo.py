"""``stbench demo``: the main job on the embedded synthetic world."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command."""

    @app.command("demo")
    def demo(
        out: Path | None = typer.Option(
            None, "--out", help="Output directory (default: $STBENCH_HOME/demo)."
        ),
        preset: str = typer.Option("default", "--preset", help="Synthetic world preset."),
        seed: int = typer.Option(0, "--seed", min=0, help="Synthetic world seed."),
        max_pairs: int = typer.Option(
            120, "--max-pairs", min=1, help="Test pairs evaluated per method."
        ),
        max_images: int = typer.Option(600, "--max-images", min=1, help="Test images per method."),
        workers: int = typer.Option(1, "--workers", min=1, help="Worker processes."),
    ) -> None:
        """Synthetic world -> manifest -> quick training -> evaluation -> leaderboard."""
        from stbench.demo import DemoConfig, run_demo

        run_demo(
            DemoConfig(
                preset=preset,
                seed=seed,
                max_pairs=max_pairs,
                max_images=max_images,
                workers=workers,
            ),
            out,
        )
