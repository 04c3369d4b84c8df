import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stbench.manifest.config import BuildConfig, SplitConfig
from stbench.manifest.hashing import table_hash
from stbench.manifest.pairs import _sample_span_pairs, balanced_subset, canonical_order
from stbench.manifest.splits import camera_split, overlap_bins, seeded_keys, time_splits

EDGES = [0.1, 0.3, 0.5, 0.7, 1.0]


def test_overlap_bins_edges_hand_computed():
    values = [0.0999, 0.1, 0.2999, 0.3, 0.5, 0.69, 0.7, 1.0, np.nan]
    expected = [
        None,
        "0.1-0.3",
        "0.1-0.3",
        "0.3-0.5",
        "0.5-0.7",
        "0.5-0.7",
        "0.7-1.0",
        "0.7-1.0",
        None,
    ]
    assert overlap_bins(np.array(values), EDGES).tolist() == expected


def test_camera_split_is_stable_and_follows_fractions():
    config = SplitConfig(webcam_val_fraction=0.1, webcam_test_fraction=0.2)
    ids = [f"{i:08d}" for i in range(3000)]
    splits = pd.Series([camera_split(i, config) for i in ids])
    assert splits.tolist() == [camera_split(i, config) for i in ids]  # deterministic
    shares = splits.value_counts(normalize=True)
    assert shares["test"] == pytest.approx(0.2, abs=0.03)
    assert shares["val"] == pytest.approx(0.1, abs=0.03)
    forced = SplitConfig(webcam_val=["00000007"])
    assert camera_split("00000007", forced) == "val"


def test_time_splits_hand_computed():
    config = SplitConfig(
        webcam_mode="time", time_val_start="2021-06-01", time_test_start="2021-09-01"
    )
    times = pd.Series(
        pd.to_datetime(
            ["2021-05-31 23:59:00", "2021-06-01 00:00:00", "2021-09-01 00:00:01", None], utc=True
        )
    )
    assert time_splits(times, config).tolist() == ["train", "val", "test", None]


def test_seeded_keys_do_not_depend_on_order_or_neighbours():
    ids = ["a|b", "c|d", "e|f"]
    keys = seeded_keys(3, ids)
    assert seeded_keys(3, ids[::-1]).tolist() == keys[::-1].tolist()
    assert seeded_keys(3, ids[:1]).tolist() == keys[:1].tolist()
    assert seeded_keys(4, ids).tolist() != keys.tolist()


def test_sample_span_pairs_balanced_hand_case():
    labels = np.array([0, 0, 1, 1])
    seconds = np.arange(4) * 100.0
    picked = _sample_span_pairs(labels, seconds, 2, 0.0, np.random.default_rng(0))
    same = [p for p in picked if labels[p[0]] == labels[p[1]]]
    assert sorted(same) == [(0, 1), (2, 3)]  # the only same-label pairs
    assert len(picked) == 4 and len(set(picked)) == 4
    # min_dt excludes pairs closer than 150 s: the same pairs (100 s apart) are gone, so
    # nothing can be balanced.
    assert _sample_span_pairs(labels, seconds, 2, 150.0, np.random.default_rng(0)) == []


def test_balanced_subset():
    pairs = pd.DataFrame(
        {
            "pair_id": [f"p{i}" for i in range(7)],
            "same_hour": pd.array([True, False, False, False, None, True, False], dtype="boolean"),
        }
    )
    subset = balanced_subset(pairs, "hour")
    assert subset["same_hour"].sum() == 2 and (~subset["same_hour"]).sum() == 2
    assert subset["pair_id"].is_monotonic_increasing
    assert (
        balanced_subset(pairs.iloc[::-1], "hour")["pair_id"].tolist() == subset["pair_id"].tolist()
    )


def test_canonical_order_swaps_directed_columns():
    pairs = pd.DataFrame(
        {
            "image_id0": ["b", "a"],
            "image_id1": ["a", "c"],
            "depth_overlap_01": [0.1, 0.5],
            "depth_overlap_10": [0.2, 0.6],
        }
    )
    out = canonical_order(pairs)
    assert out[["image_id0", "image_id1"]].values.tolist() == [["a", "b"], ["a", "c"]]
    assert out["depth_overlap_01"].tolist() == [0.2, 0.5]
    assert out["depth_overlap_10"].tolist() == [0.1, 0.6]
    assert out["pair_id"].tolist() == ["a|b", "a|c"]


def test_table_hash_ignores_storage_but_not_values(tmp_path):
    table = pa.table(
        {
            "s": pa.array(["x", None, "zz"] * 100),
            "i": pa.array([1, 2, None] * 100, pa.int32()),
            "t": pa.array(pd.to_datetime(["2020-01-01", None, "2021-01-01"] * 100, utc=True)),
            "l": pa.array([["a"], [], None] * 100, pa.list_(pa.string())),
            "b": pa.array([True, None, False] * 100),
        }
    )
    reference = table_hash(table)
    for options in (
        dict(compression="zstd", row_group_size=7),
        dict(compression="snappy", use_dictionary=False),
    ):
        pq.write_table(table, tmp_path / "t.parquet", **options)
        assert table_hash(pq.read_table(tmp_path / "t.parquet")) == reference
    chunked = pa.concat_tables([table.slice(0, 10), table.slice(10)])
    assert table_hash(chunked) == reference
    assert table_hash(table.slice(1)) != reference
    changed = table.set_column(1, "i", pa.array([1, 2, 3] * 100, pa.int32()))  # a null became 3
    assert table_hash(changed) != reference


def test_default_names():
    assert BuildConfig().name == "default"
    assert BuildConfig(synthetic_preset="small", synthetic_seed=2).name == "small-seed2"
    assert BuildConfig(megadepth_root="/data/md").name == "default"
