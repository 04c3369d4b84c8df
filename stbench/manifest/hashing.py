"""Canonical hashes of tables, configs and file listings.

The content hash of a manifest is computed from the table *values*, never from Parquet bytes, so
it does not depend on compression, row groups, partitioning or file metadata: per column, the
name, the Arrow type, the validity mask and the values in a fixed little-endian encoding.

Floating-point values are made canonical first (:func:`canonical_floats`): each float column is
rounded to a fixed decimal quantum (:data:`FLOAT_QUANTA`), so that last-bit noise between
machines (poses differing by ~1e-16 from another BLAS or libm) does not rename a manifest. The
build stores the rounded values, so the rows on disk are exactly what is hashed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "FLOAT_QUANTA",
    "canonical_floats",
    "json_hash",
    "listing_entries",
    "listing_hash",
    "round_to_quantum",
    "table_hash",
    "tables_hash",
]


#: Decimal places each float column of the manifest tables is rounded to before hashing and
#: storing (value = round(value * 10**d) / 10**d, ties to even). Each quantum is far below the
#: column's meaningful precision and far above float noise (1e-16 relative).
FLOAT_QUANTA: dict[str, int] = {
    # images: intrinsics in pixels (1e-6 px), rotations (unit quaternions), translations (SfM
    # units), positions in degrees (1e-7 deg is about 1 cm), clock corrections and time windows in
    # whole seconds.
    "fx": 6,
    "fy": 6,
    "cx": 6,
    "cy": 6,
    "qw": 9,
    "qx": 9,
    "qy": 9,
    "qz": 9,
    "tx": 7,
    "ty": 7,
    "tz": 7,
    "lat": 7,
    "lon": 7,
    "timestamp_trust": 6,
    "clock_offset_s": 0,
    "time_early_s": 0,
    "time_late_s": 0,
    # pairs: fractions, ratios, degrees, seconds (timestamps are microseconds).
    "covis_overlap_01": 6,
    "covis_overlap_10": 6,
    "depth_overlap_01": 6,
    "depth_overlap_10": 6,
    "scale_ratio": 5,
    "view_angle_deg": 4,
    "dt_seconds": 6,
}


def round_to_quantum(values: np.ndarray, decimals: int) -> np.ndarray:
    """``values`` rounded to ``decimals`` decimal places (ties to even), NaN kept.

    Only IEEE multiply, round-to-integer and divide by an exactly representable power of ten:
    the same input gives the same bits on every machine, and rounding twice changes nothing.
    """
    scale = float(10**decimals)
    return np.rint(values * scale) / scale


def canonical_floats(table: pa.Table) -> pa.Table:
    """``table`` with every float column rounded to its quantum in :data:`FLOAT_QUANTA`.

    Raises:
        KeyError: a float column has no quantum (a schema change must choose one).
    """
    for index, name in enumerate(table.column_names):
        kind = table.schema.field(name).type
        if not pa.types.is_floating(kind):
            continue
        if name not in FLOAT_QUANTA:
            raise KeyError(f"float column {name!r} has no quantum in FLOAT_QUANTA")
        column = table.column(name).combine_chunks()
        values = column.to_numpy(zero_copy_only=False).astype(np.float64)
        rounded = round_to_quantum(values, FLOAT_QUANTA[name]).astype(kind.to_pandas_dtype())
        mask = column.is_null().to_numpy(zero_copy_only=False)
        array = pa.array(rounded, type=kind, mask=mask if mask.any() else None)
        table = table.set_column(index, table.schema.field(name), array)
    return table


def _normalised_offsets(offsets: np.ndarray) -> np.ndarray:
    return (offsets - offsets[0]).astype("<i8")


def _string_parts(array: pa.Array) -> list[bytes]:
    """Lengths and bytes of a string array (nulls as empty strings)."""
    array = pc.fill_null(array.cast(pa.large_string()), "")
    if len(array) == 0:
        return [b"", b""]
    _, offsets_buf, data_buf = array.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[
        array.offset : array.offset + len(array) + 1
    ]
    data = bytes(memoryview(data_buf)[offsets[0] : offsets[-1]]) if data_buf is not None else b""
    return [_normalised_offsets(offsets).tobytes(), data]


def _column_parts(array: pa.Array) -> list[bytes]:
    kind = array.type
    valid = np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=np.uint8)
    type_name = f"list<{kind.value_type}>" if pa.types.is_list(kind) else str(kind)
    parts = [type_name.encode(), valid.tobytes()]
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return parts + _string_parts(array)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        array = pc.fill_null(array, pa.scalar([], type=kind))  # type: ignore[arg-type]
        lengths = pc.list_value_length(array).to_numpy(zero_copy_only=False).astype("<i8")
        return [*parts, lengths.tobytes(), *_column_parts(pc.list_flatten(array))]
    if pa.types.is_dictionary(kind):
        return _column_parts(array.cast(kind.value_type))
    if pa.types.is_timestamp(kind):
        array = array.cast(pa.int64())
    if pa.types.is_boolean(kind):
        array = array.cast(pa.uint8())
    values = pc.fill_null(array, 0).to_numpy(zero_copy_only=False)
    values = values.astype(values.dtype.newbyteorder("<"), copy=False)
    return [*parts, np.ascontiguousarray(values).tobytes()]


def table_hash(table: pa.Table) -> str:
    """SHA-256 (hex) of a table's column names, types and values."""
    digest = hashlib.sha256()
    digest.update(f"rows={table.num_rows}".encode())
    for name in table.column_names:
        column = table.column(name).combine_chunks()
        digest.update(b"\x00column\x00" + name.encode())
        for part in _column_parts(column):
            digest.update(len(part).to_bytes(8, "little"))
            digest.update(part)
    return digest.hexdigest()


def tables_hash(tables: dict[str, pa.Table]) -> str:
    """SHA-256 over the hashes of named tables (in sorted name order)."""
    text = json.dumps({name: table_hash(tables[name]) for name in sorted(tables)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def json_hash(value: Any) -> str:
    """SHA-256 of the canonical JSON of ``value`` (sorted keys, no whitespace)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def listing_entries(root: Path, paths: list[Path]) -> list[tuple[str, int]]:
    """(path relative to ``root``, size in bytes) of every file under ``paths``, sorted.

    Missing paths are listed with size -1 so that their appearance changes the fingerprint.
    """
    entries: list[tuple[str, int]] = []
    for path in paths:
        if path.is_file():
            entries.append((path.relative_to(root).as_posix(), path.stat().st_size))
        elif path.is_dir():
            for directory, _, files in os.walk(path):
                for file_name in files:
                    file_path = Path(directory) / file_name
                    entries.append(
                        (file_path.relative_to(root).as_posix(), file_path.stat().st_size)
                    )
        else:
            entries.append((path.relative_to(root).as_posix(), -1))
    return sorted(entries)


def listing_hash(root: Path, paths: list[Path]) -> str:
    """Fingerprint of the files under ``paths``: SHA-256 of their sorted names and sizes."""
    return json_hash(listing_entries(root, paths))
