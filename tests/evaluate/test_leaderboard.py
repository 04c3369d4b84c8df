import pandas as pd
import pytest
from typer.testing import CliRunner

from stbench.cli import build_app
from stbench.errors import DataError
from stbench.evaluate.compare import compare_runs, compare_with_board
from stbench.evaluate.leaderboard import COLUMNS, leaderboard_add, read_board
from stbench.evaluate.run import evaluate
from tests.evaluate.worlds import make_plane_world


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("board")
    manifest = make_plane_world(root, n_images=3)
    kwargs = {"n_bootstrap": 100, "write_plots": False}
    sift = evaluate(manifest, "sift", out=root / "sift", **kwargs)
    orb = evaluate(manifest, "orb", out=root / "orb", **kwargs)
    return root, manifest, sift, orb


def test_add_replace_and_schema(runs, tmp_path):
    _, _, sift, orb = runs
    board = tmp_path / "board.csv"
    leaderboard_add(sift, board)
    leaderboard_add(orb, board)
    leaderboard_add(sift, board)  # replaces its own row
    frame = read_board(board)
    assert list(frame.columns) == list(COLUMNS)
    assert sorted(frame["method"]) == ["orb", "sift"]
    assert (frame["manifest"] == "plane@abc123").all() and (frame["n_pairs"] == 3).all()
    assert frame["precision_3px_ci_low"].notna().all()
    broken = pd.read_csv(board).drop(columns=["date"])
    broken.to_csv(tmp_path / "missing.csv", index=False)
    with pytest.raises(DataError, match="missing column"):
        read_board(tmp_path / "missing.csv")
    text = pd.read_csv(board, dtype=str)
    text.loc[0, "precision_3px"] = "high"
    text.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataError, match="line 2: column 'precision_3px' is not a number"):
        read_board(tmp_path / "bad.csv")
    with pytest.raises(DataError, match=r"summary\.json is missing"):
        leaderboard_add(tmp_path, board)


def test_compare_runs_and_board(runs, tmp_path):
    _, _, sift, orb = runs
    table = compare_runs(sift, orb, n_bootstrap=200)
    row = table.set_index("metric").loc["num_matches"]
    assert row["delta"] == pytest.approx(row["b"] - row["a"])
    assert row["n_paired"] == 3 and 0 < row["p_value"] <= 1
    assert row["delta_ci_low"] <= row["delta"] <= row["delta_ci_high"]
    same = compare_runs(sift, sift, n_bootstrap=50).set_index("metric").loc["precision_3px"]
    assert same["delta"] == 0 and same["p_value"] == 1.0
    board = tmp_path / "board.csv"
    leaderboard_add(sift, board)
    against = compare_with_board(orb, board).set_index("metric")
    assert against.loc["num_matches", "a"] == pytest.approx(
        read_board(board)["num_matches"].iloc[0]
    )
    with pytest.raises(DataError, match="no row"):
        compare_with_board(sift, board)  # the board only holds sift itself


def test_cli_evaluate_and_leaderboard(runs, tmp_path):
    _, manifest, sift, orb = runs
    app = build_app()
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--method",
            "orb",
            "--manifest",
            str(manifest),
            "--out",
            str(tmp_path / "r"),
            "-o",
            "max_keypoints=300",
            "--bootstrap",
            "20",
            "--no-plots",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "precision_3px" in result.output
    board = tmp_path / "b.csv"
    for run in (tmp_path / "r", sift):
        assert (
            runner.invoke(app, ["leaderboard", "add", str(run), "--board", str(board)]).exit_code
            == 0
        )
    shown = runner.invoke(
        app, ["leaderboard", "show", "--board", str(board)], env={"COLUMNS": "80"}
    )
    assert shown.exit_code == 0 and "sift" in shown.output
    # Both rows share manifest and split: they are in the title, not in columns; short labels.
    assert "split test" in shown.output and "P@3px" in shown.output
    assert "…" not in shown.output  # nothing cut off at 80 columns
    compared = runner.invoke(
        app, ["leaderboard", "compare", str(sift), str(orb), "--bootstrap", "50"]
    )
    assert compared.exit_code == 0 and "num_matches" in compared.output
    out = runner.invoke(app, ["new-method", "mine", "--out", str(tmp_path)])
    assert out.exit_code == 0 and (tmp_path / "mine.py").is_file()


def test_option_parsing_and_bad_split(runs):
    from stbench.cli.evaluate import parse_options
    from stbench.errors import ConfigError

    assert parse_options(["a=1", "b=false", "c=text", "d=[1, 2]"]) == {
        "a": 1, "b": False, "c": "text", "d": [1, 2]
    }  # fmt: skip
    with pytest.raises(ConfigError, match="key=value"):
        parse_options(["novalue"])
    _, manifest, _, _ = runs
    with pytest.raises(ConfigError, match="no split 'val'"):
        evaluate(manifest, "sift", split="val")
    with pytest.raises(ConfigError, match="unknown split"):
        evaluate(manifest, "sift", split="dev")
