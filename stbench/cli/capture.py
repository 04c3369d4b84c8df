"""``stbench capture``: a thin wrapper over :func:`stbench.fetch.capture.run_capture`."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["capture", "register"]


def capture(
    url: str = typer.Argument(..., help="The live webcam JPEG URL."),
    camera_id: int = typer.Option(
        ..., "--camera-id", min=0, help="Camera id (frames in ROOT/<id:08d>)."
    ),
    lat: float = typer.Option(..., "--lat", min=-90, max=90, help="Camera latitude in degrees."),
    lon: float = typer.Option(..., "--lon", min=-180, max=180, help="Camera longitude in degrees."),
    every: str = typer.Option("10m", "--every", help="Poll interval: 30s, 10m, 1h ..."),
    until: str = typer.Option(
        None, "--until", help="Stop time: ISO 8601 (naive = UTC) or a duration from now (2h)."
    ),
    root: Path = typer.Option(None, "--root", help="Webcam root (default: $STBENCH_HOME/webcams)."),
    max_frames: int = typer.Option(None, "--max-frames", min=1, help="Stop after N new frames."),
    name: str = typer.Option("", "--name", help="Camera name for cameras.csv."),
    timeout: float = typer.Option(30.0, min=0.1, help="Read timeout in seconds."),
) -> None:
    """Poll a live webcam and store new frames with their HTTP headers (resumable)."""
    import datetime as dt

    from stbench.cli.common import console_err
    from stbench.errors import ConfigError
    from stbench.fetch.capture import (
        CaptureConfig,
        PollResult,
        parse_duration,
        parse_until,
        run_capture,
    )
    from stbench.fetch.webcams import CameraInfo, write_cameras_csv
    from stbench.paths import stbench_home

    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ConfigError(f"--lat {lat} / --lon {lon} out of range")
    root = root or stbench_home() / "webcams"
    end = parse_until(until, dt.datetime.now(dt.timezone.utc)) if until else None
    write_cameras_csv(root, [CameraInfo(camera_id, name, lat, lon)])
    console = console_err()

    def report(result: PollResult) -> None:
        record = result.record
        detail = record["file"] or result.reason
        console.print(f"{record['fetch_time_utc']} {result.status}: {detail}", highlight=False)

    camera_dir = root / f"{camera_id:08d}"
    try:
        run_capture(
            url,
            camera_id,
            root=root,
            every_s=parse_duration(every),
            until=end,
            max_frames=max_frames,
            config=CaptureConfig(read_timeout_s=timeout),
            on_poll=report,
        )
    except KeyboardInterrupt:
        console.print("interrupted: run the same command again to resume", highlight=False)
    typer.echo(str(camera_dir))


def register(app: typer.Typer) -> None:
    """Add the ``capture`` command to ``app``."""
    app.command("capture")(capture)
