"""Synthetic webcam streams: layout, naming, determinism and the fault sidecar.

The pipeline is exercised with a tiny stand-in shading function (webcam_helpers.toy_frame_source),
so these tests do not depend on the town renderer and stay fast.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from webcam_helpers import TOY_SITES, toy_frame_source

from stbench.errors import ConfigError
from stbench.imageio import read_image
from stbench.synth.webcam_faults import FAULT_KINDS, Scenario, standard_offset_s
from stbench.synth.webcams import (
    FAULT_COLUMNS,
    FRAME_COLUMNS,
    PRESETS,
    WebcamCamera,
    WebcamPreset,
    camera_ids,
    write_webcam_streams,
    write_webcams,
)

NAME = re.compile(r"^(\d{8}_\d{6})\.jpg$")
ERA_KINDS = {"local_time", "clock_offset", "clock_drift"}


def _build(out: Path, seed: int = 0, workers: int = 2) -> Path:
    write_webcam_streams(out, TOY_SITES, PRESETS["small"], seed, toy_frame_source, workers)
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("world"))


@pytest.fixture(scope="module")
def frames(world) -> pd.DataFrame:
    return pd.read_parquet(world / "truth" / "webcam_frames.parquet")


@pytest.fixture(scope="module")
def faults(world) -> pd.DataFrame:
    return pd.read_parquet(world / "truth" / "webcam_faults.parquet")


@pytest.fixture(scope="module")
def members(world) -> dict[str, bytes]:
    """Every archive member as ``<id>/<YYYY>.<MM>.zip/<member>`` -> bytes."""
    out = {}
    for archive in sorted((world / "webcams").glob("*/*.zip")):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                out[f"{archive.parent.name}/{archive.name}/{info.filename}"] = zf.read(info)
    return out


def _toy_site(name: str):
    return next(site for site in TOY_SITES if site.name == name)


def test_layout_camera_list_and_member_names(world, frames, members):
    rows = list(csv.DictReader(io.StringIO((world / "webcams" / "cameras.csv").read_text())))
    assert [r["id"] for r in rows] == camera_ids(3, 0)
    assert list(rows[0]) == ["id", "name", "lat", "lon"]
    cameras = PRESETS["small"].cameras
    for row, camera in zip(rows, cameras, strict=True):
        site = _toy_site(camera.site)
        assert row["name"] == f"{camera.site} view {camera.view + 1}"
        assert re.fullmatch(r"\d{8}", row["id"])
        assert (float(row["lat"]), float(row["lon"])) == pytest.approx((site.lat, site.lon))
        assert (world / "webcams" / row["id"]).is_dir()
    # The truth lists exactly the members in the zips, and each sits in its name's month.
    assert sorted(frames["path"]) == sorted(members)
    for path in members:
        _camera, archive, member = path.split("/")
        stamp = NAME.fullmatch(member).group(1)
        assert archive == f"{stamp[:4]}.{stamp[4:6]}.zip"
    assert list(frames.columns) == list(FRAME_COLUMNS)
    # manifest paths resolve through the foundation's reader, relative to the webcam root
    clean = frames[frames["fault"] == ""]["path"].iloc[0]
    assert read_image(world / "webcams", clean).shape == (72, 96, 3)
    # the small preset spans a year boundary
    assert {"2018.12.zip", "2019.01.zip"} <= {p.split("/")[1] for p in members}


def test_names_are_download_times_a_few_minutes_after_capture(frames):
    stamps = frames["path"].str.extract(r"/(\d{8}_\d{6})\.jpg$")[0]
    parsed = pd.to_datetime(stamps, format="%Y%m%d_%H%M%S")
    assert (parsed == frames["recorded_name_time"]).all()
    clean = frames[frames["fault"] == ""]
    assert len(clean) > 200
    after = (
        clean["recorded_name_time"] - clean["capture_time_utc"].dt.tz_convert(None)
    ).dt.total_seconds()
    assert after.between(60, 420 + 1).all()  # 1..7 minutes after capture, in UTC
    assert (clean["content_time_utc"] == clean["capture_time_utc"]).all()


def test_local_time_era_is_offset_by_the_zones_standard_offset(frames, faults):
    era = faults[faults["kind"] == "local_time"]
    assert len(era) == 1
    row = era.iloc[0]
    site = _toy_site(PRESETS["small"].cameras[1].site)  # camera 1 (madison) has the era
    assert row["amount_s"] == standard_offset_s(site.tz, row["start_utc"]) == -21600
    inside = frames[frames["faults"].apply(lambda f: "local_time" in f)]
    assert len(inside) > 50
    assert (inside["capture_time_utc"] >= row["start_utc"]).all()
    assert (inside["capture_time_utc"] < row["end_utc"]).all()
    error = inside["recorded_name_time"] - inside["download_time_utc"].dt.tz_convert(None)
    assert (error.dt.total_seconds() == -21600).all()


def test_clock_offset_and_drift_eras(frames, faults):
    offsets = faults[faults["kind"] == "clock_offset"]
    assert len(offsets) == 2  # a train and a test camera
    for _, offset in offsets.iterrows():
        assert abs(offset["amount_s"]) >= 3600
        era = frames[
            frames["faults"].apply(lambda f: "clock_offset" in f)
            & (frames["camera_id"] == offset["camera_id"])
        ]
        assert len(era) > 20 and (era["name_error_s"] == offset["amount_s"]).all()
    drift = faults[faults["kind"] == "clock_drift"].iloc[0]
    era = frames[frames["faults"].apply(lambda f: "clock_drift" in f)].sort_values(
        "capture_time_utc"
    )
    errors = era["name_error_s"].to_numpy()
    assert np.all(np.diff(errors) >= 0)
    elapsed = (era["capture_time_utc"] - drift["start_utc"]).dt.total_seconds().to_numpy()
    duration = (drift["end_utc"] - drift["start_utc"]).total_seconds()
    assert np.array_equal(errors, np.round(drift["amount_s"] * elapsed / duration))
    assert drift["amount_s"] - 600 < errors[-1] <= drift["amount_s"]


def test_fault_sidecar_lists_every_injected_fault(frames, faults, members):
    assert list(faults.columns) == list(FAULT_COLUMNS)
    assert set(faults["kind"]) == set(FAULT_KINDS)
    clean_camera = camera_ids(3, 0)[0]  # innsbruck: no faults
    assert PRESETS["small"].cameras[0].scenario == Scenario()
    assert clean_camera not in set(faults["camera_id"])
    assert (frames.loc[frames["camera_id"] == clean_camera, "fault"] == "").all()
    # Every faulty frame is covered by a fault row of each of its kinds.
    for _, frame in frames[frames["fault"] != ""].iterrows():
        for kind in frame["faults"]:
            rows = faults[(faults["camera_id"] == frame["camera_id"]) & (faults["kind"] == kind)]
            when = frame["download_time_utc"] if kind == "duplicate" else frame["capture_time_utc"]
            inside = (rows["start_utc"] <= when) & (when <= rows["end_utc"])
            assert inside.any(), (frame["path"], kind)
    # Zero-byte members are empty; truncated ones lack the end-of-image marker and fail to decode.
    for kind in ("zero_byte", "truncated"):
        paths = frames.loc[frames["faults"].apply(lambda f, k=kind: k in f), "path"]
        assert len(paths) == (faults["kind"] == kind).sum() > 0
        for path in paths:
            data = members[path]
            if kind == "zero_byte":
                assert data == b""
                continue
            assert data[:2] == b"\xff\xd8" and not data.endswith(b"\xff\xd9")
            with pytest.raises(OSError), Image.open(io.BytesIO(data)) as image:
                image.load()
            assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) is None
    # Everything else decodes.
    for path in frames.loc[~frames["fault"].str.contains("zero_byte|truncated"), "path"]:
        with Image.open(io.BytesIO(members[path])) as image:
            image.load()
    # Gaps hold no frame.
    for _, gap in faults[faults["kind"] == "gap"].iterrows():
        camera = frames[frames["camera_id"] == gap["camera_id"]]
        assert (
            not camera["capture_time_utc"].between(gap["start_utc"], gap["end_utc"], "left").any()
        )


def _decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def test_frozen_runs_and_duplicates_repeat_one_picture(frames, faults, members):
    by_content = frames.groupby(["camera_id", "content_time_utc"])
    runs = faults[faults["kind"] == "frozen"]
    assert len(runs) >= 2
    for _, run in runs.iterrows():
        camera = frames[frames["camera_id"] == run["camera_id"]]
        stale = camera[camera["capture_time_utc"].between(run["start_utc"], run["end_utc"])]
        assert len(stale) >= 3 and stale["fault"].str.contains("frozen").all()
        assert stale["content_time_utc"].nunique() == 1
        source = by_content.get_group((run["camera_id"], stale["content_time_utc"].iloc[0]))
        original = source[source["capture_time_utc"] == source["content_time_utc"]]
        original_bytes = members[original["path"].iloc[0]]
        identical = [members[p] == original_bytes for p in stale["path"]]
        if "identical bytes" in run["detail"]:
            assert all(identical)
        else:
            assert not any(identical)
            for path in stale["path"]:
                diff = np.abs(_decode(members[path]) - _decode(original_bytes)).mean()
                assert diff < 3.0
    dups = frames[frames["fault"].str.contains("duplicate")]
    assert len(dups) == (faults["kind"] == "duplicate").sum() > 0
    for _, dup in dups.iterrows():
        group = by_content.get_group((dup["camera_id"], dup["content_time_utc"]))
        others = group[group["path"] != dup["path"]]
        assert len(others) == 1 and members[others["path"].iloc[0]] == members[dup["path"]]


def test_rebuild_is_byte_identical_and_the_seed_matters(world, tmp_path):
    again = _build(tmp_path / "again", workers=1)

    def files(root: Path) -> dict[str, bytes]:
        return {
            str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
        }

    assert files(world) == files(again)
    other = _build(tmp_path / "other", seed=1, workers=1)
    assert files(other).keys() != files(world).keys()


def test_unknown_preset_and_no_sites_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown webcam preset 'huge'"):
        write_webcams(tmp_path, TOY_SITES, "huge", 0)
    with pytest.raises(ConfigError, match="at least one site"):
        write_webcam_streams(tmp_path, [], PRESETS["small"], 0, toy_frame_source)
    assert not any(tmp_path.iterdir())


def test_town_renderer_streams_are_deterministic_across_processes(tmp_path):
    from stbench.synth.sites import SITES

    site = SITES[0].name  # both cameras at one site: two views of one town
    cameras = (WebcamCamera(site, 0), WebcamCamera(site, 1, Scenario(frozen_runs=1)))
    tiny = WebcamPreset("2019-03-30", "2019-04-02", 360, 97, 48, 36, cameras)
    sites = list(SITES[:1])
    write_webcam_streams(tmp_path / "a", sites, tiny, 3, workers=1)
    write_webcam_streams(tmp_path / "b", sites, tiny, 3, workers=2)
    a = {
        str(p.relative_to(tmp_path / "a")): p.read_bytes() for p in (tmp_path / "a").rglob("*.zip")
    }
    b = {
        str(p.relative_to(tmp_path / "b")): p.read_bytes() for p in (tmp_path / "b").rglob("*.zip")
    }
    assert a == b and len(a) == 4  # two cameras x March, April
    frames = pd.read_parquet(tmp_path / "a" / "truth" / "webcam_frames.parquet")
    images = {}
    for archive in sorted((tmp_path / "a" / "webcams").glob("*/*.zip")):
        with zipfile.ZipFile(archive) as zf:
            decoded = [_decode(zf.read(n)) for n in sorted(zf.namelist())]
            images.setdefault(archive.parent.name, []).extend(decoded)
    first, second = images.values()
    assert first[0].shape == (36, 48, 3)
    assert np.abs(first[0] - second[0]).mean() > 5  # two different views
    # Light changes through the day: frames six hours apart differ.
    assert max(np.abs(f - first[0]).mean() for f in first[1:]) > 5
    assert len(frames) == sum(len(v) for v in images.values())
