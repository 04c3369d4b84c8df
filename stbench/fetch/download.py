"""Resumable HTTP downloads: Range resume, bounded retries, size checks, streaming sha256.

A download streams into ``<dest>.part``; an interrupted run leaves the ``.part`` file, and the next
attempt (or the next run) asks for the rest with ``Range: bytes=<n>-``. A server that ignores the
Range header (``200`` instead of ``206``) or answers with a range that does not start at ``n`` makes
the download restart from zero. Only a complete file whose size matches the announced total
(``Content-Length`` / ``Content-Range``) and ``expected_size`` is renamed to ``dest``.

Retries: connection errors, timeouts, truncated bodies, ``5xx``, ``408`` and ``429`` are retried
with exponential backoff (``backoff_factor_s * 2**k`` capped at ``backoff_max_s``). ``retries``
bounds the number of consecutive failed attempts that kept no new bytes, so a flaky server that
makes progress on each attempt still finishes, while one that never does gives up. ``404``/``410``
raise :class:`NotFoundError` at once; other ``4xx`` raise :class:`DownloadError`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from stbench import __version__
from stbench.atomic import write_text_atomic
from stbench.errors import DataError, StbenchError

#: ``on_progress(done_bytes, total_bytes_or_None)``; called after every chunk.
ProgressCallback = Callable[[int, "int | None"], None]

_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_UNSATISFIED_RANGE = re.compile(r"bytes\s+\*/(\d+)")


class DownloadError(StbenchError):
    """A download failed for good (after the allowed retries, or a non-retryable answer)."""


class NotFoundError(DownloadError):
    """The server answered 404 or 410: the resource does not exist."""


class ChecksumError(DataError):
    """A file on disk does not match the sha256 recorded when it was first downloaded."""


@dataclasses.dataclass(frozen=True)
class DownloadConfig:
    """How downloads behave on the network.

    Attributes:
        connect_timeout_s: seconds to wait for the TCP/TLS connection.
        read_timeout_s: seconds to wait for each read of the body.
        retries: consecutive failed attempts without new bytes before giving up.
        backoff_factor_s: first backoff in seconds; doubles after each failure.
        backoff_max_s: cap on one backoff (and on a server's Retry-After).
        chunk_bytes: bytes per read/write/hash step.
        user_agent: the User-Agent header sent.
    """

    connect_timeout_s: float = 15.0
    read_timeout_s: float = 60.0
    retries: int = 6
    backoff_factor_s: float = 1.0
    backoff_max_s: float = 60.0
    chunk_bytes: int = 1 << 20
    user_agent: str = f"stbench-fetch/{__version__}"


@dataclasses.dataclass(frozen=True)
class DownloadResult:
    """What :func:`download` did.

    Attributes:
        path: the final file.
        size: its size in bytes.
        sha256: hex digest of its content.
        status: ``downloaded`` (fetched now), ``verified`` (existed and matched
            ``expected_sha256``) or ``existing`` (existed, no checksum to compare: hashed now).
        attempts: HTTP requests made (0 when the file already existed).
    """

    path: Path
    size: int
    sha256: str
    status: str
    attempts: int


class _Retry(Exception):
    """One attempt failed in a retryable way; ``wait_s`` is a server-requested delay."""

    def __init__(self, reason: str, wait_s: float | None = None) -> None:
        super().__init__(reason)
        self.wait_s = wait_s


def part_path(dest: Path) -> Path:
    """The partial-download path used for ``dest``: ``<dest>.part``."""
    return dest.with_name(dest.name + ".part")


def hash_file(
    path: Path,
    chunk_bytes: int = 1 << 20,
    on_progress: ProgressCallback | None = None,
    hasher: Any = None,
) -> Any:
    """Feed the content of ``path`` into a sha256 hasher (a new one by default) and return it."""
    hasher = hasher if hasher is not None else hashlib.sha256()
    done = 0
    total = path.stat().st_size
    with open(path, "rb") as stream:
        while block := stream.read(chunk_bytes):
            hasher.update(block)
            done += len(block)
            if on_progress is not None:
                on_progress(done, total)
    return hasher


def download(
    url: str,
    dest: str | Path,
    *,
    expected_size: int | None = None,
    expected_sha256: str | None = None,
    config: DownloadConfig | None = None,
    session: Any = None,
    on_progress: ProgressCallback | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DownloadResult:
    """Download ``url`` to ``dest`` resumably, or verify an existing ``dest``.

    Args:
        url: the http(s) URL.
        dest: the final path; the download streams into ``<dest>.part`` first.
        expected_size: the known size in bytes; any other announced or received size is an error.
        expected_sha256: the digest recorded at the first download; an existing ``dest`` is
            verified against it, and a fresh download must match it.
        config: network settings (defaults: :class:`DownloadConfig`).
        session: a ``requests.Session`` to reuse (one is created otherwise).
        on_progress: called with ``(done_bytes, total_bytes_or_None)``.
        sleep: the backoff sleep (injectable for tests).

    Returns:
        A :class:`DownloadResult`.

    Raises:
        NotFoundError: the server answered 404/410.
        DownloadError: retries exhausted, or a non-retryable HTTP status.
        ChecksumError: ``dest`` exists (or was downloaded) and does not match ``expected_sha256``.
        DataError: ``dest`` exists with a size other than ``expected_size``.
    """
    import requests

    config = config or DownloadConfig()
    dest = Path(dest)
    if dest.exists():
        return _check_existing(dest, expected_size, expected_sha256, config, on_progress)
    dest.parent.mkdir(parents=True, exist_ok=True)
    own_session = session is None
    session = session or requests.Session()
    try:
        return _download_with_retries(
            url, dest, expected_size, expected_sha256, config, session, on_progress, sleep
        )
    finally:
        if own_session:
            session.close()


def _check_existing(
    dest: Path,
    expected_size: int | None,
    expected_sha256: str | None,
    config: DownloadConfig,
    on_progress: ProgressCallback | None,
) -> DownloadResult:
    size = dest.stat().st_size
    if expected_size is not None and size != expected_size:
        raise DataError(
            f"{dest} exists with {size:,} bytes but {expected_size:,} are expected; delete it "
            "(or move it aside) and run again to download it"
        )
    digest = hash_file(dest, config.chunk_bytes, on_progress).hexdigest()
    if expected_sha256 is None:
        return DownloadResult(dest, size, digest, "existing", 0)
    if digest != expected_sha256:
        raise ChecksumError(
            f"{dest} has sha256 {digest} but {expected_sha256} was recorded when it was first "
            "downloaded: the file is corrupt or was changed; delete it and run again"
        )
    return DownloadResult(dest, size, digest, "verified", 0)


def _download_with_retries(
    url: str,
    dest: Path,
    expected_size: int | None,
    expected_sha256: str | None,
    config: DownloadConfig,
    session: Any,
    on_progress: ProgressCallback | None,
    sleep: Callable[[float], None],
) -> DownloadResult:
    part = part_path(dest)
    state = _PartState(part)
    failures = 0
    attempts = 0
    while True:
        before = part.stat().st_size if part.exists() else 0
        state.sync(part, config.chunk_bytes, on_progress)
        attempts += 1
        try:
            _attempt(url, part, state, expected_size, config, session, on_progress)
        except _Retry as exc:
            after = part.stat().st_size if part.exists() else 0
            failures = 1 if after > before else failures + 1
            if failures > config.retries:
                kept = f"; {after:,} bytes are kept in {part}: run again to resume" if after else ""
                raise DownloadError(
                    f"giving up on {url} after {attempts} attempts "
                    f"({failures} in a row without progress); last error: {exc}{kept}"
                ) from None
            backoff = min(config.backoff_max_s, config.backoff_factor_s * 2 ** (failures - 1))
            if exc.wait_s is not None:
                backoff = min(config.backoff_max_s, max(backoff, exc.wait_s))
            sleep(backoff)
            continue
        state.sync(part, config.chunk_bytes, on_progress)
        digest = state.hasher.hexdigest()
        if expected_sha256 is not None and digest != expected_sha256:
            part.unlink()
            raise ChecksumError(
                f"{url} downloaded with sha256 {digest} but {expected_sha256} is expected; "
                "the server's file differs from the recorded one (a changed mirror?)"
            )
        with open(part, "rb+") as stream:
            os.fsync(stream.fileno())
        os.replace(part, dest)
        state.forget()
        return DownloadResult(dest, state.hashed, digest, "downloaded", attempts)


class _PartState:
    """A sha256 hasher over the first ``hashed`` bytes of the partial file, and the validator
    (ETag / Last-Modified / total) of the response that started it, kept in ``<part>.json`` so a
    resume in a later run can send ``If-Range`` and never splice two versions of a file."""

    def __init__(self, part: Path) -> None:
        self.hasher: Any = hashlib.sha256()
        self.hashed = 0
        self.sidecar = part.with_name(part.name + ".json")
        self.validator: dict[str, Any] = {}
        if self.sidecar.exists():
            try:
                self.validator = json.loads(self.sidecar.read_text())
            except ValueError:
                self.validator = {}

    def sync(self, part: Path, chunk_bytes: int, on_progress: ProgressCallback | None) -> None:
        """Make the hasher cover exactly the bytes now in ``part`` (rehash if they differ)."""
        size = part.stat().st_size if part.exists() else 0
        if size != self.hashed:
            report = (lambda done, _total: on_progress(done, None)) if on_progress else None
            self.hasher = hash_file(part, chunk_bytes, report) if size else hashlib.sha256()
            self.hashed = size

    def if_range(self) -> str | None:
        """The ``If-Range`` value for a resume: a strong ETag, else Last-Modified."""
        etag = self.validator.get("etag")
        if etag and not etag.startswith("W/"):
            return etag
        return self.validator.get("last_modified")

    def remember(self, headers: Any, total: int | None) -> None:
        """Record the validator of a response that starts the file from byte 0."""
        self.validator = {
            "etag": headers.get("ETag"),
            "last_modified": headers.get("Last-Modified"),
            "total": total,
        }
        write_text_atomic(self.sidecar, json.dumps(self.validator))

    def forget(self) -> None:
        self.validator = {}
        self.sidecar.unlink(missing_ok=True)

    def reset(self) -> None:
        self.hasher = hashlib.sha256()
        self.hashed = 0

    def add(self, block: bytes) -> None:
        self.hasher.update(block)
        self.hashed += len(block)


def _attempt(
    url: str,
    part: Path,
    state: _PartState,
    expected_size: int | None,
    config: DownloadConfig,
    session: Any,
    on_progress: ProgressCallback | None,
) -> None:
    """One HTTP request appending to ``part``; returns when ``part`` is complete."""
    import requests
    import urllib3

    offset = state.hashed
    headers = {"User-Agent": config.user_agent, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if state.if_range():
            headers["If-Range"] = state.if_range()
    timeout = (config.connect_timeout_s, config.read_timeout_s)
    try:
        response = session.get(url, headers=headers, stream=True, timeout=timeout)
    except requests.RequestException as exc:
        raise _Retry(f"request failed: {exc}") from None
    with response:
        status = response.status_code
        if status in (404, 410):
            raise NotFoundError(f"{url}: HTTP {status} (not found)")
        if status == 416 and offset:
            total = _unsatisfied_total(response.headers.get("Content-Range", ""))
            if total is not None and total == offset and expected_size in (None, total):
                return  # the partial file is already complete
            _restart(part, state)
            raise _Retry(f"HTTP 416 for a resume at byte {offset:,}: restarting from zero")
        if status in (408, 429) or status >= 500:
            raise _Retry(f"HTTP {status}", _retry_after(response.headers.get("Retry-After")))
        if status not in (200, 206):
            raise DownloadError(f"{url}: unexpected HTTP {status} {response.reason}")
        start, total = _response_range(response, status)
        if start != offset:
            _restart(part, state)  # Range ignored (200) or a range starting elsewhere
            if start != 0:
                raise _Retry(f"server answered a range starting at byte {start}, not {offset}")
            offset = 0
        if expected_size is not None and total is not None and total != expected_size:
            _restart(part, state)
            raise _Retry(f"server announces {total:,} bytes but {expected_size:,} are expected")
        if offset and state.validator.get("total") not in (None, total):
            _restart(part, state)
            raise _Retry(f"the file changed size on the server ({total}): restarting")
        if offset == 0:
            state.remember(response.headers, total)
        limit = total if total is not None else expected_size
        try:
            with open(part, "ab") as stream:
                for block in _blocks(response, config.chunk_bytes):
                    if limit is not None and state.hashed + len(block) > limit:
                        stream.close()
                        _restart(part, state)
                        raise _Retry(f"server sent more than {limit:,} bytes: restarting")
                    stream.write(block)
                    state.add(block)
                    if on_progress is not None:
                        on_progress(state.hashed, limit)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _Retry(f"connection lost after {state.hashed:,} bytes: {exc}") from None
    if limit is not None and state.hashed != limit:
        raise _Retry(f"connection closed after {state.hashed:,} of {limit:,} bytes")


def _blocks(response: Any, chunk_bytes: int) -> Iterator[bytes]:
    """The raw body as it arrives (``read1``), so bytes before a dropped connection are kept."""
    while block := response.raw.read1(chunk_bytes):
        yield block


def _restart(part: Path, state: _PartState) -> None:
    part.unlink(missing_ok=True)
    state.reset()
    state.forget()


def _response_range(response: Any, status: int) -> tuple[int, int | None]:
    """``(first byte, total size or None)`` announced by a 200/206 response."""
    if status == 206:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if match is None:
            raise _Retry(f"206 without a usable Content-Range: {response.headers!r}")
        first, _last, total = match.groups()
        if total == "*":
            return int(first), None
        return int(first), int(total)
    length = response.headers.get("Content-Length")
    return 0, int(length) if length and length.isdigit() else None


def _unsatisfied_total(content_range: str) -> int | None:
    match = _UNSATISFIED_RANGE.match(content_range)
    return int(match.group(1)) if match else None


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None
