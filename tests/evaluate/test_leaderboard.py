import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from stbench.cli import build_app
from stbench.errors import DataError
from stbench.evaluate.compare import compare_runs, compare_with_board
from stbench.evaluate.config import EvaluateConfig
from stbench.evaluate.leaderboard import COLUMNS, leaderboard_add, read_board
from stbench.evaluate.run import evaluate
from tests.evaluate.worlds import make_plane_world


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("board")
    manifest = make_plane_world(root, n_images=3)
    sift = evaluate(
        EvaluateConfig("sift", n_bootstrap=100), manifest, out=root / "sift", write_plots=False
    )
    orb = evaluate(
        EvaluateConfig("orb", n_bootstrap=100), manifest, out=root / "orb", write_plots=False
    )
    sift_small = evaluate(
        EvaluateConfig("sift", method_options={"max_keypoints": 300}, n_bootstrap=100),
        manifest,
        out=root / "sift_small",
        write_plots=False,
    )
    return root, manifest, sift, orb, sift_small


def test_add_refuses_same_key_keeps_configs_apart(runs, tmp_path):
    _, _, sift, orb, sift_small = runs
    board = tmp_path / "board.csv"
    leaderboard_add(sift, board)
    leaderboard_add(orb, board)
    leaderboard_add(sift_small, board)  # same method, another config: a second row
    frame = read_board(board)
    assert list(frame.columns) == list(COLUMNS)
    assert sorted(frame["method"]) == ["orb", "sift", "sift"]
    assert frame["config_digest"].nunique() == 3 and (frame["track"] == "pixels").all()
    assert (frame["manifest"].str.fullmatch("plane@[0-9a-f]{64}")).all() and (
        frame["n_pairs"] == 3
    ).all()
    # 3 pairs: below the minimum n, so no interval (and the counts say why)
    assert frame["precision_3px_ci_low"].isna().all() and (frame["precision_3px_n"] == 3).all()
    with pytest.raises(DataError, match=r"already has a row.*--replace"):
        leaderboard_add(sift, board)
    leaderboard_add(sift, board, label="again")  # a label is another key
    leaderboard_add(sift, board, replace=True)
    assert len(read_board(board)) == 4


def test_add_leaves_other_rows_byte_identical(runs, tmp_path):
    _, _, sift, orb, sift_small = runs
    board = tmp_path / "board.csv"
    leaderboard_add(sift, board)
    # a hand-written integer (1, not 1.0) and an unusual float survive every later add
    lines = board.read_text().splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    cells = lines[1].rstrip("\n").split(",")
    cells[header.index("n_pairs")] = "3"
    cells[header.index("ms_per_pair")] = "1"
    cells[header.index("num_matches")] = "12.50000"
    edited = ",".join(cells) + "\n"
    board.write_text(lines[0] + edited)
    leaderboard_add(orb, board)
    leaderboard_add(sift_small, board)
    leaderboard_add(orb, board, replace=True)
    after = board.read_text().splitlines(keepends=True)
    assert edited in after and len(after) == 4


def test_board_errors(runs, tmp_path):
    _, _, sift, _, _ = runs
    board = tmp_path / "board.csv"
    leaderboard_add(sift, board)
    broken = pd.read_csv(board, dtype=str).drop(columns=["date"])
    broken.to_csv(tmp_path / "missing.csv", index=False)
    with pytest.raises(DataError, match="missing column"):
        read_board(tmp_path / "missing.csv")
    text = pd.read_csv(board, dtype=str, keep_default_na=False)
    text.loc[0, "precision_3px"] = "high"
    text.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataError, match="line 2: column 'precision_3px' is not a number"):
        read_board(tmp_path / "bad.csv")
    with pytest.raises(DataError, match=r"summary\.json is missing"):
        leaderboard_add(tmp_path, board)
    with pytest.raises(DataError, match="no leaderboard at"):
        read_board(tmp_path / "absent.csv")
    legacy = pd.DataFrame({"method": ["sift"], "manifest": ["m@1"], "precision_3px": [0.5]})
    legacy.to_csv(tmp_path / "legacy.csv", index=False)
    with pytest.raises(DataError, match=r"older stbench.*Rebuild"):
        read_board(tmp_path / "legacy.csv")
    old_run = tmp_path / "old_run"
    old_run.mkdir()
    summary = json.loads((sift / "summary.json").read_text())
    del summary["clusters"]
    (old_run / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(DataError, match=r"older stbench.*re-run"):
        leaderboard_add(old_run, board)


def test_default_board_in_home(runs, tmp_path, monkeypatch):
    _, _, sift, _, _ = runs
    monkeypatch.setenv("STBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    path = leaderboard_add(sift)
    assert path == tmp_path / "home" / "leaderboard.csv" and path.is_file()
    assert not (tmp_path / "benchmarks").exists()
    runner = CliRunner()
    shown = runner.invoke(build_app(), ["leaderboard", "show"], env={"COLUMNS": "80"})
    assert shown.exit_code == 0 and "sift" in shown.output
    missing = runner.invoke(build_app(), ["leaderboard", "show", "--board", "nope.csv"])
    assert missing.exit_code != 0 and "no leaderboard at nope.csv" in str(missing.exception)


def test_compare_runs_on_shared_items(runs, tmp_path):
    _, _, sift, orb, _ = runs
    table = compare_runs(sift, orb, n_bootstrap=200)
    row = table.set_index("metric").loc["num_matches"]
    assert row["delta"] == pytest.approx(row["b"] - row["a"])
    assert row["n_paired"] == 3 and row["n_clusters"] == 1 and 0 < row["p_value"] <= 1
    assert row["note"] == "n too small" and pd.isna(row["delta_ci_low"])
    same = compare_runs(sift, sift, n_bootstrap=50).set_index("metric").loc["precision_3px"]
    assert same["delta"] == 0 and same["p_value"] == 1.0
    # A and B come from the shared items only: drop a pair from B's results
    partial = tmp_path / "partial"
    partial.mkdir()
    for name in ("summary.json", "per_image.parquet"):
        (partial / name).write_bytes((orb / name).read_bytes())
    per_pair = pd.read_parquet(orb / "per_pair.parquet")
    per_pair.iloc[1:].to_parquet(partial / "per_pair.parquet")
    a_side = pd.read_parquet(sift / "per_pair.parquet").iloc[1:]
    shared = compare_runs(sift, partial, n_bootstrap=50).set_index("metric").loc["num_matches"]
    assert shared["n_paired"] == 2
    assert shared["a"] == pytest.approx(a_side["n_matches"].mean())
    assert shared["b"] == pytest.approx(per_pair.iloc[1:]["n_matches"].mean())


def test_compare_with_board(runs, tmp_path, monkeypatch):
    _, _, sift, orb, _ = runs
    board = tmp_path / "board.csv"
    leaderboard_add(sift, board)
    # the board row's run is not where the board looks: values only, and a note saying why
    monkeypatch.setenv("STBENCH_HOME", str(tmp_path / "home"))
    against = compare_with_board(orb, board).set_index("metric")
    assert against.loc["num_matches", "a"] == pytest.approx(
        read_board(board)["num_matches"].iloc[0]
    )
    assert against["p_value"].isna().all()
    assert "No paired test" in compare_with_board(orb, board).attrs["note"]
    # with the board row's run: a real paired test
    paired = compare_with_board(orb, board, board_run=sift, n_bootstrap=50).set_index("metric")
    assert paired.loc["num_matches", "n_paired"] == 3
    assert paired["p_value"].notna().any()
    with pytest.raises(DataError, match="no row"):
        compare_with_board(sift, board)  # the board only holds sift itself


def test_cli_evaluate_and_leaderboard(runs, tmp_path):
    _, manifest, sift, orb, _ = runs
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
            "--pair-clusters",
            "item",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "precision_3px" in result.output
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["clusters"]["pairs"] == "item"
    assert summary["metrics"]["num_matches"]["n_clusters"] == 3
    board = tmp_path / "b.csv"
    for run in (tmp_path / "r", sift):
        added = runner.invoke(app, ["leaderboard", "add", str(run), "--board", str(board)])
        assert added.exit_code == 0, added.output
    again = runner.invoke(app, ["leaderboard", "add", str(sift), "--board", str(board)])
    assert again.exit_code != 0 and "--replace" in str(again.exception)
    shown = runner.invoke(
        app, ["leaderboard", "show", "--board", str(board)], env={"COLUMNS": "80"}
    )
    assert shown.exit_code == 0 and "sift" in shown.output
    assert "split test" in shown.output and "P@3px" in shown.output
    assert "track pixels" in shown.output and "n too" in shown.output
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
    _, manifest, _, _, _ = runs
    with pytest.raises(ConfigError, match="no split 'val'"):
        evaluate(EvaluateConfig("sift", split="val"), manifest)
    with pytest.raises(ConfigError, match="unknown split"):
        evaluate(EvaluateConfig("sift", split="dev"), manifest)
