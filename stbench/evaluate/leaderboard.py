"""The leaderboard CSV: one row per (method, manifest, split) run, schema-checked.

Columns (:data:`COLUMNS`): method, method_version, manifest (``name@content_hash``), split,
n_pairs, n_images, then for every metric of :data:`stbench.evaluate.summary.METRICS` the value,
``<metric>_ci_low`` and ``<metric>_ci_high`` (empty when the metric does not apply), ms_per_pair,
date, stbench_version.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from stbench.atomic import write_text_atomic
from stbench.errors import DataError
from stbench.evaluate.summary import METRICS

ID_COLUMNS = ("method", "method_version", "manifest", "split", "n_pairs", "n_images")
TAIL_COLUMNS = ("ms_per_pair", "date", "stbench_version")
METRIC_COLUMNS = tuple(c for m in METRICS for c in (m, f"{m}_ci_low", f"{m}_ci_high"))
COLUMNS: tuple[str, ...] = (*ID_COLUMNS, *METRIC_COLUMNS, *TAIL_COLUMNS)
DEFAULT_BOARD = Path("benchmarks") / "leaderboard.csv"
#: Rows are unique by these columns; adding a run replaces its previous row.
KEY = ("method", "manifest", "split")


def load_summary(run_dir: str | Path) -> dict[str, Any]:
    """A run's summary.json.

    Raises:
        DataError: not a run directory.
    """
    path = Path(run_dir) / "summary.json"
    if not path.is_file():
        raise DataError(f"{run_dir} is not an evaluation run: summary.json is missing")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is not valid JSON: {exc}") from exc


def row_from_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """The leaderboard row of a run summary."""
    row: dict[str, Any] = {c: summary.get(c) for c in ID_COLUMNS}
    metrics = summary.get("metrics", {})
    for name in METRICS:
        entry = metrics.get(name) or {}
        row[name] = entry.get("value")
        row[f"{name}_ci_low"] = entry.get("ci_low")
        row[f"{name}_ci_high"] = entry.get("ci_high")
    for column in TAIL_COLUMNS:
        row[column] = summary.get(column)
    return row


def check_board(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """Check a leaderboard table's columns and types; return it with numeric columns parsed.

    Raises:
        DataError: a column is missing or unknown, a metric is not a number, or a key repeats.
    """
    missing = [c for c in COLUMNS if c not in frame.columns]
    extra = [c for c in frame.columns if c not in COLUMNS]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing column(s) {missing[:5]}{' ...' if len(missing) > 5 else ''}")
        if extra:
            parts.append(f"unknown column(s) {extra[:5]}")
        raise DataError(
            f"{where} is not a stbench leaderboard: {'; '.join(parts)}. "
            "Columns are documented in docs/evaluation.md (Leaderboard)."
        )
    frame = frame[list(COLUMNS)].copy()
    for column in (*METRIC_COLUMNS, "n_pairs", "n_images", "ms_per_pair"):
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() & frame[column].notna() & (frame[column].astype(str).str.strip() != "")
        if bad.any():
            line = int(bad.to_numpy().nonzero()[0][0]) + 2
            raise DataError(
                f"{where}, line {line}: column {column!r} is not a number: {frame[column][bad].iloc[0]!r}"
            )
        frame[column] = values
    for column in ("method", "manifest", "split"):
        if frame[column].isna().any():
            line = int(frame[column].isna().to_numpy().nonzero()[0][0]) + 2
            raise DataError(f"{where}, line {line}: column {column!r} is empty")
    duplicated = frame.duplicated(list(KEY))
    if duplicated.any():
        line = int(duplicated.to_numpy().nonzero()[0][0]) + 2
        raise DataError(f"{where}, line {line}: a second row for the same {', '.join(KEY)}")
    return frame


def read_board(board: str | Path) -> pd.DataFrame:
    """Read and check a leaderboard CSV (an absent file is an empty board)."""
    board = Path(board)
    if not board.exists():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    try:
        frame = pd.read_csv(board, dtype={"method": str, "manifest": str, "split": str})
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{board} is not a readable CSV: {exc}") from exc
    return check_board(frame, str(board))


def leaderboard_add(run_dir: str | Path, board: str | Path = DEFAULT_BOARD) -> Path:
    """Add (or replace) the row of run ``run_dir`` in ``board``; returns the board path."""
    row = row_from_summary(load_summary(run_dir))
    frame = read_board(board)
    same = (
        (frame["method"] == row["method"])
        & (frame["manifest"] == row["manifest"])
        & (frame["split"] == row["split"])
    )
    new_row = pd.DataFrame([row], columns=list(COLUMNS))
    frame = new_row if frame.empty else pd.concat([frame[~same], new_row], ignore_index=True)
    frame = frame.sort_values(["manifest", "split", "method"], kind="stable")
    write_text_atomic(board, frame.to_csv(index=False, float_format="%.6g"))
    return Path(board)
