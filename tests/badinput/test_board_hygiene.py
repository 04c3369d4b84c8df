"""Board hygiene (issue 12, item 8): formula names, bad numbers, empty boards."""

import json

import pytest

from stbench.errors import DataError
from stbench.evaluate.leaderboard import board_text, leaderboard_add, read_board, row_from_summary
from tests.evaluate.test_tables import fake_summary


def _run(tmp_path, name="run", **changes):
    summary = fake_summary("sift", 0)
    summary.update(changes)
    run = tmp_path / name
    run.mkdir()
    (run / "summary.json").write_text(json.dumps(summary))
    return run, summary


@pytest.mark.parametrize("name", ["=cmd|' /C calc'!A0", "+1", "-2", "@SUM(A1)", "a\nb"])
def test_formula_or_multiline_method_name_refused(tmp_path, name):
    run, _ = _run(tmp_path, method=name)
    board = tmp_path / "board.csv"
    with pytest.raises(DataError, match=r"method .*(formula|line break)"):
        leaderboard_add(run, board)
    assert not board.exists()  # nothing half-written


def test_formula_label_refused(tmp_path):
    run, _ = _run(tmp_path)
    with pytest.raises(DataError, match=r"label .*formula"):
        leaderboard_add(run, tmp_path / "board.csv", label="=HYPERLINK()")


@pytest.mark.parametrize("value", [float("inf"), -5.0, float("nan"), 1.5])
def test_non_finite_or_out_of_range_metric_refused(tmp_path, value):
    summary = fake_summary("sift", 0)
    summary["metrics"]["precision_3px"]["value"] = value
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps(summary))  # writes Infinity / NaN tokens
    with pytest.raises(DataError, match=r"precision_3px = .* not a finite number in \[0, 1\]"):
        leaderboard_add(run, tmp_path / "board.csv")


@pytest.mark.parametrize("cell", ["inf", "-5", "nan", "NaN"])
def test_board_with_bad_metric_cell_refused(tmp_path, cell):
    board = tmp_path / "board.csv"
    board.write_text(board_text([row_from_summary(fake_summary("sift", 0))]))
    header, row = board.read_text().splitlines()
    cells = row.split(",")
    cells[header.split(",").index("time_mse_month")] = cell
    board.write_text(header + "\n" + ",".join(cells) + "\n")
    with pytest.raises(DataError, match=r"line 2: (time_mse_month = .* not a finite|column)"):
        read_board(board)


def test_board_with_formula_cell_refused(tmp_path):
    board = tmp_path / "board.csv"
    board.write_text(board_text([row_from_summary(fake_summary("sift", 0))]))
    text = board.read_text().replace("\nsift,", '\n"=1+1",', 1)
    board.write_text(text)
    with pytest.raises(DataError, match="line 2: method '=1\\+1' starts with '='"):
        read_board(board)


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_empty_board_is_a_clear_error(tmp_path, content):
    board = tmp_path / "board.csv"
    board.write_bytes(content)
    with pytest.raises(DataError, match="is empty"):
        read_board(board)
    run, _ = _run(tmp_path)
    with pytest.raises(DataError, match="is empty"):
        leaderboard_add(run, board)
    assert board.read_bytes() == content


def test_binary_board_is_a_clear_error(tmp_path):
    board = tmp_path / "board.csv"
    board.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DataError, match="not a UTF-8"):
        read_board(board)
