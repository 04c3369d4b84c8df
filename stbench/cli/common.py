"""Console and progress helpers shared by the CLI and long-running stages."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def console() -> Console:
    """A console on stdout."""
    return Console()


def console_err() -> Console:
    """A console on stderr (errors and progress)."""
    return Console(stderr=True)


def progress_bar(transient: bool = False) -> Progress:
    """A rich progress bar on stderr: description, bar, done/total, elapsed, remaining."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
        console=console_err(),
        transient=transient,
    )
