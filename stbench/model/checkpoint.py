"""Checkpoints (resumable training state) and exported weights (safetensors + JSON).

- ``checkpoint.pt``: model and optimiser state, completed epochs, history and the full training
  config; written atomically after every epoch; read with ``torch.load(weights_only=True)``.
- ``model.safetensors`` + ``model.json``: the weights and ``{"format", "model" (ModelConfig),
  "inference" (sizes, top_k), "training" (metadata and validation numbers)}``; what
  :func:`stbench.model.load_matcher` reads and what ships in ``stbench/weights/``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from stbench.atomic import atomic_path, write_text_atomic
from stbench.config import config_from_dict, config_to_dict
from stbench.errors import ConfigError, DataError
from stbench.model.config import ModelConfig

__all__ = [
    "CHECKPOINT_FILE",
    "CHECKPOINT_FORMAT",
    "RESUMABLE_CHANGES",
    "WEIGHTS_FILE",
    "WEIGHTS_FORMAT",
    "WEIGHTS_META_FILE",
    "export_weights",
    "load_checkpoint",
    "load_weights",
    "save_checkpoint",
]


CHECKPOINT_FILE = "checkpoint.pt"
WEIGHTS_FILE = "model.safetensors"
WEIGHTS_META_FILE = "model.json"
CHECKPOINT_FORMAT = 1
WEIGHTS_FORMAT = "stbench-reference/1"
#: Keys of the training config that may change on ``--resume`` (a longer run).
RESUMABLE_CHANGES = ("epochs", "num_workers")


def save_checkpoint(path: Path, state: dict[str, Any]) -> Path:
    """Write a training state dict atomically."""
    with atomic_path(path) as tmp:
        torch.save({"format": CHECKPOINT_FORMAT, **state}, tmp)
    return Path(path)


def load_checkpoint(path: Path, config: dict[str, Any]) -> dict[str, Any]:
    """Read a checkpoint and check that it was written with a compatible ``config``.

    Raises:
        DataError: the file is unreadable. ConfigError: it is from another format or config.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt/foreign files
        raise DataError(f"checkpoint {path} cannot be read ({type(exc).__name__}: {exc})") from exc
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ConfigError(
            f"checkpoint {path} is not an stbench training checkpoint of format "
            f"{CHECKPOINT_FORMAT}; use another --out directory or drop --resume"
        )
    saved = _with_defaults(state.get("config", {}))
    changed = sorted(
        key
        for key in set(saved) | set(config)
        if key not in RESUMABLE_CHANGES and saved.get(key) != config.get(key)
    )
    if changed:
        raise ConfigError(
            f"checkpoint {path} is incompatible with this run: it was trained with a different "
            f"{', '.join(changed)} (only {', '.join(RESUMABLE_CHANGES)} may change on --resume); "
            "rerun with the same preset and options, or use another --out directory"
        )
    return state


def _with_defaults(saved: dict[str, Any]) -> dict[str, Any]:
    """A saved training config with the fields added since it was written at their defaults
    (a checkpoint from before a new, default-off option resumes); unchanged when it does not
    load as a :class:`stbench.model.presets.TrainConfig` (a field since removed or renamed:
    the comparison then names it)."""
    from stbench.model.presets import TrainConfig

    try:
        return config_to_dict(config_from_dict(TrainConfig, saved, "the checkpoint's config"))
    except ConfigError:
        return saved


def export_weights(
    directory: Path,
    model: torch.nn.Module,
    inference: dict[str, Any],
    training: dict[str, Any],
) -> Path:
    """Write ``model.safetensors`` and ``model.json`` atomically; returns the weights path."""
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    weights = Path(directory) / WEIGHTS_FILE
    with atomic_path(weights) as tmp:
        save_file(state, str(tmp))
    meta = {
        "format": WEIGHTS_FORMAT,
        "model": config_to_dict(model.config),
        "inference": inference,
        "training": training,
    }
    write_text_atomic(Path(directory) / WEIGHTS_META_FILE, json.dumps(meta, indent=2) + "\n")
    return weights


def load_weights(path: Path, device: str | torch.device = "cpu"):
    """Build a model from ``<name>.safetensors`` (or a directory holding ``model.safetensors``)
    and the ``<name>.json`` beside it.

    Returns:
        (model in eval mode on ``device``, the JSON metadata).
    Raises:
        DataError: a file is missing or unreadable. ConfigError: weights and config disagree.
    """
    from safetensors.torch import load_file

    from stbench.model.network import SpatioTemporalMatcher

    path = Path(path)
    if path.is_dir():
        path = path / WEIGHTS_FILE
    meta_path = path.with_suffix(".json")
    if not path.is_file() or not meta_path.is_file():
        raise DataError(
            f"weights {path} (and {meta_path.name} beside it) not found; train them with "
            "`stbench train-baseline` or pass the directory it wrote"
        )
    try:
        meta = json.loads(meta_path.read_text())
        state = load_file(str(path))
    except Exception as exc:
        raise DataError(f"weights {path} cannot be read ({type(exc).__name__}: {exc})") from exc
    if meta.get("format") != WEIGHTS_FORMAT:
        raise ConfigError(
            f"{meta_path}: format {meta.get('format')!r}, expected {WEIGHTS_FORMAT!r}"
        )
    model_config = config_from_dict(ModelConfig, meta["model"], f"{meta_path}: model")
    model_config.pretrained_backbone = None
    model = SpatioTemporalMatcher(model_config)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ConfigError(f"weights {path} do not fit the config in {meta_path}: {exc}") from exc
    return model.to(device).eval(), meta
