"""Progress by callback: library stages report to the active reporter, never to the CLI."""

from __future__ import annotations

import logging

import pytest

from stbench import progress
from stbench.fetch.download import byte_callback


class Recorder(progress.Reporter):
    """Records every report, to check what a stage sends."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def progress(self, transient: bool = False, unit: progress.Unit = "items") -> progress.Progress:
        events = self.events

        class Group(progress.Progress):
            def task(self, name: str, total: int | None = None) -> progress.Advance:
                events.append(("task", name, total))

                def advance(steps=1, *, status=None, completed=None, total=None) -> None:
                    events.append(("advance", name, steps, completed, total))

                return advance

        return Group()

    def message(self, text: str) -> None:
        self.events.append(("message", text))

    def heading(self, title: str) -> None:
        self.events.append(("heading", title))


@pytest.fixture
def recorder():
    installed = Recorder()
    previous = progress.set_reporter(installed)
    yield installed
    progress.set_reporter(previous)


def test_default_reporter_logs_plain_text_and_draws_nothing(caplog, capsys):
    base = progress.Reporter()
    with caplog.at_level(logging.INFO, logger="stbench"):
        base.message("[yellow]fallback[/] taken")
        base.heading("[bold]stage")
        with base.progress() as group:
            advance = group.task("work", total=3)
            advance()
            advance(2, status="x", completed=3, total=3)
            group.print("[green]note")
    assert [r.getMessage() for r in caplog.records] == ["fallback taken", "stage", "note"]
    assert capsys.readouterr() == ("", "")


def test_set_reporter_returns_previous_and_checks_type():
    first = progress.reporter()
    mine = progress.Reporter()
    assert progress.set_reporter(mine) is first
    assert progress.reporter() is mine
    assert progress.set_reporter(first) is mine
    with pytest.raises(TypeError, match=r"stbench\.progress\.Reporter"):
        progress.set_reporter(object())  # type: ignore[arg-type]


def test_byte_callback_sets_completed_bytes_and_late_total(recorder):
    callback = byte_callback(recorder.progress(unit="bytes"), "get a.zip")
    callback(10, None)
    callback(25, 100)
    assert recorder.events == [
        ("task", "get a.zip", None),
        ("advance", "get a.zip", 0, 10, None),
        ("advance", "get a.zip", 0, 25, 100),
    ]


def test_webcam_index_reports_one_step_per_camera(recorder, tmp_path):
    from stbench.webcams.config import WebcamConfig
    from stbench.webcams.index import index_webcams

    (tmp_path / "root").mkdir()
    index_webcams(WebcamConfig(), tmp_path / "root", tmp_path / "out", progress=True, cameras=[])
    assert recorder.events == [("task", "index webcams", 0)]


def test_rich_reporter_draws_bars_and_messages_on_stderr(capsys):
    from stbench.cli.common import RichReporter

    rich = RichReporter()
    rich.message("[yellow]hello[/]")
    with rich.progress(unit="bytes") as group:
        group.task("get", total=None)(0, completed=5, total=10)
        assert group.bar.tasks[0].completed == 5 and group.bar.tasks[0].total == 10
    with rich.progress() as group:
        advance = group.task("items", total=4)
        advance(status="a b")
        advance(2)
        task = group.bar.tasks[0]
        assert (task.completed, task.fields["status"]) == (3, "a b")
    out, err = capsys.readouterr()
    assert out == "" and "hello" in err and "[yellow]" not in err


def test_cli_installs_the_rich_reporter():
    from stbench.cli import build_app
    from stbench.cli.common import RichReporter

    previous = progress.reporter()
    try:
        build_app()
        assert isinstance(progress.reporter(), RichReporter)
    finally:
        progress.set_reporter(previous)
