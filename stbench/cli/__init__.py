"""The ``stbench`` command line: a thin layer over the library's stage functions.

Each command group lives in its own module exposing ``register(app)``; modules import only
typer at import time and load heavy libraries inside the command bodies.
"""

from __future__ import annotations

import importlib
import sys

import typer

from stbench import __version__
from stbench.errors import StbenchError

__all__ = ["COMMAND_MODULES", "build_app", "main"]


#: Modules that register commands, in the order they appear in ``stbench --help``.
COMMAND_MODULES: tuple[str, ...] = (
    "stbench.cli.demo",
    "stbench.cli.synth",
    "stbench.cli.fetch",
    "stbench.cli.capture",
    "stbench.cli.timestamp",
    "stbench.cli.index",
    "stbench.cli.manifest",
    "stbench.cli.train",
    "stbench.cli.evaluate",
    "stbench.cli.compose",
    "stbench.cli.sfm",
    "stbench.cli.leaderboard",
    "stbench.cli.report",
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"stbench {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    """Create the typer app with every command group registered."""
    from stbench.cli.common import use_rich_reporter
    from stbench.cli.helptext import TidyGroup

    use_rich_reporter()

    app = typer.Typer(
        name="stbench",
        cls=TidyGroup,
        help="Spatio-temporal feature matching: data, reference model and evaluation.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(
            False, "--version", callback=_version_callback, is_eager=True, help="Show the version."
        ),
    ) -> None:
        """stbench command line."""

    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(app)
    return app


def main() -> None:
    """Entry point of the ``stbench`` console script."""
    app = build_app()
    try:
        app()
    except (StbenchError, ImportError) as exc:
        from stbench.cli.common import console_err
        from stbench.extras import missing_extra

        if not isinstance(exc, StbenchError):
            exc = missing_extra(exc)  # a missing optional package: name the extra to install
            if exc is None:
                raise
        from rich.markup import escape

        console_err().print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(2)
