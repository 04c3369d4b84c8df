"""``stbench demo``: the whole toolkit on the embedded synthetic world, in one command.

synth -> build-manifest -> train-baseline (quick) -> evaluate the built-in methods -> leaderboard.
Every stage is the library's own stage function; outputs go under ``out`` (default
``$STBENCH_HOME/demo``) and a rerun reuses what is already built with the same config.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from stbench.atomic import write_text_atomic
from stbench.paths import stbench_home

#: (run name, method name, method options) evaluated by the demo; ``reference-quick`` is the
#: model the demo itself trains, ``reference`` the weights shipped in the package.
DEMO_METHODS: tuple[tuple[str, str, dict], ...] = (
    ("sift", "sift", {}),
    ("reference", "reference", {}),
    ("reference-quick", "reference", {"weights": "<train>"}),
    ("colorstats", "colorstats", {}),
    ("exif", "exif", {}),
)


@dataclass
class DemoConfig:
    """What the demo runs.

    Attributes:
        preset, seed: the synthetic world.
        train_preset: the training preset of ``train-baseline``.
        max_pairs: pairs of the test split evaluated per method (keeps the demo within minutes).
        max_images: labelled test images whose time each method predicts.
        methods: run names of :data:`DEMO_METHODS` to evaluate.
        workers: worker processes for the manifest build and the evaluation.
    """

    preset: str = "default"
    seed: int = 0
    train_preset: str = "quick"
    max_pairs: int = 120
    max_images: int = 600
    methods: tuple[str, ...] = field(default_factory=lambda: tuple(m[0] for m in DEMO_METHODS))
    workers: int = 1


@contextmanager
def _stage(name: str, timings: dict[str, float]) -> Iterator[None]:
    from stbench.cli.common import console_err

    console_err().rule(f"[bold]{name}")
    start = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - start, 1)
    console_err().print(f"[green]{name} done in {timings[name]:.1f} s")


def run_demo(config: DemoConfig | None = None, out: Path | None = None) -> Path:
    """Run the demo and return its directory (manifest/, train/, runs/, leaderboard.csv)."""
    from stbench.evaluate.compare import print_board
    from stbench.evaluate.leaderboard import leaderboard_add
    from stbench.evaluate.run import evaluate
    from stbench.manifest.build import build_manifest
    from stbench.manifest.config import BuildConfig
    from stbench.model.presets import preset_config
    from stbench.model.train import run as train
    from stbench.synth import ensure_world

    config = config or DemoConfig()
    unknown = sorted(set(config.methods) - {m[0] for m in DEMO_METHODS})
    if unknown:
        from stbench.errors import ConfigError

        raise ConfigError(
            f"unknown demo method(s) {unknown}; known: {[m[0] for m in DEMO_METHODS]}"
        )
    out = Path(out) if out else stbench_home() / "demo"
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    with _stage("synth: the embedded world", timings):
        world = ensure_world(config.preset, config.seed)
    with _stage("build-manifest", timings):
        build_config = BuildConfig(synthetic_preset=config.preset, synthetic_seed=config.seed)
        manifest_dir = build_manifest(
            build_config, out / "manifest", overwrite=True, workers=config.workers
        )
    with _stage(f"train-baseline --preset {config.train_preset}", timings):
        train_dir = out / "train"
        train_config = preset_config(config.train_preset)
        resume = (train_dir / "checkpoint.pt").exists()
        train(manifest_dir, train_dir, train_config, resume=resume, command="stbench demo")

    board = out / "leaderboard.csv"
    board.unlink(missing_ok=True)
    run_dirs = {}
    for run_name, method, options in DEMO_METHODS:
        if run_name not in config.methods:
            continue
        options = {
            key: str(train_dir) if value == "<train>" else value for key, value in options.items()
        }
        with _stage(f"evaluate --method {run_name}", timings):
            run_dirs[run_name] = evaluate(
                manifest_dir,
                method,
                split="test",
                out=out / "runs" / run_name,
                method_options=options,
                max_pairs=config.max_pairs,
                max_images=config.max_images,
                workers=config.workers,
                overwrite=True,
                show_progress=True,
            )
            leaderboard_add(run_dirs[run_name], board)

    summary = {
        "world": str(world),
        "manifest": str(manifest_dir),
        "train": str(train_dir),
        "runs": {name: str(path) for name, path in run_dirs.items()},
        "leaderboard": str(board),
        "seconds": timings,
    }
    write_text_atomic(out / "demo.json", json.dumps(summary, indent=2) + "\n")
    print_board(board)
    from stbench.cli.common import console

    console().print(
        f"\n[bold]Demo finished in {sum(timings.values()):.0f} s.[/]\n"
        f"  world        {world}\n  manifest     {manifest_dir}\n  model        {train_dir}\n"
        f"  runs         {out / 'runs'}\n  leaderboard  {board}\n"
        "Next: `stbench new-method mine` writes a template to plug in your own method."
    )
    return out
