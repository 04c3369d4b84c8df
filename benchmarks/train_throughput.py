"""Training throughput of the reference model: pairs/s, peak memory, data loading vs compute.

For each configuration, runs ``--steps`` training steps (after one warm-up step) exactly as
``stbench train-baseline`` does (one pair batch + one temporal batch per step) and reports:

- pairs/s (pairs of the pair batch per second of the whole step) and images/s of the temporal
  batch;
- the share of the step spent loading data (decoding, resizing, depth reading, ground-truth
  warping) vs computing (forward, losses, backward, optimiser);
- peak memory: the process's peak resident set (CPU) or ``torch.cuda.max_memory_allocated``.

Configurations: the ``quick`` preset (the baseline of the ratios), the ``reference`` preset (a
temporal batch of 16 on the image statistics only), quick with descriptors at 1/4 resolution, and the ``full`` preset's sizes; with 1 and 2 CPU threads; on CUDA too when it
is available. Data: ``--manifest DIR`` or, by default, a tiny toy manifest written to a
temporary directory (``tests/model/toydata.py``, a test fixture).

Run (about two minutes on an idle 2-core machine)::

    nice python -m benchmarks.train_throughput [--manifest DIR] [--steps 8]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch

from stbench.manifest.io import load_manifest
from stbench.model.data import PairDataset, TemporalDataset
from stbench.model.network import SpatioTemporalMatcher
from stbench.model.presets import preset_config
from stbench.model.train import TrainStep, compute_losses


def measure(manifest, config, device: torch.device, steps: int) -> dict[str, float]:
    """Time ``steps`` training steps of ``config`` on ``device``."""
    pairs = PairDataset(manifest, "train", config.image_size, config.n_points, config.grid_step)
    images = TemporalDataset(manifest, "train", config.model.spans, config.temporal_size)
    torch.manual_seed(0)
    model = SpatioTemporalMatcher(config.model).to(device).train()
    step_module = TrainStep(model)  # the forward train-baseline runs
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    load_s = compute_s = 0.0
    for step in range(steps + 1):
        tick = time.perf_counter()
        indices = [(step * config.batch_size + i) % len(pairs) for i in range(config.batch_size)]
        batch = torch.utils.data.default_collate([pairs[i] for i in indices])
        t_idx = range(step * config.temporal_batch_size, (step + 1) * config.temporal_batch_size)
        temporal = torch.utils.data.default_collate([images[i % len(images)] for i in t_idx])
        batch = {k: v.to(device) for k, v in batch.items()}
        temporal = {k: v.to(device) for k, v in temporal.items()}
        loaded = time.perf_counter()
        pair_out, time_out = step_module(batch["image0"], batch["image1"], temporal["image"])
        loss, _ = compute_losses(
            model,
            pair_out,
            time_out,
            batch,
            temporal["labels"],
            config,
            0.5,
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        done = time.perf_counter()
        if step:  # step 0 warms up
            load_s += loaded - tick
            compute_s += done - loaded
    total = load_s + compute_s
    if device.type == "cuda":
        peak_mb = torch.cuda.max_memory_allocated(device) / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "pairs_per_s": steps * config.batch_size / total,
        "images_per_s": steps * config.temporal_batch_size / total,
        "load_share": load_s / total,
        "step_s": total / steps,
        "peak_mb": peak_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--manifest", type=Path, default=None)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument(
        "--skip-two-threads", action="store_true", help="on a busy machine 2 threads crawl"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.manifest is None:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "model"))
            from toydata import write_toy_manifest

            args.manifest = write_toy_manifest(tmp)
        manifest = load_manifest(args.manifest)
        quick = preset_config("quick")
        stride4 = preset_config("quick", {"model": {"descriptor_stride": 4}})
        full = preset_config("full")
        runs = [
            ("quick, 1 thread", quick, "cpu", 1),
            ("reference preset, 1 thread", preset_config("reference"), "cpu", 1),
            ("quick, stride 4, 1 thread", stride4, "cpu", 1),
            ("full sizes, 1 thread", full, "cpu", 1),
        ]
        if not args.skip_two_threads:
            runs.append(("quick, 2 threads", quick, "cpu", 2))
        if torch.cuda.is_available():
            runs += [("quick, CUDA", quick, "cuda", None), ("full sizes, CUDA", full, "cuda", None)]
        print(f"manifest: {args.manifest} ({args.steps} steps per configuration after 1 warm-up)")
        header = f"{'configuration':<28}{'pairs/s':>9}{'imgs/s':>9}{'step s':>9}{'load %':>8}"
        print(header + f"{'peak MB':>9}{'x quick':>9}")
        baseline = None
        for name, config, device, threads in runs:
            if threads is not None:
                torch.set_num_threads(threads)
            result = measure(manifest, config, torch.device(device), args.steps)
            baseline = baseline or result["pairs_per_s"]
            print(
                f"{name:<28}{result['pairs_per_s']:>9.2f}{result['images_per_s']:>9.2f}"
                f"{result['step_s']:>9.3f}{100 * result['load_share']:>7.1f}%"
                f"{result['peak_mb']:>9.0f}{result['pairs_per_s'] / baseline:>9.2f}"
            )
        print("CPU peak MB is the process's peak RSS so far (cumulative over the rows).")


if __name__ == "__main__":
    main()
