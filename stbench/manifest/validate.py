"""``stbench manifest validate``: everything a manifest promises, checked.

Checks: manifest.json (present, schema version, row counts, content hash), column names and
types, unique ids, referential integrity (pairs -> images), conventions (image_id0 < image_id1,
canonical pair_id, image ids ``<source>/<scene>/<name>``, trust in 0..1, span labels in range,
same_<span> agreeing with the labels, known splits / kinds / bins / sources) and that every image
and depth file exists under its source root (webcam frames inside their zip archives).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from stbench.errors import DataError
from stbench.manifest.config import SPLITS
from stbench.manifest.io import (
    MANIFEST_FILE,
    SCHEMAS,
    TABLES,
    expand_root,
    read_arrow_table,
)
from stbench.manifest.splits import bin_labels, overlap_bins
from stbench.manifest.verify import manifest_content_hash, path_problems
from stbench.schema import PAIR_ID_SEPARATOR, SCHEMA_VERSION, check_schema
from stbench.spans import SPANS, window_span_labels

__all__ = ["DEPTH_KINDS", "KINDS", "MAX_EXAMPLES", "SOURCES", "validate_manifest"]


KINDS = ("spatial", "temporal", "spatiotemporal")
SOURCES = ("megadepth", "webcam")
DEPTH_KINDS = ("metric", "ordinal")
MAX_EXAMPLES = 3


def _examples(values: Iterable) -> str:
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:MAX_EXAMPLES])
    more = f" (+{len(values) - MAX_EXAMPLES} more)" if len(values) > MAX_EXAMPLES else ""
    return f"{shown}{more}"


def _check(problems: list[str], bad: pd.Series | np.ndarray, ids: pd.Series, message: str) -> None:
    bad = np.asarray(bad, dtype=bool)
    if bad.any():
        problems.append(f"{message}: {int(bad.sum())} row(s), e.g. {_examples(ids[bad])}")


def _check_meta(directory: Path, tables: dict, problems: list[str]) -> dict:
    path = directory / MANIFEST_FILE
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        problems.append(f"{MANIFEST_FILE}: unreadable ({exc})")
        return {}
    if meta.get("schema_version") != SCHEMA_VERSION:
        problems.append(
            f"{MANIFEST_FILE}: schema_version {meta.get('schema_version')!r}, this stbench reads "
            f"{SCHEMA_VERSION}"
        )
    counts = meta.get("counts", {})
    for name, table in tables.items():
        if counts.get(name) != table.num_rows:
            problems.append(
                f"{name}: {table.num_rows} rows, {MANIFEST_FILE} says {counts.get(name)}"
            )
    return meta


def _check_images(images: pd.DataFrame, problems: list[str]) -> None:
    ids = images["image_id"]
    _check(problems, ids.duplicated(keep=False), ids, "images: duplicated image_id")
    expected_prefix = images["source"].astype(str) + "/" + images["scene"].astype(str) + "/"
    prefix_ok = [i.startswith(p) for i, p in zip(ids.astype(str), expected_prefix, strict=True)]
    _check(
        problems,
        ~np.array(prefix_ok, dtype=bool),
        ids,
        "images: image_id is not <source>/<scene>/<file name>",
    )
    _check(problems, ~images["source"].isin(SOURCES), ids, f"images: source not in {SOURCES}")
    _check(problems, ~images["split"].isin(SPLITS), ids, f"images: split not in {SPLITS}")
    depth_kind = images["depth_kind"]
    _check(
        problems,
        depth_kind.notna() & ~depth_kind.isin(DEPTH_KINDS),
        ids,
        f"images: depth_kind not in {DEPTH_KINDS}",
    )
    trust = images["timestamp_trust"].astype("Float64")
    _check(
        problems,
        trust.notna() & ((trust < 0) | (trust > 1)),
        ids,
        "images: timestamp_trust outside 0..1",
    )
    _check(problems, images["path"].isna(), ids, "images: path is null")
    for name, span in SPANS.items():
        labels = images[name].astype("Float64")
        if span.n_classes is not None:
            bad = labels.notna() & ((labels < 0) | (labels >= span.n_classes))
            _check(problems, bad, ids, f"images: {name} label outside 0..{span.n_classes - 1}")
        _check(
            problems,
            labels.notna() & images["timestamp_utc"].isna(),
            ids,
            f"images: {name} label without a timestamp",
        )
    _check_windows(images, ids, problems)


def _check_windows(images: pd.DataFrame, ids: pd.Series, problems: list[str]) -> None:
    """Windows are >= 0, and no span label is given where the window crosses a class edge."""
    if "time_early_s" not in images or "time_late_s" not in images:
        return
    windows = {}
    for column in ("time_early_s", "time_late_s"):
        values = images[column].astype("Float64")
        _check(problems, values.notna() & (values < 0), ids, f"images: {column} is negative")
        windows[column] = values.clip(lower=0)
    for name in SPANS:
        _, crosses = window_span_labels(
            name,
            images["timestamp_utc"],
            images["utc_offset_min"],
            images["lat"],
            windows["time_early_s"],
            windows["time_late_s"],
        )
        _check(
            problems,
            images[name].notna().to_numpy() & crosses,
            ids,
            f"images: {name} label although the time window crosses {_article(name)} {name} edge",
        )


def _check_pairs(
    pairs: pd.DataFrame, images: pd.DataFrame, edges: list[float], problems: list[str]
) -> None:
    ids = pairs["pair_id"]
    _check(problems, ids.duplicated(keep=False), ids, "pairs: duplicated pair_id")
    _check(
        problems,
        ~(pairs["image_id0"] < pairs["image_id1"]),
        ids,
        "pairs: image_id0 is not < image_id1",
    )
    canonical = pairs["image_id0"].astype(str) + PAIR_ID_SEPARATOR + pairs["image_id1"].astype(str)
    _check(
        problems,
        ids.astype(str).to_numpy() != np.array(canonical, dtype=object),
        ids,
        "pairs: pair_id is not image_id0|image_id1",
    )
    known = set(images["image_id"])
    for column in ("image_id0", "image_id1"):
        _check(problems, ~pairs[column].isin(known), ids, f"pairs: {column} not in images")
    _check(problems, ~pairs["kind"].isin(KINDS), ids, f"pairs: kind not in {KINDS}")
    _check(problems, ~pairs["split"].isin(SPLITS), ids, f"pairs: split not in {SPLITS}")
    table = images.drop_duplicates("image_id").set_index("image_id")
    inside = pairs["image_id0"].isin(known) & pairs["image_id1"].isin(known)
    pairs, ids = pairs[inside], ids[inside]
    for column in ("split", "scene"):
        value0 = table[column].reindex(pairs["image_id0"]).to_numpy(dtype=object)
        value1 = table[column].reindex(pairs["image_id1"]).to_numpy(dtype=object)
        mine = pairs[column].to_numpy(dtype=object)
        _check(
            problems,
            (value0 != mine) | (value1 != mine),
            ids,
            f"pairs: {column} differs from its images'",
        )
    for name in ("covis_overlap_01", "covis_overlap_10", "depth_overlap_01", "depth_overlap_10"):
        values = pairs[name].astype("Float64")
        _check(
            problems,
            values.notna() & ((values < 0) | (values > 1)),
            ids,
            f"pairs: {name} outside 0..1",
        )
    low = np.fmin(
        pairs["depth_overlap_01"].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan),
        pairs["depth_overlap_10"].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan),
    )
    expected_bin = overlap_bins(low, edges).to_numpy(dtype=object)
    spatial = pairs["kind"].isin(("spatial", "spatiotemporal")).to_numpy()
    actual_bin = pairs["overlap_bin"].to_numpy(dtype=object)
    mismatch = spatial & (
        pd.Series(expected_bin).fillna("-").to_numpy()
        != pd.Series(actual_bin).fillna("-").to_numpy()
    )
    _check(
        problems,
        mismatch,
        ids,
        f"pairs: overlap_bin does not match min(depth_overlap_01, depth_overlap_10) with bins {bin_labels(edges)}",
    )
    for name in SPANS:
        label0 = _floats(table[name].reindex(pairs["image_id0"]))
        label1 = _floats(table[name].reindex(pairs["image_id1"]))
        same = pairs[f"same_{name}"].astype("boolean")
        both = np.isfinite(label0) & np.isfinite(label1)
        disagree = same.fillna(False).to_numpy(dtype=bool) != (label0 == label1)
        bad = same.notna().to_numpy() & (~both | disagree)
        _check(problems, bad, ids, f"pairs: same_{name} disagrees with the images' {name} labels")
    temporal = (pairs["kind"] != "spatial").to_numpy()
    _check(
        problems,
        temporal & pairs["dt_seconds"].isna().to_numpy(),
        ids,
        "pairs: temporal/spatiotemporal pair without dt_seconds",
    )


def _floats(values: pd.Series) -> np.ndarray:
    return values.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)


def _member_exists(root: Path, path: str, archives: dict[Path, set[str] | None]) -> bool:
    parts = path.split("/")
    for i, part in enumerate(parts[:-1]):
        if part.endswith(".zip"):
            archive = root.joinpath(*parts[: i + 1])
            if archive not in archives:
                try:
                    with zipfile.ZipFile(archive) as handle:
                        archives[archive] = set(handle.namelist())
                except (OSError, zipfile.BadZipFile):
                    archives[archive] = None
            members = archives[archive]
            return members is not None and "/".join(parts[i + 1 :]) in members
    return (root / path).is_file()


def _check_files(images: pd.DataFrame, meta: dict, problems: list[str]) -> None:
    sources = meta.get("sources", {})
    archives: dict[Path, set[str] | None] = {}
    for source, rows in images.groupby("source", sort=True):
        entry = sources.get(source, {})
        if not entry.get("root"):
            problems.append(
                f"{MANIFEST_FILE}: sources.{source}.root is missing; cannot check files"
            )
            continue
        root = expand_root(entry["root"])
        if not root.is_dir():
            hint = ""
            synthetic = sources.get("synthetic")
            if synthetic:
                hint = f" (regenerate it: stbench synth --preset {synthetic['preset']} --seed {synthetic['seed']})"
            problems.append(f"{source}: root {root} does not exist{hint}")
            continue
        missing = [p for p in rows["path"].dropna() if not _member_exists(root, p, archives)]
        if missing:
            problems.append(
                f"{source}: {len(missing)} image file(s) missing under {root}, e.g. {_examples(missing)}"
            )
        depth = [p for p in rows["depth_path"].dropna() if not (root / p).is_file()]
        if depth:
            problems.append(
                f"{source}: {len(depth)} depth file(s) missing under {root}, e.g. {_examples(depth)}"
            )


def validate_manifest(directory: str | Path, check_files: bool = True) -> list[str]:
    """Every problem found in the manifest at ``directory``; an empty list means valid.

    Args:
        check_files: also check that image and depth files exist under the source roots.
    Raises:
        DataError: ``directory`` is not a manifest directory at all.
    """
    directory = Path(directory)
    if not (directory / MANIFEST_FILE).is_file():
        raise DataError(f"{directory} is not a manifest: {MANIFEST_FILE} is missing")
    problems: list[str] = []
    tables = {}
    for name in TABLES:
        try:
            tables[name] = read_arrow_table(directory, name)
        except DataError as exc:
            problems.append(str(exc))
    meta = _check_meta(directory, tables, problems)
    schema_ok = True
    for name, table in tables.items():
        issues = check_schema(table, SCHEMAS[name], where=name)
        problems.extend(issues)
        schema_ok &= not issues
    if len(tables) < len(TABLES) or not schema_ok:
        return problems  # the value checks below assume the schema
    if meta.get("content_hash") not in (None, manifest_content_hash(tables)):
        problems.append(
            f"{MANIFEST_FILE}: content_hash does not match the tables (edited after the build?)"
        )
    images, pairs = tables["images"].to_pandas(), tables["pairs"].to_pandas()
    edges = (
        meta.get("config", {})
        .get("spatial", {})
        .get("overlap_bin_edges", [0.1, 0.3, 0.5, 0.7, 1.0])
    )
    _check_images(images, problems)
    unsafe = path_problems(images)
    problems.extend(unsafe)
    _check_pairs(pairs, images, edges, problems)
    if check_files and not unsafe:  # never probe files outside the source roots
        _check_files(images, meta, problems)
    return problems


def _article(word: str) -> str:
    return "an" if word[0] in "aeiouh" else "a"
