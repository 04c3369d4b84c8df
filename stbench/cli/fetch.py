"""``stbench fetch megadepth`` and ``stbench fetch webcams``: thin wrappers over stbench.fetch."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from stbench.fetch.download import DownloadConfig

__all__ = ["megadepth", "register", "webcams"]


fetch_app = typer.Typer(
    help="Download datasets (resumable, verified, safely extracted).", no_args_is_help=True
)


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _network_config(retries: int, timeout: float) -> DownloadConfig:
    from stbench.fetch.download import DownloadConfig

    return DownloadConfig(retries=retries, read_timeout_s=timeout)


@fetch_app.command("megadepth")
def megadepth(
    root: Path = typer.Option(
        None, "--root", help="MegaDepth root to fill (default: $STBENCH_HOME/megadepth)."
    ),
    parts: str = typer.Option("depth,sfm", "--parts", help="Comma-separated: depth, sfm."),
    url: str = typer.Option(
        None,
        "--url",
        help="Mirror: a base URL (the archive's path is appended) or a template with {path} "
        "or {archive}. Default: the public Cornell URL.",
    ),
    verify: bool = typer.Option(
        True, "--verify/--no-verify", help="Re-hash existing archives against the fetch log."
    ),
    keep_archives: bool = typer.Option(
        True, "--keep-archives/--delete-archives", help="Keep ROOT/archives after extraction."
    ),
    retries: int = typer.Option(
        6, min=0, help="Consecutive failed attempts without progress allowed."
    ),
    timeout: float = typer.Option(60.0, min=0.1, help="Read timeout in seconds."),
) -> None:
    """Download MegaDepth_v1.tar.gz / MegaDepth_SfM_v1.tar.xz and extract them into ROOT."""
    from stbench.cli.common import RichProgress
    from stbench.fetch.megadepth import fetch_megadepth
    from stbench.paths import stbench_home

    root = root or stbench_home() / "megadepth"
    with RichProgress(unit="bytes") as progress:
        fetch_megadepth(
            root,
            _split(parts),
            url=url,
            config=_network_config(retries, timeout),
            verify=verify,
            keep_archives=keep_archives,
            progress=progress,
        )
    typer.echo(str(root))


@fetch_app.command("webcams")
def webcams(
    cameras: str = typer.Option(..., "--cameras", help="Comma-separated AMOS camera ids."),
    months: str = typer.Option(
        ..., "--months", help="YYYY-MM:YYYY-MM, YYYY-MM, YYYY, or a comma-separated mix."
    ),
    root: Path = typer.Option(
        None, "--root", help="Webcam root to fill (default: $STBENCH_HOME/webcams)."
    ),
    url_template: str = typer.Option(
        None,
        "--url-template",
        help="Monthly zip URL with {YYYY} {MM} {id} {id:08} {id%100:02} {id%10000:04}. "
        "Default: the public AMOS archive (early months under its 2012zipfiles/ prefix).",
    ),
    early_url_template: str = typer.Option(
        None, "--early-url-template", help="Template for months up to --early-until."
    ),
    early_until: str = typer.Option(
        "2013-08", "--early-until", help="Last month (YYYY-MM) served by the early template."
    ),
    cameras_url: str = typer.Option(
        None, "--cameras-url", help="URL of a CSV with camera metadata (id,name,lat,lon)."
    ),
    cameras_csv: Path = typer.Option(
        None, "--cameras-csv", help="Local CSV with camera metadata (id,name,lat,lon)."
    ),
    retry_failed: bool = typer.Option(
        False, "--retry-failed", help="Ask again for months recorded as missing or invalid."
    ),
    verify: bool = typer.Option(
        True, "--verify/--no-verify", help="Re-hash existing zips against the fetch log."
    ),
    retries: int = typer.Option(
        6, min=0, help="Consecutive failed attempts without progress allowed."
    ),
    timeout: float = typer.Option(60.0, min=0.1, help="Read timeout in seconds."),
) -> None:
    """Download AMOS-style monthly zips into ROOT/<id:08d>/<YYYY>.<MM>.zip, validated."""
    from stbench.cli.common import RichProgress
    from stbench.fetch.webcams import fetch_webcams, parse_camera_ids, parse_months
    from stbench.paths import stbench_home

    root = root or stbench_home() / "webcams"
    counts: dict[str, int] = {}
    with RichProgress(transient=True, unit="bytes") as progress:

        def report(key: str, status: str, detail: str) -> None:
            counts[status] = counts.get(status, 0) + 1
            progress.print(f"{key}: {status} ({detail})")

        fetch_webcams(
            root,
            parse_camera_ids(cameras),
            parse_months(months),
            url_template=url_template,
            early_url_template=early_url_template,
            early_until=early_until,
            cameras_url=cameras_url,
            cameras_csv=cameras_csv,
            config=_network_config(retries, timeout),
            retry_failed=retry_failed,
            verify=verify,
            progress=progress,
            on_month=report,
        )
    typer.echo(", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    typer.echo(str(root))


def register(app: typer.Typer) -> None:
    """Add the ``fetch`` command group to ``app``."""
    app.add_typer(fetch_app, name="fetch")
