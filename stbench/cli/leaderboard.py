"""``stbench leaderboard add|show|compare``: the leaderboard CSV and run comparisons."""

from __future__ import annotations

from pathlib import Path

import typer

BOARD_HELP = "Leaderboard CSV [default: benchmarks/leaderboard.csv]."


def register(app: typer.Typer) -> None:
    """Add the ``leaderboard`` command group to the app."""
    group = typer.Typer(
        help="Leaderboard CSV: add runs, show, compare with intervals and tests.",
        no_args_is_help=True,
    )

    @group.command("add")
    def add_command(
        run_dir: Path = typer.Argument(..., help="Run directory written by stbench evaluate."),
        board: Path = typer.Option(Path("benchmarks/leaderboard.csv"), "--board", help=BOARD_HELP),
    ) -> None:
        """Add (or replace) a run's row on the leaderboard."""
        from stbench.evaluate.leaderboard import leaderboard_add

        typer.echo(f"updated {leaderboard_add(run_dir, board)}")

    @group.command("show")
    def show_command(
        board: Path = typer.Option(Path("benchmarks/leaderboard.csv"), "--board", help=BOARD_HELP),
        metric: list[str] = typer.Option([], "--metric", help="Metrics to show (repeatable)."),
        manifest: str | None = typer.Option(
            None, "--manifest", help="Only rows of this manifest (name or name@hash)."
        ),
    ) -> None:
        """Show the leaderboard as a table with 95 % intervals."""
        from stbench.evaluate.compare import print_board

        print_board(board, metric or None, manifest)

    @group.command("compare")
    def compare_command(
        run_a: Path = typer.Argument(..., help="Baseline run directory."),
        run_b: Path | None = typer.Argument(
            None, help="Run to compare (omit to compare RUN_A with the board)."
        ),
        board: Path = typer.Option(Path("benchmarks/leaderboard.csv"), "--board", help=BOARD_HELP),
        method: str | None = typer.Option(
            None, "--method", help="With one run: the board row to compare against."
        ),
        n_bootstrap: int = typer.Option(
            1000, "--bootstrap", help="Bootstrap / permutation replicates."
        ),
        seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap and permutations."),
    ) -> None:
        """Compare two runs (paired bootstrap + permutation test) or a run with board rows."""
        from stbench.evaluate.compare import compare_runs, compare_with_board, print_comparison

        if run_b is not None:
            table = compare_runs(run_a, run_b, n_bootstrap=n_bootstrap, seed=seed)
        else:
            table = compare_with_board(run_a, board, method)
        print_comparison(table)

    app.add_typer(group, name="leaderboard")
