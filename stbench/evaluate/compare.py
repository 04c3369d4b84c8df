"""Comparing runs: deltas with paired-bootstrap intervals and permutation p-values.

Two runs on the same manifest are compared item by item: for each metric, the items (pairs or
images) where the metric applies to *both* runs are resampled jointly (paired bootstrap, 95 %
interval of B - A) and the two runs' per-item results are swapped at random (paired
permutation test, two-sided p). A run compared with leaderboard rows has no per-item results
on the other side: the table shows both intervals and the delta, without a test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from stbench.errors import DataError
from stbench.evaluate.leaderboard import load_summary, read_board, row_from_summary
from stbench.evaluate.stats import paired_comparison, single_threaded_blas
from stbench.evaluate.summary import METRICS, metric_columns

COMPARISON_COLUMNS = (
    "metric",
    "a",
    "a_ci_low",
    "a_ci_high",
    "b",
    "b_ci_low",
    "b_ci_high",
    "delta",
    "delta_ci_low",
    "delta_ci_high",
    "p_value",
    "n_paired",
)


def _read_results(run_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    try:
        return (
            pd.read_parquet(Path(run_dir) / "per_pair.parquet"),
            pd.read_parquet(Path(run_dir) / "per_image.parquet"),
        )
    except FileNotFoundError as exc:
        raise DataError(f"{run_dir} has no per-pair/per-image results: {exc}") from exc


def compare_runs(
    run_a: str | Path, run_b: str | Path, n_bootstrap: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """Metric-by-metric comparison of run B against run A (delta = B - A).

    Raises:
        DataError: a directory is not a run, or the runs are on different manifests / splits.
    """
    summary_a, summary_b = load_summary(run_a), load_summary(run_b)
    for key in ("manifest", "split"):
        if summary_a.get(key) != summary_b.get(key):
            raise DataError(
                f"runs differ in {key}: {summary_a.get(key)!r} vs {summary_b.get(key)!r}; "
                "paired comparisons need the same manifest and split"
            )
    columns_a = metric_columns(*_read_results(run_a))
    columns_b = metric_columns(*_read_results(run_b))
    rows = []
    for metric in METRICS:
        entry_a = summary_a["metrics"].get(metric) or {}
        entry_b = summary_b["metrics"].get(metric) or {}
        row = {"metric": metric, **_side("a", entry_a), **_side("b", entry_b)}
        statistic, frame_a = columns_a[metric]
        _, frame_b = columns_b[metric]
        common = frame_a.index.intersection(frame_b.index)
        if len(common) and not frame_a.index.has_duplicates:
            frame_a, frame_b = frame_a.loc[common], frame_b.loc[common]
            with single_threaded_blas():
                result = paired_comparison(
                    statistic,
                    tuple(frame_a[c].to_numpy() for c in frame_a.columns),
                    tuple(frame_b[c].to_numpy() for c in frame_b.columns),
                    n_boot=n_bootstrap,
                    n_permutations=n_bootstrap,
                    seed=seed,
                )
            row.update(
                delta=result.delta,
                delta_ci_low=result.ci_low,
                delta_ci_high=result.ci_high,
                p_value=result.p_value,
                n_paired=result.n,
            )
        else:
            row.update(delta=_delta(entry_a, entry_b), n_paired=0)
        rows.append(row)
    table = pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
    table = table[table[["a", "b"]].notna().any(axis=1)].reset_index(drop=True)
    table.attrs["a"] = f"{summary_a['method']} ({Path(run_a).name})"
    table.attrs["b"] = f"{summary_b['method']} ({Path(run_b).name})"
    return table


def _side(prefix: str, entry: dict) -> dict:
    return {
        prefix: entry.get("value"),
        f"{prefix}_ci_low": entry.get("ci_low"),
        f"{prefix}_ci_high": entry.get("ci_high"),
    }


def _delta(entry_a: dict, entry_b: dict) -> float:
    a, b = entry_a.get("value"), entry_b.get("value")
    return float(b - a) if a is not None and b is not None else float("nan")


def compare_with_board(
    run_dir: str | Path, board: str | Path, method: str | None = None
) -> pd.DataFrame:
    """Compare a run (B) with the board row (A) of ``method`` on the same manifest and split.

    Without ``method``, the best board row by precision_3px (else time_accuracy_season) is used.

    Raises:
        DataError: the board has no row for the run's manifest and split (or for ``method``).
    """
    summary = load_summary(run_dir)
    frame = read_board(board)
    rows = frame[(frame["manifest"] == summary["manifest"]) & (frame["split"] == summary["split"])]
    if method is not None:
        rows = rows[rows["method"] == method]
    rows = rows[rows["method"] != summary["method"]] if method is None else rows
    if rows.empty:
        raise DataError(
            f"{board} has no row for manifest {summary['manifest']} split {summary['split']}"
            + (f" and method {method!r}" if method else " from another method")
        )
    for key in ("precision_3px", "time_accuracy_season"):
        if rows[key].notna().any():
            rows = rows.sort_values(key, ascending=False)
            break
    reference = rows.iloc[0]
    mine = row_from_summary(summary)
    out = []
    for metric in METRICS:
        a = reference[metric]
        b = mine[metric]
        if pd.isna(a) and b is None:
            continue
        out.append(
            {
                "metric": metric,
                "a": a,
                "a_ci_low": reference[f"{metric}_ci_low"],
                "a_ci_high": reference[f"{metric}_ci_high"],
                "b": b,
                "b_ci_low": mine[f"{metric}_ci_low"],
                "b_ci_high": mine[f"{metric}_ci_high"],
                "delta": (b - a) if b is not None and not pd.isna(a) else np.nan,
                "delta_ci_low": np.nan,
                "delta_ci_high": np.nan,
                "p_value": np.nan,
                "n_paired": 0,
            }
        )
    table = pd.DataFrame(out, columns=list(COMPARISON_COLUMNS))
    table.attrs["a"] = f"{reference['method']} (board)"
    table.attrs["b"] = summary["method"]
    return table


def _fmt(value, digits: int = 3) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.{digits}f}"


def print_comparison(table: pd.DataFrame) -> None:
    """The comparison as a rich table; significant deltas (p < 0.05) in bold."""
    from rich.table import Table

    from stbench.cli.common import console

    title = f"B = {table.attrs.get('b', 'run B')} vs A = {table.attrs.get('a', 'run A')}"
    rich_table = Table(title=title)
    for column in ("metric", "A [95 % CI]", "B [95 % CI]", "B - A [95 % CI]", "p", "n"):
        rich_table.add_column(column, justify="left" if column == "metric" else "right")
    for row in table.itertuples(index=False):
        delta = _fmt(row.delta)
        if not pd.isna(row.delta_ci_low):
            delta += f" [{_fmt(row.delta_ci_low)}, {_fmt(row.delta_ci_high)}]"
        if not pd.isna(row.p_value) and row.p_value < 0.05:
            delta = f"[bold]{delta}[/]"
        rich_table.add_row(
            row.metric,
            f"{_fmt(row.a)} [{_fmt(row.a_ci_low)}, {_fmt(row.a_ci_high)}]",
            f"{_fmt(row.b)} [{_fmt(row.b_ci_low)}, {_fmt(row.b_ci_high)}]",
            delta,
            _fmt(row.p_value, 4),
            str(row.n_paired),
        )
    console().print(rich_table)


DEFAULT_SHOWN = (
    "precision_3px",
    "matching_score_3px",
    "pose_auc_10",
    "time_accuracy_season",
    "time_mse_month",
    "time_accuracy_hour",
    "ms_per_pair",
)


def _label(metric: str) -> str:
    """A short column label: ``time_accuracy_season`` -> ``season acc``, ``precision_3px`` ->
    ``P@3px`` (the CSV keeps the full names)."""
    for prefix, suffix in (
        ("time_accuracy_", " acc"),
        ("time_mse_", " MSE"),
        ("time_mae_", " MAE"),
    ):
        if metric.startswith(prefix):
            return metric[len(prefix) :] + suffix
    for prefix, short in (("precision_", "P@"), ("matching_score_", "MS@"), ("pose_auc_", "AUC@")):
        if metric.startswith(prefix):
            return short + metric[len(prefix) :]
    return {"ms_per_pair": "ms/pair"}.get(metric, metric.replace("_", " "))


def _short_manifest(value: object) -> str:
    """``name@<first 8 hex digits>`` of a ``name@content_hash`` (other values as they are)."""
    name, _, content_hash = str(value).partition("@")
    return f"{name}@{content_hash[:8]}" if content_hash else name


def print_board(
    board: str | Path, metrics: list[str] | None = None, manifest: str | None = None
) -> None:
    """The leaderboard as a rich table (value [95 % CI] per metric)."""
    from rich.table import Table

    from stbench.cli.common import console

    frame = read_board(board)
    if manifest:
        frame = frame[
            (frame["manifest"] == manifest) | frame["manifest"].str.startswith(f"{manifest}@")
        ]
    metrics = list(metrics or DEFAULT_SHOWN)
    unknown = [m for m in metrics if m not in frame.columns]
    if unknown:
        raise DataError(f"unknown metric(s) {unknown}; see docs/evaluation.md for the columns")
    # Columns shared by every row go to the title; intervals go under their value, so that
    # the table fits a terminal of 80 columns.
    shared = [c for c in ("manifest", "split") if frame[c].nunique() == 1]
    title = f"{board} ({len(frame)} rows)"
    if shared:
        title += "\n" + ", ".join(f"{c} {_short_manifest(frame[c].iloc[0])}" for c in shared)
    table = Table(title=title)
    id_columns = [c for c in ("method", "manifest", "split") if c not in shared]
    for column in id_columns:
        table.add_column(column, no_wrap=True)
    for metric in metrics:
        table.add_column(_label(metric), justify="right", overflow="fold")
    for _, row in frame.iterrows():
        cells = []
        for metric in metrics:
            cell = _fmt(row[metric], 1 if metric == "ms_per_pair" else 3)
            low = row.get(f"{metric}_ci_low")
            if low is not None and not pd.isna(low):
                cell += f"\n[{_fmt(low)}, {_fmt(row[f'{metric}_ci_high'])}]"
            cells.append(cell)
        ids = {"method": str(row["method"]), "manifest": _short_manifest(row["manifest"])}
        ids["split"] = str(row["split"])
        table.add_row(*(ids[c] for c in id_columns), *cells)
    console().print(table)
