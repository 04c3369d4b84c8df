"""Methods under a watchdog (issue 12, item 7): a method that hangs, raises, exits or segfaults
on one pair is a recorded failure for that pair (with the exit code or signal), and the run
goes on with a fresh worker; stored predictions are validated fully."""

import json

import h5py
import numpy as np
import pandas as pd
import pytest

from stbench.evaluate.config import EvaluateConfig
from stbench.evaluate.run import evaluate
from stbench.prediction_cache import MATCHES_FILE, PredictionCache, check_matches0, names_to_pair
from tests.evaluate.worlds import make_plane_world

# Fails on the pair (0, 2) in the way ``mode`` says; identity-like matches on the others.
FAULTY = """
import os
import signal
import time

import numpy as np

from stbench.methods.base import MatchResult, Method


class Faulty(Method):
    name = "faulty"
    version = "1"

    def __init__(self, mode="ok"):
        self.mode = mode

    def config(self):
        return {"mode": self.mode}

    def match(self, image0, image1):
        points = np.array([[5.0, 5.0], [20.0, 30.0], [40.0, 10.0]], np.float32)
        matches = np.array([[0, 0], [1, 1], [2, 2]])
        if self.mode != "ok" and _is_target(image0, image1):
            if self.mode == "hang":
                while True:
                    time.sleep(1)
            if self.mode == "raise":
                raise RuntimeError("boom on purpose")
            if self.mode == "exit":
                os._exit(3)
            if self.mode == "segfault":
                os.kill(os.getpid(), signal.SIGSEGV)
            if self.mode == "minus5":
                matches = np.array([[0, -5], [1, 1], [2, 2]])
            if self.mode == "nan":
                points = points.copy()
                points[1, 0] = np.nan
        return MatchResult(points, points, matches, np.ones(3, np.float32))


def _is_target(image0, image1):
    # Pair (0, 2) of the plane world, recognised from the pixels alone (the method sees no ids).
    return int(image0.sum()) == FIRST_SUM and int(image1.sum()) == TARGET_SUM
"""


def _sums(manifest):
    from stbench.imageio import decode_image

    images = pd.read_parquet(manifest / "images.parquet").sort_values("image_id")
    root = json.loads((manifest / "manifest.json").read_text())["sources"]["megadepth"]["root"]
    return [
        int(decode_image((pd.io.common.Path(root) / path).read_bytes()).sum())
        for path in images["path"]
    ]


@pytest.fixture
def world(tmp_path):
    manifest = make_plane_world(tmp_path, n_images=3)
    sums = _sums(manifest)
    plugin = tmp_path / "faulty_plugin.py"
    plugin.write_text(FAULTY + f"\nFIRST_SUM = {sums[0]}\nTARGET_SUM = {sums[2]}\n")
    assert len(set(sums)) == 3
    return manifest, f"{plugin}:Faulty"


def _failures(run):
    per_pair = pd.read_parquet(run / "per_pair.parquet")
    failed = per_pair[per_pair["status"] == "failed"]
    summary = json.loads((run / "summary.json").read_text())
    return per_pair, failed, summary


@pytest.mark.parametrize(
    ("mode", "reason", "kind"),
    [
        ("hang", r"^timeout: no answer after 2 s \(worker killed\)$", "timeout"),
        ("raise", r"^RuntimeError: boom on purpose at faulty_plugin\.py:\d+$", "raised"),
        ("exit", r"^worker crashed: exited with code 3$", "crash"),
        ("segfault", r"^worker crashed: killed by signal SIGSEGV$", "crash"),
        (
            "minus5",
            r"^invalid output: 1 match indices out of range for keypoints1",
            "invalid_output",
        ),
        ("nan", r"^invalid output: keypoints0 holds 1 NaN", "invalid_output"),
    ],
)
def test_faulty_method_is_one_recorded_failure_and_the_run_goes_on(
    tmp_path, world, mode, reason, kind
):
    manifest, spec = world
    run = evaluate(
        EvaluateConfig(spec, method_options={"mode": mode}, n_bootstrap=10, item_timeout=2),
        manifest,
        out=tmp_path / mode,
        write_plots=False,
    )
    per_pair, failed, summary = _failures(run)
    assert len(per_pair) == 3 and len(failed) == 1
    assert failed["image_id1"].iloc[0].endswith("2.png")
    assert failed["image_id0"].iloc[0].endswith("0.png")
    assert pd.Series(failed["failure_reason"]).str.match(reason).all(), failed["failure_reason"]
    assert (per_pair["status"] == "ok").sum() == 2  # the pair after the fault was matched too
    assert summary["failures"]["pairs"] == {kind: 1}
    assert summary["metrics"]["pair_failure_rate"]["value"] == pytest.approx(1 / 3)


def test_two_workers_crash_without_broken_pool(tmp_path, world, capfd):
    manifest, spec = world
    run = evaluate(
        EvaluateConfig(spec, method_options={"mode": "segfault"}, n_bootstrap=10, workers=2),
        manifest,
        out=tmp_path / "run",
        write_plots=False,
    )
    per_pair, failed, summary = _failures(run)
    assert summary["failures"]["pairs"] == {"crash": 1}
    assert failed["failure_reason"].tolist() == ["worker crashed: killed by signal SIGSEGV"]
    assert (per_pair["status"] == "ok").sum() == 2
    assert "BrokenProcessPool" not in capfd.readouterr().err


def test_cli_reports_failures_and_validates_timeout(tmp_path, world):
    from typer.testing import CliRunner

    from stbench.cli import build_app

    app = build_app()
    manifest, spec = world
    runner = CliRunner()
    args = ["evaluate", "--method", spec, "--manifest", str(manifest), "--bootstrap", "10"]
    result = runner.invoke(
        app, [*args, "--out", str(tmp_path / "r"), "-o", "mode=exit", "--no-plots"]
    )
    assert result.exit_code == 0, result.output
    assert "failed pairs: 1 (crash 1)" in result.output
    assert "track: pixels" in result.output
    result = runner.invoke(app, [*args, "--item-timeout", "-5"])
    assert result.exit_code != 0 and "--item-timeout" in result.output


def _stored(tmp_path, matches0, keypoints0=3, keypoints1=3, scores0=None):
    directory = tmp_path / "stored"
    points0 = np.arange(keypoints0 * 2, dtype=np.float32).reshape(-1, 2)
    points1 = np.arange(keypoints1 * 2, dtype=np.float32).reshape(-1, 2)
    with PredictionCache(directory) as cache:  # a valid pair, then overwrite matches0
        cache.write_pair("a", "b", points0, points1, np.zeros((0, 2), np.int64), np.zeros(0), 0.1)
    with h5py.File(directory / MATCHES_FILE, "a") as handle:
        group = handle[names_to_pair("a", "b")]
        del group["matches0"], group["matching_scores0"]
        group.create_dataset("matches0", data=np.asarray(matches0))
        scores = np.ones(len(matches0), np.float16) if scores0 is None else np.asarray(scores0)
        group.create_dataset("matching_scores0", data=scores)
    return PredictionCache(directory).read_pairs([("a", "b")])[("a", "b")]


@pytest.mark.parametrize(
    ("matches0", "scores0", "message"),
    [
        ([0, 1], None, "matches0 has 2 entries for 3 keypoints in image 0"),
        ([0, -5, 1], None, "negative indices other than -1 (e.g. -5)"),
        ([0, 3, -1], None, "indices beyond image 1's 3 keypoints (e.g. 3)"),
        ([0.0, np.nan, 1.0], None, "matches0 holds 1 NaN/inf values"),
        ([0, 1, 2], [1.0, np.nan, 1.0], "matching_scores0 holds NaN/inf values"),
    ],
)
def test_stored_matches0_is_validated(tmp_path, matches0, scores0, message):
    entry = _stored(tmp_path, matches0, scores0=scores0)
    assert "matches" not in entry
    assert entry["failure"].startswith("invalid output: ") and message in entry["failure"]


def test_stored_matches0_valid_with_no_match():
    assert check_matches0(np.array([2, -1, 0]), np.ones(3), 3, 3) is None


def test_predictions_with_bad_matches0_are_failures_not_ok(tmp_path):
    manifest = make_plane_world(tmp_path, n_images=2)
    sift = evaluate(
        EvaluateConfig("sift", n_bootstrap=10), manifest, out=tmp_path / "sift", write_plots=False
    )
    stored = sift / "predictions"
    with h5py.File(stored / MATCHES_FILE, "a") as handle:
        (key,) = [f"{a}/{b}" for a in handle for b in handle[a]]
        matches0 = handle[key]["matches0"][()]
        matches0[np.flatnonzero(matches0 >= 0)[0]] = -5
        del handle[key]["matches0"]
        handle[key].create_dataset("matches0", data=matches0)
    replay = evaluate(
        EvaluateConfig("predictions", method_options={"dir": str(stored)}, n_bootstrap=10),
        manifest,
        out=tmp_path / "replay",
        write_plots=False,
    )
    per_pair = pd.read_parquet(replay / "per_pair.parquet")
    assert per_pair["status"].tolist() == ["failed"]
    reason = per_pair["failure_reason"].iloc[0]
    assert reason.startswith("invalid output: stored matches0 holds 1 negative indices")
    assert "other than -1 (e.g. -5)" in reason
    assert json.loads((replay / "summary.json").read_text())["failures"]["pairs"] == {
        "invalid_output": 1
    }


TIME_FAULTY = """
import os
import threading

import numpy as np

from stbench.methods.base import Method


class TimeFaulty(Method):
    name = "time_faulty"
    version = "1"

    def __init__(self, mode="ok"):
        self.mode = mode
        self.lock = threading.Lock()  # unpicklable: replacements must fit again

    def config(self):
        return {"mode": self.mode}

    def fit(self, train_images):
        self.n_train = sum(1 for _ in train_images)
        if self.mode == "fit_exit":
            os._exit(4)
        if self.mode == "fit_raise":
            raise ValueError("cannot fit")

    def predict_time(self, image, record):
        if self.mode == "crash_bright" and image.mean() > 150:
            os._exit(5)
        return {"hour": np.eye(24)[self.n_train]}
"""


@pytest.mark.parametrize(
    ("mode", "reasons"),
    [
        ("ok", []),
        ("fit_exit", ["fit failed: worker crashed: exited with code 4"] * 3),
        ("fit_raise", [r"fit failed: ValueError: cannot fit at time_faulty_plugin.py:\d+"] * 3),
        ("crash_bright", ["worker crashed: exited with code 5"]),
    ],
)
def test_fit_and_time_faults_are_recorded(tmp_path, mode, reasons):
    from tests.evaluate.worlds import make_webcam_world

    manifest = make_webcam_world(tmp_path / "w")
    plugin = tmp_path / "time_faulty_plugin.py"
    plugin.write_text(TIME_FAULTY)
    run = evaluate(
        EvaluateConfig(f"{plugin}:TimeFaulty", method_options={"mode": mode}, n_bootstrap=10),
        manifest,
        out=tmp_path / mode,
        write_plots=False,
    )
    per_image = pd.read_parquet(run / "per_image.parquet")
    failed = per_image[per_image["status"] == "failed"]
    assert len(failed) == len(reasons)
    for reason, expected in zip(sorted(failed["failure_reason"]), reasons, strict=True):
        assert pd.Series([reason]).str.fullmatch(expected).all(), reason
    ok = per_image[per_image["status"] == "ok"]
    assert (ok["pred_hour"] == 4).all()  # fitted on the 4 train frames (again after a crash)
    assert len(ok) == 3 - len(reasons)


HANGER = """
import os
import time

from stbench.methods.base import Method


class Hanger(Method):
    name = "hanger"
    version = "1"

    def __init__(self, pid_file):
        self.pid_file = pid_file

    def config(self):
        return {}

    def predict_time(self, image, record):
        with open(self.pid_file, "w") as handle:
            handle.write(str(os.getpid()))
        while True:
            time.sleep(0.1)
"""

HARNESS = """
import sys

import numpy as np

from stbench.evaluate.workers import MethodRunner

with MethodRunner(sys.argv[1], {"pid_file": sys.argv[2]}, 1, 600) as runner:
    runner.run([("a", lambda: ("time", np.zeros((4, 4, 3), np.uint8), {"item": "x"}))], print)
"""


def test_worker_never_outlives_a_killed_harness(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    plugin = tmp_path / "hanger_plugin.py"
    plugin.write_text(HANGER)
    pid_file = tmp_path / "worker.pid"
    worker = None
    harness = subprocess.Popen(
        [sys.executable, "-c", HARNESS, f"{plugin}:Hanger", str(pid_file)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline and harness.poll() is None
            time.sleep(0.1)
        worker = int(pid_file.read_text())
        os.kill(worker, 0)  # alive, hanging in the method
        harness.send_signal(signal.SIGKILL)
        harness.wait()
        deadline = time.monotonic() + 10
        while True:
            try:
                os.kill(worker, 0)
            except ProcessLookupError:
                break  # gone with its parent
            if open(f"/proc/{worker}/stat").read().split()[2] == "Z":
                break  # a zombie waiting to be reaped by init: not running
            assert time.monotonic() < deadline, "the worker outlived the harness"
            time.sleep(0.1)
    finally:
        harness.kill()
        if worker is not None:  # never leave an orphan behind, even when the test fails
            try:
                os.kill(worker, signal.SIGKILL)
            except ProcessLookupError:
                pass
