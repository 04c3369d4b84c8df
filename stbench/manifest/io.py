"""Loading a manifest directory (``images/pairs/rejects.parquet`` + ``manifest.json``)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from stbench.errors import DataError
from stbench.paths import HOME_ENV, stbench_home

MANIFEST_FILE = "manifest.json"
TABLES = ("images", "pairs", "rejects")


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
    """

    directory: Path
    images: pd.DataFrame
    pairs: pd.DataFrame
    rejects: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

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


def read_table(directory: Path, name: str) -> pd.DataFrame:
    """Read ``<name>.parquet`` or a hive-partitioned ``<name>/`` directory."""
    for candidate in (directory / f"{name}.parquet", directory / name):
        if candidate.exists():
            return pq.read_table(candidate).to_pandas()
    raise DataError(f"manifest {directory} has no {name}.parquet; rebuild it with build-manifest")


def load_manifest(directory: str | Path) -> Manifest:
    """Load a manifest directory.

    Raises:
        DataError: the directory, manifest.json or a table is missing or unreadable.
    """
    directory = Path(directory)
    meta_path = directory / MANIFEST_FILE
    if not meta_path.is_file():
        raise DataError(f"{directory} is not a manifest: {MANIFEST_FILE} is missing")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{meta_path} is not valid JSON: {exc}") from exc
    tables = {name: read_table(directory, name) for name in TABLES}
    return Manifest(directory=directory, meta=meta, **tables)
