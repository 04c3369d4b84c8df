"""The leaderboard CSV: one row per (method, variant, manifest, split, track), schema-checked.

Columns (:data:`COLUMNS`): method, method_version, config_digest (of the method's version and
``config()``), label (``--label``, may be empty), track (``pixels`` or ``metadata``), manifest
(``name@content_hash``), split, n_pairs, n_images; then for every metric of
:data:`stbench.evaluate.summary.METRICS` the value, ``<metric>_ci_low``, ``<metric>_ci_high``
(empty when there is no interval), ``<metric>_n`` and ``<metric>_clusters``; then clusters (the
resampling units), ms_per_pair, date, stbench_version. A board may end with the optional block
:data:`SFM_COLUMNS` (the same five columns for each of :data:`SFM_METRICS`), filled by
``stbench sfm`` runs (track ``sfm``) and empty for other rows.

A row's key is (method, label or else config_digest, manifest, split, track): adding a run whose
key is on the board refuses unless ``replace``. Adding writes the new row and leaves every other
line of the file byte for byte as it was; the one exception is the first SfM row added to a board
without the SfM block: the header gains the block and every other line gains its empty cells.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stbench.atomic import write_text_atomic
from stbench.errors import DataError
from stbench.evaluate.board_checks import check_number, check_text
from stbench.evaluate.summary import METRICS
from stbench.paths import stbench_home

__all__ = [
    "BOARD_FILE",
    "COLUMNS",
    "DEFAULT_TRACK",
    "ID_COLUMNS",
    "KEY",
    "METRIC_COLUMNS",
    "METRIC_SUFFIXES",
    "NUMBER_COLUMNS",
    "SFM_COLUMNS",
    "SFM_METRICS",
    "TAIL_COLUMNS",
    "TEXT_COLUMNS",
    "board_text",
    "check_board",
    "check_row",
    "cluster_minimums",
    "clusters_text",
    "config_digest",
    "default_board",
    "has_sfm",
    "leaderboard_add",
    "load_summary",
    "read_board",
    "row_from_summary",
]


ID_COLUMNS = (
    "method",
    "method_version",
    "config_digest",
    "label",
    "track",
    "manifest",
    "split",
    "n_pairs",
    "n_images",
)
TEXT_COLUMNS = ("method", "method_version", "config_digest", "label", "track", "manifest", "split")
METRIC_SUFFIXES = ("", "_ci_low", "_ci_high", "_n", "_clusters")
TAIL_COLUMNS = ("clusters", "ms_per_pair", "date", "stbench_version")
METRIC_COLUMNS = tuple(f"{m}{suffix}" for m in METRICS for suffix in METRIC_SUFFIXES)
COLUMNS: tuple[str, ...] = (*ID_COLUMNS, *METRIC_COLUMNS, *TAIL_COLUMNS)
NUMBER_COLUMNS = (*METRIC_COLUMNS, "n_pairs", "n_images", "ms_per_pair")
#: Rows are unique by these; ``variant`` is the label, or the config digest without one.
KEY = ("method", "variant", "manifest", "split", "track")
DEFAULT_TRACK = "pixels"
BOARD_FILE = "leaderboard.csv"
#: SfM metrics on the board (``stbench sfm``; stbench.sfm.summary), an optional column block.
SFM_METRICS = (
    "sfm_registered",
    "sfm_maa",
    "sfm_span_registered",
    "sfm_span_maa",
    "sfm_track_length",
    "sfm_reproj_px",
    "sfm_purity_season",
    "sfm_cross_edges_season",
    "sfm_purity_daylight",
    "sfm_cross_edges_daylight",
    "sfm_match_s",
    "sfm_map_s",
)
SFM_COLUMNS = tuple(f"{m}{suffix}" for m in SFM_METRICS for suffix in METRIC_SUFFIXES)


def default_board() -> Path:
    """``$STBENCH_HOME/leaderboard.csv`` (the committed board is only used when named)."""
    return stbench_home() / BOARD_FILE


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


def config_digest(summary: dict[str, Any]) -> str:
    """First 12 hex digits of sha256 over the method's version and config (canonical JSON)."""
    identity = {"version": summary.get("method_version"), "config": summary.get("method_config")}
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def clusters_text(spec: dict[str, Any] | None) -> str | None:
    """``images=camera-days/14d pairs=scene min=30/10`` of a summary's cluster spec.

    ``min=I/C``: the run gave no interval below ``I`` items or ``C`` clusters (an SfM run's
    items are its scenes: ``sfm=scene min=10/10``); :func:`cluster_minimums` reads it back.
    """
    if not spec:
        return None
    if spec.get("unit"):  # an SfM run: intervals resample scenes, items are scenes too
        least = spec.get("min_clusters")
        return f"sfm={spec['unit']}" + (f" min={least}/{least}" if least else "")
    days = spec.get("block_days")
    text = f"images={spec.get('images')}/{days}d pairs={spec.get('pairs')}"
    if spec.get("min_items") and spec.get("min_clusters"):
        text += f" min={spec['min_items']}/{spec['min_clusters']}"
    return text


def cluster_minimums(text: Any) -> tuple[int, int]:
    """(min items, min clusters) of a board row's ``clusters`` text; rows written before the
    text carried them get the defaults their runs used (SfM: the cluster minimum for both)."""
    from stbench.evaluate.clusters import MIN_CLUSTERS, MIN_ITEMS

    text = text if isinstance(text, str) else ""
    for part in text.split():
        if part.startswith("min="):
            items, _, clusters = part[4:].partition("/")
            if items.isdigit() and clusters.isdigit():
                return int(items), int(clusters)
    if text.startswith("sfm="):
        return MIN_CLUSTERS, MIN_CLUSTERS
    return MIN_ITEMS, MIN_CLUSTERS


def row_from_summary(summary: dict[str, Any], label: str | None = None) -> dict[str, Any]:
    """The leaderboard row of a run summary (``track`` defaults to ``pixels``)."""
    row: dict[str, Any] = {c: summary.get(c) for c in ID_COLUMNS}
    row["config_digest"] = config_digest(summary)
    row["label"] = label or None
    row["track"] = summary.get("track") or DEFAULT_TRACK
    metrics = summary.get("metrics", {})
    for name in (*METRICS, *SFM_METRICS):
        entry = metrics.get(name) or {}
        row[name] = entry.get("value")
        row[f"{name}_ci_low"] = entry.get("ci_low")
        row[f"{name}_ci_high"] = entry.get("ci_high")
        row[f"{name}_n"] = entry.get("n") if entry.get("value") is not None else None
        row[f"{name}_clusters"] = (
            entry.get("n_clusters") if entry.get("value") is not None else None
        )
    row["clusters"] = clusters_text(summary.get("clusters"))
    for column in TAIL_COLUMNS[1:]:
        row[column] = summary.get(column)
    return row


def check_row(row: dict[str, Any], where: str) -> None:
    """Board hygiene of one row (:mod:`stbench.evaluate.board_checks`).

    Raises:
        DataError: a formula-leading or multi-line name, a missing key field, a non-finite or
            out-of-range number.
    """
    for column in (*TEXT_COLUMNS, "clusters", "date", "stbench_version"):
        check_text(row.get(column), column, where)
    for column in ("method", "manifest", "split", "track"):
        if row.get(column) in (None, ""):
            raise DataError(f"{where}: column {column!r} is empty")
    for column in (*NUMBER_COLUMNS, *SFM_COLUMNS):
        value = row.get(column)
        if value is not None and not isinstance(value, (int, float, np.number)):
            raise DataError(f"{where}: column {column!r} is not a number: {value!r}")
        metric = column.removesuffix("_ci_low").removesuffix("_ci_high")
        if column.endswith(("_n", "_clusters")) or column in ("n_pairs", "n_images"):
            metric = "count"
        check_number(None if value is None else float(value), column, metric, where)
    for name in (*METRICS, *SFM_METRICS):
        low, high = row.get(f"{name}_ci_low"), row.get(f"{name}_ci_high")
        if low is not None and high is not None and float(low) > float(high):
            raise DataError(f"{where}: {name} interval [{low}, {high}] has its ends swapped")


def _variant(frame: pd.DataFrame) -> pd.Series:
    label = frame["label"].astype("string")
    return label.where(label.notna() & (label != ""), frame["config_digest"].astype("string"))


def _legacy_error(where: str) -> DataError:
    return DataError(
        f"{where} is a leaderboard of an older stbench (no track, config_digest or "
        "<metric>_clusters columns; its intervals treat clustered items as independent). "
        "Rebuild it under the current protocol: re-run `stbench evaluate` for each method "
        "(cached predictions are reused; only scoring reruns) and `stbench leaderboard add "
        "RUN_DIR --board NEW.csv`."
    )


def check_board(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """Check a leaderboard table read as text; return it with numeric columns parsed.

    Raises:
        DataError: old format, a column missing or unknown, a bad name or number, a repeated key.
    """
    if "method" in frame.columns and "config_digest" not in frame.columns:
        raise _legacy_error(where)
    expected = list(COLUMNS)
    if any(c in frame.columns for c in SFM_COLUMNS):
        expected += SFM_COLUMNS
    missing = [c for c in expected if c not in frame.columns]
    extra = [c for c in frame.columns if c not in expected]
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
    frame = frame[expected].copy()
    parsed = {}
    for column in (*NUMBER_COLUMNS, *expected[len(COLUMNS) :]):
        text = frame[column].fillna("").astype(str).str.strip()
        values = pd.to_numeric(text.where(text != ""), errors="coerce")
        bad = values.isna() & (text != "")
        if bad.any():
            line = int(bad.to_numpy().nonzero()[0][0]) + 2
            raise DataError(
                f"{where}, line {line}: column {column!r} is not a number: {text[bad].iloc[0]!r}"
            )
        parsed[column] = values
    numbers = pd.DataFrame(parsed, index=frame.index)
    frame = pd.concat([frame.drop(columns=list(parsed)), numbers], axis=1)
    frame = frame[expected]
    for line, record in enumerate(frame.to_dict("records"), start=2):
        record = {
            k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in record.items()
        }
        check_row(record, f"{where}, line {line}")
    keys = frame[["method", "manifest", "split", "track"]].assign(variant=_variant(frame))
    duplicated = keys.duplicated(list(KEY))
    if duplicated.any():
        line = int(duplicated.to_numpy().nonzero()[0][0]) + 2
        raise DataError(f"{where}, line {line}: a second row for the same {', '.join(KEY)}")
    return frame


def _read_text(board: Path) -> str:
    try:
        text = board.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{board} is not a UTF-8 text file: {exc}") from exc
    if not text.strip():
        raise DataError(
            f"{board} is empty (0 bytes or blank): not a leaderboard. Delete it (the next "
            "`stbench leaderboard add` creates it) or name another --board."
        )
    return text


def read_board(board: str | Path) -> pd.DataFrame:
    """Read and check a leaderboard CSV.

    Raises:
        DataError: the file is missing, empty, not a CSV or not a valid board.
    """
    board = Path(board)
    if not board.is_file():
        raise DataError(
            f"no leaderboard at {board}: add a run first (`stbench leaderboard add RUN_DIR`) "
            "or name an existing one with --board (the committed board is "
            "benchmarks/leaderboard.csv in the repository)"
        )
    text = _read_text(board)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{board} is not a readable CSV: {exc}") from exc
    frame = frame.astype(object).where(frame != "", None)
    return check_board(frame, str(board))


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    return str(value)


def _line(values: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([_cell(v) for v in values])
    return buffer.getvalue()


def has_sfm(row: dict[str, Any]) -> bool:
    """Whether a row holds any SfM value."""
    return any(row.get(c) is not None for c in SFM_COLUMNS)


def board_text(rows: list[dict[str, Any]]) -> str:
    """A board CSV (header and rows, in :data:`COLUMNS` order, plus the SfM block when a row
    has SfM values) as text."""
    columns = [*COLUMNS, *(SFM_COLUMNS if any(has_sfm(r) for r in rows) else ())]
    return _line(columns) + "".join(_line([r.get(c) for c in columns]) for r in rows)


def _sort_key(record: dict[str, Any]) -> tuple[str, ...]:
    return tuple(
        "" if record.get(c) is None else str(record.get(c))
        for c in ("manifest", "split", "track", "method", "variant")
    )


def leaderboard_add(
    run_dir: str | Path,
    board: str | Path | None = None,
    *,
    label: str | None = None,
    replace: bool = False,
) -> Path:
    """Add the row of run ``run_dir`` to ``board`` (default :func:`default_board`).

    Other rows stay byte-identical; the new row goes to its sorted place (manifest, split,
    track, method, variant). Returns the board path.

    Raises:
        DataError: the run's key is on the board and ``replace`` is False; the run was
            summarised without clusters; a bad name or value; a damaged board.
    """
    board = Path(board) if board is not None else default_board()
    summary = load_summary(run_dir)
    if "clusters" not in summary:
        raise DataError(
            f"{run_dir} was summarised by an older stbench (intervals without clusters); "
            "re-run `stbench evaluate` for it (cached predictions are reused)"
        )
    row = row_from_summary(summary, label)
    check_row(row, f"run {run_dir}")
    row_key = {**row, "variant": label or row["config_digest"]}
    if not board.exists():
        write_text_atomic(board, board_text([row]))
        return board
    frame = read_board(board)
    text = _read_text(board)
    lines = [line for line in text.splitlines(keepends=True) if line.strip()]
    header, body = lines[0], lines[1:]
    if len(body) != len(frame):
        raise DataError(f"{board}: {len(body)} lines but {len(frame)} rows; repair the file")
    if body and not body[-1].endswith("\n"):
        body[-1] += "\n"
    order = next(csv.reader([header]))
    if has_sfm(row) and SFM_COLUMNS[0] not in order:  # the first SfM row: add the block
        header = header.rstrip("\r\n") + "," + ",".join(SFM_COLUMNS) + "\n"
        body = [line.rstrip("\r\n") + "," * len(SFM_COLUMNS) + "\n" for line in body]
        order += SFM_COLUMNS
    new_line = _line([row[c] for c in order])
    records = frame[["method", "manifest", "split", "track"]].assign(variant=_variant(frame))
    records = records.to_dict("records")
    key = tuple(str(row_key[c]) for c in KEY)
    same = [i for i, r in enumerate(records) if tuple(str(r[c]) for c in KEY) == key]
    if same and not replace:
        raise DataError(
            f"{board} already has a row for method {row['method']!r}, variant "
            f"{row_key['variant']!r}, manifest {row['manifest']}, split {row['split']}, track "
            f"{row['track']}; pass --replace to replace it, or --label NAME to keep both"
        )
    if same:
        body[same[0]] = new_line
    else:
        position = next(
            (i for i, r in enumerate(records) if _sort_key(r) > _sort_key(row_key)), len(body)
        )
        body.insert(position, new_line)
    write_text_atomic(board, header + "".join(body))
    return board
