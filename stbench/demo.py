"""``stbench demo``: the whole toolkit on the embedded synthetic world, in one command.

synth -> build-manifest -> train-baseline (quick) -> evaluate the built-in methods -> leaderboard.
Every stage is the library's own stage function, and a rerun reuses what is already built with the
same config. Training is one process; the methods that do not evaluate the model it trains run
beside it on the cores it leaves (:func:`alongside_training`), the quick model's evaluation after
it. ``demo.json`` records each stage's wall and CPU seconds (this process and its ended
children). Without ``out`` the demo leaves its outputs where the other commands look:

- the manifest in ``$STBENCH_HOME/manifests/<name>`` (``default`` for the default world), as
  ``stbench build-manifest`` writes it, so ``stbench evaluate`` / ``train-baseline`` find it;
- its rows (labelled ``demo``, ``demo-quick``) on the default board ``$STBENCH_HOME/leaderboard.csv``;
- the quick model and the run directories under ``$STBENCH_HOME/demo``.

With ``out`` everything goes under ``out`` (manifest/, train/, runs/, leaderboard.csv).
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from stbench.atomic import write_text_atomic
from stbench.config import check_fields
from stbench.errors import OutputExistsError
from stbench.paths import stbench_home
from stbench.progress import reporter

__all__ = ["DemoConfig", "alongside_training", "demo_label", "run_demo"]

#: (run name, method name, method options) evaluated by the demo; ``reference-quick`` is the
#: model the demo itself trains, ``reference`` the weights shipped in the package.
DEMO_METHODS: tuple[tuple[str, str, dict], ...] = (
    ("sift", "sift", {}),
    ("reference", "reference", {}),
    ("reference-quick", "reference", {"weights": "<train>"}),
    ("colorstats", "colorstats", {}),
    ("exif", "exif", {}),
)


def demo_label(run_name: str, method: str) -> str:
    """The board label of a demo run: ``demo``, or ``demo-<suffix>`` for a variant of a method
    (``reference-quick`` -> ``demo-quick``), so demo rows (on a test subset) never take the key
    of a user's full run."""
    suffix = run_name.removeprefix(method).strip("-")
    return f"demo-{suffix}" if suffix else "demo"


@dataclass
class DemoConfig:
    """What the demo runs.

    Attributes:
        preset, seed: the synthetic world.
        train_preset: the training preset of ``train-baseline``.
        max_pairs: pairs of the test split evaluated per method (keeps the demo within minutes).
        max_images: labelled test images whose time each method predicts.
        methods: run names of :data:`DEMO_METHODS` to evaluate.
        workers: worker processes for the manifest build and the evaluation (None: one per
            available core, :func:`stbench.threads.resolve_workers`; each gets its share of the
            threads so that workers x threads <= cores).
        threads: CPU threads per process (None: the policy of :mod:`stbench.threads`).
        train_overrides: keys of the training preset to override (``{"epochs": 1}``), for
            reduced runs such as ``benchmarks/demo_under_load.py --quick``.
    """

    preset: str = "default"
    seed: int = 0
    train_preset: str = "quick"
    max_pairs: int = 120
    max_images: int = 600
    methods: tuple[str, ...] = field(default_factory=lambda: tuple(m[0] for m in DEMO_METHODS))
    workers: int | None = None
    threads: int | None = None
    train_overrides: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_fields(self)


def _cpu_seconds() -> float:
    """CPU time (user + system) of this process and of its children that have ended (worker
    processes of a stage's pool are counted once the pool is shut down)."""
    own = time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own + children.ru_utime + children.ru_stime


@contextmanager
def _stage(name: str, timings: dict[str, float], cpu: dict[str, float]) -> Iterator[None]:
    reporter().heading(name)
    start, start_cpu = time.perf_counter(), _cpu_seconds()
    yield
    timings[name] = round(time.perf_counter() - start, 1)
    cpu[name] = round(_cpu_seconds() - start_cpu, 1)
    reporter().message(f"[green]{name} done in {timings[name]:.1f} s ({cpu[name]:.1f} s CPU)")


def _build_demo_manifest(build_config, out: Path | None, demo_dir: Path, workers: int) -> Path:
    """Build (or reuse) the demo's manifest: in ``out/manifest`` when ``out`` is given, else where
    ``build-manifest`` writes it; if a different manifest is there, in ``demo_dir/manifest``."""
    from stbench.manifest.build import build_manifest, default_out

    if out is not None:
        return build_manifest(build_config, out / "manifest", overwrite=True, workers=workers)
    target = default_out(build_config.name)
    try:
        return build_manifest(build_config, target, overwrite=False, workers=workers)
    except OutputExistsError as exc:
        reporter().message(
            f"[yellow]{target} holds another manifest ({exc}); the demo builds its own in "
            f"{demo_dir / 'manifest'} (pass it to other commands with --manifest)"
        )
        return build_manifest(build_config, demo_dir / "manifest", overwrite=True, workers=workers)


def alongside_training(
    runs: list[tuple[str, str, dict]], cores: int, threads: int
) -> tuple[list[tuple[str, str, dict]], int]:
    """The demo runs evaluated while the quick model trains, and their worker processes.

    Training is one process of ``threads`` threads; the runs that do not evaluate the model it
    trains can use the other cores, ``(cores - threads) // threads`` worker processes of
    ``threads`` threads, so that all processes x threads <= ``cores``. None when no core is left.
    """
    side_workers = (cores - threads) // threads
    if side_workers < 1:
        return [], 0
    independent = [run for run in runs if "<train>" not in run[2].values()]
    return independent, side_workers


def _with_train_dir(run: tuple[str, str, dict], train_dir: Path) -> tuple[str, str, dict]:
    """The run with its ``"<train>"`` option values replaced by the demo's training directory."""
    name, method, options = run
    return name, method, {k: str(train_dir) if v == "<train>" else v for k, v in options.items()}


def _evaluate_runs(
    runs: list[tuple[str, str, dict]],
    manifest_dir: Path,
    runs_dir: Path,
    max_pairs: int,
    max_images: int,
    workers: int,
    progress: bool,
) -> dict[str, Path]:
    """Evaluate the demo's (run name, method, options) on the test subset, one after the other;
    returns each run's directory. Top-level, so a worker process can run it."""
    from stbench.evaluate.config import EvaluateConfig
    from stbench.evaluate.run import evaluate

    done = {}
    for run_name, method, options in runs:
        settings = EvaluateConfig(
            method,
            method_options=options,
            split="test",
            max_pairs=max_pairs,
            max_images=max_images,
            workers=workers,
        )
        done[run_name] = evaluate(
            settings, manifest_dir, out=runs_dir / run_name, overwrite=True, progress=progress
        )
    return done


def run_demo(config: DemoConfig | None = None, out: Path | None = None) -> Path:
    """Run the demo and return its directory (train/, runs/, demo.json; with ``out`` also
    manifest/ and leaderboard.csv). Stages are reported through :mod:`stbench.progress`; the
    command line then prints the leaderboard and the paths (see ``stbench.cli.demo``)."""
    from stbench.evaluate.leaderboard import default_board, leaderboard_add
    from stbench.manifest.config import BuildConfig
    from stbench.model.presets import preset_config
    from stbench.model.train import run as train
    from stbench.synth import WorldConfig, ensure_world

    config = config or DemoConfig()
    unknown = sorted(set(config.methods) - {m[0] for m in DEMO_METHODS})
    if unknown:
        from stbench.errors import ConfigError

        raise ConfigError(
            f"unknown demo method(s) {unknown}; known: {[m[0] for m in DEMO_METHODS]}"
        )
    from stbench.parallel import process_pool
    from stbench.threads import apply_threads, available_cores, resolve_workers

    threads = apply_threads(config.threads)
    workers = resolve_workers(config.workers)
    shared = out is None  # outputs go where the other commands look
    out = Path(out) if out else stbench_home() / "demo"
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}

    with _stage("synth: the embedded world", timings, cpu):
        world = ensure_world(WorldConfig(config.preset, config.seed))
    with _stage("build-manifest", timings, cpu):
        build_config = BuildConfig(synthetic_preset=config.preset, synthetic_seed=config.seed)
        manifest_dir = _build_demo_manifest(build_config, None if shared else out, out, workers)
    train_dir = out / "train"
    chosen = [run for run in DEMO_METHODS if run[0] in config.methods]
    # decided on the templates: once "<train>" is replaced, a run no longer says it needs the model
    alongside, side_workers = alongside_training(chosen, available_cores(), threads)
    runs = [_with_train_dir(run, train_dir) for run in chosen]
    alongside = [_with_train_dir(run, train_dir) for run in alongside]
    eval_settings = (manifest_dir, out / "runs", config.max_pairs, config.max_images)
    run_dirs: dict[str, Path] = {}
    overlap: dict[str, float] = {}  # wall time of the evaluations run beside the training
    pool = process_pool(1, threads=threads) if alongside else None
    try:
        started = time.perf_counter()
        if pool is not None:
            # the methods that do not need the quick model, on the cores the training leaves
            # free (training: 1 process x threads; these: side_workers x threads)
            background = pool.submit(_evaluate_runs, alongside, *eval_settings, side_workers, False)
        with _stage(f"train-baseline --preset {config.train_preset}", timings, cpu):
            train_config = preset_config(config.train_preset, config.train_overrides)
            resume = (train_dir / "checkpoint.pt").exists()
            train(
                train_config,
                manifest_dir,
                train_dir,
                progress=True,
                resume=resume,
                threads=threads,
                command="stbench demo",
            )
        if pool is not None:
            names = ", ".join(name for name, _, _ in alongside)
            with _stage(f"evaluate {names} (alongside training)", timings, cpu):
                run_dirs.update(background.result())
                pool.shutdown(wait=True)  # its CPU time is counted once it has ended
                pool = None
            overlap[names] = round(time.perf_counter() - started, 1)  # from its start
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    for run in runs:
        if run[0] in run_dirs:
            continue
        with _stage(f"evaluate --method {run[0]}", timings, cpu):
            run_dirs.update(_evaluate_runs([run], *eval_settings, workers, True))

    if shared:
        board = default_board()
    else:
        board = out / "leaderboard.csv"
        board.unlink(missing_ok=True)
    for run_name, method, _ in runs:  # in DEMO_METHODS order, whichever finished first
        leaderboard_add(run_dirs[run_name], board, label=demo_label(run_name, method), replace=True)

    summary = {
        "world": str(world),
        "manifest": str(manifest_dir),
        "train": str(train_dir),
        "runs": {name: str(path) for name, path in run_dirs.items()},
        "leaderboard": str(board),
        "seconds": timings,
        "cpu_seconds": cpu,
        "seconds_alongside_training": overlap,
        "threads": threads,
        "workers": workers,
    }
    write_text_atomic(out / "demo.json", json.dumps(summary, indent=2) + "\n")
    return out
