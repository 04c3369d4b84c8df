"""``stbench index megadepth``: per-scene Parquet records, resume, config checks."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from stbench.errors import DataError
from stbench.megadepth import MegaDepthConfig, index_megadepth
from stbench.records import read_records


def _run(*args, cwd):
    done = subprocess.run(
        [sys.executable, "-m", "stbench", "index", "megadepth", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200"},
    )
    done.stderr = " ".join(done.stderr.split())  # undo rich's line wrapping
    return done


def test_cli_writes_records_and_refuses_a_changed_config(pinhole_scene, tmp_path, request):
    repo = request.config.rootpath
    out = tmp_path / "index"
    done = _run(pinhole_scene.root, "--out", out, "--no-timestamps", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert "5001: 8 images" in done.stderr
    records = read_records(out / "5001")
    assert len(records.images) == 8 and len(records.pairs) > 10
    saved = json.loads((out / "megadepth_index_config.json").read_text())
    assert saved["samples_per_direction"] == 1024
    changed = _run(pinhole_scene.root, "--out", out, "--no-timestamps", "--tau", "0.1", cwd=repo)
    assert changed.returncode == 2 and "different config" in changed.stderr
    assert "Traceback" not in changed.stderr


def test_stage_resumes_and_checks_its_input(pinhole_scene, tmp_path):
    config = MegaDepthConfig(timestamps=False, samples_per_direction=128)
    seen = []
    index_megadepth(config, pinhole_scene.root, tmp_path, on_scene=lambda s, r: seen.append(r))
    index_megadepth(config, pinhole_scene.root, tmp_path, on_scene=lambda s, r: seen.append(r))
    assert seen[0] is not None and seen[1] is None  # the second run kept the scene
    with pytest.raises(DataError, match="does not exist"):
        index_megadepth(config, tmp_path / "nowhere", tmp_path / "x")


def test_stage_in_processes_matches_in_process(pinhole_scene, tmp_path):
    config = MegaDepthConfig(timestamps=False, samples_per_direction=256)
    one = index_megadepth(config, pinhole_scene.root, tmp_path / "a")
    two = index_megadepth(config, pinhole_scene.root, tmp_path / "b", workers=2)
    a, b = read_records(one / "5001"), read_records(two / "5001")
    assert a.pairs.equals(b.pairs)
    assert np.array_equal(a.images.fx, b.images.fx)


def test_a_failing_scene_does_not_stop_the_others(pinhole_scene, tmp_path):
    import shutil

    root = tmp_path / "root"
    shutil.copytree(pinhole_scene.root, root)
    bad = root / "MegaDepth_v1_SfM" / "0001"
    bad.mkdir()
    (bad / "sparse").write_text("a file where a directory is expected")
    config = MegaDepthConfig(timestamps=False, samples_per_direction=128)
    written = []
    index_megadepth(config, root, tmp_path / "out", on_scene=lambda s, r: written.append(s))
    assert written == ["0001", "5001"]  # 0001: no model, a reject row; the scene goes on
    records = read_records(tmp_path / "out" / "0001")
    assert list(records.rejects.reason) == ["model_missing"]


def test_an_unexpected_error_in_one_scene_is_reported_after_the_others(
    pinhole_scene, tmp_path, monkeypatch
):
    import shutil

    import stbench.megadepth.index as index_module
    from stbench.errors import StbenchError

    root = tmp_path / "root"
    shutil.copytree(pinhole_scene.root, root)
    (root / "MegaDepth_v1_SfM" / "0001").mkdir()
    original = index_module.index_scene

    def flaky(root_, scene, config=None, workers=1):
        if scene == "0001":
            raise RuntimeError("boom")
        return original(root_, scene, config, workers)

    monkeypatch.setattr(index_module, "index_scene", flaky)
    config = MegaDepthConfig(timestamps=False, samples_per_direction=128)
    with pytest.raises(StbenchError, match="0001: RuntimeError: boom"):
        index_megadepth(config, root, tmp_path / "out")
    assert (tmp_path / "out" / "5001" / "pairs.parquet").exists()
    assert not (tmp_path / "out" / "0001").exists()


@pytest.mark.parametrize("threads", [2, 3])
def test_threads_per_scene_give_the_same_records(pinhole_scene, tmp_path, threads):
    """Pair sums, depth reading and checks split between threads: equal frames, dtypes too."""
    import pandas as pd

    config = MegaDepthConfig(timestamps=False, samples_per_direction=256)
    one = index_megadepth(config, pinhole_scene.root, tmp_path / "a")
    many = index_megadepth(config, pinhole_scene.root, tmp_path / "b", threads=threads)
    a, b = read_records(one / "5001"), read_records(many / "5001")
    assert len(a.pairs) > 0
    for name in ("images", "pairs", "rejects"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)


def test_spare_workers_become_the_scene_threads(pinhole_scene, tmp_path, monkeypatch):
    """One scene and 3 workers: indexed in this process with 3 threads (not a pool of 3 for
    one task); 2 threads per worker give it 6."""
    import stbench.megadepth.run as run

    seen = []
    original = run._task

    def spy(kind, root, item, config, threads):
        seen.append(threads)
        return original(kind, root, item, config, threads)

    monkeypatch.setattr(run, "_task", spy)
    config = MegaDepthConfig(timestamps=False, samples_per_direction=128)
    index_megadepth(config, pinhole_scene.root, tmp_path / "a", workers=3)
    index_megadepth(config, pinhole_scene.root, tmp_path / "b", workers=3, threads=2)
    assert seen == [3, 6]
