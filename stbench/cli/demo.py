"""``stbench demo``: the main job on the embedded synthetic world."""

from __future__ import annotations

from pathlib import Path

import typer

from stbench.cli.options import threads_option, workers_option

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command."""

    @app.command("demo")
    def demo(
        out: Path | None = typer.Option(
            None,
            "--out",
            help="Put every output under this directory (default: manifest in "
            "$STBENCH_HOME/manifests, rows on $STBENCH_HOME/leaderboard.csv, the rest in "
            "$STBENCH_HOME/demo).",
            show_default=False,
        ),
        preset: str = typer.Option("default", "--preset", help="Synthetic world preset."),
        seed: int = typer.Option(0, "--seed", min=0, help="Synthetic world seed."),
        max_pairs: int = typer.Option(
            120, "--max-pairs", min=1, help="Test pairs evaluated per method."
        ),
        max_images: int = typer.Option(600, "--max-images", min=1, help="Test images per method."),
        workers: int | None = workers_option(
            "Worker processes of the manifest build and the evaluation."
        ),
        threads: int | None = threads_option(),
    ) -> None:
        """Synthetic world -> manifest -> quick training -> evaluation -> leaderboard."""
        from stbench.demo import DemoConfig, run_demo

        demo_dir = run_demo(
            DemoConfig(
                preset=preset,
                seed=seed,
                max_pairs=max_pairs,
                max_images=max_images,
                workers=workers,
                threads=threads,
            ),
            out,
        )
        _print_finished(demo_dir, shared=out is None)


def _print_finished(demo_dir: Path, shared: bool) -> None:
    """The leaderboard, the demo's outputs and the next commands (from ``demo.json``)."""
    import json

    from stbench.cli.common import console
    from stbench.evaluate.tables import print_board

    summary = json.loads((demo_dir / "demo.json").read_text())
    board = summary["leaderboard"]
    print_board(Path(board))
    flags = "" if shared else f" --manifest {summary['manifest']}"
    board_flag = "" if shared else f" --board {board}"
    console().print(
        f"\n[bold]Demo finished in {sum(summary['seconds'].values()):.0f} s[/] "
        f"({summary.get('workers', 1)} worker process(es), {summary['threads']} thread(s) per "
        "process).\n"
        f"  world        {summary['world']}\n  manifest     {summary['manifest']}\n"
        f"  model        {summary['train']}\n  runs         {demo_dir / 'runs'}\n"
        f"  leaderboard  {board}\n"
        f"Next: `stbench evaluate --method orb{flags}`, `stbench leaderboard show{board_flag}`, "
        "`stbench new-method mine` (a template to plug in your own method).",
        highlight=False,
        soft_wrap=True,
    )
