"""``kill -9`` of ``stbench evaluate`` mid-run: the rerun resumes from the prediction cache,
recomputes only the pairs that were not finished, and gives the same results as a clean run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stbench.evaluate.config import EvaluateConfig
from stbench.evaluate.run import evaluate
from tests.evaluate.test_evaluate_run import PLUGIN
from tests.evaluate.worlds import make_plane_world

REPO = Path(__file__).resolve().parents[2]

# The exact plane matcher, counting the pairs it starts, then slower by SLOW_S seconds per pair.
SLOW_PLUGIN = PLUGIN.replace(
    '        if os.environ.get("STOP_AT")',
    "        __import__('time').sleep(float(os.environ.get('SLOW_S', '0')))\n"
    '        if os.environ.get("STOP_AT")',
)
assert SLOW_PLUGIN != PLUGIN


def _metrics(run: Path) -> dict:
    metrics = json.loads((run / "summary.json").read_text())["metrics"]
    return {name: value["value"] for name, value in metrics.items()}


def test_killed_evaluate_resumes_and_matches_a_clean_run(tmp_path):
    manifest = make_plane_world(tmp_path, n_images=3)  # 3 pairs
    plugin_path = tmp_path / "slow_plugin.py"
    plugin_path.write_text(SLOW_PLUGIN)
    method = f"{plugin_path}:Exact"
    counter = tmp_path / "calls.txt"
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(REPO), "SLOW_S": "1.5"}
    command = [sys.executable, "-m", "stbench", "evaluate", "--method", method]
    command += ["--manifest", str(manifest), "--out", str(out), "--bootstrap", "10", "--no-plots"]
    # one worker: pairs run one after another, so two counted calls mean the first is cached
    command += ["-o", f"counter={counter}", "--workers", "1"]
    process = subprocess.Popen(
        command,
        env=env,
        cwd=REPO,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        # the second pair has started once two calls are counted: the first one is in the cache
        while not (counter.exists() and len(counter.read_text()) >= 2):
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "evaluate did not reach its second pair"
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the harness and its method worker
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not (out / "summary.json").exists()
    assert len(counter.read_text()) == 2

    resumed = evaluate(
        EvaluateConfig(method, method_options={"counter": str(counter)}), manifest, out=out
    )
    # only the interrupted pair and the one never started are computed again
    assert len(counter.read_text()) == 4
    clean = evaluate(
        EvaluateConfig(method, method_options={"tag": 0}), manifest, out=tmp_path / "clean"
    )
    timing = [name for name in _metrics(clean) if "ms" in name or "time" in name]
    resumed_metrics, clean_metrics = _metrics(resumed), _metrics(clean)
    for name in timing:
        resumed_metrics.pop(name), clean_metrics.pop(name)
    assert "precision_3px" in clean_metrics and "num_matches" in clean_metrics
    assert resumed_metrics == pytest.approx(clean_metrics, nan_ok=True)
