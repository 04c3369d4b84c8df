"""Training the reference model: ``run(...) -> Path`` (``stbench train-baseline`` wraps it).

Every step takes one batch of depth-verified pairs (correspondence + distinctiveness losses) and
one batch of images with trusted timestamps (temporal loss), so both sources train together.
After every epoch the main process validates on split ``val``, writes ``checkpoint.pt``,
``model.safetensors`` + ``model.json`` and ``history.json`` atomically; ``config.json`` (the
resolved :class:`TrainConfig`) is written before training starts.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import torch

from stbench.atomic import write_text_atomic
from stbench.config import config_to_dict, save_config
from stbench.errors import ConfigError, DataError, OutputExistsError
from stbench.model import losses
from stbench.model.checkpoint import (
    CHECKPOINT_FILE,
    WEIGHTS_FILE,
    WEIGHTS_META_FILE,
    export_weights,
    load_checkpoint,
    save_checkpoint,
)
from stbench.model.distributed import (
    barrier,
    context_from_env,
    init_process_group,
    resolve_device,
    shard_indices,
)
from stbench.model.fine import CHOSEN as CHOSEN_FINE
from stbench.model.matching import CHOSEN_MATCH_RATIO, REFINE_RADIUS
from stbench.model.presets import TrainConfig
from stbench.progress import Advance, Progress, reporter

__all__ = ["TrainStep", "compute_losses", "run", "training_record"]


class TrainStep(torch.nn.Module):
    """One forward for a pair batch and a temporal batch (a single call, as DDP wants)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image0, image1, temporal_images):
        time = {"time_logits0": self.model.predict_time_logits(temporal_images)}
        return self.model(image0, image1, with_time=False), time


def compute_losses(
    model, pair_out, time_out, batch, temporal_labels, config: TrainConfig, progress
):
    """Total loss and a report of its parts (floats) for one step."""
    stride = model.config.descriptor_stride
    valid = batch["valid"]
    desc0 = torch.nn.functional.normalize(
        losses.sample_descriptors(pair_out["descriptors0"], batch["keypoints0"], stride), dim=-1
    )
    desc1 = torch.nn.functional.normalize(
        losses.sample_descriptors(pair_out["descriptors1"], batch["keypoints1"], stride), dim=-1
    )
    terms = losses.correspondence_terms(
        desc0, desc1, batch["keypoints0"], batch["keypoints1"], valid, config.negative_radius
    )
    corr, corr_report = losses.correspondence_loss(terms, valid, config.margin)
    if config.contrastive_weight:
        contrastive = losses.contrastive_loss(terms, valid, config.contrastive_temperature)
        corr = corr + config.contrastive_weight * contrastive
        corr_report["contrastive"] = contrastive.detach()
    if config.dense_contrastive_weight:
        dense = sum(
            losses.dense_contrastive_loss(
                queries, targets, pair_out[f"descriptors{other}"], batch[f"keypoints{other}"],
                valid, stride, config.dense_negative_radius, config.contrastive_temperature,
            )
            for queries, targets, other in ((desc0, desc1, 1), (desc1, desc0, 0))
        ) / 2  # fmt: skip
        corr = corr + config.dense_contrastive_weight * dense
        corr_report["dense"] = dense.detach()
    targets0, targets1 = losses.distinctiveness_targets(terms, config.margin)
    scores0 = losses.sample_descriptors(pair_out["distinctiveness0"], batch["keypoints0"], stride)
    scores1 = losses.sample_descriptors(pair_out["distinctiveness1"], batch["keypoints1"], stride)
    dist = losses.distinctiveness_loss(scores0[..., 0], scores1[..., 0], targets0, targets1, valid)
    span_weights = config.span_weights(progress)
    temporal, time_report = losses.temporal_loss(
        time_out["time_logits0"],
        temporal_labels,
        model.config.spans,
        span_weights,
        config.ce_weight,
        config.mse_weight,
    )
    total = (
        config.matching_weight * corr
        + config.distinctiveness_weight * dist
        + config.temporal_weight * temporal
    )
    report = {"loss": total.detach(), "corr": corr.detach(), "dist": dist.detach(), **corr_report}
    report["time"] = temporal.detach()
    report.update(time_report)
    return total, {k: float(v) for k, v in report.items()}


def _learning_rate(config: TrainConfig, step: int) -> float:
    total = config.epochs * config.steps_per_epoch
    return config.learning_rate * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(step / total, 1))))


def _loader(dataset, indices, batch_size, num_workers):
    return torch.utils.data.DataLoader(
        torch.utils.data.Subset(dataset, indices),
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        drop_last=True,
    )


def _datasets(manifest_dir: Path, config: TrainConfig, trust_modified: bool = False):
    from stbench.manifest.verify import load_verified_manifest
    from stbench.model.data import PairDataset, TemporalDataset

    manifest = load_verified_manifest(
        manifest_dir, trust_modified=trust_modified, command="train-baseline"
    )
    spans = config.model.spans
    train_pairs = PairDataset(
        manifest, "train", config.image_size, config.n_points, config.grid_step, True, config.seed
    )
    phase = config.model.hemisphere_phase
    train_images = TemporalDataset(
        manifest, "train", spans, config.temporal_size, True, config.seed, hemisphere_phase=phase
    )
    # Validation is skipped (with a note in the history) for a part the val split lacks.
    try:
        val_pairs = PairDataset(
            manifest, "val", config.image_size, config.n_points, config.grid_step, False,
            max_pairs=config.val_max_pairs,
        )  # fmt: skip
    except DataError:
        val_pairs = None
    try:
        val_images = TemporalDataset(
            manifest, "val", spans, config.temporal_size, False,
            max_images=config.val_max_images, hemisphere_phase=phase,
        )  # fmt: skip
    except DataError:
        val_images = None
    for dataset in (train_pairs, train_images, val_pairs, val_images):
        if dataset is not None:
            dataset.check_files()
    return manifest, train_pairs, train_images, val_pairs, val_images


def run(
    config: TrainConfig,
    manifest_dir: str | Path,
    out: str | Path,
    *,
    overwrite: bool = False,
    progress: bool = False,
    resume: bool = False,
    device: str = "auto",
    stop_after_epochs: int | None = None,
    command: str | None = None,
    threads: int | None = None,
    trust_modified: bool = False,
    preset: str | None = None,
) -> Path:
    """Train the reference model; returns ``out`` (weights, checkpoint, config, history).

    Args:
        config: the resolved training config.
        manifest_dir: a manifest with ``spatial``/``spatiotemporal`` pairs and images with
            trusted span labels in splits train and val.
        out: output directory; must not hold a checkpoint unless ``resume`` or ``overwrite``.
        overwrite: discard a checkpoint in ``out`` and train from scratch.
        progress: report progress to :func:`stbench.progress.reporter`.
        resume: continue from ``out/checkpoint.pt`` (same config; ``epochs`` may grow).
        device: ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
        stop_after_epochs: stop after this many epochs in *this* call (simulates an interrupt).
        command: the command line, recorded in the weights' metadata.
        preset: the name of the preset ``config`` came from (recorded with it in the weights'
            metadata as the ``recipe``; None for a config built in code).
        trust_modified: train on a manifest whose tables no longer match its content hash
            (:func:`stbench.manifest.verify.load_verified_manifest`; recorded in the weights'
            metadata as ``manifest_check``).
        threads: CPU threads of this process (None: the policy of :mod:`stbench.threads`,
            ``$STBENCH_THREADS`` else 1); multi-process CPU training caps it so that processes
            x threads <= cores. On a busy machine 1 thread can be much faster than 2 (threads
            spin waiting for each other).
    Raises:
        DataError: the manifest lacks the needed pairs/images or files. ConfigError: an
        incompatible checkpoint, or both ``resume`` and ``overwrite``. OutputExistsError: a
        checkpoint exists and neither ``resume`` nor ``overwrite``.
    """
    if resume and overwrite:
        raise ConfigError(
            "--resume continues the checkpoint in --out and --overwrite discards it: pass one"
        )
    context = context_from_env()
    torch_device = resolve_device(device, context)
    from stbench.threads import apply_threads, worker_threads

    if context.enabled and torch_device.type == "cpu":  # processes share the cores
        threads = worker_threads(context.world_size, threads)
    apply_threads(threads)  # the one thread policy (stbench.threads)
    out_dir = Path(out)
    checkpoint_path = out_dir / CHECKPOINT_FILE
    config_dict = config_to_dict(config)
    if checkpoint_path.exists() and not (resume or overwrite):
        raise OutputExistsError(
            f"{out_dir} already holds a training checkpoint; pass --resume to continue it, "
            "--overwrite to start afresh, or choose another --out directory"
        )
    if resume and not checkpoint_path.exists():
        raise DataError(f"--resume: no {CHECKPOINT_FILE} in {out_dir} to resume from")
    state = load_checkpoint(checkpoint_path, config_dict) if resume else None
    manifest, train_pairs, train_images, val_pairs, val_images = _datasets(
        manifest_dir, config, trust_modified
    )

    from stbench.model.network import SpatioTemporalMatcher
    from stbench.model.validate import validate

    torch.manual_seed(config.seed)
    model = SpatioTemporalMatcher(config.model).to(torch_device)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    history: list[dict[str, Any]] = []
    start_epoch = 0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, history = int(state["epoch"]), list(json.loads(state["history"]))
    init_process_group(context, torch_device)
    step_module = TrainStep(model)
    if context.enabled:
        step_module = torch.nn.parallel.DistributedDataParallel(
            step_module, device_ids=[torch_device.index] if torch_device.type == "cuda" else None
        )

    def validate_now() -> dict[str, float]:  # the same validation before and after epochs
        return validate(
            model,
            val_pairs,
            val_images,
            torch_device,
            config.val_top_k,
            temperature=config.contrastive_temperature,
        )

    if context.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        if overwrite:  # a crash before the first epoch must leave nothing of the old run
            for name in (CHECKPOINT_FILE, WEIGHTS_FILE, WEIGHTS_META_FILE, "history.json"):
                (out_dir / name).unlink(missing_ok=True)
        save_config(config, out_dir)
        if not history:
            history.append(
                {
                    "epoch": 0,
                    **validate_now(),
                }
            )
    end_epoch = config.epochs
    if stop_after_epochs is not None:
        end_epoch = min(end_epoch, start_epoch + stop_after_epochs)
    bars = reporter().progress() if progress and context.is_main else Progress()
    with bars:
        advance = bars.task("training", total=config.steps_per_epoch * (end_epoch - start_epoch))
        for epoch in range(start_epoch, end_epoch):
            epoch_start = time.perf_counter()
            timings = _train_epoch(
                step_module, model, optimizer, config, epoch, train_pairs, train_images,
                torch_device, context, advance,
            )  # fmt: skip
            barrier(context)
            if context.is_main:
                metrics = validate_now()
                wall = {"epoch_wall_s": time.perf_counter() - epoch_start}
                history.append({"epoch": epoch + 1, **timings, **wall, **metrics})
                recipe = {"preset": preset, "config": config_dict}
                _save_outputs(
                    out_dir, model, optimizer, config, recipe, history, manifest, command,
                    context.world_size,
                )  # fmt: skip
                bars.print(_summary(history[-1]))
            barrier(context)
    if context.enabled:
        torch.distributed.destroy_process_group()
    return out_dir


def _train_epoch(
    step_module, model, optimizer, config, epoch, pairs, images, device, context, advance: Advance
):
    pairs.epoch = images.epoch = epoch
    n_steps = config.steps_per_epoch
    pair_idx = shard_indices(len(pairs), n_steps * config.batch_size, config.seed, epoch, context)
    image_idx = shard_indices(
        len(images), n_steps * config.temporal_batch_size, config.seed + 1, epoch, context
    )
    pair_loader = _loader(pairs, pair_idx, config.batch_size, config.num_workers)
    image_loader = _loader(images, image_idx, config.temporal_batch_size, config.num_workers)
    model.train()
    sums: dict[str, float] = {}
    load_time = compute_time = 0.0
    tick = time.perf_counter()
    for step, (batch, temporal) in enumerate(zip(pair_loader, image_loader, strict=True)):
        batch = {k: v.to(device) for k, v in batch.items()}
        temporal = {k: v.to(device) for k, v in temporal.items()}
        loaded = time.perf_counter()
        global_step = epoch * n_steps + step
        for group in optimizer.param_groups:
            group["lr"] = _learning_rate(config, global_step)
        pair_out, time_out = step_module(batch["image0"], batch["image1"], temporal["image"])
        loss, report = compute_losses(
            model,
            pair_out,
            time_out,
            batch,
            temporal["labels"],
            config,
            global_step / (config.epochs * n_steps),
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        done = time.perf_counter()
        load_time += loaded - tick
        compute_time += done - loaded
        tick = done
        for key, value in report.items():
            sums[key] = sums.get(key, 0.0) + value
        status = " ".join(f"{k} {report[k]:.3f}" for k in ("loss", "corr", "dist", "time"))
        advance(status=status)
    means = {f"train_{k}": v / n_steps for k, v in sums.items()}
    return {**means, "load_s": load_time, "compute_s": compute_time}


def training_record(
    config: TrainConfig,
    recipe: dict[str, Any],
    history: list[dict[str, Any]],
    manifest: Any,
    command: str | None,
    world_size: int,
) -> dict[str, Any]:
    """The ``training`` block of the weights' JSON: how to reproduce them and what they scored.

    ``recipe`` (preset name and the resolved :class:`TrainConfig`), the data (manifest
    directory, name, content hash and its check), ``steps`` (optimiser steps so far; each
    step saw ``batch_size`` pairs and ``temporal_batch_size`` images per process),
    ``wall_s`` (training and per-epoch validation, summed over resumed calls; the untrained
    validation and data loading before the first epoch are not counted), and the validation
    on split ``val`` after the last epoch and before the first (``untrained_validation``).
    """
    import stbench

    last = history[-1]
    verification = dict(getattr(manifest, "verification", None) or {})
    content_hash = verification.get("content_hash_actual") or manifest.meta.get("content_hash")
    epochs = int(last["epoch"])
    return {
        "stbench_version": stbench.__version__,
        "command": command,
        "recipe": recipe,
        "manifest": str(manifest.directory),
        "manifest_name": manifest.name,
        "manifest_content_hash": content_hash,
        "manifest_check": verification,
        "epochs": epochs,
        "steps": epochs * config.steps_per_epoch,
        "samples_seen": {
            "pairs": epochs * config.steps_per_epoch * config.batch_size * world_size,
            "images": epochs * config.steps_per_epoch * config.temporal_batch_size * world_size,
        },
        "wall_s": round(sum(float(e.get("epoch_wall_s", 0.0)) for e in history), 1),
        "seed": config.seed,
        "world_size": world_size,
        "validation_split": "val",
        "validation": {k: v for k, v in last.items() if not k.startswith("train_")},
        "untrained_validation": history[0],
    }


def _save_outputs(
    out_dir, model, optimizer, config, recipe, history, manifest, command, world_size
):
    last = history[-1]
    save_checkpoint(
        out_dir / CHECKPOINT_FILE,
        {
            "config": recipe["config"],
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "epoch": last["epoch"],
            "history": json.dumps(history),
            "world_size": world_size,
        },
    )
    inference = {
        "image_size": config.image_size,
        "temporal_size": config.temporal_size,
        "top_k": 1024,
        "refine_radius": REFINE_RADIUS,
        "temperature": config.contrastive_temperature,
        "match_ratio": CHOSEN_MATCH_RATIO,
        **CHOSEN_FINE.as_dict(),
    }
    training = training_record(config, recipe, history, manifest, command, world_size)
    export_weights(out_dir, model, inference, training)
    write_text_atomic(out_dir / "history.json", json.dumps(history, indent=2) + "\n")


def _summary(entry: dict[str, Any]) -> str:
    keys = [
        "val_crop_precision_3px",
        "accuracy_season",
        "accuracy_month",
        "accuracy_hour",
        "mse_hour",
    ]
    values = " ".join(f"{k} {entry[k]:.3f}" for k in keys if k in entry)
    return f"epoch {entry['epoch']}: loss {entry.get('train_loss', float('nan')):.3f} {values}"
