"""Terminal tables that fit: the leaderboard and comparisons at any width from 80 columns.

A cell is a few short lines (value; ``±half-width`` of the 95 % interval; ``k=`` clusters, or
the reason there is no interval: ``n too small`` / ``too few clusters``). Columns never wrap:
each gets the width of its longest line, headers are split at spaces, and metric columns are
spread over as many tables as the terminal width needs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from stbench.errors import DataError
from stbench.evaluate.clusters import MIN_CLUSTERS, MIN_ITEMS, NOTE_FEW_CLUSTERS, NOTE_SMALL_N

__all__ = [
    "board_tables",
    "estimate_lines",
    "fitted_tables",
    "fmt",
    "interval_note",
    "is_missing",
    "label",
    "print_board",
]

DEFAULT_SHOWN = (
    "precision_3px",
    "precision_pooled_3px",
    "share_pairs_min_k",
    "pose_auc_10",
    "time_accuracy_season",
    "time_mse_month",
    "time_accuracy_hour",
    "ms_per_pair",
)
#: Shown for rows of ``stbench sfm`` runs (track ``sfm``): reconstruction, not pair, metrics.
SFM_SHOWN = (
    "sfm_registered",
    "sfm_maa",
    "sfm_span_maa",
    "sfm_purity_season",
    "sfm_cross_edges_season",
    "sfm_track_length",
    "sfm_map_s",
)
#: What a cell says instead of an interval.
NOTE_LINES = {NOTE_SMALL_N: ["n too", "small"], NOTE_FEW_CLUSTERS: ["too few", "clusters"]}


def is_missing(value: Any) -> bool:
    """None or NaN."""
    return value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value)


def fmt(value: Any, digits: int = 3, sign: bool = False) -> str:
    """A number with ``digits`` decimals (``–`` when missing)."""
    if is_missing(value):
        return "–"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def interval_note(
    n: Any, clusters: Any, minimums: tuple[int, int] = (MIN_ITEMS, MIN_CLUSTERS)
) -> str | None:
    """``n too small`` / ``too few clusters`` by ``minimums`` (items, clusters; the documented
    defaults unless the run used others), or None (a missing count passes its check);
    :func:`stbench.evaluate.stats.interval_note` for a board cell."""
    from stbench.evaluate.stats import interval_note as rule

    big = float("inf")
    return rule(
        big if is_missing(n) else n,
        big if is_missing(clusters) else clusters,
        *minimums,
    )


def estimate_lines(
    value: Any,
    low: Any,
    high: Any,
    n: Any = None,
    clusters: Any = None,
    digits: int = 3,
    sign: bool = False,
    note: str | None = None,
    minimums: tuple[int, int] = (MIN_ITEMS, MIN_CLUSTERS),
) -> list[str]:
    """A cell: the value, then ``±`` half the interval and ``k=`` clusters, or why not (by the
    run's ``minimums``: items, clusters)."""
    lines = [fmt(value, digits, sign)]
    if is_missing(value):
        return lines
    if not is_missing(low) and not is_missing(high):
        lines.append(f"±{(high - low) / 2:.{digits}f}")
        if not is_missing(clusters):
            lines.append(f"k={int(clusters)}")
        return lines
    note = note or interval_note(n, clusters, minimums)
    return lines + NOTE_LINES.get(note, [])


def label(metric: str) -> str:
    """A short column label: ``time_accuracy_season`` -> ``season acc``, ``precision_3px`` ->
    ``P@3px`` (the CSV keeps the full names)."""
    for prefix, suffix in (
        ("time_accuracy_", " acc"),
        ("time_mse_", " MSE"),
        ("time_mae_", " MAE"),
    ):
        if metric.startswith(prefix):
            return metric[len(prefix) :] + suffix
    for prefix, short in (
        ("precision_pooled_", "pooled P@"),
        ("precision_", "P@"),
        ("matching_score_", "MS@"),
        ("pose_auc_", "AUC@"),
    ):
        if metric.startswith(prefix):
            return short + metric[len(prefix) :]
    named = {
        "ms_per_pair": "ms/pair",
        "share_pairs_min_k": "pairs ≥K",
        "sfm_registered": "registered",
        "sfm_maa": "mAA",
        "sfm_span_maa": "span mAA",
        "sfm_purity_season": "season purity",
        "sfm_cross_edges_season": "cross-season edges",
        "sfm_track_length": "track length",
        "sfm_map_s": "mapping s",
    }
    return named.get(metric, metric.replace("_", " "))


def _width(lines: Sequence[str]) -> int:
    return max((len(line) for line in lines), default=1)


def fitted_tables(
    title: str,
    id_header: str,
    ids: list[list[str]],
    headers: list[str],
    cells: list[list[list[str]]],
    width: int,
    justify_ids: str = "left",
) -> list[Any]:
    """Rich tables holding ``cells[row][column]`` (lists of lines), split by columns so that
    each table fits ``width`` terminal columns; the id column repeats in each table."""
    from rich.markup import escape
    from rich.table import Table

    header_lines = [h.split(" ") for h in headers]
    widths = [
        max(_width(header_lines[j]), *(_width(row[j]) for row in cells)) if cells else 1
        for j in range(len(headers))
    ]
    id_width = min(max(_width([id_header]), *(_width(i) for i in ids)) if ids else 6, 28)
    groups: list[list[int]] = [[]]
    used = id_width + 4  # borders and padding: 1 + (width + 3) per column
    for j, column_width in enumerate(widths):
        if groups[-1] and used + column_width + 3 > width:
            groups.append([])
            used = id_width + 4
        groups[-1].append(j)
        used += column_width + 3
    tables = []
    for number, group in enumerate(groups):
        part = f"({number + 1}/{len(groups)})" if len(groups) > 1 else ""
        text = f"{title} {part}" if number == 0 else f"{title.splitlines()[0]} {part}"
        table = Table(title=escape(text.strip()), title_justify="left")
        table.add_column(id_header, justify=justify_ids, max_width=id_width, overflow="fold")
        for j in group:
            table.add_column(
                escape("\n".join(header_lines[j])),
                justify="right",
                no_wrap=True,
                min_width=widths[j],
            )
        for row_ids, row in zip(ids, cells, strict=True):
            table.add_row(escape("\n".join(row_ids)), *(escape("\n".join(row[j])) for j in group))
        tables.append(table)
    return tables


def _short_manifest(value: object) -> str:
    """``name@<first 8 hex digits>`` of a ``name@content_hash`` (other values as they are)."""
    name, _, content_hash = str(value).partition("@")
    return f"{name}@{content_hash[:8]}" if content_hash else name


def board_tables(
    frame: pd.DataFrame, metrics: list[str] | None, width: int, board: str | Path = ""
) -> list[Any]:
    """Leaderboard tables, one group per track (tracks are never mixed in one table); without
    ``metrics``, :data:`DEFAULT_SHOWN` (:data:`SFM_SHOWN` for the ``sfm`` track)."""
    tables = []
    requested = metrics
    for track, rows in frame.groupby(frame["track"].fillna("pixels"), sort=True):
        metrics = list(requested or (SFM_SHOWN if track == "sfm" else DEFAULT_SHOWN))
        shared = [c for c in ("manifest", "split") if rows[c].nunique() == 1]
        title = f"track {track} · {len(rows)} rows"
        if shared:
            title += "\n" + ", ".join(f"{c} {_short_manifest(rows[c].iloc[0])}" for c in shared)
        title += "\nvalue, ±half 95 % CI, k=clusters" + (f"\n{board}" if board else "")
        several = rows.groupby("method")["config_digest"].transform("nunique") > 1
        from stbench.evaluate.leaderboard import cluster_minimums

        ids, cells = [], []
        for (_, row), show_variant in zip(rows.iterrows(), several, strict=True):
            minimums = cluster_minimums(row.get("clusters"))
            row_ids = [str(row["method"])]
            if not is_missing(row["label"]):
                row_ids.append(f"[{row['label']}]")
            elif show_variant:
                row_ids.append(f"cfg {str(row['config_digest'])[:7]}")
            row_ids += [
                _short_manifest(row[c]) if c == "manifest" else str(row[c])
                for c in ("manifest", "split")
                if c not in shared
            ]
            ids.append(row_ids)
            cells.append(
                [
                    estimate_lines(
                        row[m],
                        row.get(f"{m}_ci_low"),
                        row.get(f"{m}_ci_high"),
                        row.get(f"{m}_n"),
                        row.get(f"{m}_clusters"),
                        digits=1 if m in ("ms_per_pair", "sfm_map_s") else 3,
                        minimums=minimums,
                    )
                    for m in metrics
                ]
            )
        tables += fitted_tables(title, "method", ids, [label(m) for m in metrics], cells, width)
    return tables


def print_board(
    board: str | Path,
    metrics: list[str] | None = None,
    manifest: str | None = None,
    console: Any = None,
) -> None:
    """The leaderboard as tables that fit the terminal (value, ±half-interval, clusters).

    Raises:
        DataError: the board is missing or invalid, an unknown metric, no row of ``manifest``.
    """
    from stbench.evaluate.leaderboard import read_board

    if console is None:
        from rich.console import Console

        console = Console()
    frame = read_board(board)
    if manifest:
        frame = frame[
            (frame["manifest"] == manifest) | frame["manifest"].str.startswith(f"{manifest}@")
        ]
        if frame.empty:
            raise DataError(f"{board} has no row of manifest {manifest!r}")
    metrics = list(metrics) if metrics else None
    unknown = [
        m for m in metrics or [] if m not in frame.columns or m.endswith(("_n", "_clusters"))
    ]
    if unknown:
        raise DataError(f"unknown metric(s) {unknown}; see docs/evaluation.md for the columns")
    for table in board_tables(frame, metrics, max(console.width, 40), board):
        console.print(table)
    console.print(
        f"No interval below {MIN_ITEMS} items (n too small) or {MIN_CLUSTERS} clusters "
        "(too few clusters), or the minimums in a row's clusters column (min=items/clusters; "
        "SfM rows count scenes); docs/evaluation.md, Statistics."
    )
