"""``stbench report`` and the figures: a small world run through the whole report."""

import base64
import io
import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from stbench.cli import build_app
from stbench.errors import DataError
from stbench.evaluate import figures
from stbench.evaluate.chance import chance_accuracy, chance_mse
from stbench.evaluate.config import EvaluateConfig
from stbench.evaluate.leaderboard import leaderboard_add, load_summary
from stbench.evaluate.run import evaluate
from stbench.report.html import build_report
from stbench.report.locate import locate_runs
from stbench.report.matches import (
    CORRECT,
    UNVERIFIABLE,
    WRONG,
    PictureSource,
    choose_pairs,
    pair_pictures,
)
from tests.evaluate.worlds import make_plane_world, make_webcam_world

DATA_URI = re.compile(r"src='data:image/(png|jpeg);base64,([A-Za-z0-9+/=]+)'")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A board of two matchers on the plane world and two time predictors on the webcam world."""
    root = tmp_path_factory.mktemp("report")
    plane = make_plane_world(root, n_images=3)
    webcam = make_webcam_world(root / "w")
    board = root / "board.csv"
    runs = {}
    for name, manifest in (("sift", plane), ("orb", plane), ("colorstats", webcam)):
        runs[name] = evaluate(
            EvaluateConfig(name, n_bootstrap=20), manifest, out=root / "runs" / name
        )
        leaderboard_add(runs[name], board)
    return root, board, runs, {"plane": plane, "webcam": webcam}


@pytest.fixture(scope="module")
def page(world):
    root, board, _, manifests = world
    out = build_report(
        board,
        root / "out" / "report.html",
        runs=[root / "runs"],
        manifests=list(manifests.values()),
    )
    return out, out.read_text()


def _images(text):
    return [
        (kind, Image.open(io.BytesIO(base64.b64decode(data))))
        for kind, data in DATA_URI.findall(text)
    ]


def test_report_is_one_self_contained_page(page, world):
    out, text = page
    assert out.is_file() and not list(out.parent.glob(".*part"))
    assert "http://" not in text and "https://" not in text
    assert "<script" not in text and "<link" not in text
    # every src is an embedded image
    assert len(re.findall(r"src=", text)) == len(DATA_URI.findall(text)) > 0
    for name in ("sift", "orb", "colorstats"):
        assert f"<th>{name}</th>" in text
    plane_hash = json.loads((world[3]["plane"] / "manifest.json").read_text())["content_hash"]
    assert "<table class='board'>" in text and f"plane@{plane_hash[:8]}" in text
    images = _images(text)
    for kind, image in images:
        image.load()  # decodes
        assert image.format == kind.upper() and image.size[0] > 100
    captions = re.findall(r"<figcaption>([^<]*)</figcaption>", text)
    assert any(c.startswith("Mean matching accuracy") for c in captions)
    assert any(c.startswith("Left: accuracy per span") for c in captions)
    assert sum("confusion" in c for c in captions) == 4  # colorstats: 4 spans
    pictures = [c for c in captions if ": pair " in c]
    assert {c.split(":")[0] for c in pictures} == {"sift", "orb"}
    assert len(pictures) == 4  # 2 pairs per matcher
    assert sum(kind == "jpeg" for kind, _ in images) == 4


def test_table_shows_intervals_or_why_not(page, world):
    _, text = page
    summary = load_summary(world[2]["sift"])
    entry = summary["metrics"]["precision_3px"]
    cell = f"{entry['value']:.3f}"
    assert cell in text
    # 3 pairs: below the minimum n, so the reason is shown instead of an interval
    assert "n too small" in text and f"n={entry['n']}" in text


def test_match_labels_agree_with_the_harness(world):
    _, _, runs, manifests = world
    per_pair = pd.read_parquet(runs["sift"] / "per_pair.parquet").set_index("pair_id")
    pictures = pair_pictures(runs["sift"], PictureSource(manifests["plane"]), list(per_pair.index))
    assert len(pictures) == len(per_pair) == 3
    for picture in pictures:
        row = per_pair.loc[picture.pair_id]
        labels = picture.labels
        assert len(labels) == row["n_matches"] == len(picture.points0)
        assert np.sum(labels != UNVERIFIABLE) == row["n_verifiable"]
        assert np.sum(labels == CORRECT) == row["n_correct_3px"]
        assert set(labels) <= {CORRECT, WRONG, UNVERIFIABLE}
        assert picture.image0.ndim == 3 and picture.image1.ndim == 3


def test_pictures_of_several_runs_decode_each_image_once(world, monkeypatch):
    from stbench.evaluate import export

    _, _, runs, manifests = world
    per_pair = pd.read_parquet(runs["sift"] / "per_pair.parquet").set_index("pair_id")
    decoded = []
    real = export.ImageLoader.image

    def counting(self, image_id):
        if image_id not in self._cache:
            decoded.append(image_id)
        return real(self, image_id)

    monkeypatch.setattr(export.ImageLoader, "image", counting)
    source = PictureSource(manifests["plane"])
    first = pair_pictures(runs["sift"], source, list(per_pair.index))
    second = pair_pictures(runs["sift"], source, list(per_pair.index))  # another run, same pairs
    assert len(first) == len(second) == 3
    assert sorted(decoded) == sorted(set(decoded))  # no image decoded twice


def test_choose_pairs_shared_and_spread_over_bins():
    a = pd.DataFrame(
        {
            "pair_id": ["p1", "p2", "p3", "p4"],
            "status": ["ok", "ok", "ok", "failed"],
            "overlap_bin": ["0.1-0.3", "0.1-0.3", "0.5-0.7", "0.5-0.7"],
        }
    )
    b = a.assign(status=["ok", "failed", "ok", "ok"])
    assert choose_pairs([a], 2) == ["p1", "p3"]
    assert choose_pairs([a, b], 5) == ["p1", "p3"]
    assert choose_pairs([a, b.assign(status="failed")], 2) == []
    # pairs without matches (in any run) or without depth come last
    c = a.assign(n_matches=[0, 5, 5, 5], has_depth=[True, True, False, True])
    assert choose_pairs([a, c], 3) == ["p2", "p3", "p1"]
    assert choose_pairs([c, a], 1) == ["p2"]


def test_chance_levels():
    assert chance_mse("season") == pytest.approx(1.5)  # distances 0, 1, 2, 1
    month = np.minimum(np.arange(12), 12 - np.arange(12)) ** 2
    assert chance_mse("month") == pytest.approx(month.mean())
    assert chance_accuracy("season", np.array([0, 0, 0, 1, np.nan])) == (0.75, "majority class")
    assert chance_accuracy("hour") == (pytest.approx(1 / 24), "1/classes")
    with pytest.raises(ValueError):
        chance_mse("year")


def test_mse_bars_are_normalised_and_confusion_has_counts():
    entries = {
        "time_mse_season": {"value": 0.75, "ci_low": 0.5, "ci_high": 1.0},
        "time_mse_week": {"value": 113.0, "ci_low": None, "ci_high": None},
    }
    figure = figures.new_figure(6, 3)
    axis = figure.add_subplot()
    figures.draw_mse(axis, [("m", entries)], ["season", "week"])
    heights = [patch.get_height() for patch in axis.patches]
    assert heights == pytest.approx([0.75 / 1.5, 113.0 / chance_mse("week")])
    matrix = np.array([[3, 1, 0, 0], [0, 2, 0, 0], [0, 0, 0, 0], [5, 0, 0, 1]])
    figure = figures.confusion_figure(matrix, "season", "t")
    axis = figure.axes[0]
    assert sorted(t.get_text() for t in axis.texts) == ["1", "1", "2", "3", "5"]
    assert len(figure.axes) == 2  # the matrix and its colour bar
    assert png_ok(figures.png_bytes(figure))


def png_ok(data: bytes) -> bool:
    return Image.open(io.BytesIO(data)).format == "PNG"


def test_run_plots_titled_without_global_matplotlib_state(world):
    _, _, runs, _ = world
    for name in ("sift", "colorstats"):
        for path in (runs[name] / "plots").glob("*.png"):
            assert png_ok(path.read_bytes())
    assert {p.name for p in (runs["colorstats"] / "plots").iterdir()} == {
        "temporal.png",
        *(f"confusion_{s}.png" for s in ("season", "month", "week", "hour")),
    }
    code = (
        "import sys, matplotlib\n"
        "import stbench.evaluate.figures, stbench.report.html, stbench.evaluate.report\n"
        "backend = matplotlib.get_backend()\n"
        "from stbench.evaluate.leaderboard import load_summary\n"
        "from stbench.evaluate.report import write_plots\n"
        f"write_plots(load_summary({str(runs['sift'])!r}), __import__('pathlib').Path(sys.argv[1]))\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
        "assert matplotlib.get_backend() == backend, 'backend changed'\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(runs["sift"].parent / "plots_check")],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "MPLBACKEND": "svg"},
    )
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr
    code = "import sys, stbench.report.html, stbench.cli.report; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_rows_without_runs_still_reported(world, tmp_path, monkeypatch):
    _, board, _, _ = world
    monkeypatch.setenv("STBENCH_HOME", str(tmp_path / "home"))
    lonely = tmp_path / "board.csv"
    lonely.write_bytes(board.read_bytes())
    out = build_report(lonely)
    assert out == tmp_path / "board.html"
    text = out.read_text()
    assert text.count("run not found (table values only)") == 3
    assert "confusion" not in text and ": pair " not in text
    assert "Mean matching accuracy" in text and "(no run located: 1 / classes)" in text


def test_runs_of_another_config_are_not_used(world, tmp_path):
    root, board, _, _ = world
    from stbench.evaluate.leaderboard import read_board

    frame = read_board(board)
    found = locate_runs(frame, board, [root / "runs"])
    assert sorted(p.name for p in found.values()) == ["colorstats", "orb", "sift"]
    frame.loc[frame["method"] == "sift", "config_digest"] = "000000000000"
    found = locate_runs(frame, tmp_path / "elsewhere.csv", [root / "runs"])
    assert [found[i] for i in frame.index[frame["method"] == "sift"]] == [None]


def test_bad_input_is_a_clear_error_and_keeps_the_old_page(world, tmp_path, monkeypatch):
    root, board, _, _ = world
    with pytest.raises(DataError, match="no leaderboard"):
        build_report(tmp_path / "missing.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text(board.read_text().splitlines()[0] + "\n")
    with pytest.raises(DataError, match="has no rows"):
        build_report(empty)
    with pytest.raises(DataError, match="--runs"):
        build_report(board, tmp_path / "r.html", runs=[tmp_path / "nope"])
    out = tmp_path / "old.html"
    out.write_text("old page")

    def boom(*args, **kwargs):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(figures, "mma_figure", boom)
    with pytest.raises(RuntimeError):
        build_report(board, out, runs=[root / "runs"])
    assert out.read_text() == "old page"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.csv", "old.html"]


def test_cli_report(world, tmp_path):
    root, board, _, manifests = world
    out = tmp_path / "cli.html"
    result = CliRunner().invoke(
        build_app(),
        [
            "report",
            "--board",
            str(board),
            "--out",
            str(out),
            "--runs",
            str(root / "runs"),
            "--manifest",
            str(manifests["plane"]),
            "--pairs",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    captions = re.findall(r"<figcaption>([^<]*)</figcaption>", out.read_text())
    assert sum(": pair " in c for c in captions) == 2  # one pair per matcher


def test_damaged_run_is_a_note_not_a_crash(world, tmp_path):
    import shutil

    root, board, _, manifests = world
    runs = tmp_path / "runs"
    shutil.copytree(root / "runs", runs)
    (runs / "orb" / "per_pair.parquet").write_bytes(b"not parquet")
    (runs / "colorstats" / "summary.json").write_text("{")
    copy = tmp_path / "board.csv"  # beside the damaged runs: the originals are not found
    copy.write_bytes(board.read_bytes())
    out = build_report(
        copy, tmp_path / "r.html", runs=[runs], manifests=[manifests["plane"]], pairs_per_method=1
    )
    text = out.read_text()
    assert "orb: no match pictures" in text and "cannot be read" in text
    captions = re.findall(r"<figcaption>([^<]*)</figcaption>", text)
    assert [c.split(":")[0] for c in captions if ": pair " in c] == ["sift"]
    assert "colorstats: run not found" in text  # its summary is unreadable: not used
