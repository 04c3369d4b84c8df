"""``stbench timestamp``: resolve and print the UTC capture time of image files."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["path_problem", "register"]


def register(app: typer.Typer) -> None:
    """Add the ``timestamp`` command to ``app``."""

    @app.command("timestamp")
    def timestamp(
        files: list[Path] = typer.Argument(..., help="Image files (JPEG) to date."),
        json_lines: bool = typer.Option(
            False, "--json", help="One JSON object per line instead of a table."
        ),
        lat: float | None = typer.Option(
            None,
            "--lat",
            min=-90,
            max=90,
            help="Camera latitude (deg), used when the EXIF has no GPS position.",
        ),
        lon: float | None = typer.Option(
            None, "--lon", min=-180, max=180, help="Camera longitude (deg, east +)."
        ),
    ) -> None:
        """Resolve each file's UTC capture time from its header (EXIF, GPS, zone, file name).

        Prints path, timestamp_utc (ISO 8601 with Z), utc_offset_min, timestamp_source,
        timestamp_trust and trust_flags. A bad image gives flags; a path that does not exist or
        is not a regular file (a directory, a FIFO, a device) is reported on stderr, the other
        files are still dated, and the command exits with status 1.
        """
        import json

        from stbench.timestamps import resolve_timestamp

        rows = []
        problems = 0
        for path in files:
            problem = path_problem(path)
            if problem:
                problems += 1
                typer.echo(f"error: {path}: {problem}", err=True)
                continue
            result = resolve_timestamp(path, lat=lat, lon=lon)
            rows.append({"path": str(path), **result.to_dict()})
            if json_lines:
                typer.echo(json.dumps(rows[-1]))
        if not json_lines and rows:
            _print_table(rows)
        if problems:
            typer.echo(
                f"{problems} of {len(files)} path(s) could not be read as image files; "
                "pass existing regular files",
                err=True,
            )
            raise typer.Exit(1)


def path_problem(path: Path) -> str:
    """Why ``path`` cannot be dated ("" when it is an existing regular file).

    Uses ``os.stat`` only: a FIFO or device is never opened (opening a FIFO blocks).
    """
    import os
    import stat

    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "no such file"
    except OSError as exc:
        return f"cannot stat it ({exc.strerror or exc})"
    if stat.S_ISDIR(mode):
        return "is a directory, not an image file"
    if stat.S_ISFIFO(mode):
        return "is a FIFO (named pipe), not an image file; refused without opening it"
    if not stat.S_ISREG(mode):
        return "is not a regular file (a device or socket); refused without opening it"
    return ""


def _print_table(rows: list[dict]) -> None:
    from rich.table import Table

    from stbench.cli.common import console

    table = Table(show_lines=False)
    for column in (
        "path",
        "timestamp_utc",
        "utc_offset_min",
        "timestamp_source",
        "timestamp_trust",
        "trust_flags",
    ):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["path"],
            row["timestamp_utc"] or "-",
            "-" if row["utc_offset_min"] is None else str(row["utc_offset_min"]),
            row["timestamp_source"],
            f"{row['timestamp_trust']:.2f}",
            ",".join(row["trust_flags"]),
        )
    console().print(table)
