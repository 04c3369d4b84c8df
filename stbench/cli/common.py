"""Console and progress helpers of the CLI, and the rich :class:`stbench.progress.Reporter`
that the CLI installs at startup so that library stages draw bars and messages on stderr."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from stbench import progress

__all__ = [
    "RichProgress",
    "RichReporter",
    "byte_bar",
    "console",
    "console_err",
    "progress_bar",
    "use_rich_reporter",
]


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


def byte_bar(transient: bool = False) -> Progress:
    """A rich progress bar on stderr counting bytes: description, bar, size, speed, remaining."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console_err(),
        transient=transient,
    )


class RichProgress(progress.Progress):
    """A group of rich bars on stderr (:func:`progress_bar` or :func:`byte_bar`)."""

    def __init__(self, transient: bool = False, unit: progress.Unit = "items") -> None:
        self.unit = unit
        self.bar = byte_bar(transient) if unit == "bytes" else progress_bar(transient)

    def __enter__(self) -> RichProgress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def task(self, name: str, total: int | None = None) -> progress.Advance:
        fields = {} if self.unit == "bytes" else {"status": ""}
        task_id = self.bar.add_task(name, total=total, **fields)

        def advance(
            steps: int = 1,
            *,
            status: str | None = None,
            completed: int | None = None,
            total: int | None = None,
        ) -> None:
            changes: dict = {"advance": steps} if completed is None else {"completed": completed}
            if status is not None and self.unit != "bytes":
                changes["status"] = status
            if total is not None:
                changes["total"] = total
            self.bar.update(task_id, **changes)

        return advance

    def print(self, text: str) -> None:
        self.bar.console.print(text, highlight=False)


class RichReporter(progress.Reporter):
    """Rich bars and messages on stderr: what the command line shows."""

    def progress(self, transient: bool = False, unit: progress.Unit = "items") -> RichProgress:
        return RichProgress(transient, unit)

    def message(self, text: str) -> None:
        console_err().print(text, highlight=False)

    def heading(self, title: str) -> None:
        console_err().rule(f"[bold]{title}")


def use_rich_reporter() -> None:
    """Make library stages report with rich bars and messages (called when the CLI starts)."""
    progress.set_reporter(RichReporter())
