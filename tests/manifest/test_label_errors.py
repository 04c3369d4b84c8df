"""benchmarks/label_errors.py on the small world: trusted labels against the generator's truth."""

import importlib.util
import shutil
from pathlib import Path

import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "label_errors.py"


@pytest.fixture(scope="module")
def label_errors():
    spec = importlib.util.spec_from_file_location("label_errors", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def copy_manifest(manifest: Path, out: Path) -> Path:
    shutil.copytree(manifest, out, ignore=shutil.ignore_patterns(".cache"))
    return out


def trusted_photo(images: pd.DataFrame) -> int:
    ok = (images["source"] == "megadepth") & images["hour"].notna()
    assert ok.any(), "the small world has no trusted photo"
    return int(ok.to_numpy().nonzero()[0][0])


def test_small_world_has_no_unexplained_label_error(label_errors, small_world_manifest, capsys):
    world, manifest = small_world_manifest
    assert label_errors.run(manifest, world) == 0
    out = capsys.readouterr().out
    assert '"unexplained_causes": []' in out
    truth = label_errors.truth_frame(world)
    images = pd.read_parquet(manifest / "images.parquet")
    errors = label_errors.image_errors(images, truth, 0.5)
    assert len(errors) and set(errors["source"]) == {"megadepth", "webcam"}
    # no trusted photo label is wrong: the wrong-zone, unset-clock and placeholder photos are
    # untrusted; every webcam error is a named fault or the archive's download delay
    assert not errors[(errors["source"] == "megadepth") & errors["wrong"]].shape[0]
    causes = set(errors.loc[errors["wrong"], "cause"])
    assert all(c.startswith(("webcam:", "exif:")) for c in causes), causes
    assert "Labels withheld because the time window" in out


def test_every_trusted_time_has_a_window_that_holds_the_truth(label_errors, small_world_manifest):
    world, manifest = small_world_manifest
    images = pd.read_parquet(manifest / "images.parquet")
    trusted = images[images["timestamp_trust"] >= 0.5]
    assert trusted["time_early_s"].notna().all() and trusted["time_late_s"].notna().all()
    rows = label_errors.image_errors(images, label_errors.truth_frame(world), 0.5)
    windows = label_errors.window_summary(rows)
    assert (windows["true_in_window_%"] == 100.0).all(), windows
    # a withheld label is exactly a near_<span>_edge flag; the withheld rows carry no label
    withheld = label_errors.withheld_summary(rows)
    for (source, span), row in withheld.iterrows():
        flagged = trusted[trusted["source"] == source]["trust_flags"].map(
            lambda f, span=span: f"near_{span}_edge" in list(f)
        )
        assert row["withheld"] == int(flagged.sum()), (source, span)
        assert row["labelled"] + row["withheld"] == row["trusted"], (source, span)
    # the webcam names (download time, up to 10 min after capture) sit next to the hour edge
    assert withheld.loc[("webcam", "hour"), "withheld"] > 0
    assert withheld.loc[("webcam", "season"), "withheld_%"] < 1.0


def test_a_corrupted_label_is_detected(label_errors, small_world_manifest, tmp_path, capsys):
    world, manifest = small_world_manifest
    copy = copy_manifest(manifest, tmp_path / "corrupt")
    images = pd.read_parquet(copy / "images.parquet")
    row = trusted_photo(images)
    images.loc[row, "hour"] = (int(images.loc[row, "hour"]) + 5) % 24
    images.to_parquet(copy / "images.parquet", index=False)
    assert label_errors.run(copy, world) == 1
    out = capsys.readouterr().out
    assert "label_inconsistent" in out and images.loc[row, "image_id"] in out


def test_a_wrong_trusted_time_is_counted_and_attributed(
    label_errors, small_world_manifest, tmp_path, capsys
):
    world, manifest = small_world_manifest
    fake_world = tmp_path / "world"
    (fake_world / "truth").mkdir(parents=True)
    shutil.copy(world / "truth" / "webcam_frames.parquet", fake_world / "truth")
    photos = pd.read_parquet(world / "truth" / "megadepth_images.parquet")
    images = pd.read_parquet(manifest / "images.parquet")
    target = images.loc[trusted_photo(images), "image_id"].split("/")
    hit = (photos["scene"] == target[1]) & (photos["name"] == target[2])
    photos.loc[hit, "capture_time_utc"] += pd.Timedelta(hours=3)
    photos.to_parquet(fake_world / "truth" / "megadepth_images.parquet", index=False)
    truth = label_errors.truth_frame(fake_world)
    errors = label_errors.image_errors(images, truth, 0.5)
    wrong = errors[(errors["source"] == "megadepth") & errors["wrong"]]
    assert set(wrong["span"]) >= {"hour"} and set(wrong["image_id"]) == {"/".join(target)}
    # the photo's EXIF is right (it is trusted), so nothing explains the error
    assert wrong["cause"].str.startswith("unexplained:exif:").all()
    assert label_errors.run(manifest, fake_world, max_rate=0.01) == 1
    out = capsys.readouterr().out
    assert '"sources_over_max_rate": ["megadepth"' in out and "unexplained:exif:" in out


def test_a_manifest_from_another_world_is_refused(label_errors, small_world_manifest, tmp_path):
    world, manifest = small_world_manifest
    empty = tmp_path / "other"
    (empty / "truth").mkdir(parents=True)
    photos = pd.read_parquet(world / "truth" / "megadepth_images.parquet").iloc[:0]
    photos.to_parquet(empty / "truth" / "megadepth_images.parquet", index=False)
    with pytest.raises(SystemExit, match="no truth row"):
        label_errors.run(manifest, empty)


def test_a_fault_free_frame_named_among_a_clock_fault_run_is_attributed(label_errors):
    # a local-time era (names 8 h ahead) ends; the next, fault-free frame is named before the
    # era's last name: in recorded order it sits inside the faulty run
    capture = pd.to_datetime(
        ["2019-06-13 10:00", "2019-06-13 16:00", "2019-06-13 22:00", "2019-06-14 00:30",
         "2019-06-14 06:30", "2019-06-20 06:30"], utc=True)  # fmt: skip
    error_h = [8, 8, 8, 0, 0, 0]
    frames = pd.DataFrame(
        {
            "camera_id": "00000001",
            "capture_time_utc": capture,
            "recorded_name_time": (capture + pd.to_timedelta(error_h, unit="h")).tz_localize(None),
            "fault": ["local_time", "local_time,frozen", "local_time", None, None, None],
        }
    )
    case = label_errors.named_within_fault(frames)
    assert list(case) == ["", "", "", "webcam:named_within:local_time", "", ""]
    # another camera's faults say nothing about this one
    other = frames.assign(camera_id=["00000002"] * 3 + ["00000001"] * 3)
    assert list(label_errors.named_within_fault(other)) == [""] * 6
