"""``stbench capture``: poll a live webcam JPEG URL and keep every new frame, once.

Frames are written to ``<root>/<id:08d>/<YYYYMMDD_HHMMSS>.jpg`` named by the UTC fetch time (the
AMOS convention), atomically. Every poll appends one JSON line to ``<root>/<id:08d>/capture.jsonl``:

``fetch_time_utc`` (ISO 8601, ``Z``), ``status`` (``saved`` | ``unchanged`` | ``rejected`` |
``error`` | ``recovered``), ``file`` (the frame's name when saved), ``sha256``, ``bytes``,
``http_status``, ``http_date``, ``last_modified``, ``etag``, ``content_type`` (the raw header
values) and ``reason``.

Unchanged frames are skipped: the request carries ``If-None-Match`` / ``If-Modified-Since`` from the
last frame (a ``304`` is ``unchanged``), and a ``200`` whose body hashes like the last saved frame is
``unchanged`` too. Bodies that are not JPEG (an HTML error page), shorter than ``Content-Length``,
missing the JPEG end-of-image marker, empty or too large are ``rejected`` with the reason; HTTP
errors and timeouts are ``error``. Nothing is retried within a poll: the next poll is the retry.

Restart safety: the frame is written (atomic rename) before its log line is appended and flushed.
On start the state (last ETag, Last-Modified and sha256, the frames saved) is rebuilt from the
log; a torn last line is ignored; a frame on disk without a log line (a crash between the two
writes) is logged as ``recovered``; leftover temporary files are removed. So a restart neither
loses nor duplicates frames.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stbench import __version__
from stbench.atomic import write_bytes_atomic
from stbench.config import check_fields
from stbench.errors import ConfigError

__all__ = [
    "CAPTURE_LOG",
    "FRAME_PATTERN",
    "JPEG_EOI",
    "JPEG_SOI",
    "CaptureConfig",
    "CaptureState",
    "PollResult",
    "append_record",
    "parse_duration",
    "parse_until",
    "poll_once",
    "read_capture_log",
    "run_capture",
]


CAPTURE_LOG = "capture.jsonl"
FRAME_PATTERN = re.compile(r"^\d{8}_\d{6}\.jpg$")
JPEG_SOI = b"\xff\xd8\xff"
JPEG_EOI = b"\xff\xd9"

#: ``on_poll(result)`` after each poll.
PollCallback = Callable[["PollResult"], None]


@dataclasses.dataclass(frozen=True)
class CaptureConfig:
    """Network and validation settings for one capture.

    Attributes:
        connect_timeout_s: seconds to connect.
        read_timeout_s: seconds per read of the body.
        max_bytes: largest accepted frame.
        user_agent: the User-Agent header sent.
    """

    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0
    max_bytes: int = 32 << 20
    user_agent: str = f"stbench-capture/{__version__}"

    def __post_init__(self) -> None:
        check_fields(self)


@dataclasses.dataclass
class CaptureState:
    """What the capture knows about the frames already kept (rebuilt from the log).

    Attributes:
        etag: the ETag of the last kept content (sent as If-None-Match).
        last_modified: its Last-Modified (sent as If-Modified-Since).
        sha256: the hash of the last saved frame.
        saved: names of the frames saved so far.
    """

    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None
    saved: set[str] = dataclasses.field(default_factory=set)

    @classmethod
    def load(cls, camera_dir: Path) -> CaptureState:
        """Rebuild the state from ``camera_dir/capture.jsonl`` and reconcile the frames on disk."""
        camera_dir.mkdir(parents=True, exist_ok=True)
        for leftover in camera_dir.glob(".*.part"):
            leftover.unlink()
        state = cls()
        log_path = camera_dir / CAPTURE_LOG
        for record in read_capture_log(log_path):
            state._apply(record)
        orphans = sorted(p.name for p in camera_dir.iterdir() if FRAME_PATTERN.match(p.name))
        for name in orphans:
            if name in state.saved:
                continue
            digest = hashlib.sha256((camera_dir / name).read_bytes()).hexdigest()
            record = {
                "fetch_time_utc": _iso(_time_from_name(name)),
                "status": "recovered",
                "file": name,
                "sha256": digest,
                "bytes": (camera_dir / name).stat().st_size,
                "reason": "frame on disk without a log line (restart after a crash)",
            }
            append_record(log_path, record)
            state._apply(record)
        return state

    def _apply(self, record: dict[str, Any]) -> None:
        status = record.get("status")
        if status in ("saved", "recovered") and record.get("file"):
            self.saved.add(record["file"])
            if record["file"] < max(self.saved):
                return  # an older frame recovered late: the latest frame stays the reference
            self.sha256 = record.get("sha256")
            self.etag = record.get("etag")
            self.last_modified = record.get("last_modified")
        elif status == "unchanged":
            self.etag = record.get("etag") or self.etag
            self.last_modified = record.get("last_modified") or self.last_modified


@dataclasses.dataclass(frozen=True)
class PollResult:
    """One poll's outcome: ``status``, ``reason``, the frame ``path`` (when saved), the log record."""

    status: str
    reason: str
    path: Path | None
    record: dict[str, Any]


def read_capture_log(path: Path) -> list[dict[str, Any]]:
    """The records of a capture log; a torn (unparsable) line is skipped."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def append_record(path: Path, record: dict[str, Any]) -> None:
    """Append one JSON line to ``path`` and flush it to disk (after a torn line: a new line)."""
    prefix = b""
    if path.exists() and path.stat().st_size:
        with open(path, "rb") as stream:
            stream.seek(-1, os.SEEK_END)
            if stream.read(1) != b"\n":
                prefix = b"\n"
    line = prefix + json.dumps(record, sort_keys=True).encode() + b"\n"
    with open(path, "ab") as stream:
        stream.write(line)
        stream.flush()
        os.fsync(stream.fileno())


def poll_once(
    url: str,
    camera_dir: Path,
    state: CaptureState,
    *,
    now: dt.datetime,
    session: Any,
    config: CaptureConfig | None = None,
) -> PollResult:
    """Fetch ``url`` once; save the frame if it is a new, complete JPEG; log the outcome.

    Args:
        url: the live JPEG URL.
        camera_dir: ``<root>/<id:08d>``.
        state: from :meth:`CaptureState.load`; updated in place.
        now: the fetch time (timezone-aware; names the frame in UTC).
        session: a ``requests.Session``.
        config: network and validation settings.

    Returns:
        The :class:`PollResult` (also appended to the capture log).
    """
    config = config or CaptureConfig()
    now = now.astimezone(dt.timezone.utc)
    status, reason, headers, http_status, body = _fetch(url, state, session, config)
    record: dict[str, Any] = {
        "fetch_time_utc": _iso(now),
        "status": status,
        "file": None,
        "sha256": None,
        "bytes": len(body) if body is not None else None,
        "http_status": http_status,
        "http_date": headers.get("Date"),
        "last_modified": headers.get("Last-Modified"),
        "etag": headers.get("ETag"),
        "content_type": headers.get("Content-Type"),
        "reason": reason,
    }
    path = None
    if status == "ok" and body is not None:
        digest = hashlib.sha256(body).hexdigest()
        record["sha256"] = digest
        name = now.strftime("%Y%m%d_%H%M%S") + ".jpg"
        if digest == state.sha256:
            record.update(status="unchanged", reason="same content as the last frame (sha256)")
        elif name in state.saved or (camera_dir / name).exists():
            record.update(status="rejected", reason=f"a frame named {name} exists already")
        else:
            path = write_bytes_atomic(camera_dir / name, body)
            record.update(status="saved", file=name, reason="")
    append_record(camera_dir / CAPTURE_LOG, record)
    state._apply(record)
    return PollResult(record["status"], record["reason"], path, record)


def _fetch(
    url: str, state: CaptureState, session: Any, config: CaptureConfig
) -> tuple[str, str, Any, int | None, bytes | None]:
    """``(status, reason, headers, http status, body)``; status ``ok`` means a valid JPEG body."""
    import requests
    import urllib3

    headers = {"User-Agent": config.user_agent, "Accept": "image/jpeg,image/*"}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    timeout = (config.connect_timeout_s, config.read_timeout_s)
    try:
        response = session.get(url, headers=headers, timeout=timeout, stream=True)
    except requests.Timeout as exc:
        return "error", f"timeout: {exc}", {}, None, None
    except requests.RequestException as exc:
        return "error", f"request failed: {exc}", {}, None, None
    with response:
        got = response.headers
        if response.status_code == 304:
            return "unchanged", "HTTP 304 (not modified)", got, 304, None
        if response.status_code != 200:
            return "error", f"HTTP {response.status_code}", got, response.status_code, None
        try:
            body = response.raw.read(config.max_bytes + 1, decode_content=True)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            return "rejected", f"truncated body: {exc}", got, 200, None
    reason = _jpeg_problem(body, got, config)
    return ("rejected" if reason else "ok"), reason, got, 200, body


def _jpeg_problem(body: bytes, headers: Any, config: CaptureConfig) -> str:
    """Why ``body`` is not a complete JPEG frame ('' when it is)."""
    if not body:
        return "empty body"
    if len(body) > config.max_bytes:
        return f"body larger than {config.max_bytes:,} bytes"
    length = headers.get("Content-Length")
    if length and length.isdigit() and int(length) != len(body):
        return f"truncated body: {len(body):,} of {int(length):,} bytes"
    if not body.startswith(JPEG_SOI):
        kind = headers.get("Content-Type") or "no Content-Type"
        return f"not a JPEG ({kind}; starts with {body[:16]!r})"
    if JPEG_EOI not in body[-64:].rstrip(b"\x00\r\n "):
        return "truncated JPEG (no end-of-image marker)"
    return ""


def run_capture(
    url: str,
    camera_id: int,
    *,
    root: str | Path,
    every_s: float,
    until: dt.datetime | None = None,
    max_frames: int | None = None,
    config: CaptureConfig | None = None,
    session: Any = None,
    clock: Callable[[], dt.datetime] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_poll: PollCallback | None = None,
) -> Path:
    """Poll ``url`` every ``every_s`` seconds until ``until`` or ``max_frames`` new frames.

    Polls are scheduled on a fixed grid from the start (a slow poll does not shift the grid;
    missed slots are skipped). Without ``until`` and ``max_frames`` it runs until interrupted.

    Args:
        url: the live JPEG URL.
        camera_id: the camera's id (frames go to ``<root>/<id:08d>/``).
        root: the webcam root.
        every_s: seconds between polls (>= 1).
        until: stop before polling at or after this (timezone-aware) time.
        max_frames: stop after saving this many new frames in this run.
        config: network and validation settings.
        session: a ``requests.Session`` (one is created otherwise).
        clock: returns the current aware UTC time (injectable for tests).
        sleep: sleeps for seconds (injectable for tests).
        on_poll: called with each :class:`PollResult`.

    Returns:
        The camera directory.
    """
    import requests

    if every_s < 1:
        raise ConfigError(
            f"--every must be at least 1 s (got {every_s}): frames are named by second"
        )
    clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
    camera_dir = Path(root) / f"{camera_id:08d}"
    state = CaptureState.load(camera_dir)
    own_session = session is None
    session = session or requests.Session()
    start = clock()
    slot = 0
    saved = 0
    try:
        while until is None or clock() < until:
            result = poll_once(url, camera_dir, state, now=clock(), session=session, config=config)
            if on_poll is not None:
                on_poll(result)
            saved += result.status == "saved"
            if max_frames is not None and saved >= max_frames:
                break
            now = clock()
            while True:
                slot += 1
                next_time = start + dt.timedelta(seconds=slot * every_s)
                if next_time > now:
                    break
            if until is not None and next_time >= until:
                break
            sleep((next_time - now).total_seconds())
    finally:
        if own_session:
            session.close()
    return camera_dir


def parse_duration(text: str) -> float:
    """Seconds from ``90``, ``30s``, ``10m``, ``1h30m``, ``2d``.

    Raises:
        ConfigError: an unparsable duration.
    """
    value = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    parts = re.findall(r"(\d+(?:\.\d+)?)([smhd])", value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise ConfigError(f"bad duration {text!r}: use e.g. 30s, 10m, 1h30m")
    scale = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return sum(float(n) * scale[u] for n, u in parts)


def parse_until(text: str, now: dt.datetime) -> dt.datetime:
    """An end time from ISO 8601 (naive = UTC) or a duration from ``now`` (``2h``, ``+2h``)."""
    value = text.strip()
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return now + dt.timedelta(seconds=parse_duration(value.lstrip("+")))
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def _iso(when: dt.datetime) -> str:
    return (
        when.astimezone(dt.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")
    )


def _time_from_name(name: str) -> dt.datetime:
    return dt.datetime.strptime(name[:15], "%Y%m%d_%H%M%S").replace(tzinfo=dt.timezone.utc)
