"""After `stbench demo` the other commands find its outputs; method errors come first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stbench.cli import build_app
from stbench.cli.resolve import check_method_spec, method_classes, resolve_manifest
from stbench.errors import ConfigError, DataError, OutputExistsError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("STBENCH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _fake_manifest(directory: Path, when: float) -> Path:
    directory.mkdir(parents=True)
    (directory / "manifest.json").write_text(json.dumps({"name": directory.name}))
    os.utime(directory / "manifest.json", (when, when))
    return directory


def _invoke(*args: str):
    return CliRunner().invoke(build_app(), list(args), terminal_width=200)


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "STBENCH_HOME": str(home), "PYTHONPATH": str(REPO), "COLUMNS": "300"}
    return subprocess.run(
        [sys.executable, "-m", "stbench", *args], env=env, capture_output=True, text=True
    )


def test_unknown_method_is_reported_before_a_missing_manifest(home):
    result = _cli("evaluate", "--method", "sfit", home=home)
    assert result.returncode == 2
    assert "unknown method 'sfit'" in result.stderr and "'sift'" in result.stderr
    assert "manifest" not in result.stderr.split("Known:")[0]


def test_file_without_class_lists_the_method_classes(tmp_path):
    path = tmp_path / "x.py"
    path.write_text(
        "from stbench.methods.base import Method\n"
        "class Helper: pass\n"
        "class Mine(Method):\n    name = 'mine'\n"
        "class Other:\n    def match(self, a, b): ...\n"
    )
    assert method_classes(path) == ["Mine", "Other"]
    with pytest.raises(ConfigError, match=r"x\.py:Mine, .*x\.py:Other") as error:
        check_method_spec(str(path))
    assert "Helper" not in str(error.value)


def test_file_without_any_method_class_or_missing(tmp_path):
    (tmp_path / "empty.py").write_text("VALUE = 1\n")
    with pytest.raises(ConfigError, match="no class with match"):
        check_method_spec(str(tmp_path / "empty.py"))
    with pytest.raises(ConfigError, match="no such file"):
        check_method_spec(str(tmp_path / "absent.py"))
    (tmp_path / "broken.py").write_text("class (:\n")
    with pytest.raises(ConfigError, match="no class with match"):
        check_method_spec(str(tmp_path / "broken.py"))


def test_name_of_a_file_here_suggests_the_file(tmp_path, monkeypatch):
    (tmp_path / "mine.py").write_text("class Mine:\n    def match(self, a, b): ...\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"unknown method 'mine'.*try mine\.py:Mine"):
        check_method_spec("mine")
    (tmp_path / "sift").write_text("not a method file")  # a file named like a built-in
    check_method_spec("sift")


def test_known_methods_pass_the_early_check():
    check_method_spec("sift")
    check_method_spec("stbench.methods.classical:Orb")


def test_manifest_default_then_most_recent_then_a_clear_error(home):
    with pytest.raises(DataError, match="stbench demo"):
        resolve_manifest(None)
    now = time.time()
    older = _fake_manifest(home / "manifests" / "small", now - 100)
    newer = _fake_manifest(home / "demo" / "manifest", now - 10)
    said = []
    assert resolve_manifest(None, said.append) == newer
    assert str(newer) in said[0] and "--manifest" in said[0] and "1 other" in said[0]
    default = _fake_manifest(home / "manifests" / "default", now - 1000)
    said.clear()
    assert resolve_manifest(None, said.append) == default and not said  # the default is silent
    assert resolve_manifest(older) == older  # --manifest wins


def test_train_baseline_without_manifest_points_to_the_demo(home):
    result = _cli("train-baseline", home=home)
    assert result.returncode == 2 and "stbench demo" in result.stderr


def test_new_method_hint_runs_without_manifest_flag(tmp_path):
    result = _invoke("new-method", "mine", "--out", str(tmp_path))
    assert result.exit_code == 0
    assert f"stbench evaluate --method {tmp_path / 'mine.py'}:Mine" in result.output
    assert "stbench demo" in result.output


def test_demo_builds_where_evaluate_looks(home, monkeypatch, tmp_path):
    from stbench import demo
    from stbench.manifest import build
    from stbench.manifest.config import BuildConfig

    calls = []

    def fake_build(config, out, overwrite=False, workers=1):
        calls.append((Path(out), overwrite))
        if len(calls) == 2 and not overwrite:
            raise OutputExistsError(f"{out} holds a manifest built with another config")
        return Path(out)

    monkeypatch.setattr(build, "build_manifest", fake_build)
    config = BuildConfig()
    shared = demo._build_demo_manifest(config, None, home / "demo", 1)
    assert shared == resolve_manifest_default() and calls[-1] == (shared, False)
    fallback = demo._build_demo_manifest(config, None, home / "demo", 1)
    assert fallback == home / "demo" / "manifest" and calls[-1] == (fallback, True)
    own = demo._build_demo_manifest(config, tmp_path / "out", home / "demo", 1)
    assert own == tmp_path / "out" / "manifest"


def resolve_manifest_default() -> Path:
    from stbench.manifest import default_manifest_dir

    return default_manifest_dir()


def test_demo_rows_are_labelled_apart_from_user_runs():
    from stbench.demo import DEMO_METHODS, demo_label

    labels = {run: demo_label(run, method) for run, method, _ in DEMO_METHODS}
    assert labels["sift"] == "demo" and labels["reference-quick"] == "demo-quick"
    assert len({(m, labels[r]) for r, m, _ in DEMO_METHODS}) == len(DEMO_METHODS)


@pytest.mark.slow
def test_demo_then_evaluate_then_leaderboard_show_on_a_fresh_home(tmp_path):
    """The must-hold of issue #16: no extra flags after `stbench demo`."""
    home = tmp_path / "home"
    demo = _cli("demo", home=home)
    assert demo.returncode == 0, demo.stderr[-3000:]
    evaluate = _cli("evaluate", "--method", "sift", home=home)
    assert evaluate.returncode == 0, evaluate.stderr[-3000:]
    assert "using manifest" not in evaluate.stderr  # the demo's manifest is the default
    assert (home / "runs" / "default" / "sift" / "summary.json").is_file()
    show = _cli("leaderboard", "show", home=home)
    assert show.returncode == 0, show.stderr[-3000:]
    for method in ("sift", "reference", "colorstats", "exif"):
        assert method in show.stdout
