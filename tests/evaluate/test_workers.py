import os

import torch

from stbench.evaluate.workers import share_cpus


def test_share_cpus_gives_each_worker_its_part(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    try:
        assert share_cpus(4) == 2
        assert torch.get_num_threads() == 2 and os.environ["OMP_NUM_THREADS"] == "2"
        monkeypatch.delenv("OMP_NUM_THREADS")
        assert share_cpus(16) == 1  # never below one thread
        # A user's setting wins.
        monkeypatch.setenv("OMP_NUM_THREADS", "3")
        assert share_cpus(4) == 3
    finally:
        torch.set_num_threads(before)
