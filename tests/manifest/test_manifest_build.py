import copy
import json

import numpy as np
import pandas as pd
import pytest
from manifest_fakes import FAIL_FILE, KILL_FILE, Killed, calls

from stbench.errors import OutputExistsError
from stbench.manifest.build import BuildOptions, build_manifest, run_build
from stbench.manifest.config import BuildConfig
from stbench.manifest.io import load_manifest, read_arrow_table
from stbench.schema import IMAGES_SCHEMA, PAIRS_SCHEMA, REJECTS_SCHEMA, check_schema


def _files(directory):
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and ".cache" not in p.parts
    }


def test_build_writes_schema_conformant_tables_and_meta(built):
    out, config = built
    for name, schema in (
        ("images", IMAGES_SCHEMA),
        ("pairs", PAIRS_SCHEMA),
        ("rejects", REJECTS_SCHEMA),
    ):
        assert check_schema(read_arrow_table(out, name), schema, name) == []
    manifest = load_manifest(out)
    meta = manifest.meta
    assert meta["schema_version"] == 2
    assert meta["counts"]["images"] == len(manifest.images) == 15 + 2 * (30 + 24) // 2
    assert meta["sources"]["megadepth"]["units"] == 3
    assert str(manifest.root("megadepth")) == config.megadepth_root
    assert not (out / ".cache").exists()
    # Rows are sorted by id, ids unique.
    assert manifest.images["image_id"].is_monotonic_increasing
    assert manifest.pairs["pair_id"].is_unique and manifest.pairs["pair_id"].is_monotonic_increasing


def test_splits_are_scene_and_camera_disjoint(built):
    manifest = load_manifest(built[0])
    split_of = manifest.images.groupby("scene")["split"].unique().map(list).to_dict()
    assert split_of == {
        "0008": ["val"],
        "0015": ["test"],
        "5001": ["train"],
        "00000001": [split_of["00000001"][0]],  # hash-assigned, one split for the camera
        "00000002": ["test"],  # explicit list
    }
    images = manifest.images.set_index("image_id")
    pairs = manifest.pairs
    assert (images.loc[pairs["image_id0"], "split"].to_numpy() == pairs["split"].to_numpy()).all()
    assert (images.loc[pairs["image_id1"], "split"].to_numpy() == pairs["split"].to_numpy()).all()


def test_spatial_pairs_canonical_binned_and_kinds(built):
    manifest = load_manifest(built[0])
    pairs = manifest.pairs[manifest.pairs["kind"] != "temporal"]
    assert (pairs["image_id0"] < pairs["image_id1"]).all()
    # The fake lists pairs reversed with depth_overlap_01 = overlap + 0.02: after the swap to
    # canonical order, depth_overlap_10 carries the +0.02.
    assert np.allclose(pairs["depth_overlap_10"] - pairs["depth_overlap_01"], 0.02, atol=1e-6)
    low = np.minimum(pairs["depth_overlap_01"], pairs["depth_overlap_10"])
    expected = pd.cut(
        low,
        [0.1, 0.3, 0.5, 0.7, 1.0],
        right=False,
        labels=["0.1-0.3", "0.3-0.5", "0.5-0.7", "0.7-1.0"],
    )
    assert (pairs["overlap_bin"].to_numpy() == expected.astype(str).to_numpy()).all()
    assert manifest.meta["dropped"]["below_min_overlap"] > 0
    # spatiotemporal exactly when both times are trusted (even image indices in the fake).
    images = manifest.images.set_index("image_id")
    trusted = images["timestamp_trust"] >= 0.5
    both = trusted.loc[pairs["image_id0"]].to_numpy() & trusted.loc[pairs["image_id1"]].to_numpy()
    assert ((pairs["kind"] == "spatiotemporal").to_numpy() == both).all()
    st = pairs[pairs["kind"] == "spatiotemporal"]
    assert len(st) > 0 and st["dt_seconds"].notna().all() and st["same_month"].notna().all()
    assert pairs.loc[pairs["kind"] == "spatial", "same_month"].isna().all()


def test_temporal_pairs_balanced_per_span_and_labelled(built):
    manifest = load_manifest(built[0])
    images = manifest.images.set_index("image_id")
    temporal = manifest.pairs[manifest.pairs["kind"] == "temporal"]
    assert len(temporal) > 0
    assert (
        images.loc[temporal["image_id0"], "scene"].to_numpy() == temporal["scene"].to_numpy()
    ).all()
    assert (images.loc[temporal["image_id0"], "timestamp_trust"] >= 0.5).all()
    assert (images.loc[temporal["image_id1"], "timestamp_trust"] >= 0.5).all()
    t0 = images.loc[temporal["image_id0"], "timestamp_utc"].to_numpy()
    t1 = images.loc[temporal["image_id1"], "timestamp_utc"].to_numpy()
    assert np.allclose((t1 - t0) / np.timedelta64(1, "s"), temporal["dt_seconds"])
    for span in ("month", "hour"):
        label0 = images.loc[temporal["image_id0"], span].to_numpy()
        label1 = images.loc[temporal["image_id1"], span].to_numpy()
        assert (temporal[f"same_{span}"].to_numpy() == (label0 == label1)).all()
        # Both same and different pairs exist for every span with variety.
        assert temporal[f"same_{span}"].any() and (~temporal[f"same_{span}"]).any()
    # Untrusted frames have null labels.
    untrusted = manifest.images[manifest.images["timestamp_trust"] < 0.5]
    assert len(untrusted) and untrusted["month"].isna().all()


def test_build_is_byte_identical_and_independent_of_workers(built, sources, tmp_path):
    first, config = built
    second = build_manifest(config, tmp_path / "b", sources=sources, workers=2)
    assert _files(first).keys() == {
        "images.parquet",
        "pairs.parquet",
        "rejects.parquet",
        "manifest.json",
    }
    files_a, files_b = _files(first), _files(second)
    assert files_a == files_b
    meta = json.loads(files_a["manifest.json"])
    assert meta["content_hash"] == load_manifest(second).meta["content_hash"]


def test_seed_changes_sampling_but_not_splits(built, sources, tmp_path):
    a = load_manifest(built[0])
    config = copy.deepcopy(built[1])
    config.seed = 7
    b = load_manifest(build_manifest(config, tmp_path / "b", sources=sources))
    assert a.meta["content_hash"] != b.meta["content_hash"]
    assert a.images["split"].tolist() == b.images["split"].tolist()


def test_killed_build_resumes_and_matches_uninterrupted(config, sources, tmp_path, roots):
    megadepth, webcams = roots
    reference = build_manifest(config, tmp_path / "ref", sources=sources)
    n_units = len(calls(megadepth)) + len(calls(webcams))
    (megadepth / "calls.log").unlink()
    (webcams / "calls.log").unlink()
    # Die while indexing the 3rd MegaDepth scene (units run in sorted order).
    (megadepth / KILL_FILE).write_text("5001")
    with pytest.raises(Killed):
        build_manifest(config, tmp_path / "m", sources=sources)
    assert not (tmp_path / "m" / "manifest.json").exists()
    assert not (tmp_path / "m" / "pairs.parquet").exists()
    assert calls(megadepth) == ["0008", "0015"]
    (megadepth / KILL_FILE).unlink()
    report = run_build(config, tmp_path / "m", BuildOptions(sources=sources))
    assert report.n_cached == 2
    # Only the unfinished units ran again.
    assert calls(megadepth) == ["0008", "0015", "5001"]
    assert len(calls(webcams)) == n_units - 3
    assert _files(tmp_path / "m") == _files(reference)


def test_failed_unit_becomes_reject_and_is_retried(config, sources, roots, tmp_path):
    megadepth, _ = roots
    (megadepth / FAIL_FILE).write_text("5001")  # a transient failure (outside config and files)
    report = run_build(config, tmp_path / "m", BuildOptions(sources=sources, keep_going=True))
    assert report.failed == [
        {
            "source": "megadepth",
            "unit": "5001",
            "error": "DataError: scene 5001: sparse model unreadable",
        }
    ]
    manifest = load_manifest(report.out)
    rejects = manifest.rejects[manifest.rejects["reason"] == "task_failed"]
    assert rejects[["source", "scene", "item", "stage"]].values.tolist() == [
        ["megadepth", "5001", "5001", "index"]
    ]
    assert not (manifest.images["scene"] == "5001").any()
    assert (tmp_path / "m" / ".cache").exists()  # kept so a rerun retries only the failure
    # The same command again retries only the failed unit (no --overwrite needed).
    (megadepth / FAIL_FILE).unlink()
    before = calls(megadepth)
    report = run_build(config, tmp_path / "m", BuildOptions(sources=sources))
    assert not report.up_to_date and report.failed == []
    assert calls(megadepth) == [*before, "5001"]
    assert (load_manifest(report.out).images["scene"] == "5001").any()
    assert not (tmp_path / "m" / ".cache").exists()


def test_existing_output_up_to_date_or_refused(config, sources, tmp_path):
    out = build_manifest(config, tmp_path / "m", sources=sources)
    assert run_build(config, out, BuildOptions(sources=sources)).up_to_date
    config.temporal.pairs_per_camera_span = 4
    with pytest.raises(OutputExistsError, match="--overwrite"):
        build_manifest(config, out, sources=sources)
    before = load_manifest(out).meta["content_hash"]
    build_manifest(config, out, sources=sources, overwrite=True)
    assert load_manifest(out).meta["content_hash"] != before
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match=r"notes\.txt"):
        build_manifest(config, tmp_path / "other", sources=sources)


def test_partitioned_layout_has_same_content_hash(built, sources, tmp_path):
    flat = load_manifest(built[0])
    config = copy.deepcopy(built[1])
    config.partition_min_rows = 10
    out = build_manifest(config, tmp_path / "hive", sources=sources)
    assert (out / "pairs" / "scene=0015" / "part-0.parquet").is_file()
    assert not (out / "pairs.parquet").exists()
    hive = load_manifest(out)
    assert hive.meta["content_hash"] == flat.meta["content_hash"]
    assert hive.meta["layout"]["pairs"] == "pairs/"
    pd.testing.assert_frame_equal(hive.pairs, flat.pairs)
    pd.testing.assert_frame_equal(hive.images, flat.images)


def test_time_disjoint_webcam_split(config, sources, tmp_path):
    config.splits.webcam_mode = "time"
    config.splits.time_val_start = "2021-01-05"
    config.splits.time_test_start = "2021-01-08"
    manifest = load_manifest(build_manifest(config, tmp_path / "m", sources=sources))
    frames = manifest.images[manifest.images["source"] == "webcam"]
    times = frames["timestamp_utc"]
    expected = np.where(
        times >= "2021-01-08", "test", np.where(times >= "2021-01-05", "val", "train")
    )
    assert (frames["split"].to_numpy() == expected).all()
    images = manifest.images.set_index("image_id")
    temporal = manifest.pairs[manifest.pairs["kind"] == "temporal"]
    assert (
        images.loc[temporal["image_id0"], "split"].to_numpy()
        == images.loc[temporal["image_id1"], "split"].to_numpy()
    ).all()


def test_config_rejects_bad_values():
    from stbench.errors import ConfigError
    from stbench.manifest.config import load_build_config

    with pytest.raises(ConfigError, match="did you mean 'seed'"):
        load_build_config(None, {"seeed": 1})
    with pytest.raises(ConfigError, match="webcam_mode"):
        load_build_config(None, {"splits": {"webcam_mode": "random"}})
    assert BuildConfig().synthetic
