"""Column schemas of the records and manifests (schema v1).

The same schemas serve the per-scene / per-camera index records (``stbench index ...``) and the
assembled manifests (``stbench build-manifest``); columns that only the manifest fills (split,
span labels, overlap bins) are null in index records. ``docs/manifest.md`` documents every column.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from stbench.errors import DataError
from stbench.spans import SPANS

__all__ = [
    "IMAGES_SCHEMA",
    "PAIRS_SCHEMA",
    "PAIR_ID_SEPARATOR",
    "REJECTS_SCHEMA",
    "SCHEMA_VERSION",
    "check_schema",
    "empty_frame",
    "make_image_id",
    "make_pair_id",
    "to_table",
]


SCHEMA_VERSION = 2

_UTC = pa.timestamp("us", tz="UTC")

IMAGES_SCHEMA = pa.schema(
    [
        ("image_id", pa.string()),  # <source>/<scene-or-camera>/<file name>
        ("source", pa.string()),  # megadepth | webcam
        ("dataset", pa.string()),  # e.g. MegaDepth_v1, AMOS, synthetic
        ("scene", pa.string()),  # MegaDepth scene id or webcam camera id (8 digits)
        ("path", pa.string()),  # image file relative to the source root
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("fx", pa.float64()),
        ("fy", pa.float64()),
        ("cx", pa.float64()),  # pixel centers at integers (COLMAP cx - 0.5)
        ("cy", pa.float64()),
        ("qw", pa.float64()),  # world-to-camera rotation
        ("qx", pa.float64()),
        ("qy", pa.float64()),
        ("qz", pa.float64()),
        ("tx", pa.float64()),  # world-to-camera translation
        ("ty", pa.float64()),
        ("tz", pa.float64()),
        ("depth_path", pa.string()),  # relative to the source root; null if none
        ("depth_kind", pa.string()),  # metric | ordinal | null
        ("lat", pa.float64()),
        ("lon", pa.float64()),
        ("timestamp_utc", _UTC),
        ("utc_offset_min", pa.int32()),
        ("timestamp_source", pa.string()),
        ("timestamp_trust", pa.float32()),  # 0..1
        ("trust_flags", pa.list_(pa.string())),
        ("clock_offset_s", pa.float64()),  # correction applied (true = recorded + offset)
        ("time_early_s", pa.float32()),  # true capture may be this much earlier (s); null: unknown
        ("time_late_s", pa.float32()),  # ... and this much later than timestamp_utc (s)
        *[(name, pa.int32()) for name in SPANS],  # null: not trusted, or window crosses an edge
        ("split", pa.string()),  # train | val | test
    ]
)

PAIRS_SCHEMA = pa.schema(
    [
        ("pair_id", pa.string()),  # image_id0 + "|" + image_id1, image_id0 < image_id1
        ("image_id0", pa.string()),
        ("image_id1", pa.string()),
        ("scene", pa.string()),
        ("kind", pa.string()),  # spatial | temporal | spatiotemporal
        ("covis_overlap_01", pa.float32()),
        ("covis_overlap_10", pa.float32()),
        ("depth_overlap_01", pa.float32()),
        ("depth_overlap_10", pa.float32()),
        ("n_consistent", pa.int32()),
        ("scale_ratio", pa.float32()),
        ("view_angle_deg", pa.float32()),
        ("dt_seconds", pa.float64()),  # time of image 1 minus time of image 0
        *[(f"same_{name}", pa.bool_()) for name in SPANS],
        ("split", pa.string()),
        ("overlap_bin", pa.string()),  # 0.1-0.3 | 0.3-0.5 | 0.5-0.7 | 0.7-1.0 | null
    ]
)

REJECTS_SCHEMA = pa.schema(
    [
        ("source", pa.string()),  # megadepth | webcam | synthetic
        ("scene", pa.string()),
        ("item", pa.string()),  # image_id, pair_id or file path that was skipped
        ("stage", pa.string()),  # index | verify | timestamp | manifest ...
        ("reason", pa.string()),  # short machine-readable code, e.g. depth_missing
        ("detail", pa.string()),  # human-readable explanation
    ]
)

PAIR_ID_SEPARATOR = "|"


def make_image_id(source: str, scene: str, file_name: str) -> str:
    """The stable, readable image id ``<source>/<scene-or-camera>/<file name>``."""
    return f"{source}/{scene}/{file_name}"


def make_pair_id(image_id0: str, image_id1: str) -> str:
    """The pair id: both image ids in canonical (sorted) order joined by ``|``."""
    first, second = sorted((image_id0, image_id1))
    return f"{first}{PAIR_ID_SEPARATOR}{second}"


def empty_frame(schema: pa.Schema) -> pd.DataFrame:
    """An empty DataFrame with the columns and dtypes of ``schema``."""
    return schema.empty_table().to_pandas()


def to_table(frame: pd.DataFrame, schema: pa.Schema, where: str = "table") -> pa.Table:
    """Conform ``frame`` to ``schema``: missing columns become null, extra columns are an error.

    Raises:
        DataError: a column is unknown or cannot be cast to its schema type.
    """
    extra = [c for c in frame.columns if c not in schema.names]
    if extra:
        raise DataError(f"{where}: unknown column(s) {extra}; expected {schema.names}")
    arrays = []
    for field in schema:
        if field.name in frame.columns:
            try:
                arrays.append(pa.array(frame[field.name], type=field.type, from_pandas=True))
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
                raise DataError(
                    f"{where}: column {field.name!r} cannot be read as {field.type}: {exc}"
                ) from exc
        else:
            arrays.append(pa.nulls(len(frame), type=field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def check_schema(table: pa.Table, schema: pa.Schema, where: str = "table") -> list[str]:
    """Problems with ``table`` against ``schema`` (missing columns, wrong types); empty if none."""
    problems = []
    for field in schema:
        if field.name not in table.schema.names:
            problems.append(f"{where}: missing column {field.name!r}")
        elif not table.schema.field(field.name).type.equals(field.type):
            actual = table.schema.field(field.name).type
            problems.append(f"{where}: column {field.name!r} is {actual}, expected {field.type}")
    for name in table.schema.names:
        if name not in schema.names:
            problems.append(f"{where}: unexpected column {name!r}")
    return problems
