"""Arguments validated at the edge (#12.9): out-of-range numbers are usage errors naming the
option, and method options are checked by type and range naming the key."""

import pytest
from typer.testing import CliRunner

from stbench.cli import build_app
from stbench.errors import ConfigError
from stbench.methods.registry import resolve_method
from tests.evaluate.worlds import make_plane_world

#: A valid `stbench capture` call, completed by one bad option in the cases below.
CAPTURE = ["capture", "http://x/y.jpg", "--camera-id", "1", "--lat", "1", "--lon", "1"]

BAD_ARGUMENTS = [
    (["evaluate", "-m", "sift", "--max-pairs", "-5"], "--max-pairs"),
    (["evaluate", "-m", "sift", "--max-images", "-3"], "--max-images"),
    (["evaluate", "-m", "sift", "--bootstrap", "-1"], "--bootstrap"),
    (["evaluate", "-m", "sift", "--workers", "0"], "--workers"),
    (["evaluate", "-m", "sift", "--seed", "-1"], "--seed"),
    (["fetch", "megadepth", "--timeout", "-5"], "--timeout"),
    (["fetch", "webcams", "--cameras", "1", "--timeout", "-5"], "--timeout"),
    (["fetch", "megadepth", "--retries", "-1"], "--retries"),
    ([*CAPTURE, "--timeout", "-5"], "--timeout"),
    (["capture", "http://x/y.jpg", "--camera-id", "1", "--lat", "91", "--lon", "1"], "--lat"),
    ([*CAPTURE, "--max-frames", "0"], "--max-frames"),
    (["timestamp", "x.jpg", "--lon", "200"], "--lon"),
    (["synth", "--seed", "-1"], "--seed"),
    (["synth", "--workers", "0"], "--workers"),
    (["build-manifest", "--world-seed", "-2"], "--world-seed"),
    (["train-baseline", "--epochs", "0"], "--epochs"),
    (["train-baseline", "--threads", "0"], "--threads"),
    (["index", "megadepth", ".", "--samples", "0"], "--samples"),
    (["index", "megadepth", ".", "--tau", "-1"], "--tau"),
    (["index", "megadepth", ".", "--min-depth-overlap", "1.5"], "--min-depth-overlap"),
    (["index", "megadepth", ".", "--workers", "0"], "--workers"),
    (["leaderboard", "compare", "a", "--seed", "-1"], "--seed"),
    (["demo", "--max-pairs", "-5"], "--max-pairs"),
    (["demo", "--workers", "0"], "--workers"),
]


@pytest.mark.parametrize(
    ("args", "option"), BAD_ARGUMENTS, ids=[" ".join(a) for a, _ in BAD_ARGUMENTS]
)
def test_out_of_range_numbers_are_usage_errors(args, option, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(build_app(), args, env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    assert "Invalid value" in result.output and option in result.output
    assert isinstance(result.exception, SystemExit)  # a usage error, not a traceback


@pytest.mark.parametrize(
    ("method", "options", "message"),
    [
        ("sift", {"max_keypoints": -5}, "max_keypoints = -5 is below its minimum 1"),
        ("sift", {"max_keypoints": "many"}, "max_keypoints = 'many' must be an integer"),
        ("sift", {"ratio": 1.5}, "ratio = 1.5 is above its maximum 1.0"),
        ("sift", {"mutual": "yes"}, "mutual = 'yes' must be true or false"),
        ("orb", {"max_keypoints": 0}, "max_keypoints = 0 is below its minimum 1"),
        ("colorstats", {"n_estimators": 2.5}, "n_estimators = 2.5 must be an integer"),
    ],
)
def test_method_options_are_checked_by_type_and_range(method, options, message):
    with pytest.raises(ConfigError, match=message):
        resolve_method(method, options)


def test_a_bad_method_option_on_the_command_line_names_the_key(tmp_path):
    manifest = make_plane_world(tmp_path / "world", n_images=2)
    args = ["evaluate", "-m", "sift", "--manifest", str(manifest), "-o", "max_keypoints=-5"]
    args += ["--out", str(tmp_path / "run")]
    result = CliRunner().invoke(build_app(), args)
    assert result.exit_code != 0 and isinstance(result.exception, ConfigError)
    assert "sift options: max_keypoints = -5 is below its minimum 1" in str(result.exception)
    assert not (tmp_path / "run" / "summary.json").exists()
