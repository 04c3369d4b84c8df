"""Loading a manifest directory (``images/pairs/rejects.parquet`` + ``manifest.json``)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from stbench.errors import DataError
from stbench.paths import HOME_ENV, stbench_home
from stbench.schema import IMAGES_SCHEMA, PAIRS_SCHEMA, REJECTS_SCHEMA

__all__ = [
    "MANIFEST_FILE",
    "PARTITION_COLUMN",
    "SCHEMAS",
    "SORT_KEYS",
    "TABLES",
    "Manifest",
    "expand_root",
    "load_manifest",
    "read_arrow_table",
    "read_manifest_meta",
    "read_table",
    "sort_canonical",
    "table_location",
]


MANIFEST_FILE = "manifest.json"
TABLES = ("images", "pairs", "rejects")
SCHEMAS: dict[str, pa.Schema] = {
    "images": IMAGES_SCHEMA,
    "pairs": PAIRS_SCHEMA,
    "rejects": REJECTS_SCHEMA,
}
#: The column large tables are hive-partitioned by (``<table>/scene=<value>/part-0.parquet``).
PARTITION_COLUMN = "scene"
#: The canonical row order of each table (manifests are written sorted by these columns).
SORT_KEYS: dict[str, list[str]] = {
    "images": ["image_id"],
    "pairs": ["pair_id"],
    "rejects": list(REJECTS_SCHEMA.names),
}


def expand_root(root: str) -> Path:
    """A source root as stored in manifest.json, with ``$STBENCH_HOME`` expanded."""
    prefix = f"${HOME_ENV}"
    if root.startswith(prefix):
        return stbench_home() / root[len(prefix) :].lstrip("/")
    return Path(os.path.expanduser(root))


@dataclass
class Manifest:
    """A loaded manifest.

    Attributes:
        directory: where it was read from.
        images, pairs, rejects: the three tables.
        meta: the content of manifest.json.
        verification: what :func:`stbench.manifest.verify.load_verified_manifest` checked
            (stated and actual content hash, ``modified``, ``trusted_modified``); empty when
            loaded without verification.
    """

    directory: Path
    images: pd.DataFrame
    pairs: pd.DataFrame
    rejects: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    verification: dict[str, Any] = field(default_factory=dict)

    def root(self, source: str) -> Path:
        """The data root of ``source`` (``megadepth`` or ``webcam``)."""
        sources = self.meta.get("sources", {})
        if source not in sources or not sources[source].get("root"):
            raise DataError(
                f"manifest {self.directory} names no root for source {source!r} "
                f"(sources: {sorted(sources)})"
            )
        return expand_root(sources[source]["root"])

    @property
    def name(self) -> str:
        """The manifest's name (its directory name unless manifest.json says otherwise)."""
        return str(self.meta.get("name", self.directory.name))


def table_location(directory: Path, name: str) -> Path:
    """``<name>.parquet`` or the hive-partitioned ``<name>/`` directory of a manifest table.

    Raises:
        DataError: neither exists.
    """
    for candidate in (directory / f"{name}.parquet", directory / name):
        if candidate.exists():
            return candidate
    raise DataError(f"manifest {directory} has no {name}.parquet; rebuild it with build-manifest")


def read_arrow_table(directory: Path, name: str) -> pa.Table:
    """Read a manifest table as Arrow, in schema column order, from either layout.

    A hive-partitioned table gets its ``scene`` column back from the directory names (as a
    string: scene ids such as ``0015`` are not numbers). Columns outside the schema are kept
    after the schema's columns, so checks can report them.
    """
    import pyarrow.dataset as ds

    location = table_location(Path(directory), name)
    try:
        if location.is_dir():
            partitioning = ds.partitioning(
                pa.schema([(PARTITION_COLUMN, pa.string())]), flavor="hive"
            )
            table = ds.dataset(location, format="parquet", partitioning=partitioning).to_table()
        else:
            table = pq.read_table(location)
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"cannot read {location}: {exc}") from exc
    schema = SCHEMAS.get(name)
    if schema is None:
        return table
    present = [c for c in schema.names if c in table.column_names]
    extra = [c for c in table.column_names if c not in schema.names]
    table = table.select(present + extra)
    for index, name in enumerate(present):
        expected = schema.field(name).type
        actual = table.schema.field(name).type
        if actual.equals(expected) and str(actual) != str(expected):  # list<element> vs <item>
            table = table.set_column(index, name, table.column(name).cast(expected))
    return table


def sort_canonical(table: pa.Table, name: str) -> pa.Table:
    """``table`` in the canonical row order of manifest table ``name`` (nulls first)."""
    keys = [k for k in SORT_KEYS[name] if k in table.column_names]
    if not keys or table.num_rows <= 1:
        return table
    columns, sort_keys = {}, []
    for i, key in enumerate(keys):
        column = table.column(key)
        if column.null_count:
            columns[f"v{i}"] = pc.is_valid(column)
            sort_keys.append((f"v{i}", "ascending"))
            column = pc.fill_null(
                column, pa.scalar("", type=column.type) if pa.types.is_string(column.type) else 0
            )
        columns[f"k{i}"] = column
        sort_keys.append((f"k{i}", "ascending"))
    order = pc.sort_indices(pa.table(columns), sort_keys=sort_keys)
    return table.take(order)


def read_table(directory: Path, name: str) -> pd.DataFrame:
    """Read ``<name>.parquet`` or a hive-partitioned ``<name>/`` directory as pandas."""
    table = read_arrow_table(Path(directory), name)
    if name in SORT_KEYS and Path(directory, name).is_dir():
        table = sort_canonical(table, name)
    return table.to_pandas()


def read_manifest_meta(directory: Path) -> dict[str, Any]:
    """The JSON object in ``directory/manifest.json``.

    Raises:
        DataError: the file is missing, unreadable, not JSON or not a JSON object.
    """
    meta_path = directory / MANIFEST_FILE
    if not meta_path.is_file():
        raise DataError(
            f"{directory} is not a manifest: {MANIFEST_FILE} is missing; build one with "
            "`stbench build-manifest` (the embedded world) or pass --manifest DIR"
        )
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"{meta_path} is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict):
        raise DataError(f"{meta_path} does not hold a JSON object")
    return meta


def load_manifest(directory: str | Path) -> Manifest:
    """Load a manifest directory.

    Raises:
        DataError: the directory, manifest.json or a table is missing or unreadable.
    """
    directory = Path(directory)
    meta = read_manifest_meta(directory)
    tables = {name: read_table(directory, name) for name in TABLES}
    return Manifest(directory=directory, meta=meta, **tables)
