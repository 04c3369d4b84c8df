import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import sys
    from stbench.model.config import ModelConfig
    from stbench.model.presets import TrainConfig
    from stbench.model.train import run

    config = TrainConfig(
        model=ModelConfig(channels=[8, 16, 24, 32], attention_dim=8, descriptor_dim=16),
        image_size=[64, 48], temporal_size=[48, 32], batch_size=1, temporal_batch_size=2,
        n_points=32, epochs=1, steps_per_epoch=2, val_max_pairs=1, val_max_images=4, val_top_k=32,
    )
    run(config, sys.argv[1], sys.argv[2], device="cpu")
    """
)


@pytest.mark.slow
def test_two_process_ddp_on_gloo(toy_manifest, tmp_path):
    # torchrun with 2 CPU processes (gloo): both train, rank 0 validates and writes the outputs.
    script = tmp_path / "train_ddp.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        str(script), str(toy_manifest), str(tmp_path / "out"),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    meta = json.loads((tmp_path / "out" / "model.json").read_text())
    assert meta["training"]["world_size"] == 2 and meta["training"]["epochs"] == 1
    history = json.loads((tmp_path / "out" / "history.json").read_text())
    assert [entry["epoch"] for entry in history] == [0, 1]


def test_shards_partition_one_stream():
    from stbench.model.distributed import DistributedContext, shard_indices

    single = shard_indices(10, 8, seed=0, epoch=1, context=DistributedContext())
    ranks = [shard_indices(10, 4, 0, 1, DistributedContext(r, 2, r)) for r in (0, 1)]
    assert sorted(single) == sorted(ranks[0] + ranks[1])
    assert [x for pair in zip(*ranks, strict=True) for x in pair] == single
    assert shard_indices(10, 8, 0, 2, DistributedContext()) != single
