"""The report page in a real headless browser (skipped when none is installed).

Chromium-family browsers dump the rendered DOM (``--dump-dom``) and log the page's console to
stderr (``--enable-logging=stderr``); the test checks the table and every image are in the DOM,
every image decoded (an ``<img>`` whose data failed to decode has ``naturalWidth`` 0 is not
visible in the DOM dump, so the console is checked for errors instead) and nothing was logged
from the page's console. Firefox has no DOM dump: it renders a screenshot, which must exist.
"""

import os
import re
import shutil
import subprocess

import pytest

from stbench.evaluate.leaderboard import leaderboard_add
from stbench.evaluate.run import evaluate
from stbench.report.html import build_report
from tests.evaluate.worlds import make_plane_world, make_webcam_world

CHROMIUM_NAMES = (
    "chromium",
    "chromium-browser",
    "chromium-headless",
    "chrome-headless-shell",
    "headless_shell",
    "google-chrome",
    "google-chrome-stable",
)


def _browser() -> tuple[str, str] | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return "chromium", path
    path = shutil.which("firefox")
    return ("firefox", path) if path else None


BROWSER = _browser()
pytestmark = pytest.mark.skipif(
    BROWSER is None,
    reason="no headless browser on PATH (tried " + ", ".join(CHROMIUM_NAMES) + ", firefox); "
    "install Debian's chromium package to run this test",
)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    plane = make_plane_world(root, n_images=3)
    webcam = make_webcam_world(root / "w")
    board = root / "board.csv"
    for name, manifest in (("sift", plane), ("colorstats", webcam)):
        run = evaluate(manifest, name, out=root / "runs" / name, n_bootstrap=20, write_plots=False)
        leaderboard_add(run, board)
    return build_report(board, root / "report.html", manifests=[plane, webcam])


def _chromium(path: str, report, tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            path,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            report.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
    )


def test_report_renders_in_a_headless_browser(report, tmp_path):
    kind, path = BROWSER
    source = report.read_text()
    if kind == "firefox":
        shot = tmp_path / "shot.png"
        result = subprocess.run(
            [path, "--headless", "--screenshot", str(shot), report.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "HOME": str(tmp_path)},
        )
        assert result.returncode == 0, result.stderr
        assert shot.is_file() and shot.stat().st_size > 1000
        return
    result = _chromium(path, report, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert '<table class="board">' in dom or "<table class='board'>" in dom
    for name in ("sift", "colorstats"):
        assert f"<th>{name}</th>" in dom
    assert dom.count("<img") == source.count("<img") > 0
    console = [line for line in result.stderr.splitlines() if re.search(r"CONSOLE|Uncaught", line)]
    assert not console, console
