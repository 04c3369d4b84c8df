"""``stbench synth`` and generate_world on bad input: clear errors, nothing half-written."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from stbench.cli import build_app
from stbench.errors import ConfigError, OutputExistsError, StbenchError
from stbench.synth.config import WorldConfig


def test_unknown_preset_is_a_config_error(tmp_path):
    from stbench.synth.world import generate_world

    with pytest.raises(ConfigError, match="unknown preset 'huge'"):
        generate_world(WorldConfig("huge", webcams=False), tmp_path / "w")
    assert not (tmp_path / "w").exists()


def test_non_empty_out_needs_overwrite(tmp_path):
    from stbench.synth.world import generate_world

    out = tmp_path / "w"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        generate_world(WorldConfig("small", webcams=False), out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_unwritable_out_is_a_clear_error(tmp_path):
    from stbench.synth.world import generate_world

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StbenchError, match="cannot write"):
        generate_world(WorldConfig("small", webcams=False), blocker / "world")
    assert blocker.read_text() == "not a directory"


def test_cli_reports_errors_without_traceback(tmp_path):
    from stbench.cli import main

    del main
    runner = CliRunner()
    result = runner.invoke(build_app(), ["synth", "--preset", "huge", "--out", str(tmp_path / "w")])
    assert result.exit_code != 0
    assert isinstance(result.exception, ConfigError)
    assert not (tmp_path / "w").exists()


def test_presets_have_the_promised_sizes():
    from stbench.synth.world import PRESETS

    default = PRESETS["default"]
    # world v2: five scenes sized to ~80 CPU-seconds (fewer, larger photos than the 50 of v1)
    assert len(default) >= 5 and all(spec.n_views >= 14 for spec in default)
    assert sum(spec.n_views for spec in default) >= 100
    assert {"0015", "0022", "0008"} <= {spec.scene for spec in default}
    assert max(spec.n_views for spec in PRESETS["large"]) >= 1000
    assert sum(spec.n_views for spec in PRESETS["small"]) <= 24


def test_ensure_world_reuses_an_existing_world(tmp_path, monkeypatch):
    from stbench.paths import default_world_dir
    from stbench.synth import ensure_world

    monkeypatch.setenv("STBENCH_HOME", str(tmp_path))
    world = default_world_dir("small", 3)
    world.mkdir(parents=True)
    (world / "world.json").write_text("{}")
    assert ensure_world(WorldConfig("small", 3)) == world
    assert (world / "world.json").read_text() == "{}"  # not regenerated
