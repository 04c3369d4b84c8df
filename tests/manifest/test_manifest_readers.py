"""Manifests read directly with pandas, DuckDB, Polars and Dask, flat and hive-partitioned
(the recipes of docs/manifest.md)."""

import copy

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from stbench.manifest.build import build_manifest
from stbench.manifest.io import load_manifest

SCENE_PARTITIONING = ds.partitioning(pa.schema([("scene", pa.string())]), flavor="hive")


@pytest.fixture(scope="module")
def partitioned(built, tmp_path_factory):
    from manifest_fakes import FAKE_SOURCES

    config = copy.deepcopy(built[1])
    config.partition_min_rows = 10
    return build_manifest(config, tmp_path_factory.mktemp("hive") / "m", sources=FAKE_SOURCES)


def _expected(built):
    pairs = load_manifest(built[0]).pairs
    return pairs.groupby(["scene", "kind"]).size().sort_index()


def test_duckdb_reads_flat_and_partitioned(built, partitioned):
    duckdb = pytest.importorskip("duckdb")
    expected = _expected(built)
    query = "select scene, kind, count(*) as n from {} group by all order by all"
    flat = duckdb.sql(query.format(f"read_parquet('{built[0]}/pairs.parquet')")).df()
    hive = duckdb.sql(
        query.format(
            f"read_parquet('{partitioned}/pairs/*/*.parquet', hive_partitioning=true, "
            "hive_types={'scene': VARCHAR})"
        )
    ).df()
    for frame in (flat, hive):
        assert frame.set_index(["scene", "kind"])["n"].tolist() == expected.tolist()
        assert "0015" in set(frame["scene"])


def test_polars_reads_flat_and_partitioned(built, partitioned):
    pl = pytest.importorskip("polars")
    expected = _expected(built)
    flat = pl.read_parquet(built[0] / "pairs.parquet")
    hive = pl.scan_parquet(
        str(partitioned / "pairs" / "**" / "*.parquet"),
        hive_partitioning=True,
        hive_schema={"scene": pl.String},
    ).collect()
    for frame in (flat, hive):
        counts = frame.group_by(["scene", "kind"]).len().sort(["scene", "kind"])
        assert counts["len"].to_list() == expected.tolist()
        assert frame.schema["scene"] == pl.String
        assert frame.schema["same_month"] == pl.Boolean


def test_pandas_and_dask_read_partitioned(built, partitioned):
    dd = pytest.importorskip("dask.dataframe")
    expected = load_manifest(built[0]).pairs.set_index("pair_id").sort_index()
    frame = pd.read_parquet(partitioned / "pairs", partitioning=SCENE_PARTITIONING)
    frame = frame.set_index("pair_id").sort_index()
    assert frame["scene"].tolist() == expected["scene"].tolist()
    lazy = dd.read_parquet(partitioned / "pairs", dataset={"partitioning": SCENE_PARTITIONING})
    assert sorted(lazy["scene"].compute().tolist()) == sorted(expected["scene"].tolist())
    assert len(lazy) == len(expected)
