"""Byte progress for downloads, verification and extraction (a rich bar on stderr)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class ByteProgress:
    """One rich progress bar per task, counting bytes; use as a context manager.

    ``task(description, total)`` returns a callback ``(done, total)`` suited to
    :func:`stbench.fetch.download.download`'s ``on_progress``.
    """

    def __init__(self, transient: bool = False) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        from stbench.cli.common import console_err

        self._progress = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console_err(),
            transient=transient,
        )

    def __enter__(self) -> ByteProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._progress.stop()

    def task(self, description: str, total: int | None = None) -> Callable[[int, int | None], None]:
        """Add a bar; the returned callback sets its completed bytes (and total when known)."""
        task_id = self._progress.add_task(description, total=total)

        def update(done: int, new_total: int | None = None) -> None:
            if new_total is not None:
                self._progress.update(task_id, completed=done, total=new_total)
            else:
                self._progress.update(task_id, completed=done)

        return update

    def print(self, message: str) -> None:
        """Print a line above the bars."""
        self._progress.console.print(message, highlight=False)
