"""Bad input at the build level: failed units, --keep-going, leftovers of interrupted builds."""

import json

import pytest
from manifest.manifest_fakes import FAIL_FILE, FAKE_SOURCES, make_megadepth, make_webcams

from stbench.manifest.build import BuildOptions, UnitsFailedError, run_build
from stbench.manifest.config import BuildConfig, SplitConfig, TemporalPairConfig
from stbench.manifest.io import MANIFEST_FILE


@pytest.fixture
def setup(tmp_path):
    megadepth = make_megadepth(tmp_path / "md", {"0015": 5, "5001": 6})
    webcams = make_webcams(tmp_path / "wc", {"00000001": 30, "00000002": 24})
    config = BuildConfig(
        name="fake",
        megadepth_root=str(megadepth),
        webcam_root=str(webcams),
        splits=SplitConfig(webcam_test=["00000002"]),
        temporal=TemporalPairConfig(pairs_per_camera_span=8, min_dt_seconds=0.0),
    )
    return megadepth, config, tmp_path / "m"


def test_a_failed_unit_is_an_error_naming_it_and_nothing_is_published(setup):
    megadepth, config, out = setup
    (megadepth / FAIL_FILE).write_text("5001")
    with pytest.raises(UnitsFailedError) as caught:
        run_build(config, out, BuildOptions(sources=FAKE_SOURCES))
    message = str(caught.value)
    assert "1 unit(s) failed; no manifest written" in message
    assert "megadepth 5001: DataError: scene 5001: sparse model unreadable" in message
    assert "--keep-going" in message
    assert caught.value.failed == [
        {
            "source": "megadepth",
            "unit": "5001",
            "error": "DataError: scene 5001: sparse model unreadable",
        }
    ]
    assert not (out / MANIFEST_FILE).exists()
    assert (out / ".cache").is_dir()  # the finished units wait for the rerun
    assert not list(out.glob(".staging-*"))


def test_keep_going_publishes_without_the_unit_and_records_it(setup):
    megadepth, config, out = setup
    (megadepth / FAIL_FILE).write_text("5001")
    report = run_build(config, out, BuildOptions(sources=FAKE_SOURCES, keep_going=True))
    meta = json.loads((out / MANIFEST_FILE).read_text())
    assert meta["keep_going"] is True
    assert (
        [f["unit"] for f in meta["failed_units"]] == ["5001"] == [f["unit"] for f in report.failed]
    )
    assert meta["counts"]["rejects_by_reason"]["task_failed"] == 1


def test_a_plain_build_does_not_carry_the_keep_going_key(setup):
    _, config, out = setup
    run_build(config, out, BuildOptions(sources=FAKE_SOURCES))
    assert "keep_going" not in json.loads((out / MANIFEST_FILE).read_text())


def test_rerun_after_an_interrupted_build_removes_staging_and_cache(setup):
    megadepth, config, out = setup
    (megadepth / FAIL_FILE).write_text("5001")
    with pytest.raises(UnitsFailedError):
        run_build(config, out, BuildOptions(sources=FAKE_SOURCES))
    (out / ".staging-killed1").mkdir()  # what a kill during the write leaves
    (out / ".staging-killed1" / "images.parquet").write_bytes(b"partial")
    (megadepth / FAIL_FILE).unlink()
    report = run_build(config, out, BuildOptions(sources=FAKE_SOURCES))
    assert report.failed == [] and (out / MANIFEST_FILE).is_file()
    assert not list(out.glob(".staging-*")) and not (out / ".cache").exists()


def test_rerun_of_an_up_to_date_build_removes_leftovers(setup):
    _, config, out = setup
    run_build(config, out, BuildOptions(sources=FAKE_SOURCES))
    (out / ".staging-killed2").mkdir()
    (out / ".cache" / "megadepth").mkdir(parents=True)  # killed after publish, before cleanup
    report = run_build(config, out, BuildOptions(sources=FAKE_SOURCES))
    assert report.up_to_date
    assert not list(out.glob(".staging-*")) and not (out / ".cache").exists()


def test_keep_cache_keeps_the_cache_but_not_staging(setup):
    _, config, out = setup
    run_build(config, out, BuildOptions(sources=FAKE_SOURCES, keep_cache=True))
    (out / ".staging-killed3").mkdir()
    run_build(config, out, BuildOptions(sources=FAKE_SOURCES, keep_cache=True))
    assert (out / ".cache").is_dir() and not list(out.glob(".staging-*"))


def _cli_build(webcams, out, *extra):
    import os
    import subprocess
    import sys

    command = [sys.executable, "-m", "stbench", "build-manifest", "--webcams", str(webcams)]
    command += ["--out", str(out), *extra]
    env = {**os.environ, "STBENCH_HOME": str(out.parent / "home")}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


def test_cli_exits_non_zero_naming_the_unit_and_file_then_keep_going(tmp_path):
    from webcams.conftest import write_camera

    webcams = tmp_path / "wc"
    write_camera(webcams, "00000001", days=2, seed=1)
    write_camera(webcams, "00000002", days=2, seed=2)
    (webcams / "cameras.csv").write_text("id,name,lat,lon\n1,a,47.27,11.40\nx2,b,47.27,11.40\n")
    run = _cli_build(webcams, tmp_path / "m")
    assert run.returncode == 2, run.stdout + run.stderr
    text = " ".join(run.stderr.split())
    assert "2 unit(s) failed; no manifest written" in text
    assert "webcam 00000001: DataError:" in text and "cameras.csv line 3" in text
    assert not (tmp_path / "m" / MANIFEST_FILE).exists()

    run = _cli_build(webcams, tmp_path / "m", "--keep-going")
    assert run.returncode == 0, run.stdout + run.stderr
    meta = json.loads((tmp_path / "m" / MANIFEST_FILE).read_text())
    assert meta["keep_going"] is True
    assert [f["unit"] for f in meta["failed_units"]] == ["00000001", "00000002"]

    (webcams / "cameras.csv").write_text("id,name,lat,lon\n1,a,47.27,11.40\n2,b,47.27,11.40\n")
    run = _cli_build(webcams, tmp_path / "m", "--overwrite")  # fixed: full manifest, no leftovers
    assert run.returncode == 0, run.stdout + run.stderr
    meta = json.loads((tmp_path / "m" / MANIFEST_FILE).read_text())
    assert meta["failed_units"] == [] and "keep_going" not in meta
    assert meta["counts"]["images"] > 0
    assert not (tmp_path / "m" / ".cache").exists()
