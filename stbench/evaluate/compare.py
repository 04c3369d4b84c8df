"""Comparing runs on the items both scored: A, B and B - A with clustered intervals and p.

Two runs on the same manifest, split and track are compared item by item: for each metric, the
items (pairs or images) where the metric applies to *both* runs. A, B and B - A are computed on
those items only, their intervals from the same cluster resamples (paired cluster bootstrap),
and the two runs' results are swapped cluster by cluster at random (paired permutation test,
two-sided p). ``n`` is the number of shared items, ``k`` their clusters.

A run compared with the board (``compare RUN``) is compared with the board row's own run
directory when it can be found (``$STBENCH_HOME/runs/<manifest>/<method>``, or ``run_a``);
otherwise the table says why there is no test instead of printing empty p and n columns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stbench.defaults import N_BOOTSTRAP
from stbench.errors import DataError
from stbench.evaluate.clusters import ClusterSpec
from stbench.evaluate.leaderboard import (
    DEFAULT_TRACK,
    config_digest,
    load_summary,
    read_board,
    row_from_summary,
)
from stbench.evaluate.stats import paired_comparison, single_threaded_blas
from stbench.evaluate.summary import IMAGE_METRIC_PREFIXES, METRICS, metric_columns
from stbench.evaluate.tables import (  # noqa: F401  (print_board: public here too)
    DEFAULT_SHOWN,
    estimate_lines,
    fitted_tables,
    fmt,
    print_board,
)

__all__ = [
    "board_run_candidates",
    "compare_runs",
    "compare_with_board",
    "comparison_tables",
    "print_comparison",
]

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
    "n_clusters",
    "note",
)


def _read_results(run_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    try:
        return (
            pd.read_parquet(Path(run_dir) / "per_pair.parquet"),
            pd.read_parquet(Path(run_dir) / "per_image.parquet"),
        )
    except FileNotFoundError as exc:
        raise DataError(f"{run_dir} has no per-pair/per-image results: {exc}") from exc


def _track(summary: dict[str, Any]) -> str:
    return summary.get("track") or DEFAULT_TRACK


def _item_clusters(per_pair: pd.DataFrame, per_image: pd.DataFrame) -> dict[str, pd.Series]:
    """Cluster id by item id (each item its own cluster where the run has no ``cluster``)."""
    out = {}
    for kind, frame, key in (("pairs", per_pair, "pair_id"), ("images", per_image, "image_id")):
        ids = frame[key].astype(str)
        clusters = frame["cluster"].astype(str) if "cluster" in frame else ids
        out[kind] = pd.Series(clusters.to_numpy(), index=ids.to_numpy())
    return out


def compare_runs(
    run_a: str | Path, run_b: str | Path, n_bootstrap: int = N_BOOTSTRAP, seed: int = 0
) -> pd.DataFrame:
    """Metric-by-metric comparison of run B against run A on their shared items.

    Raises:
        DataError: a directory is not a run, or the runs differ in manifest, split or track.
    """
    summary_a, summary_b = load_summary(run_a), load_summary(run_b)
    for key in ("manifest", "split", "track"):
        value_a = _track(summary_a) if key == "track" else summary_a.get(key)
        value_b = _track(summary_b) if key == "track" else summary_b.get(key)
        if value_a != value_b:
            raise DataError(
                f"runs differ in {key}: {value_a!r} vs {value_b!r}; "
                "paired comparisons need the same manifest, split and track"
            )
    spec = ClusterSpec.from_dict(summary_a.get("clusters"))
    results_a, results_b = _read_results(run_a), _read_results(run_b)
    clusters = _item_clusters(*results_a)
    columns_a, columns_b = metric_columns(*results_a), metric_columns(*results_b)
    rows = []
    for metric in METRICS:
        statistic, frame_a = columns_a[metric]
        _, frame_b = columns_b[metric]
        common = frame_a.index.intersection(frame_b.index)
        if frame_a.index.has_duplicates or frame_b.index.has_duplicates:
            raise DataError(f"{run_a} or {run_b}: an item id repeats in the {metric} results")
        if not len(common):
            continue
        frame_a, frame_b = frame_a.loc[common], frame_b.loc[common]
        kind = "images" if metric.startswith(IMAGE_METRIC_PREFIXES) else "pairs"
        ids = clusters[kind].reindex(common.astype(str)).fillna(pd.Series(common, index=common))
        with single_threaded_blas():
            result = paired_comparison(
                statistic,
                tuple(frame_a[c].to_numpy() for c in frame_a.columns),
                tuple(frame_b[c].to_numpy() for c in frame_b.columns),
                n_boot=n_bootstrap,
                n_permutations=n_bootstrap,
                seed=seed,
                clusters=ids.astype(str).to_numpy(),
                min_items=spec.min_items,
                min_clusters=spec.min_clusters,
            )
        rows.append(
            {
                "metric": metric,
                "a": result.a,
                "a_ci_low": result.a_ci[0],
                "a_ci_high": result.a_ci[1],
                "b": result.b,
                "b_ci_low": result.b_ci[0],
                "b_ci_high": result.b_ci[1],
                "delta": result.delta,
                "delta_ci_low": result.ci_low,
                "delta_ci_high": result.ci_high,
                "p_value": result.p_value,
                "n_paired": result.n,
                "n_clusters": result.n_clusters,
                "note": result.note,
            }
        )
    table = pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
    table.attrs["a"] = f"{summary_a['method']} ({Path(run_a).name})"
    table.attrs["b"] = f"{summary_b['method']} ({Path(run_b).name})"
    table.attrs["track"] = _track(summary_a)
    return table


def board_run_candidates(reference: pd.Series) -> list[Path]:
    """Where the run of a board row may be: ``$STBENCH_HOME/runs/<manifest name>/<method>``."""
    from stbench.evaluate.run import default_run_dir

    manifest_name = str(reference["manifest"]).partition("@")[0]
    return [default_run_dir(manifest_name, str(reference["method"]))]


def _is_run_of(run_dir: Path, reference: pd.Series) -> bool:
    try:
        summary = load_summary(run_dir)
    except DataError:
        return False
    return (
        summary.get("manifest") == reference["manifest"]
        and summary.get("split") == reference["split"]
        and summary.get("method") == reference["method"]
        and _track(summary) == reference["track"]
        and config_digest(summary) == reference["config_digest"]
        and (Path(run_dir) / "per_pair.parquet").is_file()
    )


def compare_with_board(
    run_dir: str | Path,
    board: str | Path,
    method: str | None = None,
    n_bootstrap: int = N_BOOTSTRAP,
    seed: int = 0,
    board_run: str | Path | None = None,
) -> pd.DataFrame:
    """Compare a run (B) with the board row (A) of ``method`` on its manifest, split and track.

    Without ``method``, the best other row by precision_3px (else time_accuracy_season). When
    the row's run directory is found (``board_run`` or :func:`board_run_candidates`, with the
    same method, config digest, manifest, split and track), the comparison is paired, with p
    and n; otherwise the table holds both board values and ``attrs['note']`` says why not.

    Raises:
        DataError: the board has no row for the run's manifest, split and track (or ``method``).
    """
    summary = load_summary(run_dir)
    frame = read_board(board)
    track = _track(summary)
    rows = frame[
        (frame["manifest"] == summary["manifest"])
        & (frame["split"] == summary["split"])
        & (frame["track"] == track)
    ]
    if method is not None:
        rows = rows[rows["method"] == method]
    else:
        rows = rows[rows["method"] != summary["method"]]
    if rows.empty:
        raise DataError(
            f"{board} has no row for manifest {summary['manifest']} split {summary['split']} "
            f"track {track}" + (f" and method {method!r}" if method else " from another method")
        )
    for key in ("precision_3px", "time_accuracy_season"):
        if rows[key].notna().any():
            rows = rows.sort_values(key, ascending=False)
            break
    reference = rows.iloc[0]
    candidates = [Path(board_run)] if board_run else board_run_candidates(reference)
    found = next((c for c in candidates if _is_run_of(c, reference)), None)
    if found is not None:
        table = compare_runs(found, run_dir, n_bootstrap=n_bootstrap, seed=seed)
        table.attrs["a"] = f"{reference['method']} (board row, run {found})"
        return table
    table = _unpaired(reference, row_from_summary(summary))
    table.attrs["a"] = f"{reference['method']} (board)"
    table.attrs["b"] = summary["method"]
    table.attrs["track"] = track
    table.attrs["note"] = (
        "No paired test: the board keeps summaries only, and the run of board row "
        f"{reference['method']!r} (config {reference['config_digest']}) is not at "
        f"{', '.join(str(c) for c in candidates)}. A and B below are each on their own items. "
        "For p and n: stbench leaderboard compare RUN_A RUN_B (or --board-run DIR)."
    )
    return table


def _unpaired(reference: pd.Series, mine: dict[str, Any]) -> pd.DataFrame:
    out = []
    for metric in METRICS:
        a, b = reference[metric], mine[metric]
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
                "n_paired": np.nan,
                "n_clusters": np.nan,
                "note": None,
            }
        )
    return pd.DataFrame(out, columns=list(COMPARISON_COLUMNS))


def comparison_tables(table: pd.DataFrame, width: int) -> list[Any]:
    """The comparison as fitted tables: rows = metrics; A, B, B - A, p, n (k)."""
    paired = table["p_value"].notna().any()
    title = f"B = {table.attrs.get('b', 'run B')} vs A = {table.attrs.get('a', 'run A')}"
    title += f" · track {table.attrs.get('track', DEFAULT_TRACK)}"
    if paired:
        title += "\nA, B, B-A on the same items: value, ±half 95 % CI; * p < 0.05"
    headers = ["A", "B", "B-A"] + (["p", "n k"] if paired else [])
    ids, cells = [], []
    for row in table.itertuples(index=False):
        ids.append([row.metric])
        row_cells = [
            estimate_lines(row.a, row.a_ci_low, row.a_ci_high, note=row.note),
            estimate_lines(row.b, row.b_ci_low, row.b_ci_high, note=row.note),
            estimate_lines(
                row.delta, row.delta_ci_low, row.delta_ci_high, sign=True, note=row.note
            ),
        ]
        if paired:
            p_text = fmt(row.p_value, 4)
            if not pd.isna(row.p_value) and row.p_value < 0.05:
                p_text += " *"
            n_text = "–" if pd.isna(row.n_paired) else str(int(row.n_paired))
            k_text = "" if pd.isna(row.n_clusters) else f"k={int(row.n_clusters)}"
            row_cells += [[p_text], [n_text, k_text]]
        cells.append(row_cells)
    return fitted_tables(title, "metric", ids, headers, cells, width)


def print_comparison(table: pd.DataFrame, console: Any = None) -> None:
    """The comparison as tables that fit the terminal; p < 0.05 marked with ``*``."""
    if console is None:
        from rich.console import Console

        console = Console()
    for rich_table in comparison_tables(table, max(console.width, 40)):
        console.print(rich_table)
    if table.attrs.get("note"):
        console.print(table.attrs["note"])
