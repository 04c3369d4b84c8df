"""Records: the images, pairs and rejects that one ingest task (a scene or a camera) produces.

Ingest tasks return :class:`Records` (pure data, no files written) so that the same task runs in
the CLI, a process pool or on Dask; :func:`write_records` stores them as Parquet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from stbench.atomic import atomic_path
from stbench.schema import (
    IMAGES_SCHEMA,
    PAIRS_SCHEMA,
    REJECTS_SCHEMA,
    empty_frame,
    to_table,
)

__all__ = ["RECORD_TABLES", "Records", "read_records", "write_records"]


RECORD_TABLES = {"images": IMAGES_SCHEMA, "pairs": PAIRS_SCHEMA, "rejects": REJECTS_SCHEMA}


@dataclass
class Records:
    """Rows of one ingest task, each frame a subset of the columns of its schema."""

    images: pd.DataFrame = field(default_factory=lambda: empty_frame(IMAGES_SCHEMA))
    pairs: pd.DataFrame = field(default_factory=lambda: empty_frame(PAIRS_SCHEMA))
    rejects: pd.DataFrame = field(default_factory=lambda: empty_frame(REJECTS_SCHEMA))

    def add_reject(
        self, source: str, scene: str, item: str, stage: str, reason: str, detail: str
    ) -> None:
        """Record one skipped input with its reason."""
        row = pd.DataFrame(
            [dict(source=source, scene=scene, item=item, stage=stage, reason=reason, detail=detail)]
        )
        self.rejects = (
            row if self.rejects.empty else pd.concat([self.rejects, row], ignore_index=True)
        )


def write_records(records: Records, directory: Path) -> Path:
    """Write ``images/pairs/rejects.parquet`` into ``directory`` (each file atomically)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, schema in RECORD_TABLES.items():
        table = to_table(getattr(records, name), schema, where=f"{directory}/{name}")
        with atomic_path(directory / f"{name}.parquet") as tmp:
            pq.write_table(table, tmp, compression="zstd")
    return directory


def read_records(directory: Path) -> Records:
    """Read records written by :func:`write_records`."""
    directory = Path(directory)
    frames = {
        name: pq.read_table(directory / f"{name}.parquet").to_pandas() for name in RECORD_TABLES
    }
    return Records(**frames)
