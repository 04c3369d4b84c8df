"""The issue's temporal-signal check on the rendered webcams: real, but not trivial.

A random forest on colour statistics, trained on all cameras but one, must beat chance on the
held-out camera for season and local hour, without being near perfect. The quick test uses a
sparse year (one frame every 4 days, tiny frames); the slow one the ``default`` preset.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stbench.synth.sites import SITES
from stbench.synth.webcam_faults import Scenario
from stbench.synth.webcam_signal import frame_features, summarize, temporal_signal
from stbench.synth.webcams import (
    WebcamPreset,
    preset_sites,
    spread_cameras,
    write_webcam_streams,
    write_webcams,
)

SPARSE_SITES = ("innsbruck", "madison", "christchurch")
SPARSE_YEAR = WebcamPreset(
    "2019-01-01", "2020-01-01", 1440, 433, 64, 48,
    spread_cameras(SPARSE_SITES, 2, (Scenario(),)), day_step=4,
)  # fmt: skip


def _check(summary, season_margin: float, hour_factor: float) -> None:
    season, hour = summary.loc["season"], summary.loc["hour"]
    assert season["accuracy"] > season["chance"] + season_margin
    assert hour["accuracy"] > hour_factor * max(hour["chance"], hour["uniform"])
    assert season["accuracy"] < 0.95 and hour["accuracy"] < 0.9  # not trivial


def test_colour_statistics_tell_season_and_hour_on_held_out_cameras(tmp_path: Path):
    sites = [s for s in SITES if s.name in SPARSE_SITES]
    write_webcam_streams(tmp_path, sites, SPARSE_YEAR, seed=0)
    frames, features = frame_features(tmp_path)
    summary = summarize(temporal_signal(frames, features, n_estimators=60))
    print(summary.to_string())
    _check(summary, season_margin=0.1, hour_factor=1.5)


@pytest.mark.slow
def test_temporal_signal_on_the_default_preset(tmp_path: Path):
    write_webcams(tmp_path, preset_sites("default"), "default", seed=0)  # as generate_world does
    frames, features = frame_features(tmp_path)
    summary = summarize(temporal_signal(frames, features))
    print(summary.to_string())
    _check(summary, season_margin=0.1, hour_factor=2.0)
