"""From per-unit index records to manifest rows: splits, span labels, pair kinds, caps.

Everything here is a pure function of one unit's records and the build config, so a unit's
rows never depend on which other units exist or in which order they finished.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa

from stbench.manifest.config import BuildConfig
from stbench.manifest.io import sort_canonical
from stbench.manifest.pairs import canonical_order, label_images, spatial_pairs, temporal_pairs
from stbench.manifest.splits import camera_split, megadepth_split, time_splits
from stbench.records import Records
from stbench.schema import IMAGES_SCHEMA, PAIRS_SCHEMA, REJECTS_SCHEMA, to_table

__all__ = [
    "FINALIZERS",
    "UnitRows",
    "combine",
    "conform",
    "count_by",
    "failed_unit",
    "finalize_megadepth",
    "finalize_webcam",
]


@dataclass
class UnitRows:
    """The manifest rows of one unit (scene or camera) and what was dropped by count."""

    images: pd.DataFrame
    pairs: pd.DataFrame
    rejects: pd.DataFrame
    dropped: Counter = field(default_factory=Counter)


def conform(frame: pd.DataFrame, schema: pa.Schema) -> pd.DataFrame:
    """``frame`` with every column of ``schema`` (missing ones null), in schema order."""
    frame = frame.reset_index(drop=True).copy()
    for name in schema.names:
        if name not in frame.columns:
            frame[name] = pd.Series([None] * len(frame), dtype=object)
    extra = [c for c in frame.columns if c not in schema.names]
    return frame[list(schema.names) + extra]


def _rejects(source: str, scene: str, items, stage: str, reason: str, detail: str) -> pd.DataFrame:
    items = list(items)
    return pd.DataFrame(
        {
            "source": [source] * len(items),
            "scene": [scene] * len(items),
            "item": items,
            "stage": [stage] * len(items),
            "reason": [reason] * len(items),
            "detail": [detail] * len(items),
        }
    )


def _dedupe_images(
    images: pd.DataFrame, source: str, unit: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    duplicated = images["image_id"].duplicated(keep="first").to_numpy()
    rejects = _rejects(
        source,
        unit,
        images.loc[duplicated, "image_id"],
        "manifest",
        "duplicate_image_id",
        "the index task returned this image id more than once; the first row was kept",
    )
    return images[~duplicated], rejects


def _drop_dangling(pairs: pd.DataFrame, images: pd.DataFrame, source: str, unit: str):
    known = set(images["image_id"])
    ok = (pairs["image_id0"].isin(known) & pairs["image_id1"].isin(known)).to_numpy()
    rejects = _rejects(
        source,
        unit,
        pairs.loc[~ok, "pair_id"],
        "manifest",
        "pair_image_missing",
        "an image of this pair is not among the unit's images (rejected or never indexed)",
    )
    return pairs[ok], rejects


def _prepare_images(records: Records, source: str, unit: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    images = conform(records.images, IMAGES_SCHEMA)
    images["source"] = images["source"].fillna(source)
    images["scene"] = images["scene"].fillna(unit)
    return _dedupe_images(images, source, unit)


def finalize_megadepth(unit: str, records: Records, config: BuildConfig) -> UnitRows:
    """Rows of one MegaDepth scene: scene split, span labels, spatial / spatiotemporal pairs."""
    images, rejects = _prepare_images(records, "megadepth", unit)
    images["split"] = megadepth_split(unit, config.splits)
    images = label_images(images, config.trust_threshold)
    pairs = canonical_order(conform(records.pairs, PAIRS_SCHEMA))
    pairs["scene"] = pairs["scene"].fillna(unit)
    pairs, dangling = _drop_dangling(pairs, images, "megadepth", unit)
    pairs, dropped = spatial_pairs(
        pairs, images, config.spatial, config.trust_threshold, config.seed
    )
    pairs["split"] = images["split"].iloc[0] if len(images) else None
    task_rejects = conform(records.rejects, REJECTS_SCHEMA)
    return UnitRows(images, pairs, pd.concat([task_rejects, rejects, dangling]), dropped)


def finalize_webcam(unit: str, records: Records, config: BuildConfig) -> UnitRows:
    """Rows of one camera: camera- or time-disjoint split, span labels, temporal pairs."""
    images, rejects = _prepare_images(records, "webcam", unit)
    extra_rejects = []
    dropped: Counter = Counter()
    if config.splits.webcam_mode == "camera":
        images["split"] = camera_split(unit, config.splits)
    else:
        images["split"] = time_splits(images["timestamp_utc"], config.splits).to_numpy()
        untimed = images["split"].isna().to_numpy()
        extra_rejects.append(
            _rejects(
                "webcam",
                unit,
                images.loc[untimed, "image_id"],
                "manifest",
                "no_timestamp",
                "a time-disjoint split needs a timestamp and this frame has none",
            )
        )
        images = images[~untimed]
    images = label_images(images, config.trust_threshold)
    if len(records.pairs):
        dropped["webcam_task_pairs_ignored"] += len(records.pairs)
    pairs = [
        temporal_pairs(group, config.temporal, config.trust_threshold, config.seed)
        for _, group in images.groupby("split", sort=True)
    ]
    pairs = conform(pd.concat([p for p in pairs if len(p)] or [pd.DataFrame()]), PAIRS_SCHEMA)
    split_of = images.set_index("image_id")["split"]
    pairs["split"] = split_of.reindex(pairs["image_id0"]).to_numpy()
    task_rejects = conform(records.rejects, REJECTS_SCHEMA)
    return UnitRows(images, pairs, pd.concat([task_rejects, rejects, *extra_rejects]), dropped)


FINALIZERS = {"megadepth": finalize_megadepth, "webcam": finalize_webcam}


def failed_unit(source: str, unit: str, error: str) -> UnitRows:
    """Rows of a unit whose index task raised: one reject (the error), nothing else."""
    rejects = _rejects(source, unit, [unit], "index", "task_failed", error)
    return UnitRows(
        images=conform(pd.DataFrame(), IMAGES_SCHEMA),
        pairs=conform(pd.DataFrame(), PAIRS_SCHEMA),
        rejects=rejects,
    )


def _table(frames: list[pd.DataFrame], schema: pa.Schema, name: str) -> pa.Table:
    frames = [conform(f, schema) for f in frames if len(f)]
    if not frames:
        return schema.empty_table()
    frame = pd.concat([f[list(schema.names)] for f in frames], ignore_index=True)
    return sort_canonical(to_table(frame, schema, where=name), name)


def combine(units: list[UnitRows]) -> tuple[dict[str, pa.Table], Counter]:
    """The three manifest tables from the rows of every unit, sorted, plus dropped counts.

    Images whose id appears in more than one unit keep the first unit's row (units in sorted
    order) and are rejected elsewhere, with their pairs.
    """
    dropped: Counter = Counter()
    seen: set[str] = set()
    images, pairs, rejects = [], [], []
    for rows in units:
        dropped.update(rows.dropped)
        clash = rows.images["image_id"].isin(seen).to_numpy()
        if clash.any():
            ids = set(rows.images.loc[clash, "image_id"])
            bad_pairs = (
                rows.pairs["image_id0"].isin(ids) | rows.pairs["image_id1"].isin(ids)
            ).to_numpy()
            source = str(rows.images["source"].iloc[0])
            scene = str(rows.images["scene"].iloc[0])
            rejects.append(
                _rejects(
                    source,
                    scene,
                    sorted(ids),
                    "manifest",
                    "duplicate_image_id",
                    "this image id was already produced by another unit",
                )
            )
            rejects.append(
                _rejects(
                    source,
                    scene,
                    rows.pairs.loc[bad_pairs, "pair_id"],
                    "manifest",
                    "pair_image_missing",
                    "an image of this pair was a duplicate",
                )
            )
            rows = UnitRows(rows.images[~clash], rows.pairs[~bad_pairs], rows.rejects)
        seen.update(rows.images["image_id"])
        images.append(rows.images)
        pairs.append(rows.pairs)
        rejects.append(rows.rejects)
    tables = {
        "images": _table(images, IMAGES_SCHEMA, "images"),
        "pairs": _table(pairs, PAIRS_SCHEMA, "pairs"),
        "rejects": _table(rejects, REJECTS_SCHEMA, "rejects"),
    }
    return tables, dropped


def count_by(table: pa.Table, column: str) -> dict[str, int]:
    """Rows per value of ``column`` (null as ``"null"``), sorted by value."""
    values = table.column(column).to_pandas().astype(object).where(lambda s: s.notna(), "null")
    counts = values.astype(str).value_counts().sort_index()
    return {str(k): int(v) for k, v in counts.items()}
