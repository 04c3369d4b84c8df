import io
import re

import numpy as np
import pytest
from rich.console import Console

from stbench.evaluate.leaderboard import board_text, read_board, row_from_summary
from stbench.evaluate.summary import METRICS
from stbench.evaluate.tables import DEFAULT_SHOWN, print_board


def fake_summary(method: str, seed: int, n: int = 400, clusters: int = 52) -> dict:
    rng = np.random.default_rng(seed)
    metrics = {}
    for name in METRICS:
        value = float(rng.uniform(0.05, 0.95))
        half = float(rng.uniform(0.01, 0.2))
        metrics[name] = {
            "value": value,
            "ci_low": max(value - half, 0.0),
            "ci_high": min(value + half, 1.0),
            "n": n,
            "n_clusters": clusters,
            "note": None,
        }
    metrics["precision_3px"].update(ci_low=None, ci_high=None, n_clusters=2)
    metrics["time_accuracy_hour"].update(ci_low=None, ci_high=None, n=3, n_clusters=1)
    return {
        "method": method,
        "method_version": "1",
        "method_config": {"seed": seed},
        "manifest": "default@8edbdd02aa",
        "split": "test",
        "n_pairs": 793,
        "n_images": 2990,
        "metrics": metrics,
        "clusters": {"images": "camera-days", "pairs": "scene", "block_days": 14},
        "ms_per_pair": 1234.5,
        "date": "2026-12-01T00:00:00Z",
        "stbench_version": "0.1",
    }


@pytest.mark.parametrize("width", [80, 120])
def test_board_fits_without_breaking_numbers(tmp_path, width):
    methods = ["sift", "orb", "reference", "colorstats", "a_rather_long_plugin_method_name"]
    rows = [row_from_summary(fake_summary(m, i)) for i, m in enumerate(methods)]
    board = tmp_path / "board.csv"
    board.write_text(board_text(rows))
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, legacy_windows=False)
    print_board(board, console=console)
    text = out.getvalue()
    assert max(len(line) for line in text.splitlines()) <= width
    frame = read_board(board)
    for _, row in frame.iterrows():
        for metric in DEFAULT_SHOWN:
            digits = 1 if metric == "ms_per_pair" else 3
            assert re.search(rf"(?<![\d.]){row[metric]:.{digits}f}(?![\d])", text), metric
            if metric not in ("precision_3px", "time_accuracy_hour", "ms_per_pair"):
                half = (row[f"{metric}_ci_high"] - row[f"{metric}_ci_low"]) / 2
                assert f"±{half:.{digits}f}" in text
    assert "k=52" in text and "too few" in text and "clusters" in text and "n too" in text
    assert "…" not in text
    # no number is split over two lines: every line's numbers are whole cells
    for line in text.splitlines():
        for cell in re.split(r"[│┃|]", line):
            cell = cell.strip()
            assert not re.fullmatch(r"[\d.]+", cell) or re.fullmatch(r"\d+(\.\d+)?", cell), cell


@pytest.mark.parametrize("width", [80, 120])
def test_comparison_fits(width):
    import pandas as pd

    from stbench.evaluate.compare import COMPARISON_COLUMNS, print_comparison

    rows = []
    for i, metric in enumerate(["precision_3px", "time_accuracy_season", "time_mse_week"]):
        sides = [0.5 + i, 0.4 + i, 0.6 + i, 0.7 + i, 0.6 + i, 0.8 + i]
        values = [metric, *sides, 0.2, 0.05, 0.35, 0.002, 793, 52, None]
        rows.append(dict(zip(COMPARISON_COLUMNS, values, strict=True)))
    table = pd.DataFrame(rows)
    table.attrs.update(a="a_long_baseline_method_name (run_a)", b="another_method (run_b)")
    out = io.StringIO()
    print_comparison(table, console=Console(file=out, width=width, color_system=None))
    text = out.getvalue()
    assert max(len(line) for line in text.splitlines()) <= width
    for token in ("0.500", "±0.100", "+0.200", "±0.150", "0.0020 *", "793", "k=52", "2.700"):
        assert token in text, token


def test_sfm_rows_show_reconstruction_metrics(tmp_path):
    from stbench.evaluate.leaderboard import SFM_COLUMNS
    from stbench.evaluate.tables import SFM_SHOWN

    assert set(SFM_SHOWN) <= set(SFM_COLUMNS)
    pair_row = row_from_summary(fake_summary("sift", 0))
    sfm_summary = fake_summary("sift", 1)
    sfm_summary["track"] = "sfm"
    sfm_summary["metrics"] = {
        name: {"value": 0.25 + i / 100, "ci_low": None, "ci_high": None, "n": 2,
               "n_clusters": 2, "note": "too few clusters"}
        for i, name in enumerate(SFM_COLUMNS)
    }  # fmt: skip
    board = tmp_path / "board.csv"
    board.write_text(board_text([pair_row, row_from_summary(sfm_summary)]))
    out = io.StringIO()
    print_board(board, console=Console(file=out, width=200, color_system=None))
    pixels, sfm = out.getvalue().split("track sfm")
    assert "mAA" in sfm and "registered" in sfm and "P@3px" not in sfm
    assert "mAA" not in pixels and "P@3px" in pixels
    assert f"{0.25 + SFM_COLUMNS.index('sfm_maa') / 100:.3f}" in sfm


def test_board_cells_give_the_reason_by_the_rows_own_minimums(tmp_path):
    from stbench.evaluate.clusters import MIN_CLUSTERS, MIN_ITEMS
    from stbench.evaluate.leaderboard import SFM_COLUMNS, cluster_minimums
    from stbench.evaluate.tables import estimate_lines

    assert cluster_minimums("images=camera-days/14d pairs=scene min=40/12") == (40, 12)
    assert cluster_minimums("images=camera-days/14d pairs=scene") == (MIN_ITEMS, MIN_CLUSTERS)
    assert cluster_minimums("sfm=scene") == (MIN_CLUSTERS, MIN_CLUSTERS)  # rows before min=
    assert cluster_minimums(None) == (MIN_ITEMS, MIN_CLUSTERS)
    # an SfM run over 12 scenes: items are scenes, 12 >= its minimum of 10, so a missing
    # interval is not "n too small" (the default minimum of 30 items would say it is)
    assert estimate_lines(0.3, None, None, 12, 12) != ["0.300"]
    assert estimate_lines(0.3, None, None, 12, 12, minimums=(10, 10)) == ["0.300"]
    summary = fake_summary("sift", 1)
    summary["track"] = "sfm"
    summary["clusters"] = {"unit": "scene", "min_clusters": 10}
    summary["metrics"] = {
        name: {"value": 0.5, "ci_low": None, "ci_high": None, "n": 4, "n_clusters": 4,
               "note": "n too small"}
        for name in SFM_COLUMNS
    }  # fmt: skip
    row = row_from_summary(summary)
    assert row["clusters"] == "sfm=scene min=10/10"
    assert row_from_summary(fake_summary("a", 0))["clusters"].endswith("pairs=scene")
    evaluated = fake_summary("a", 0)
    evaluated["clusters"].update(min_items=MIN_ITEMS, min_clusters=MIN_CLUSTERS)
    assert row_from_summary(evaluated)["clusters"].endswith(f"min={MIN_ITEMS}/{MIN_CLUSTERS}")
