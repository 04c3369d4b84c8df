"""Webcam presets: which site each camera watches, the capture schedule, span, size and faults.

Everything here is planned, not rendered (``plan_cameras`` is the writer's own plan), so a year of
54 cameras costs a second or two; one test renders two frames at the default preset's size.
"""

from __future__ import annotations

import zipfile
from collections import Counter
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chisquare

from stbench.errors import ConfigError
from stbench.spans import span_labels
from stbench.synth.sites import SITES, site_by_name
from stbench.synth.webcam_faults import FAULT_KINDS, Scenario, StreamSpec, plan_stream
from stbench.synth.webcams import (
    DEFAULT_SITES,
    PRESETS,
    WebcamCamera,
    WebcamPreset,
    camera_ids,
    camera_records,
    plan_cameras,
    preset_sites,
    write_webcam_streams,
)

ERA_KINDS = {"local_time", "clock_offset", "clock_drift"}


@pytest.fixture(scope="module")
def plans() -> dict[str, list]:
    return {
        name: plan_cameras(SITES, PRESETS[name], 0) for name in ("small", "default", "benchmark")
    }


def _captures(frames) -> pd.DatetimeIndex:
    return pd.DatetimeIndex([f.capture_utc for f in frames])


def _minutes(times: pd.DatetimeIndex) -> np.ndarray:
    return np.asarray(times.minute + times.second / 60)


def _looks_uniform_within_the_hour(minutes: np.ndarray) -> bool:
    """Chi-square over 12 five-minute bins, and at most 20 % within +-5 min of a full hour."""
    near = np.mean(np.minimum(minutes, 60 - minutes) <= 5)
    counts = np.bincount((minutes // 5).astype(int), minlength=12)
    return bool(near <= 0.20 and chisquare(counts).pvalue > 1e-3)


def test_each_preset_names_its_sites_and_views():
    default = PRESETS["default"].cameras
    assert [(c.site, c.view) for c in default] == [(name, 0) for name in DEFAULT_SITES]
    assert Counter(site_by_name(c.site).split for c in default) == {"train": 3, "val": 1, "test": 3}
    assert {c.site for c in default} == {
        "innsbruck", "porto", "seattle", "valencia", "christchurch", "denver", "santiago",
    }  # fmt: skip
    bench = PRESETS["benchmark"].cameras
    assert len(bench) == 54
    assert Counter(c.site for c in bench) == {site.name: 3 for site in SITES}
    assert {(c.site, c.view) for c in bench} == {(s.name, v) for s in SITES for v in range(3)}
    assert sum(site_by_name(c.site).split == "test" for c in bench) == 18
    small = {site_by_name(c.site).split for c in PRESETS["small"].cameras}
    assert {"train", "test"} <= small and PRESETS["small"].n_cameras <= 3
    assert PRESETS["large"] == PRESETS["default"]
    # the writer's sites are the preset's own, in camera order
    assert [s.name for s in preset_sites("default")] == list(DEFAULT_SITES)
    assert len(preset_sites("benchmark")) == 18
    with pytest.raises(ConfigError, match="unknown webcam preset 'huge'"):
        preset_sites("huge")


def test_camera_records_are_stable_and_carry_site_and_split():
    records = camera_records(SITES, PRESETS["benchmark"], 0)
    assert [r["id"] for r in records] == camera_ids(54, 0)
    assert records == camera_records(list(reversed(SITES)), PRESETS["benchmark"], 0)
    for record, camera in zip(records, PRESETS["benchmark"].cameras, strict=True):
        site = site_by_name(camera.site)
        assert (record["site"], record["view"], record["split"]) == (
            site.name,
            camera.view,
            site.split,
        )
        assert record["name"] == f"{site.name} view {camera.view + 1}"
        assert (float(record["lat"]), float(record["lon"])) == pytest.approx((site.lat, site.lon))
    # the default preset's sites are enough for it; a missing site is a clear error
    assert len(camera_records(preset_sites("default"), PRESETS["default"], 0)) == 7
    with pytest.raises(ConfigError, match="christchurch, denver, santiago, which are not among"):
        camera_records(SITES[:12], PRESETS["default"], 0)


def test_bad_presets_are_clear_errors():
    camera = WebcamCamera("innsbruck")
    with pytest.raises(ConfigError, match="multiple of 60"):
        WebcamPreset("2019-01-01", "2019-02-01", 360, 60, 96, 72, (camera,))
    with pytest.raises(ConfigError, match="more than once"):
        WebcamPreset("2019-01-01", "2019-02-01", 360, 97, 96, 72, (camera, camera))
    with pytest.raises(ConfigError, match="at least one camera"):
        WebcamPreset("2019-01-01", "2019-02-01", 360, 97, 96, 72, ())


@pytest.mark.parametrize("name", ["small", "default", "benchmark"])
def test_capture_minutes_are_uniform_within_the_hour(plans, name):
    for record, frames, _ in plans[name]:
        minutes = _minutes(_captures(frames))
        assert _looks_uniform_within_the_hour(minutes), record["id"]
    everything = np.concatenate([_minutes(_captures(f)) for _, f, _ in plans[name]])
    assert _looks_uniform_within_the_hour(everything)


def test_the_uniformity_check_rejects_the_old_on_the_hour_schedule():
    # the former schedule: a 6 h grid shifted by whole hours, so captures sit at +-5 min of an hour
    spec = StreamSpec("00000001", "UTC", pd.Timestamp("2019-01-01", tz="UTC"),
                      pd.Timestamp("2020-01-01", tz="UTC"), 360, 60)  # fmt: skip
    frames, _ = plan_stream(spec, np.random.default_rng(0))
    assert not _looks_uniform_within_the_hour(_minutes(_captures(frames)))


@pytest.mark.parametrize("name", ["default", "benchmark"])
def test_a_full_year_every_hour_and_month_and_test_frames_bounded(plans, name):
    for record, frames, _ in plans[name]:
        times = _captures(frames)
        assert times.min() < pd.Timestamp("2019-01-02", tz="UTC")
        # 3 days in every 12 (default) or 6: the last cycle starts on 27 December
        assert times.max() >= pd.Timestamp("2019-12-29", tz="UTC")
        local = times.tz_convert(ZoneInfo(site_by_name(record["site"]).tz))
        assert set(local.hour) == set(range(24)) and set(local.month) == set(range(1, 13))
        # every local hour is seen at least 8 times over the year
        assert min(Counter(local.hour).values()) >= 8
        if record["split"] == "test":
            assert len(frames) <= 1500


def test_oracle_hour_from_the_true_time_is_exact_under_the_spans_binning(plans):
    from stbench.synth.webcams import _civil_offsets_min

    for record, frames, _ in plans["default"]:
        capture = pd.Series(_captures(frames))
        tz = site_by_name(record["site"]).tz
        offsets = _civil_offsets_min(capture, tz)
        label = span_labels("hour", capture, offsets, np.full(len(capture), np.nan))
        oracle = pd.DatetimeIndex(capture).tz_convert(ZoneInfo(tz)).hour
        assert np.array_equal(np.asarray(label, dtype=np.int64), np.asarray(oracle))
        # a correct AMOS name is 1..7 min after capture: with captures spread within the hour,
        # the name's hour is the capture's for ~93 % of frames (within +-5 min of the hour: ~60 %)
        download = pd.Series(pd.DatetimeIndex([f.download_utc for f in frames]))
        named = span_labels("hour", download, offsets, np.full(len(capture), np.nan))
        assert np.mean(np.asarray(named == label, dtype=bool)) > 0.88


@pytest.mark.parametrize("name", ["small", "default", "benchmark"])
def test_faults_are_spread_over_cameras_and_splits(plans, name):
    kinds_by_split: dict[str, set[str]] = {}
    faulty = Counter()
    for record, frames, faults in plans[name]:
        kinds = {f.kind for f in faults}
        # an era fault always moves the names (no "local time" era in a UTC+0 zone)
        assert all(f.amount_s != 0 for f in faults if f.kind in ERA_KINDS)
        assert kinds == {k for f in frames for k in f.faults} | ({"gap"} & kinds)
        kinds_by_split.setdefault(record["split"], set()).update(kinds)
        faulty[(record["split"], bool(kinds))] += 1
    assert set().union(*kinds_by_split.values()) == set(FAULT_KINDS)
    assert faulty[("train", False)] >= 1  # a clean control camera
    assert faulty[("test", True)] >= 1  # test cameras have faults too
    if name != "small":
        assert kinds_by_split["test"] == set(FAULT_KINDS)
    if name == "benchmark":
        assert faulty[("test", False)] >= 1 and faulty[("test", True)] >= 12


def test_frames_are_320x240_at_the_default_size(tmp_path):
    default = PRESETS["default"]
    assert (default.width, default.height) == (PRESETS["benchmark"].width, 240) == (320, 240)
    camera = WebcamCamera("christchurch", 0, Scenario())
    tiny = WebcamPreset("2019-06-01", "2019-06-02", 720, 97, default.width, default.height,
                        (camera,))  # fmt: skip
    write_webcam_streams(tmp_path, preset_sites("default"), tiny, 0, workers=1)
    import cv2

    (archive,) = (tmp_path / "webcams").glob("*/*.zip")
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
        assert len(names) == 2
        image = cv2.imdecode(np.frombuffer(zf.read(names[0]), np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (240, 320, 3)


def test_no_local_time_era_where_local_standard_time_is_utc():
    spec = StreamSpec("00000002", "Europe/Lisbon", pd.Timestamp("2019-01-01", tz="UTC"),
                      pd.Timestamp("2019-03-01", tz="UTC"), 360, 97,
                      Scenario(local_time_until=0.5, frozen_runs=1))  # fmt: skip
    frames, faults = plan_stream(spec, np.random.default_rng(0))
    assert [f.kind for f in faults] == ["frozen"]
    assert not any("local_time" in f.faults for f in frames)


def test_world_json_records_each_cameras_site_and_split(tmp_path, monkeypatch):
    import csv
    import json

    from stbench.synth import world
    from stbench.synth.config import WorldConfig

    # the scenes are not under test here: an empty truth table stands in for them
    monkeypatch.setattr(world, "write_megadepth", lambda *args, **kwargs: pd.DataFrame())
    out = world.generate_world(WorldConfig("small", 0), tmp_path / "w")
    cameras = json.loads((out / "world.json").read_text())["cameras"]
    assert cameras == camera_records(SITES, PRESETS["small"], 0)
    assert [(c["site"], c["split"]) for c in cameras] == [
        ("innsbruck", "train"), ("madison", "train"), ("christchurch", "test"),
    ]  # fmt: skip
    with (out / "webcams" / "cameras.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["id", "name", "lat", "lon"]  # the AMOS layout, unchanged
    assert [{k: c[k] for k in ("id", "name", "lat", "lon")} for c in cameras] == rows


@pytest.mark.parametrize("name", ["small", "default", "benchmark"])
def test_every_capture_day_gives_the_clock_fit_a_full_window(plans, name):
    """The resolver's clock fit needs min_frames_per_day frames in a window of window_days days
    centred on a day: a sparse year captures on runs of consecutive days, so every day has it."""
    from stbench.webcams.config import WebcamConfig

    config = WebcamConfig()
    half = config.window_days // 2
    for record, frames, faults in plans[name]:
        gaps = [(f.start_utc, f.end_utc) for f in faults if f.kind == "gap"]
        days = pd.Series(_captures(frames).floor("D")).value_counts().sort_index()
        short = 0
        for day in days.index:
            window = days[(days.index >= day - pd.Timedelta(days=half))
                          & (days.index <= day + pd.Timedelta(days=half))]  # fmt: skip
            near_gap = any(s - pd.Timedelta(days=2) <= day <= e + pd.Timedelta(days=1)
                           for s, e in gaps)  # fmt: skip
            short += window.sum() < config.min_frames_per_day and not near_gap
        # the stream's two ends, and a rare slot jittered across UTC midnight
        assert short <= 2 + len(days) // 50, (record["id"], short)
