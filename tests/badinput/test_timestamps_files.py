"""Bad input: paths that are not image files, for the resolver and ``stbench timestamp``."""

import json
import os
import subprocess
import sys
import threading

import pytest

from stbench.timestamps import resolve_timestamp

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


def run_cli(*paths, timeout=60):
    command = [sys.executable, "-m", "stbench", "timestamp", "--json", *map(str, paths)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def test_resolver_never_opens_a_fifo_or_a_directory(tmp_path):
    fifo = tmp_path / "frame.jpg"
    os.mkfifo(fifo)
    results = []
    worker = threading.Thread(target=lambda: results.append(resolve_timestamp(fifo)), daemon=True)
    worker.start()
    worker.join(30)
    if worker.is_alive():  # unblock the open() so the test process can end
        with open(fifo, "wb"):
            pass
        pytest.fail("resolve_timestamp blocked on a FIFO")
    assert results[0].trust_flags == ["not_a_regular_file"] and results[0].timestamp_utc is None
    assert resolve_timestamp(tmp_path).trust_flags == ["not_a_regular_file"]
    assert resolve_timestamp(tmp_path / "missing.jpg").trust_flags == ["unreadable_file"]


def test_cli_refuses_a_fifo_without_hanging(tmp_path):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    run = run_cli(fifo, empty)
    assert run.returncode == 1
    assert f"error: {fifo}: is a FIFO (named pipe)" in run.stderr
    assert "1 of 2 path(s) could not be read" in run.stderr
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    assert [row["path"] for row in rows] == [str(empty)]  # the other file is still dated


def test_cli_nonexistent_file_and_directory_are_error_exits(tmp_path):
    run = run_cli(tmp_path / "nope.jpg")
    assert run.returncode == 1 and run.stdout == ""
    assert f"error: {tmp_path / 'nope.jpg'}: no such file" in run.stderr
    run = run_cli(tmp_path)
    assert run.returncode == 1 and "is a directory, not an image file" in run.stderr
