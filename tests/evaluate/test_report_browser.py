"""The report page in a real headless browser (skipped when none is on PATH).

Chromium-family browsers dump the rendered DOM (``--dump-dom``) and log the page's console to
stderr (``--enable-logging=stderr``, lines with ``CONSOLE``): the DOM must hold the table, the
method names and every image, and the console must stay silent (a control page that logs an
error shows the check can see one). Image decoding itself is checked in test_report.py. Firefox
(no DOM dump) must render a screenshot. Checked with Debian's chromium 155 package.
"""

import os
import re
import shutil
import subprocess

import pytest

from stbench.evaluate.config import EvaluateConfig
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
        run = evaluate(
            EvaluateConfig(name, n_bootstrap=20),
            manifest,
            out=root / "runs" / name,
            write_plots=False,
        )
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
    assert not _console(result.stderr), _console(result.stderr)
    # the check sees console errors at all: a page that logs one is caught
    control = tmp_path / "control.html"
    control.write_text("<html><body><script>console.error('control')</script></body></html>")
    assert any("control" in line for line in _console(_chromium(path, control, tmp_path).stderr))


def _console(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if re.search(r"CONSOLE|Uncaught", line)]
