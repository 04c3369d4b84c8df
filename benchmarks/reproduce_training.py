"""Rerun the first epochs of the bundled weights' training and compare with its recorded history.

    OMP_NUM_THREADS=1 torchrun --standalone --nproc_per_node 2 benchmarks/reproduce_training.py \
        --manifest manifests/benchmark --epochs 2 --out runs/reproduce

The recipe is the one the bundled ``reference.json`` records (its full config, not today's preset,
so later preset changes cannot hide a difference), trained on the given manifest with the same
number of processes as the recorded run (``training.world_size``; torchrun's
``--nproc_per_node``), and stopped after ``--epochs`` of its schedule (the learning-rate
schedule is the full run's, so the epochs are comparable one by one). Every float the history
records per epoch (losses, validation figures; not the timings) is compared with the recorded
history (``benchmarks/reference_history.json``, the ``history.json`` of the run that produced
the weights); the script prints the largest difference per epoch and exits 1 when one exceeds
``--tolerance``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TIMING_SUFFIX = "_s"  # per-epoch timings (load_s, compute_s, epoch_wall_s) differ by nature


def compare_histories(rerun: list[dict], recorded: list[dict]) -> list[tuple[int, int, float]]:
    """(epoch, figures compared, largest absolute difference) for each epoch of ``rerun``.

    Raises:
        ValueError: an epoch of the rerun is missing from the recorded history.
    """
    recorded_by_epoch = {row["epoch"]: row for row in recorded}
    out = []
    for row in rerun:
        if row["epoch"] not in recorded_by_epoch:
            raise ValueError(f"epoch {row['epoch']} is not in the recorded history")
        other = recorded_by_epoch[row["epoch"]]
        keys = [
            key
            for key, value in row.items()
            if isinstance(value, float) and key in other and not key.endswith(TIMING_SUFFIX)
        ]
        diff = max((abs(row[key] - other[key]) for key in keys), default=0.0)
        out.append((row["epoch"], len(keys), diff))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, required=True, help="the recorded manifest")
    parser.add_argument("--epochs", type=int, default=2, help="epochs of the schedule to rerun")
    parser.add_argument("--out", type=Path, required=True, help="training output directory")
    parser.add_argument("--weights-json", type=Path, default=None, help="default: bundled")
    parser.add_argument("--history", type=Path, default=HERE / "reference_history.json")
    parser.add_argument("--tolerance", type=float, default=1e-6)
    parser.add_argument(
        "--overwrite", action="store_true", help="discard a training checkpoint in --out"
    )
    args = parser.parse_args(argv)

    from stbench.config import config_from_dict
    from stbench.manifest.io import read_manifest_meta
    from stbench.model.inference import bundled_weights_path
    from stbench.model.presets import TrainConfig
    from stbench.model.train import run

    weights_json = args.weights_json or bundled_weights_path().with_suffix(".json")
    for path, what in ((weights_json, "--weights-json"), (args.history, "--history")):
        if not path.is_file():
            sys.exit(f"{what}: {path} not found")
    try:
        training = json.loads(weights_json.read_text())["training"]
        recorded = json.loads(args.history.read_text())
    except (ValueError, KeyError) as exc:
        sys.exit(f"{weights_json} or {args.history} is not what this script expects: {exc!r}")
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size != training["world_size"]:
        sys.exit(
            f"the recorded run used {training['world_size']} process(es), this one {world_size}: "
            f"start it with torchrun --nproc_per_node {training['world_size']}"
        )
    if not 1 <= args.epochs <= training["epochs"]:
        sys.exit(f"--epochs must be within 1..{training['epochs']} (the recorded schedule)")
    recorded_hash = training["manifest_content_hash"]
    if read_manifest_meta(args.manifest).get("content_hash") != recorded_hash:
        sys.exit(f"{args.manifest} is not the recorded manifest (content hash {recorded_hash[:8]})")
    config = config_from_dict(TrainConfig, training["recipe"]["config"], str(weights_json))
    run(
        config,
        args.manifest,
        args.out,
        overwrite=args.overwrite,
        threads=1,
        preset=training["recipe"]["preset"],
        stop_after_epochs=args.epochs,
        command=" ".join(["benchmarks/reproduce_training.py", *(argv or sys.argv[1:])]),
    )
    if os.environ.get("RANK", "0") != "0":
        return 0
    rerun = json.loads((args.out / "history.json").read_text())
    worst = 0.0
    print(f"recorded: {training['command']} (manifest {training['manifest_content_hash'][:8]})")
    for epoch, n, diff in compare_histories(rerun, recorded):
        print(f"epoch {epoch:3d}: {n} figures, largest |rerun - recorded| = {diff:.3g}")
        worst = max(worst, diff)
    print(f"largest difference {worst:.3g} (tolerance {args.tolerance:g})")
    return 0 if worst <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
