import datetime as dt
import hashlib
import io
import json
import time
from email.utils import parsedate_to_datetime

import pytest
import requests
from PIL import Image

from stbench.errors import ConfigError
from stbench.fetch.capture import (
    CAPTURE_LOG,
    CaptureConfig,
    CaptureState,
    parse_duration,
    parse_until,
    poll_once,
    read_capture_log,
    run_capture,
)

from .loopback import send

FAST = CaptureConfig(connect_timeout_s=1.0, read_timeout_s=0.2)
T0 = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.timezone.utc)


def jpeg_bytes(value):
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (value, 255 - value, value // 2)).save(buffer, "JPEG")
    return buffer.getvalue()


class Camera:
    """A scripted webcam: one behaviour per request, then the last one forever."""

    def __init__(self, script):
        self.script = script
        self.conditional = []

    def __call__(self, handler, count):
        kind, payload = self.script[min(count, len(self.script) - 1)]
        self.conditional.append(handler.headers.get("If-None-Match"))
        date = {}  # the server adds its own Date header
        if kind == "jpeg":  # payload: (bytes, etag)
            data, etag = payload
            if etag and handler.headers.get("If-None-Match") == etag:
                send(handler, 304, b"", {"ETag": etag, **date})
                return
            headers = {"Content-Type": "image/jpeg", **date}
            if etag:
                headers["ETag"] = etag
                headers["Last-Modified"] = "Thu, 01 Jan 2026 11:59:00 GMT"
            send(handler, 200, data, headers)
        elif kind == "html":
            send(
                handler, 200, b"<!DOCTYPE html><p>camera offline</p>", {"Content-Type": "text/html"}
            )
        elif kind == "status":
            send(handler, payload, b"error")
        elif kind == "short":  # announce more than sent, then hang up
            handler.send_response(200)
            handler.send_header("Content-Type", "image/jpeg")
            handler.send_header("Content-Length", str(len(payload) + 500))
            handler.end_headers()
            handler.wfile.write(payload)
            handler.close_connection = True
        elif kind == "cut":  # a JPEG cut short but with a consistent Content-Length
            send(handler, 200, payload[: len(payload) // 2], {"Content-Type": "image/jpeg"})
        elif kind == "slow":
            time.sleep(payload)
            try:
                send(handler, 200, jpeg_bytes(1), {"Content-Type": "image/jpeg"})
            except OSError:
                pass


class FakeClock:
    def __init__(self, start=T0):
        self.now = start
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += dt.timedelta(seconds=seconds)


A, B, C = jpeg_bytes(10), jpeg_bytes(120), jpeg_bytes(240)


def frames(camera_dir):
    return sorted(p.name for p in camera_dir.glob("*.jpg"))


def test_changing_frozen_and_broken_frames(server, tmp_path):
    camera = Camera(
        [
            ("jpeg", (A, '"a"')),
            ("jpeg", (A, '"a"')),  # same ETag -> 304
            ("jpeg", (A, None)),  # same bytes, no ETag -> hash
            ("html", None),
            ("short", B),
            ("cut", B),
            ("status", 500),
            ("slow", 1.0),
            ("jpeg", (B, '"b"')),
            ("jpeg", (C, '"c"')),
        ]
    )
    server.routes["/cam.jpg"] = camera
    clock = FakeClock()
    results = []
    run_capture(
        server.url("/cam.jpg"),
        42,
        root=tmp_path,
        every_s=600,
        until=T0 + dt.timedelta(minutes=100),
        config=FAST,
        clock=clock,
        sleep=clock.sleep,
        on_poll=results.append,
    )
    statuses = [r.status for r in results]
    assert statuses == [
        "saved",
        "unchanged",
        "unchanged",
        "rejected",
        "rejected",
        "rejected",
        "error",
        "error",
        "saved",
        "saved",
    ]
    reasons = [r.reason for r in results]
    assert reasons[1] == "HTTP 304 (not modified)"
    assert "sha256" in reasons[2]
    assert reasons[3].startswith("not a JPEG (text/html")
    assert reasons[4].startswith("truncated body")
    assert reasons[5] == "truncated JPEG (no end-of-image marker)"
    assert reasons[6] == "HTTP 500" and reasons[7].startswith("timeout")
    camera_dir = tmp_path / "00000042"
    assert frames(camera_dir) == [
        "20260101_120000.jpg",
        "20260101_132000.jpg",
        "20260101_133000.jpg",
    ]
    assert (camera_dir / "20260101_120000.jpg").read_bytes() == A
    assert camera.conditional[1] == '"a"'
    assert clock.sleeps == [600.0] * 9
    log = read_capture_log(camera_dir / CAPTURE_LOG)
    assert len(log) == 10
    first = log[0]
    assert first["etag"] == '"a"'
    assert parsedate_to_datetime(first["http_date"]).tzinfo is not None
    assert first["last_modified"] == "Thu, 01 Jan 2026 11:59:00 GMT"
    assert first["fetch_time_utc"] == "2026-01-01T12:00:00.000000Z"
    assert len(first["sha256"]) == 64 and first["file"] == "20260101_120000.jpg"


def test_restart_mid_run_neither_loses_nor_duplicates(server, tmp_path):
    server.routes["/cam.jpg"] = Camera(
        [("jpeg", (A, '"a"')), ("jpeg", (B, '"b"')), ("jpeg", (B, '"b"')), ("jpeg", (C, '"c"'))]
    )
    clock = FakeClock()
    camera_dir = run_capture(
        server.url("/cam.jpg"),
        7,
        root=tmp_path,
        every_s=60,
        max_frames=2,
        config=FAST,
        clock=clock,
        sleep=clock.sleep,
    )
    assert frames(camera_dir) == ["20260101_120000.jpg", "20260101_120100.jpg"]
    # A crash: a frame written but not logged, a torn log line, a temporary file left behind.
    orphan = camera_dir / "20260101_120130.jpg"
    orphan.write_bytes(B)
    with open(camera_dir / CAPTURE_LOG, "a") as log:
        log.write('{"status": "sav')
    (camera_dir / ".20260101_120140.jpg.x1.part").write_bytes(b"partial")

    state = CaptureState.load(camera_dir)
    assert state.saved == {"20260101_120000.jpg", "20260101_120100.jpg", orphan.name}
    # The orphan is the latest frame: its hash is the reference, its headers are unknown.
    assert state.sha256 == hashlib.sha256(B).hexdigest() and state.etag is None
    assert not list(camera_dir.glob(".*.part"))

    clock.now += dt.timedelta(minutes=5)
    results = []
    run_capture(
        server.url("/cam.jpg"),
        7,
        root=tmp_path,
        every_s=60,
        max_frames=1,
        config=FAST,
        clock=clock,
        sleep=clock.sleep,
        on_poll=results.append,
    )
    assert [r.status for r in results] == ["unchanged", "saved"]  # B again is not duplicated
    assert frames(camera_dir) == [
        "20260101_120000.jpg",
        "20260101_120100.jpg",
        "20260101_120130.jpg",
        "20260101_120700.jpg",
    ]
    records = read_capture_log(camera_dir / CAPTURE_LOG)
    saved = [r["file"] for r in records if r["status"] in ("saved", "recovered")]
    assert sorted(saved) == frames(camera_dir) and len(saved) == len(set(saved))
    assert [r["status"] for r in records].count("recovered") == 1
    lines = (camera_dir / CAPTURE_LOG).read_text().splitlines()
    assert lines[2] == '{"status": "sav'  # the torn line stays, the next record starts anew
    assert all(json.loads(line) for line in lines[3:])


def test_poll_once_same_second_name_collision(server, tmp_path):
    server.routes["/cam.jpg"] = Camera([("jpeg", (A, None)), ("jpeg", (B, None))])
    camera_dir = tmp_path / "00000001"
    state = CaptureState.load(camera_dir)
    with requests.Session() as session:
        first = poll_once(
            server.url("/cam.jpg"), camera_dir, state, now=T0, session=session, config=FAST
        )
        second = poll_once(
            server.url("/cam.jpg"), camera_dir, state, now=T0, session=session, config=FAST
        )
    assert first.status == "saved" and second.status == "rejected"
    assert "exists already" in second.reason
    assert (camera_dir / "20260101_120000.jpg").read_bytes() == A


def test_durations_and_until():
    assert parse_duration("10m") == 600 and parse_duration("1h30m") == 5400
    assert parse_duration("45") == 45 and parse_duration("2d") == 172800
    with pytest.raises(ConfigError):
        parse_duration("10 minutes")
    assert parse_until("2h", T0) == T0 + dt.timedelta(hours=2)
    assert parse_until("2026-01-02T00:00:00", T0) == dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc)
    assert parse_until("2026-01-02T01:00:00+01:00", T0) == dt.datetime(
        2026, 1, 2, tzinfo=dt.timezone.utc
    )
    with pytest.raises(ConfigError, match="at least 1 s"):
        run_capture("http://127.0.0.1:9/x", 1, root="/nonexistent", every_s=0.5)
