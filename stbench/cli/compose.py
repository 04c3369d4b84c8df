"""``stbench compose``: a matching run gated by temporal runs, scored as a run of its own."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``compose`` to the app."""

    @app.command("compose")
    def compose_command(
        match_run: Path = typer.Argument(
            ..., help="Run directory of a matcher (stbench evaluate), e.g. runs/sift."
        ),
        time: list[Path] = typer.Option(
            ...,
            "--time",
            help="Run directory of a temporal method on the same manifest and split "
            "(repeatable with --choose-on-val).",
        ),
        choose_on_val: list[Path] = typer.Option(
            [],
            "--choose-on-val",
            help="Val-split runs of the candidate temporal methods (repeatable): each span is "
            "gated by the pixels-track candidate with the best val time accuracy.",
            show_default=False,
        ),
        out: Path | None = typer.Option(
            None,
            "--out",
            help="Composite run directory (default: $STBENCH_HOME/runs/<manifest>/<name>).",
            show_default=False,
        ),
        n_bootstrap: int | None = typer.Option(
            None,
            "--bootstrap",
            min=1,
            help="Bootstrap replicates (default: the matching run's).",
            show_default=False,
        ),
        seed: int | None = typer.Option(
            None,
            "--seed",
            min=0,
            help="Bootstrap seed (default: the matching run's).",
            show_default=False,
        ),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out."),
        no_plots: bool = typer.Option(False, "--no-plots", help="Skip the PNG plots."),
    ) -> None:
        """Score a matcher's matches gated by a temporal method's span predictions
        (spatio-temporal precision of e.g. sift+colorstats); add it with leaderboard add."""
        from stbench.evaluate.compose import compose_runs
        from stbench.evaluate.leaderboard import load_summary
        from stbench.evaluate.report import print_summary
        from stbench.spans import CLASS_SPANS

        run_dir = compose_runs(
            match_run,
            time,
            out,
            val_runs=choose_on_val,
            n_bootstrap=n_bootstrap,
            seed=seed,
            overwrite=overwrite,
            write_plots=not no_plots,
        )
        summary = load_summary(run_dir)
        print_summary(summary)
        composed = summary["composed_from"]
        for span in [s for s in CLASS_SPANS if s in composed["time"]]:
            gate = composed["time"][span]
            choice = composed["gate_choice"].get(span)
            why = (
                f" (best on val: {choice['metric']} = {choice['value']:.3f})"
                if choice
                else " (given)"
            )
            typer.echo(f"{span}: gated by {gate['method']} {gate['run']}{why}")
        typer.echo(f"results: {run_dir}")
