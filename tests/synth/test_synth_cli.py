"""``stbench synth`` and generate_world on bad input: clear errors, nothing half-written."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from stbench.cli import build_app
from stbench.errors import ConfigError, OutputExistsError, StbenchError


def test_unknown_preset_is_a_config_error(tmp_path):
    from stbench.synth.world import generate_world

    with pytest.raises(ConfigError, match="unknown preset 'huge'"):
        generate_world(tmp_path / "w", "huge", webcams=False)
    assert not (tmp_path / "w").exists()


def test_non_empty_out_needs_overwrite(tmp_path):
    from stbench.synth.world import generate_world

    out = tmp_path / "w"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        generate_world(out, "small", webcams=False)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_unwritable_out_is_a_clear_error(tmp_path):
    from stbench.synth.world import generate_world

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StbenchError, match="cannot write"):
        generate_world(blocker / "world", "small", webcams=False)
    assert blocker.read_text() == "not a directory"


def test_cli_reports_errors_without_traceback(tmp_path):
    from stbench.cli import main

    del main
    runner = CliRunner()
    result = runner.invoke(build_app(), ["synth", "--preset", "huge", "--out", str(tmp_path / "w")])
    assert result.exit_code != 0
    assert isinstance(result.exception, ConfigError)
    assert not (tmp_path / "w").exists()
