"""``stbench index ...``: per-scene / per-camera index records of each source.

The sub-app collects the commands of ``stbench.cli.index_webcams`` and, when present,
``stbench.cli.index_megadepth``; each exposes ``register_index(index_app)``.
"""

from __future__ import annotations

import importlib

import typer

__all__ = ["INDEX_MODULES", "register"]


#: Modules adding commands to ``stbench index``; a missing optional one is skipped.
INDEX_MODULES: tuple[str, ...] = ("stbench.cli.index_megadepth", "stbench.cli.index_webcams")


def register(app: typer.Typer) -> None:
    """Add the ``index`` command group to ``app``."""
    index_app = typer.Typer(
        name="index",
        help="Index a data source into per-scene / per-camera Parquet records.",
        no_args_is_help=True,
    )
    for module_name in INDEX_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.register_index(index_app)
    app.add_typer(index_app, name="index")
