"""``stbench index megadepth ROOT --out DIR``: MegaDepth scenes to per-scene Parquet records."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from stbench.cli.options import apply_cli_threads, threads_option, workers_option
from stbench.threads import resolve_workers

__all__ = ["register_index"]


def register_index(index_app: typer.Typer) -> None:
    """Add the ``megadepth`` command to the ``stbench index`` group."""

    @index_app.command("megadepth")
    def index_megadepth_command(
        root: Path = typer.Argument(
            ..., help="MegaDepth root (holds MegaDepth_v1, MegaDepth_v1_SfM)."
        ),
        out: Path = typer.Option(..., "--out", help="Output directory: <out>/<scene>/*.parquet."),
        scene: list[str] = typer.Option(
            None, "--scene", help="Scene id(s) to index (default all)."
        ),
        scene_info: list[Path] = typer.Option(
            None,
            "--scene-info",
            help="D2-Net / LoFTR .npz index(es) to convert instead of the COLMAP models.",
        ),
        config: Path = typer.Option(
            None, "--config", help="JSON file with MegaDepthConfig keys (strict)."
        ),
        samples: int = typer.Option(
            None, "--samples", min=1, help="Samples per direction (1,024)."
        ),
        tau: float = typer.Option(
            None, "--tau", min=0.001, max=1, help="Relative depth tolerance (0.05)."
        ),
        min_depth_overlap: float = typer.Option(
            None,
            "--min-depth-overlap",
            min=0,
            max=1,
            help="Reject pairs below this overlap (0.05).",
        ),
        no_timestamps: bool = typer.Option(False, "--no-timestamps", help="Skip EXIF times."),
        workers: int | None = workers_option("Scenes processed in parallel."),
        threads: int | None = threads_option(),
        overwrite: bool = typer.Option(False, "--overwrite", help="Rebuild existing scenes."),
        keep_going: bool = typer.Option(
            False,
            "--keep-going",
            help="Exit 0 even if some scenes failed (each is reported; without it: exit 2).",
        ),
    ) -> None:
        """Index MegaDepth scenes: images, depth-verified pairs and rejects per scene."""
        from stbench.cli.common import console_err
        from stbench.config import config_from_dict
        from stbench.errors import ConfigError
        from stbench.megadepth.config import MegaDepthConfig
        from stbench.megadepth.run import index_megadepth

        values = {}
        if config is not None:
            try:
                values = json.loads(Path(config).read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise ConfigError(f"cannot read config {config}: {exc}") from exc
        overrides = dict(
            samples_per_direction=samples, tau=tau, min_depth_overlap=min_depth_overlap
        )
        values.update({k: v for k, v in overrides.items() if v is not None})
        if no_timestamps:
            values["timestamps"] = False
        settings = config_from_dict(MegaDepthConfig, values, where="megadepth config")
        err = console_err()
        threads = apply_cli_threads(threads)  # also the threads per scene (depth, verify)

        def report(scene_id: str, records) -> None:
            if records is None:
                err.print(f"{scene_id}: already indexed with this config, kept")
            else:
                err.print(
                    f"{scene_id}: {len(records.images)} images, {len(records.pairs)} pairs, "
                    f"{len(records.rejects)} rejects"
                )

        index_megadepth(
            settings,
            root,
            out,
            overwrite=overwrite,
            workers=resolve_workers(workers),
            threads=threads,
            scenes=list(scene or []) or None,
            scene_info=list(scene_info or []) or None,
            on_scene=report,
            keep_going=keep_going,
            on_failure=lambda scene_id, error: err.print(
                f"{scene_id}: failed, not written: {error}", highlight=False
            ),
        )
        typer.echo(str(out))
