"""``stbench leaderboard add|show|compare``: the leaderboard CSV and run comparisons."""

from __future__ import annotations

from pathlib import Path

import typer

from stbench.defaults import N_BOOTSTRAP

__all__ = ["BOARD_HELP", "register"]


BOARD_HELP = (
    "Leaderboard CSV (default: $STBENCH_HOME/leaderboard.csv; the committed board, "
    "benchmarks/leaderboard.csv, is used only when named)."
)


def _board(board: Path | None) -> Path:
    from stbench.evaluate.leaderboard import default_board

    return board if board is not None else default_board()


def register(app: typer.Typer) -> None:
    """Add the ``leaderboard`` command group to the app."""
    group = typer.Typer(
        help="Leaderboard CSV: add runs, show, compare with clustered intervals and tests.",
        no_args_is_help=True,
    )

    @group.command("add")
    def add_command(
        run_dir: Path = typer.Argument(..., help="Run directory written by stbench evaluate."),
        board: Path | None = typer.Option(None, "--board", help=BOARD_HELP, show_default=False),
        label: str | None = typer.Option(
            None,
            "--label",
            help="Name of this variant (part of the row's key instead of the config digest).",
            show_default=False,
        ),
        replace: bool = typer.Option(
            False, "--replace", help="Replace the row with the same key (else adding refuses)."
        ),
    ) -> None:
        """Add a run's row; refuses when its key is on the board (unless --replace)."""
        from stbench.evaluate.leaderboard import leaderboard_add

        path = leaderboard_add(run_dir, _board(board), label=label, replace=replace)
        typer.echo(f"updated {path}")

    @group.command("show")
    def show_command(
        board: Path | None = typer.Option(None, "--board", help=BOARD_HELP, show_default=False),
        metric: list[str] = typer.Option(
            [], "--metric", help="Metrics to show (repeatable).", show_default=False
        ),
        manifest: str | None = typer.Option(
            None,
            "--manifest",
            help="Only rows of this manifest (name or name@hash).",
            show_default=False,
        ),
    ) -> None:
        """Show the leaderboard per track: value, ±half 95 % interval, clusters."""
        from stbench.evaluate.tables import print_board

        print_board(_board(board), metric or None, manifest)

    @group.command("compare")
    def compare_command(
        run_a: Path = typer.Argument(..., help="Baseline run directory."),
        run_b: Path | None = typer.Argument(
            None, help="Run to compare (omit to compare RUN_A with the board).", show_default=False
        ),
        board: Path | None = typer.Option(None, "--board", help=BOARD_HELP, show_default=False),
        method: str | None = typer.Option(
            None,
            "--method",
            help="With one run: the board row to compare against.",
            show_default=False,
        ),
        board_run: Path | None = typer.Option(
            None,
            "--board-run",
            help="With one run: the board row's run directory (for a paired test).",
            show_default=False,
        ),
        n_bootstrap: int = typer.Option(
            N_BOOTSTRAP, "--bootstrap", min=1, help="Bootstrap / permutation replicates."
        ),
        seed: int = typer.Option(
            0, "--seed", min=0, help="Seed of the bootstrap and permutations."
        ),
    ) -> None:
        """Compare two runs on their shared items (paired cluster bootstrap + permutation
        test), or a run with a board row."""
        from stbench.evaluate.compare import compare_runs, compare_with_board, print_comparison

        if run_b is not None:
            table = compare_runs(run_a, run_b, n_bootstrap=n_bootstrap, seed=seed)
        else:
            table = compare_with_board(
                run_a, _board(board), method, n_bootstrap, seed, board_run=board_run
            )
        print_comparison(table)

    app.add_typer(group, name="leaderboard")
