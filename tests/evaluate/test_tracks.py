"""Tracks (issue 11, item 1): what a method sees is built by the harness from TRACK_INPUTS.

A deliberately cheating method that reads the time from every field, byte and attribute it is
given (and from its callers' frames) scores at chance on the pixels track and perfectly on the
metadata track (so the test can fail)."""

import json

import pandas as pd
import pytest

from stbench.evaluate.config import EvaluateConfig
from stbench.evaluate.run import evaluate
from stbench.methods.tracks import METADATA_FIELDS, TRACK_INPUTS, OpaqueIds
from tests.evaluate.worlds import make_plane_world, make_webcam_world

CHEATER = '''
import hashlib
import re
import sys

import numpy as np
import pandas as pd

from stbench.methods.base import Method
from stbench.spans import CLASS_SPANS, get_span, span_labels

NAME = re.compile(rb"(20\\d{6})_(\\d{6})")
EXIF = re.compile(rb"(20\\d\\d):(\\d\\d):(\\d\\d) (\\d\\d):(\\d\\d):(\\d\\d)")


def blobs(value, depth=0, seen=None):
    """Every str / bytes reachable from ``value``: containers, attributes, array metadata."""
    seen = set() if seen is None else seen
    if depth > 5 or id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, str):
        yield value.encode()
    elif isinstance(value, (bytes, bytearray, memoryview)):
        yield bytes(value)
    elif isinstance(value, np.ndarray):
        if value.dtype.kind in "SUO":
            yield from blobs(value.tolist(), depth + 1, seen)
        yield from blobs(value.base, depth + 1, seen)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from blobs(key, depth + 1, seen)
            yield from blobs(item, depth + 1, seen)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from blobs(item, depth + 1, seen)
    elif hasattr(value, "__dict__") and not isinstance(value, type):
        yield from blobs(vars(value), depth + 1, seen)


class Cheater(Method):
    name = "cheater"
    version = "1"

    def __init__(self, track="pixels"):
        self.track = track

    def config(self):
        return {"track": self.track}

    def predict_time(self, image, record):
        seen = list(blobs((image, record)))
        frame = sys._getframe(1)
        while frame is not None:  # the callers' locals too
            seen += list(blobs(frame.f_locals))
            frame = frame.f_back
        local = None
        for blob in seen:
            found = EXIF.search(blob)
            if found:
                local = pd.Timestamp(*map(int, found.groups()))
                break
            found = NAME.search(blob)
            if found:  # the webcam names are UTC; the camera is at UTC+1
                when = pd.to_datetime(b"".join(found.groups()).decode(), format="%Y%m%d%H%M%S")
                local = when + pd.Timedelta(minutes=60)
                break
        out = {}
        for span_name in CLASS_SPANS:
            n = get_span(span_name).n_classes
            if local is not None:
                utc = (local - pd.Timedelta(minutes=60)).tz_localize("UTC")
                label = int(span_labels(span_name, [utc], [60], [5.0])[0])
            else:  # nothing found: a guess derived from the record it was given
                digest = hashlib.sha256(repr(sorted(record.items())).encode()).digest()
                label = int.from_bytes(digest[:4], "little") % n
            vector = np.zeros(n, np.float32)
            vector[label] = 1.0
            out[span_name] = vector
        return out
'''

SPY = """
import json

import numpy as np

from stbench.methods.base import MatchResult, Method


class Spy(Method):
    name = "spy"
    version = "1"

    def __init__(self, log, track="pixels", hook=False):
        self.log, self.track, self.hook = log, track, hook

    def config(self):
        return {"track": self.track, "hook": self.hook}

    def _write(self, **entry):
        with open(self.log, "a") as handle:
            handle.write(json.dumps(entry) + "\\n")

    def match(self, *args):
        self._write(kind="match", args=[type(a).__name__ for a in args])
        points = np.array([[1.0, 1.0], [5.0, 5.0]], np.float32)
        return MatchResult(points, points, np.array([[0, 0], [1, 1]]), np.ones(2))

    def predict_time(self, image, record):
        self._write(kind="time", image=type(image).__name__, record=sorted(record),
                    values={k: str(v)[:40] for k, v in record.items() if k != "data"})
        return {"hour": np.ones(24)}

    def fit(self, train_images):
        for image, record, labels in train_images:
            self._write(kind="fit", image=type(image).__name__, record=sorted(record),
                        labels=sorted(labels))


class HookSpy(Spy):
    def match_pair(self, image0, image1, record0, record1):
        self._write(kind="match_pair", records=[sorted(record0), sorted(record1)],
                    items=[record0["item"], record1["item"]])
        return self.match(image0, image1)
"""


def _year_world(tmp_path):
    """48 test frames (2 days x 2 hours in each month) and 12 train frames, EXIF on all."""
    times, exif = {}, {}
    for month in range(1, 13):
        for day, hour, split in ((3, 7, "test"), (18, 7, "test"), (3, 14, "test"),
                                 (18, 14, "test"), (10, 11, "train")):  # fmt: skip
            member = f"2023{month:02d}{day:02d}_{hour:02d}0000.jpg"
            times[member] = split
            exif[member] = f"2023:{month:02d}:{day:02d} {hour + 1:02d}:00:00"  # local = UTC+1
    return make_webcam_world(tmp_path, exif=exif, times=times)


def _summary(run):
    return json.loads((run / "summary.json").read_text())


def _plugin(tmp_path, name, text):
    path = tmp_path / f"{name.lower()}_plugin.py"
    path.write_text(text)
    return f"{path}:{name}"


def test_cheater_is_at_chance_on_pixels_and_perfect_on_metadata(tmp_path, monkeypatch):
    from scipy.stats import binom

    import stbench.methods.tracks as tracks

    monkeypatch.setattr(tracks.secrets, "token_bytes", lambda n: b"k" * n)  # reproducible ids
    manifest = _year_world(tmp_path)
    cheater = _plugin(tmp_path, "Cheater", CHEATER)
    pixels = evaluate(
        EvaluateConfig(cheater, n_bootstrap=10), manifest, out=tmp_path / "px", write_plots=False
    )
    metadata = evaluate(
        EvaluateConfig(cheater, method_options={"track": "metadata"}, n_bootstrap=10),
        manifest,
        out=tmp_path / "md",
        write_plots=False,
    )
    on_pixels, on_metadata = _summary(pixels), _summary(metadata)
    assert on_pixels["track"] == "pixels" and on_metadata["track"] == "metadata"
    for span, n_classes in (("season", 4), ("month", 12), ("hour", 24)):
        chance = 1 / n_classes
        pixels_accuracy = on_pixels["metrics"][f"time_accuracy_{span}"]
        assert pixels_accuracy["n"] == 48
        # the 99.9 % quantile of the accuracy of 48 guesses at chance (exact binomial)
        bound = binom.ppf(0.999, 48, chance) / 48
        assert pixels_accuracy["value"] <= bound, (span, pixels_accuracy["value"], bound)
        assert on_metadata["metrics"][f"time_accuracy_{span}"]["value"] == 1.0
    row = pd.read_csv(metadata / "summary.csv")
    assert row["track"].tolist() == ["metadata"]  # the leaderboard row carries the track
    assert pd.read_csv(pixels / "summary.csv")["track"].tolist() == ["pixels"]


def test_pixels_track_passes_pixels_and_an_opaque_id_only(tmp_path):
    webcam = make_webcam_world(tmp_path / "w", exif={"20240716_131000.jpg": "2024:07:16 14:10:00"})
    log = tmp_path / "log.jsonl"
    spy = _plugin(tmp_path, "Spy", SPY)
    evaluate(
        EvaluateConfig(spy, method_options={"log": str(log)}, n_bootstrap=10),
        webcam,
        out=tmp_path / "t",
    )
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    fits = [e for e in entries if e["kind"] == "fit"]
    times = [e for e in entries if e["kind"] == "time"]
    assert len(fits) == 4 and len(times) == 3
    assert all(e["record"] == ["item"] and e["image"] == "ndarray" for e in fits + times)
    assert all(set(e["labels"]) <= {"season", "month", "week", "hour"} for e in fits)
    images = pd.read_parquet(webcam / "images.parquet")
    for entry in times:
        item = entry["values"]["item"]
        assert all(
            item not in i and not any(p in item for p in i.split("/")) for i in images["image_id"]
        )
    # metadata track: the documented fields and the file bytes, the same for every method
    log.unlink()
    evaluate(
        EvaluateConfig(spy, method_options={"log": str(log), "track": "metadata"}, n_bootstrap=10),
        webcam,
        out=tmp_path / "m",
    )
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    expected = sorted({"item", "data", *METADATA_FIELDS} & ({"item", "data"} | set(images.columns)))
    assert all(e["record"] == expected for e in entries if e["kind"] in ("fit", "time"))
    assert not {"timestamp_utc", "season", "split", "utc_offset_min"} & set(expected)


# A plug-in that, when its module is imported (in its worker), rewrites the pixels track's
# inputs to those of the metadata track: the harness must not take that from the worker.
FORGER = (
    SPY
    + """

from stbench.methods import tracks

tracks.TRACK_INPUTS["pixels"] = tracks.TRACK_INPUTS["metadata"]
tracks.inputs_for = lambda spec, track: tracks.TRACK_INPUTS["metadata"]


class Forger(Spy):
    pass
"""
)


def test_a_method_cannot_widen_its_track_from_its_own_process(tmp_path):
    webcam = make_webcam_world(tmp_path / "w")
    log = tmp_path / "log.jsonl"
    forger = _plugin(tmp_path, "Forger", FORGER)
    run = evaluate(
        EvaluateConfig(forger, method_options={"log": str(log)}, n_bootstrap=10),
        webcam,
        out=tmp_path / "f",
    )
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert entries and all(e["record"] == ["item"] for e in entries if e["kind"] in ("fit", "time"))
    assert _summary(run)["track"] == "pixels"


def test_match_gets_pixels_only_and_ids_are_per_run(tmp_path):
    plane = make_plane_world(tmp_path, n_images=3)
    log = tmp_path / "log.jsonl"
    spy = _plugin(tmp_path, "Spy", SPY)
    evaluate(
        EvaluateConfig(spy, method_options={"log": str(log)}, n_bootstrap=10),
        plane,
        out=tmp_path / "a",
    )
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["args"] for e in entries] == [["ndarray", "ndarray"]] * 3
    log.unlink()
    hook = spy.replace(":Spy", ":HookSpy")
    for run in ("b", "c"):
        evaluate(
            EvaluateConfig(hook, method_options={"log": str(log)}, n_bootstrap=10),
            plane,
            out=tmp_path / run,
        )
    pairs = [json.loads(line) for line in log.read_text().splitlines()]
    pairs = [e for e in pairs if e["kind"] == "match_pair"]
    assert all(e["records"] == [["item"], ["item"]] for e in pairs)
    first, second = pairs[:3], pairs[3:]
    assert first[0]["items"][0] == first[1]["items"][0]  # image 0 twice: the same id in a run
    assert not {i for e in first for i in e["items"]} & {i for e in second for i in e["items"]}


def test_opaque_ids_are_keyed():
    ids = OpaqueIds(b"a" * 32)
    assert ids("webcam/1/x.jpg") == ids("webcam/1/x.jpg") != OpaqueIds(b"b" * 32)("webcam/1/x.jpg")
    assert "x.jpg" not in ids("webcam/1/x.jpg")
    assert TRACK_INPUTS["pixels"].fields == () and not TRACK_INPUTS["pixels"].file_bytes
    assert TRACK_INPUTS["metadata"].fields == METADATA_FIELDS


def test_builtin_tracks_and_declared_tracks(tmp_path):
    from stbench.errors import ConfigError

    webcam = make_webcam_world(tmp_path / "w")
    exif = evaluate(
        EvaluateConfig("exif", n_bootstrap=10), webcam, out=tmp_path / "exif", write_plots=False
    )
    assert _summary(exif)["track"] == "metadata"
    for track in ("pixels", "metadata"):
        replay = evaluate(
            EvaluateConfig(
                "predictions",
                method_options={"dir": str(exif / "predictions"), "track": track},
                n_bootstrap=10,
            ),
            webcam,
            out=tmp_path / track,
            write_plots=False,
        )
        assert _summary(replay)["track"] == track
        assert _summary(replay)["track_declared_by"] == "user"
    with pytest.raises(ConfigError, match="track 'video' is not one of pixels, metadata"):
        evaluate(
            EvaluateConfig(
                "predictions", method_options={"dir": str(exif / "predictions"), "track": "video"}
            ),
            webcam,
            out=tmp_path / "x",
        )


PID_SPY = """
import os

import numpy as np

from stbench.methods.base import Method


class PidSpy(Method):
    name = "pid_spy"
    version = "1"

    def __init__(self, log):
        self.log = log
        with open(log, "a") as handle:
            handle.write(f"init {os.getpid()}\\n")

    def config(self):
        with open(self.log, "a") as handle:
            handle.write(f"config {os.getpid()}\\n")
        return {}

    def predict_time(self, image, record):
        with open(self.log, "a") as handle:
            handle.write(f"time {os.getpid()}\\n")
        return {"hour": np.ones(24)}
"""


def test_the_harness_process_never_runs_the_method(tmp_path):
    import os

    webcam = make_webcam_world(tmp_path / "w")
    log = tmp_path / "pids.txt"
    spy = _plugin(tmp_path, "PidSpy", PID_SPY)
    evaluate(
        EvaluateConfig(spy, method_options={"log": str(log)}, n_bootstrap=10),
        webcam,
        out=tmp_path / "r",
    )
    calls = [line.split() for line in log.read_text().splitlines()]
    assert {kind for kind, _ in calls} == {"init", "config", "time"}
    assert str(os.getpid()) not in {pid for _, pid in calls}
    assert len({pid for kind, pid in calls if kind == "time"}) == 1  # one worker, reused


def test_board_keeps_tracks_of_real_runs_apart(tmp_path):
    from stbench.errors import DataError
    from stbench.evaluate.compare import compare_runs
    from stbench.evaluate.leaderboard import leaderboard_add, read_board

    webcam = make_webcam_world(tmp_path / "w")
    exif = evaluate(
        EvaluateConfig("exif", n_bootstrap=10), webcam, out=tmp_path / "exif", write_plots=False
    )
    majority = evaluate(
        EvaluateConfig("majority", n_bootstrap=10),
        webcam,
        out=tmp_path / "majority",
        write_plots=False,
    )
    board = tmp_path / "board.csv"
    leaderboard_add(exif, board)
    leaderboard_add(majority, board)
    frame = read_board(board).set_index("method")
    assert frame.loc["exif", "track"] == "metadata" and frame.loc["majority", "track"] == "pixels"
    with pytest.raises(DataError, match="same manifest, split and track"):
        compare_runs(exif, majority, n_bootstrap=10)
