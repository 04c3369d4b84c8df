"""``stbench report``: one self-contained HTML page for a leaderboard."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``report`` command."""

    @app.command("report")
    def report(
        board: Path | None = typer.Option(
            None,
            "--board",
            metavar="CSV",
            help="Leaderboard CSV (default: $STBENCH_HOME/leaderboard.csv).",
            show_default=False,
        ),
        out: Path | None = typer.Option(
            None,
            "--out",
            metavar="HTML",
            help="HTML file to write (default: the board's path with .html).",
            show_default=False,
        ),
        runs: list[Path] = typer.Option(
            [],
            "--runs",
            metavar="DIR",
            help="Run directory, or a folder of runs, to search for the board rows' runs "
            "(repeatable; also searched: <board folder>/runs and $STBENCH_HOME/runs).",
            show_default=False,
        ),
        manifest: list[Path] = typer.Option(
            [],
            "--manifest",
            metavar="DIR",
            help="Manifest directory for the match pictures (repeatable; also searched: "
            "$STBENCH_HOME/manifests/* and <board folder>/manifest).",
            show_default=False,
        ),
        pairs: int = typer.Option(
            2, "--pairs", min=0, metavar="N", help="Example pairs pictured per method (0 = none)."
        ),
    ) -> None:
        """Write an HTML page for a board: table, plots and example matches, embedded."""
        from stbench.evaluate.leaderboard import default_board
        from stbench.report.html import build_report

        path = build_report(
            board if board is not None else default_board(),
            out,
            runs=runs,
            manifests=manifest,
            pairs_per_method=pairs,
        )
        typer.echo(f"wrote {path}")
