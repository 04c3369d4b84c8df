"""Options shared by the heavy commands."""

from __future__ import annotations

from typing import Any

import typer

__all__ = [
    "THREADS_HELP",
    "apply_cli_threads",
    "item_timeout_option",
    "manifest_option",
    "method_option",
    "split_option",
    "threads_option",
    "trust_modified_option",
    "workers_option",
]


THREADS_HELP = (
    "CPU threads per process for torch, OpenCV and BLAS (workers too) "
    "(default: $STBENCH_THREADS, else $OMP_NUM_THREADS, else 1)."
)


def method_option(help: str) -> Any:
    """The required ``--method`` / ``-m`` option."""
    return typer.Option(..., "--method", "-m", help=help)


def manifest_option() -> Any:
    """The ``--manifest`` option of the commands that read one (None: resolved as
    :func:`stbench.cli.resolve.resolve_manifest` says)."""
    return typer.Option(
        None,
        "--manifest",
        help="Manifest directory (default: $STBENCH_HOME/manifests/default, where "
        "`stbench demo` and `build-manifest` write; else the most recent one).",
    )


def split_option() -> Any:
    """The ``--split`` option of the commands that score a split (default ``test``)."""
    return typer.Option("test", "--split", help="test, val, train or all.")


def threads_option() -> Any:
    """The ``--threads`` option (None: the policy of :mod:`stbench.threads` decides)."""
    return typer.Option(None, "--threads", min=1, help=THREADS_HELP, show_default=False)


def apply_cli_threads(threads: int | None) -> int:
    """Apply the thread policy for a command; returns the threads per process."""
    from stbench.threads import apply_threads

    return apply_threads(threads)


def trust_modified_option(action: str) -> Any:
    """The ``--trust-modified`` option: ``action`` is what the command does with the manifest
    ("Score", "Train on", "Export" ...); the use is recorded (docs/manifest.md)."""
    return typer.Option(
        False,
        "--trust-modified",
        help=f"{action} a manifest whose tables no longer match its content hash (recorded).",
    )


def item_timeout_option() -> Any:
    """The ``--item-timeout`` option of the commands that run a method (evaluate, sfm)."""
    from stbench.defaults import ITEM_TIMEOUT_S

    return typer.Option(
        ITEM_TIMEOUT_S,
        "--item-timeout",
        min=0.001,
        help="Seconds a method may take on one pair or image; then its worker is killed "
        "and the item recorded as failed.",
    )


def workers_option(what: str) -> Any:
    """The ``--workers`` option (None: one process per available core,
    :func:`stbench.threads.resolve_workers`); ``what`` says what the processes do."""
    return typer.Option(
        None,
        "--workers",
        min=1,
        help=f"{what} (default: one per available CPU core; each gets --threads, capped so "
        "that workers x threads <= cores).",
        show_default=False,
    )
