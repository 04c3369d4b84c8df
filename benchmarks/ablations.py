"""Ablations of the reference model (issue #14), one budget and seed, scored on split val only.

Trains each variant of :data:`stbench.model.ablation.VARIANTS` (temporal inputs decoder /
colour / both; time loss off; matching loss off; MSE-in-steps without cross-entropy) on the
manifest's train split with the ``--preset`` budget (``quick`` by default; ``--epochs`` and
``--steps-per-epoch`` shrink it), scores each with ``stbench evaluate`` (method ``reference``,
``--split val``: clustered 95 % intervals, cluster counts printed; each variant also paired
against the first, ``decoder``, on the same items), and writes
``OUT/ablations.md`` and ``OUT/ablations.csv`` with the budget, seed, manifest name and content
hash and this command. A rerun continues each variant's checkpoint (or reuses a finished one).

Run (the default world's committed manifest; STBENCH_HOME must hold worlds/default-seed0)::

    nice python benchmarks/ablations.py --manifest manifests/default --out runs/ablations \\
        [--preset quick] [--seed 0] [--variants decoder colour] [--max-pairs 200] \\
        [--max-images 1000]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python benchmarks/ablations.py` from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stbench.errors import OutputExistsError
from stbench.model.ablation import (
    ABLATION_SPLIT,
    METRICS,
    PAIRED_METRICS,
    VARIANTS,
    AblationRow,
    clusters_line,
    variant_config,
    write_table,
)
from stbench.model.presets import TrainConfig


def _train_variant(config: TrainConfig, manifest_dir: Path, out: Path, command: str) -> None:
    from stbench.model.checkpoint import CHECKPOINT_FILE
    from stbench.model.train import run

    # A rerun continues (or, when complete, reuses) a variant's checkpoint; a checkpoint of
    # another config is a ConfigError naming the keys that differ.
    resume = (out / CHECKPOINT_FILE).exists()
    run(config, manifest_dir, out, resume=resume, device="cpu", command=command, preset=None)


def _evaluate_variant(
    weights: Path, manifest_dir: Path, out: Path, max_pairs: int | None, max_images: int | None,
    n_bootstrap: int, seed: int,
) -> dict[str, Any]:  # fmt: skip
    from stbench.evaluate.config import EvaluateConfig
    from stbench.evaluate.run import evaluate

    config = EvaluateConfig(
        method="reference",
        method_options={"weights": str(weights)},
        split=ABLATION_SPLIT,
        max_pairs=max_pairs,
        max_images=max_images,
        n_bootstrap=n_bootstrap,
        seed=seed,
    )
    try:  # a rerun reuses the cached predictions of unchanged weights
        run_dir = evaluate(config, manifest_dir, out, write_plots=False)
    except OutputExistsError:  # the weights changed (a retrained variant): predict afresh
        run_dir = evaluate(config, manifest_dir, out, overwrite=True, write_plots=False)
    return json.loads((run_dir / "summary.json").read_text())


def _paired(base: Path, other: Path, n_bootstrap: int, seed: int) -> dict[str, dict[str, Any]]:
    """Clustered paired comparison of run ``other`` against run ``base`` (PAIRED_METRICS)."""
    from stbench.evaluate.compare import compare_runs

    table = compare_runs(base, other, n_bootstrap=n_bootstrap, seed=seed)
    out = {}
    for record in table.to_dict("records"):
        if record["metric"] in PAIRED_METRICS:
            out[record["metric"]] = {
                "delta": _finite(record["delta"]),
                "ci_low": _finite(record["delta_ci_low"]),
                "ci_high": _finite(record["delta_ci_high"]),
                "p_value": _finite(record["p_value"]),
                "n_clusters": int(record["n_clusters"]),
                "note": record["note"] or "",
            }
    return out


def _finite(value: Any) -> float | None:
    return float(value) if value is not None and math.isfinite(float(value)) else None


def run_ablations(
    manifest_dir: str | Path,
    out: str | Path,
    *,
    variants: list[str] | None = None,
    preset: str = "quick",
    seed: int = 0,
    epochs: int | None = None,
    steps_per_epoch: int | None = None,
    max_pairs: int | None = None,
    max_images: int | None = None,
    n_bootstrap: int = 1000,
    command: str = "",
    report=print,
) -> list[AblationRow]:
    """Train and score each variant (all of :data:`VARIANTS` by default) into
    ``out/<variant>/{train,val}``; returns one row per variant.

    Raises:
        ConfigError: an unknown variant or preset, or a checkpoint in ``out/<variant>/train``
        from another config. DataError: the manifest lacks what training or scoring needs.
    """
    names = variants or [v.name for v in VARIANTS]
    configs = {name: variant_config(name, preset, seed, epochs, steps_per_epoch) for name in names}
    out = Path(out)
    rows = []
    for name, config in configs.items():
        train_dir, val_dir = out / name / "train", out / name / ABLATION_SPLIT
        started = time.perf_counter()
        _train_variant(config, Path(manifest_dir), train_dir, f"{command} [variant {name}]")
        record = json.loads((train_dir / "model.json").read_text())["training"]
        trained = time.perf_counter()
        summary = _evaluate_variant(
            train_dir, Path(manifest_dir), val_dir, max_pairs, max_images, n_bootstrap, seed
        )
        row = AblationRow(
            variant=name,
            question=next(v.question for v in VARIANTS if v.name == name),
            temporal_inputs=config.model.temporal_inputs,
            matching_weight=config.matching_weight,
            temporal_weight=config.temporal_weight,
            ce_weight=config.ce_weight,
            train_wall_s=float(record["wall_s"]),
            eval_wall_s=time.perf_counter() - trained,
            steps=int(record["steps"]),
            metrics={key: summary["metrics"].get(key, {}) for key, _ in METRICS},
        )
        if rows:  # paired against the first variant on the same items
            base = out / rows[0].variant / ABLATION_SPLIT
            row.paired = _paired(base, val_dir, n_bootstrap, seed)
        rows.append(row)
        report(
            f"{name}: {time.perf_counter() - started:.0f} s in this call (training "
            f"{row.train_wall_s:.0f} s, {row.steps} steps); " + clusters_line(row)
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    from stbench.errors import StbenchError

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--manifest", type=Path, default=Path("manifests/default"))
    parser.add_argument("--out", type=Path, default=Path("runs/ablations"))
    parser.add_argument("--preset", default="quick", help="budget and settings (default quick)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None, help="override the preset's epochs")
    parser.add_argument("--steps-per-epoch", type=int, default=None)
    parser.add_argument(
        "--variants", nargs="+", default=None, choices=[v.name for v in VARIANTS],
        help="default: all",
    )  # fmt: skip
    parser.add_argument("--max-pairs", type=int, default=None, help="val pairs (default all)")
    parser.add_argument("--max-images", type=int, default=None, help="val images (default all)")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=None, help="default $STBENCH_THREADS or 1")
    args = parser.parse_args(argv)

    from stbench.manifest.verify import load_verified_manifest
    from stbench.threads import apply_threads

    apply_threads(args.threads)
    command = "python benchmarks/ablations.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    started = time.perf_counter()
    try:
        manifest = load_verified_manifest(args.manifest, command="ablations")
        budget = variant_config(
            "decoder", args.preset, args.seed, args.epochs, args.steps_per_epoch
        )
        rows = run_ablations(
            args.manifest, args.out, variants=args.variants, preset=args.preset,
            seed=args.seed, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch,
            max_pairs=args.max_pairs, max_images=args.max_images, n_bootstrap=args.bootstrap,
            command=command,
        )  # fmt: skip
    except StbenchError as exc:
        print(f"ablations: {exc}", file=sys.stderr)
        return 2
    wall = time.perf_counter() - started
    header = {
        "budget": (
            f"preset {args.preset}: {budget.epochs} epochs x {budget.steps_per_epoch} steps, "
            f"batch {budget.batch_size} pairs + {budget.temporal_batch_size} images, crops "
            f"{'x'.join(map(str, budget.image_size))} / "
            f"{'x'.join(map(str, budget.temporal_size))}, lr {budget.learning_rate:g}, 1 process"
        ),
        "seed": args.seed,
        "split": f"{ABLATION_SPLIT} (pairs: {args.max_pairs or 'all'}, images: "
        f"{args.max_images or 'all'})",
        "manifest": manifest.name,
        "manifest_content_hash": manifest.meta.get("content_hash"),
        "command": command,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "wall_s": round(wall),
        "machine": f"{os.cpu_count()} CPUs, 1-min load at the end {os.getloadavg()[0]:.1f}",
    }
    for path in write_table(rows, args.out, header):
        print(f"wrote {path}")
    print(f"ablations: {len(rows)} variants in {wall:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
