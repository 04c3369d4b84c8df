"""``stbench index webcams ROOT --out DIR``: per-camera image records with trusted timestamps."""

from __future__ import annotations

from pathlib import Path

import typer

from stbench.cli.options import apply_cli_threads, threads_option, workers_option
from stbench.threads import resolve_workers

__all__ = ["register_index"]


def register_index(index_app: typer.Typer) -> None:
    """Add the ``webcams`` command to the ``stbench index`` sub-app."""

    @index_app.command("webcams")
    def webcams(
        root: Path = typer.Argument(..., help="Webcam root: cameras.csv and <id>/<YYYY>.<MM>.zip."),
        out: Path = typer.Option(..., "--out", help="Output directory (one folder per camera)."),
        cameras: str | None = typer.Option(
            None, "--cameras", help="Comma-separated camera ids (default: all under ROOT)."
        ),
        workers: int | None = workers_option("Processes."),
        threads: int | None = threads_option(),
        overwrite: bool = typer.Option(False, "--overwrite", help="Rebuild indexed cameras."),
        keep_going: bool = typer.Option(
            False,
            "--keep-going",
            help="Exit 0 even if some cameras failed (each is reported; without it: exit 2).",
        ),
    ) -> None:
        """Index webcam frames: timestamps from names, checked and corrected against the sun.

        Writes <out>/<camera_id>/{images,pairs,rejects}.parquet and <out>/config.json.
        """
        from stbench.cli.common import console_err
        from stbench.webcams import WebcamConfig, index_webcams

        apply_cli_threads(threads)

        def report(camera_id: str, error: str) -> None:
            console_err().print(f"{camera_id}: failed, not written: {error}", highlight=False)

        ids = [c.strip() for c in cameras.split(",") if c.strip()] if cameras else None
        path = index_webcams(
            WebcamConfig(),
            root,
            out,
            overwrite=overwrite,
            progress=True,
            workers=resolve_workers(workers),
            cameras=ids,
            keep_going=keep_going,
            on_failure=report,
        )
        typer.echo(str(path))
