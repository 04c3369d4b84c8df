"""Multi-process training through ``torchrun``: detection from the environment, setup, sharding.

``torchrun --nproc_per_node N -m stbench train-baseline ...`` sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; the process group uses NCCL on CUDA and
gloo on CPU. Without these variables training runs in one process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

__all__ = [
    "DistributedContext",
    "barrier",
    "context_from_env",
    "init_process_group",
    "resolve_device",
    "shard_indices",
]


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands: ``rank`` of ``world_size`` (1 = not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def context_from_env() -> DistributedContext:
    """The context set by torchrun (``RANK``/``WORLD_SIZE``/``LOCAL_RANK``), or a single process."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistributedContext()
    return DistributedContext(
        rank=int(os.environ["RANK"]),
        world_size=world_size,
        local_rank=int(os.environ.get("LOCAL_RANK", os.environ["RANK"])),
    )


def resolve_device(device: str, context: DistributedContext) -> torch.device:
    """``auto`` -> CUDA when present (this process's GPU under torchrun), else CPU."""
    from stbench.errors import ConfigError

    if device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"--device must be auto, cpu or cuda, got {device!r}")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(
                "--device cuda was asked for but CUDA is not available; use --device cpu"
            )
        return torch.device("cuda", context.local_rank % torch.cuda.device_count())
    return torch.device("cpu")


def init_process_group(context: DistributedContext, device: torch.device) -> None:
    """Join the torchrun process group (no-op for a single process)."""
    if context.enabled and not torch.distributed.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        torch.distributed.init_process_group(
            backend, rank=context.rank, world_size=context.world_size
        )


def barrier(context: DistributedContext) -> None:
    """Wait for every process (no-op for a single process)."""
    if context.enabled:
        torch.distributed.barrier()


def shard_indices(
    n_items: int, n_needed: int, seed: int, epoch: int, context: DistributedContext
) -> list[int]:
    """This process's ``n_needed`` indices of a seeded epoch permutation (repeated as needed).

    Every process draws the same permutation and takes every ``world_size``-th index from
    ``rank``, so the union over processes is one global shuffled stream.
    """
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    total = n_needed * context.world_size
    repeats = -(-total // n_items)
    stream = torch.cat([torch.randperm(n_items, generator=generator) for _ in range(repeats)])
    return stream[context.rank : total : context.world_size].tolist()
