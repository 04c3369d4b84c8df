"""Writing manifest tables deterministically and putting them in place atomically.

Parquet files are written with fixed settings (zstd level 3, fixed row-group size, statistics,
no pandas metadata, no timestamps), so the same rows give byte-identical files. Tables above
``partition_min_rows`` rows are written hive-partitioned by scene:
``<table>/scene=<scene>/part-0.parquet`` (the ``scene`` column lives in the directory name).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from stbench.errors import OutputExistsError
from stbench.manifest.io import MANIFEST_FILE, PARTITION_COLUMN, TABLES

__all__ = [
    "CACHE_DIR",
    "NULL_PARTITION",
    "OWNED_NAMES",
    "ROW_GROUP_SIZE",
    "WRITE_OPTIONS",
    "check_output",
    "manifest_json_text",
    "partition_name",
    "publish",
    "stage_directory",
    "write_parquet",
    "write_table",
]


WRITE_OPTIONS: dict[str, Any] = dict(
    compression="zstd",
    compression_level=3,
    use_dictionary=True,
    write_statistics=True,
    version="2.6",
    data_page_size=1 << 20,
)
ROW_GROUP_SIZE = 256 * 1024
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
CACHE_DIR = ".cache"


def write_parquet(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` with the fixed writer settings."""
    table = table.replace_schema_metadata(None)
    pq.write_table(table, path, row_group_size=ROW_GROUP_SIZE, **WRITE_OPTIONS)


def partition_name(value: str | None) -> str:
    """The hive directory name of a scene value."""
    if value is None:
        return f"{PARTITION_COLUMN}={NULL_PARTITION}"
    return f"{PARTITION_COLUMN}={urllib.parse.quote(value, safe='')}"


def write_table(table: pa.Table, directory: Path, name: str, partition_min_rows: int) -> str:
    """Write one table into ``directory``; returns its layout (file or directory name)."""
    if table.num_rows <= partition_min_rows:
        write_parquet(table, directory / f"{name}.parquet")
        return f"{name}.parquet"
    root = directory / name
    scenes = table.column(PARTITION_COLUMN)
    values = sorted(pc.unique(scenes).to_pylist(), key=lambda v: (v is not None, v or ""))
    for value in values:
        mask = pc.is_null(scenes) if value is None else pc.equal(scenes, value)
        part = table.filter(mask).drop_columns([PARTITION_COLUMN])
        folder = root / partition_name(value)
        folder.mkdir(parents=True)
        write_parquet(part, folder / "part-0.parquet")
    return f"{name}/"


def manifest_json_text(meta: dict[str, Any]) -> str:
    """manifest.json text: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(meta, indent=2, sort_keys=True) + "\n"


#: Names a manifest directory may contain.
OWNED_NAMES = {MANIFEST_FILE, CACHE_DIR} | {f"{t}.parquet" for t in TABLES} | set(TABLES)


def check_output(out: Path, overwrite: bool) -> None:
    """Refuse to write into a directory that holds something other than a manifest.

    Raises:
        OutputExistsError: ``out`` is a file, or holds a manifest and ``overwrite`` is False, or
            holds files that are not part of a manifest.
    """
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out} exists and is not a directory; choose another --out")
    if not out.is_dir():
        return
    foreign = sorted(
        p.name for p in out.iterdir() if p.name not in OWNED_NAMES and not p.name.startswith(".")
    )
    if foreign:
        raise OutputExistsError(
            f"{out} holds files that are not part of a manifest ({', '.join(foreign[:5])}); "
            "choose another --out"
        )
    if (out / MANIFEST_FILE).exists() and not overwrite:
        raise OutputExistsError(
            f"{out} already holds a manifest built differently; pass --overwrite to replace it "
            "or choose another --out"
        )


def stage_directory(out: Path) -> Path:
    """A fresh hidden staging directory inside ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".staging-", dir=out))


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def publish(staging: Path, out: Path) -> None:
    """Move the staged tables and manifest.json into ``out``.

    manifest.json is removed first and put back last: whenever ``out`` holds a manifest.json,
    the tables beside it are the ones it describes. Each table appears under its final name
    atomically (a rename).
    """
    _remove(out / MANIFEST_FILE)
    for name in TABLES:
        for candidate in (f"{name}.parquet", name):
            _remove(out / candidate)
        for candidate in (f"{name}.parquet", name):
            if (staging / candidate).exists():
                os.replace(staging / candidate, out / candidate)
    os.replace(staging / MANIFEST_FILE, out / MANIFEST_FILE)
    shutil.rmtree(staging, ignore_errors=True)
