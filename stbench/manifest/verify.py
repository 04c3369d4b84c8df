"""Verify a manifest on load: the one check `evaluate`, `train-baseline` and `export` run first.

:func:`load_verified_manifest` refuses, with a message naming the problem and the fix:

- tables whose values no longer match manifest.json's ``content_hash`` (edited or duplicated
  rows under a stale id), unless ``trust_modified`` (``--trust-modified``): the manifest is then
  used under the hash of what it really holds, and the acceptance is recorded
  (:attr:`Manifest.verification`, copied into run summaries and training records);
- columns missing or of the wrong type (``stbench.schema``);
- duplicate image or pair ids, pairs naming an image that is not in ``images``;
- ``path`` / ``depth_path`` values that could leave their source root (absolute, ``..``,
  backslashes, empty segments);
- when ``require_roots``: a source whose root is not named or is not a directory (before any
  image is read, so nothing is scored as "failed" because the data is elsewhere).

``stbench manifest validate`` runs more checks (conventions, files) and includes the path check.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from stbench.errors import DataError
from stbench.manifest.hashing import tables_hash
from stbench.manifest.io import (
    MANIFEST_FILE,
    SCHEMAS,
    TABLES,
    Manifest,
    expand_root,
    read_arrow_table,
    read_manifest_meta,
    sort_canonical,
)
from stbench.paths import unsafe_path_reason
from stbench.schema import check_schema

#: Columns holding paths relative to their source root.
PATH_COLUMNS = ("path", "depth_path")
#: Problems listed in one error message (the rest are counted).
MAX_LISTED = 8


def path_problems(images: pd.DataFrame | pa.Table) -> list[str]:
    """One problem per image path or depth path that could escape its source root."""
    frame = images.to_pandas() if isinstance(images, pa.Table) else images
    problems = []
    for column in PATH_COLUMNS:
        if column not in frame.columns:
            continue
        for image_id, value in zip(frame["image_id"], frame[column], strict=True):
            if value is None or (isinstance(value, float) and pd.isna(value)):
                continue
            reason = unsafe_path_reason(str(value))
            if reason:
                problems.append(
                    f"images.{column} of {image_id!r} ({str(value)!r}) {reason}: paths must stay "
                    "inside their source root"
                )
    return problems


def _duplicates(table: pa.Table, column: str) -> list[str]:
    counts = pc.value_counts(table.column(column)).to_pylist()
    return sorted(str(c["values"]) for c in counts if c["counts"] > 1)


def integrity_problems(tables: dict[str, pa.Table]) -> list[str]:
    """Schema, unique ids, pair references and path containment of loaded manifest tables."""
    problems: list[str] = []
    for name in TABLES:
        problems.extend(check_schema(tables[name], SCHEMAS[name], where=name))
    if problems:
        return problems  # the checks below assume the schema
    images, pairs = tables["images"], tables["pairs"]
    for table, column in ((images, "image_id"), (pairs, "pair_id")):
        duplicated = _duplicates(table, column)
        if duplicated:
            problems.append(
                f"{column}: {len(duplicated)} value(s) on more than one row, e.g. {duplicated[:3]}"
            )
        if table.column(column).null_count:
            problems.append(f"{column}: {table.column(column).null_count} null value(s)")
    known = images.column("image_id")
    for column in ("image_id0", "image_id1"):
        dangling = pc.invert(pc.fill_null(pc.is_in(pairs.column(column), value_set=known), False))
        n_dangling = pc.sum(dangling).as_py() or 0
        if n_dangling:
            examples = pairs.filter(dangling).column("pair_id").slice(0, 3).to_pylist()
            problems.append(
                f"pairs.{column}: {n_dangling} pair(s) name an image not in images, e.g. {examples}"
            )
    problems.extend(path_problems(images))
    return problems


def root_problems(meta: dict[str, Any], images: pa.Table) -> list[str]:
    """Sources used by ``images`` whose root is not named or is not a directory."""
    sources = meta.get("sources", {})
    used = sorted(s for s in pc.unique(images.column("source")).to_pylist() if s is not None)
    problems = []
    for source in used:
        entry = sources.get(source) or {}
        if not entry.get("root"):
            problems.append(f"{MANIFEST_FILE} names no root for source {source!r}")
            continue
        root = expand_root(str(entry["root"]))
        if not root.is_dir():
            hint = ""
            synthetic = sources.get("synthetic")
            if synthetic:
                hint = (
                    f"; regenerate it with: stbench synth --preset {synthetic['preset']} "
                    f"--seed {synthetic['seed']}"
                )
            problems.append(
                f"the {source} root {root} is not a directory (moved data, another "
                f"STBENCH_HOME?){hint}"
            )
    return problems


def manifest_content_hash(tables: dict[str, pa.Table]) -> str:
    """The content hash of manifest tables (any row order), as the build records it."""
    return tables_hash({name: sort_canonical(tables[name], name) for name in TABLES})


def _listed(problems: Iterable[str]) -> str:
    problems = list(problems)
    lines = [f"  - {p}" for p in problems[:MAX_LISTED]]
    if len(problems) > MAX_LISTED:
        lines.append(f"  ... and {len(problems) - MAX_LISTED} more")
    return "\n".join(lines)


def _read(directory: Path) -> tuple[dict[str, Any], dict[str, pa.Table]]:
    meta = read_manifest_meta(directory)
    tables = {name: read_arrow_table(directory, name) for name in TABLES}
    return meta, tables


def load_verified_manifest(
    directory: str | Path,
    *,
    trust_modified: bool = False,
    require_roots: bool = True,
    command: str = "this command",
) -> Manifest:
    """Load a manifest after checking its content hash, schema, ids, references and paths.

    Args:
        directory: the manifest directory.
        trust_modified: accept tables that do not match manifest.json's ``content_hash``; they
            are then identified by the hash of their values, and ``verification`` says so.
        require_roots: every source used by ``images`` must have an existing root directory.
        command: the command name used in messages (``evaluate`` ...).
    Returns:
        The manifest; its ``verification`` dict records the check (stated and actual content
        hash, ``modified``, ``trusted_modified``).
    Raises:
        DataError: any problem listed in the module docstring.
    """
    directory = Path(directory)
    meta, tables = _read(directory)
    problems = integrity_problems(tables)
    if problems:
        raise DataError(
            f"{directory} is not a usable manifest ({len(problems)} problem(s)):\n"
            f"{_listed(problems)}\nrebuild it with `stbench build-manifest`; "
            f"`stbench manifest validate {directory}` lists every problem"
        )
    canonical = {name: sort_canonical(tables[name], name) for name in TABLES}
    actual = tables_hash(canonical)  # = manifest_content_hash; the sorted tables are reused below
    stated = meta.get("content_hash")
    modified = stated != actual
    if modified and not trust_modified:
        what = (
            f"the tables do not match {MANIFEST_FILE}'s content_hash (stated {stated}, "
            f"computed {actual}): they were changed after the build"
            if stated
            else f"{MANIFEST_FILE} has no content_hash (computed {actual}): it was not written "
            "by `stbench build-manifest`"
        )
        raise DataError(
            f"{directory}: {what}, so results "
            f"would be reported under an id they do not have. Rebuild the manifest with "
            f"`stbench build-manifest`, or pass --trust-modified to {command} to use it as it "
            f"is under the id {meta.get('name', directory.name)}@{actual} (recorded as modified)"
        )
    if require_roots:
        missing = root_problems(meta, tables["images"])
        if missing:
            raise DataError(
                f"{directory}: cannot read the data this manifest describes:\n{_listed(missing)}"
            )
    verification = {
        "content_hash_stated": stated,
        "content_hash_actual": actual,
        "modified": modified,
        "trusted_modified": bool(modified and trust_modified),
    }
    if modified:
        meta = {**meta, "content_hash": actual, "content_hash_stated": stated}
    frames = {
        name: (canonical[name] if (directory / name).is_dir() else tables[name]).to_pandas()
        for name in TABLES
    }
    return Manifest(directory=directory, meta=meta, verification=verification, **frames)


__all__ = [
    "PATH_COLUMNS",
    "integrity_problems",
    "load_verified_manifest",
    "manifest_content_hash",
    "path_problems",
    "root_problems",
]
