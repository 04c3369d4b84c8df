import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest

from stbench.errors import DataError, OutputExistsError
from stbench.records import read_records
from stbench.schema import IMAGES_SCHEMA, to_table
from stbench.timestamps import TRUST_THRESHOLD
from stbench.webcams import WebcamConfig, index_camera, index_webcams, list_cameras


@pytest.fixture(scope="module")
def indexed(webcam_world):
    root, cams = webcam_world
    return {cam.camera_id: (cam, index_camera(root, cam.camera_id, WebcamConfig())) for cam in cams}


def merged(cam, records) -> pd.DataFrame:
    return cam.truth.merge(records.images, on="path", how="left", validate="one_to_one")


def test_list_cameras_sorted_8_digit_folders(webcam_world, tmp_path):
    root, _ = webcam_world
    assert list_cameras(root) == ["00000001", "00000002"]
    with pytest.raises(DataError, match="not a directory"):
        list_cameras(tmp_path / "nope")


def test_injected_two_hour_offset_is_found_and_corrected(indexed):
    cam, records = indexed["00000001"]
    frames = merged(cam, records)
    assert frames["image_id"].notna().all()
    injected = frames["name_error_s"].abs() >= 3600
    corrected = frames["clock_offset_s"].abs() >= 3600
    hits = (injected & corrected).sum()
    assert hits / corrected.sum() >= 0.95  # precision
    assert hits / injected.sum() >= 0.95  # recall
    # the applied correction undoes the naming error within 15 minutes
    residual_min = (frames["clock_offset_s"] + frames["name_error_s"])[injected & corrected] / 60
    assert residual_min.abs().max() <= 15
    flags = frames.loc[injected & corrected, "trust_flags"]
    assert flags.apply(lambda f: "clock_corrected" in f).all()
    assert not flags.apply(lambda f: "era_local_time" in f).any()  # 2 h early is not CET/CEST


def test_trusted_times_are_within_15_minutes_of_capture(indexed):
    for cam, records in indexed.values():
        frames = merged(cam, records)
        trusted = (frames["timestamp_trust"] >= TRUST_THRESHOLD) & ~frames["frozen"]
        error_min = (frames["timestamp_utc"] - frames["capture_time_utc"]).dt.total_seconds() / 60
        assert trusted.mean() > 0.8
        assert error_min[trusted].abs().max() <= 15


def test_windows_widen_near_the_era_boundaries_and_hold_the_capture(indexed):
    cam, records = indexed["00000001"]
    frames = merged(cam, records)
    trusted = (frames["timestamp_trust"] >= TRUST_THRESHOLD) & ~frames["frozen"]
    error_s = (frames["capture_time_utc"] - frames["timestamp_utc"]).dt.total_seconds()
    inside = (error_s >= -frames["time_early_s"]) & (error_s <= frames["time_late_s"])
    assert inside[trusted].all()
    # recorded (name) time of each frame, and where the naming error changes (the two edges)
    named = frames["capture_time_utc"] + pd.to_timedelta(frames["name_error_s"], unit="s")
    change = frames["name_error_s"].diff().fillna(0) != 0
    edges = named[change].to_numpy()
    assert len(edges) == 2
    distance_s = np.min(
        [np.abs((named - edge).dt.total_seconds()) for edge in pd.to_datetime(edges, utc=True)],
        axis=0,
    )
    width_s = frames["time_early_s"] + frames["time_late_s"]
    # within a day of a boundary the window holds both eras' offsets (2 h apart)...
    near = trusted & (distance_s < 86400)
    assert near.sum() >= 10 and (width_s[near] >= 2 * 3600).all()
    # ...far from both it is the era's own (delay and sun fit: under the 2 h between the eras)
    far = trusted & (distance_s > 4 * 86400)
    assert far.sum() >= 50 and (width_s[far] < 2 * 3600).all()
    assert width_s[far].median() < width_s[near].min() / 2


def test_clean_camera_is_verified_not_corrected(indexed):
    _cam, records = indexed["00000002"]
    images = records.images
    fresh = images[~images["trust_flags"].apply(lambda f: "frozen" in f)]
    assert (fresh["clock_offset_s"] == 0).mean() >= 0.95
    assert (fresh["timestamp_source"] == "filename_utc+solar").mean() >= 0.95
    assert (images["utc_offset_min"] == 60).all()  # Europe/Vienna in March (CET)


def test_frozen_runs_are_flagged_and_untrusted(indexed):
    for cam, records in indexed.values():
        frames = merged(cam, records)
        found = frames["trust_flags"].apply(lambda f: "frozen" in f)
        assert (found == frames["frozen"]).all()
        assert (frames.loc[found, "timestamp_trust"] == 0).all()


def test_records_conform_to_the_schema(indexed):
    for _cam, records in indexed.values():
        table = to_table(records.images, IMAGES_SCHEMA)
        assert table.num_rows == len(records.images)
        assert records.images["image_id"].is_unique
        assert records.images["image_id"].is_monotonic_increasing


def test_bad_members_become_reject_rows(tmp_path):
    folder = tmp_path / "00000009"
    folder.mkdir()
    good = np.full((16, 16), 120, np.uint8)
    import cv2

    jpeg = cv2.imencode(".jpg", good)[1].tobytes()
    with zipfile.ZipFile(folder / "2019.03.zip", "w") as zf:
        zf.writestr("20190301_120000.jpg", jpeg)
        zf.writestr("../../evil.jpg", jpeg)
        zf.writestr("20190301_130000.jpg", b"")
        zf.writestr("20190301_140000.jpg", b"<html><body>camera offline</body></html>")
        zf.writestr("20190301_150000.jpg", jpeg[: len(jpeg) // 2])
        zf.writestr("notes.txt", b"hello")
        zf.writestr("00000000_000000.jpg", jpeg)
        zf.writestr(
            "bomb.jpg", b"\xff\xd8" + b"\x00" * 5_000_000, compress_type=zipfile.ZIP_DEFLATED
        )
    (folder / "20190302_120000.jpg").write_bytes(jpeg)  # a loose frame
    (folder / "2019.04.zip").write_bytes(b"not a zip")
    (folder / "capture.jsonl").write_text("{}\n")  # stbench capture's log: not a frame
    (folder / ".20190302_130000.jpg.part").write_bytes(jpeg[:10])  # an interrupted capture
    (folder / "readme.txt").write_text("x")
    records = index_camera(tmp_path, "00000009", WebcamConfig())
    reasons = dict(zip(records.rejects["item"], records.rejects["reason"], strict=True))
    assert reasons == {
        "cameras.csv": "cameras_csv_missing",  # no cameras.csv in tmp_path: position unknown
        "00000009/2019.03.zip/../../evil.jpg": "unsafe_member",
        "00000009/2019.03.zip/20190301_130000.jpg": "empty",
        "00000009/2019.03.zip/20190301_140000.jpg": "not_jpeg",
        "00000009/2019.03.zip/20190301_150000.jpg": "truncated",
        "00000009/2019.03.zip/notes.txt": "not_jpeg_member",
        "00000009/2019.03.zip/bomb.jpg": "zip_bomb",
        "00000009/2019.04.zip": "bad_archive",
        "00000009/readme.txt": "not_a_frame",
    }
    images = records.images.set_index("image_id")
    assert set(images.index) == {
        "webcam/00000009/20190301_120000.jpg",
        "webcam/00000009/00000000_000000.jpg",
        "webcam/00000009/20190302_120000.jpg",
    }
    placeholder = images.loc["webcam/00000009/00000000_000000.jpg"]
    assert pd.isna(placeholder["timestamp_utc"]) and placeholder["timestamp_trust"] == 0
    assert "name_placeholder_time" in placeholder["trust_flags"]
    # no position in a cameras.csv: times stand, but nothing is trusted
    assert (images["timestamp_trust"] < TRUST_THRESHOLD).all()
    assert (
        images.loc["webcam/00000009/20190302_120000.jpg", "path"] == "00000009/20190302_120000.jpg"
    )


def test_index_webcams_stage_writes_resumes_and_guards_config(webcam_world, tmp_path):
    root, _ = webcam_world
    small = tmp_path / "root"
    small.mkdir()
    shutil.copytree(root / "00000002", small / "00000002")
    shutil.copy(root / "cameras.csv", small / "cameras.csv")
    out = index_webcams(WebcamConfig(), small, tmp_path / "out")
    written = read_records(out / "00000002")
    assert len(written.images) > 200 and written.pairs.empty
    stamp = (out / "00000002" / "images.parquet").stat().st_mtime_ns
    index_webcams(WebcamConfig(), small, out)  # resumes: nothing to redo
    assert (out / "00000002" / "images.parquet").stat().st_mtime_ns == stamp
    with pytest.raises(OutputExistsError):
        index_webcams(WebcamConfig(frozen_max_change=0.3), small, out)
    cli = [
        sys.executable,
        "-m",
        "stbench",
        "index",
        "webcams",
        str(small),
        "--out",
        str(tmp_path / "cli"),
    ]
    subprocess.run(cli, check=True, capture_output=True)
    assert read_records(tmp_path / "cli" / "00000002").images.equals(written.images)
