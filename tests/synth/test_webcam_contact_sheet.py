"""docs/scripts/webcam_contact_sheet.py tiles frames at the preset's own size, unscaled."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from stbench.errors import ConfigError
from stbench.synth.webcams import PRESETS

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "scripts" / "webcam_contact_sheet.py"


def _script():
    spec = importlib.util.spec_from_file_location("webcam_contact_sheet", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sheet_tiles_are_the_presets_frame_size() -> None:
    script = _script()
    preset = PRESETS["small"]
    sheet = script.render_sheet("small", seed=0)
    rows = 24 // script.COLUMNS
    assert sheet.shape == (rows * preset.height, script.COLUMNS * preset.width, 3)
    # 24 distinct frames (12 months at noon, 12 hours of one day): no tile repeats another
    tiles = [
        sheet[
            r * preset.height : (r + 1) * preset.height, c * preset.width : (c + 1) * preset.width
        ]
        for r in range(rows)
        for c in range(script.COLUMNS)
    ]
    assert len({tile.tobytes() for tile in tiles}) == 24


def test_unknown_preset_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown webcam preset"):
        _script().render_sheet("nope", seed=0)
