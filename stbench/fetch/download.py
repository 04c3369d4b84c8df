"""Resumable HTTP downloads: Range resume, urllib3 retries, size checks, streaming sha256.

A download streams into ``<dest>.part``; an interrupted run leaves the ``.part`` file, and the next
attempt (or the next run) asks for the rest with ``Range: bytes=<n>-``. A server that ignores the
Range header (``200`` instead of ``206``) or answers with a range that does not start at ``n`` makes
the download restart from zero. Only a complete file whose size matches the announced total
(``Content-Length`` / ``Content-Range``) and ``expected_size`` is renamed to ``dest``. An HTML page
(``Content-Type: text/html`` or a body starting like one) is refused, never kept.

Retries are urllib3's :class:`~urllib3.util.Retry`: requests are sent through a
``requests.adapters.HTTPAdapter`` whose Retry repeats connection errors, header timeouts, ``5xx``,
``408`` and ``429`` with exponential backoff (none before the first retry, then
``backoff_factor_s * 2**(k-1)`` capped at ``backoff_max_s``) and honours ``Retry-After`` in seconds
or as an HTTP date (capped at ``backoff_max_s``). A body that breaks off (or a response that does
not fit: wrong range, wrong size) is resumed by this module, counted against the same kind of
Retry; new bytes reset that count, so a flaky server that makes progress on each attempt still
finishes, while one that never does gives up after ``retries`` retries. ``404``/``410`` raise
:class:`NotFoundError` at once; other ``4xx`` raise :class:`DownloadError`.

Trust: :attr:`DownloadResult.verified_by` says what vouches for the bytes: ``checksum`` (they match
``expected_sha256``), ``length`` (a completed transfer whose length matches the announced
``Content-Length``/``Content-Range`` total and ``expected_size``), or ``""`` (nothing: a body of
unannounced length, or a file that was already there). Callers record a digest as a *known value*
only when it is vouched for and the content checks out (see ``docs/fetch.md``).
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
from stbench.config import check_fields
from stbench.errors import DataError, StbenchError
from stbench.progress import Progress

__all__ = [
    "ChecksumError",
    "DownloadConfig",
    "DownloadError",
    "DownloadResult",
    "NotFoundError",
    "byte_callback",
    "download",
    "download_retry",
    "hash_file",
    "looks_like_html",
    "mount_retries",
    "part_path",
]

#: ``on_progress(done_bytes, total_bytes_or_None)``; called after every chunk.
ProgressCallback = Callable[[int, "int | None"], None]


def byte_callback(
    progress: Progress, description: str, total: int | None = None
) -> ProgressCallback:
    """A task of ``progress`` (a ``unit="bytes"`` group) as an ``on_progress`` callback."""
    advance = progress.task(description, total)
    return lambda done, new_total=None: advance(0, completed=done, total=new_total)


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
        retries: urllib3 ``Retry`` total per request (connection errors, 5xx, 408, 429), and
            retries in a row without new bytes for broken-off bodies.
        backoff_factor_s: urllib3 backoff factor: no wait before the first retry, then
            ``backoff_factor_s * 2**(k-1)`` seconds.
        backoff_max_s: cap on one backoff and on a server's Retry-After.
        chunk_bytes: bytes per read/write/hash step.
        user_agent: the User-Agent header sent.
        refuse_html: refuse an HTML page (an error or login page served with 200) as the file.
    """

    connect_timeout_s: float = 15.0
    read_timeout_s: float = 60.0
    retries: int = 6
    backoff_factor_s: float = 1.0
    backoff_max_s: float = 60.0
    chunk_bytes: int = 1 << 20
    user_agent: str = f"stbench-fetch/{__version__}"
    refuse_html: bool = True

    def __post_init__(self) -> None:
        check_fields(self)


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
        verified_by: ``checksum`` (matched ``expected_sha256``), ``length`` (a completed
            transfer whose length matches the announced total) or ``""`` (nothing vouches for
            the bytes: no announced length, or an existing file hashed without a reference).
    """

    path: Path
    size: int
    sha256: str
    status: str
    attempts: int
    verified_by: str = ""

    @property
    def trusted(self) -> bool:
        """Whether a checksum or a matching announced length vouches for the bytes."""
        return self.verified_by in ("checksum", "length")


#: Statuses urllib3 retries (with Retry-After honoured for 413, 429 and 503).
RETRY_STATUSES: frozenset[int] = frozenset({408, 429, *range(500, 600)})


class _AttemptFailed(Exception):
    """One request's body broke off or did not fit; resumable by another attempt."""


def download_retry(config: DownloadConfig, sleep: Callable[[float], None] = time.sleep) -> Any:
    """The urllib3 ``Retry`` used for downloads (see the module docstring).

    Args:
        config: ``retries``, ``backoff_factor_s`` and ``backoff_max_s`` are used.
        sleep: how waits are spent (injectable for tests).
    """
    from urllib3.exceptions import InvalidHeader
    from urllib3.util.retry import Retry

    class DownloadRetry(Retry):
        """Retry whose waits go through ``sleep`` and whose Retry-After is capped."""

        def get_retry_after(self, response: Any) -> float | None:
            try:
                seconds = super().get_retry_after(response)
            except InvalidHeader:
                return None  # an unparseable Retry-After falls back to the backoff
            return None if seconds is None else min(seconds, config.backoff_max_s)

        def sleep(self, response: Any = None) -> None:
            wait = None
            if self.respect_retry_after_header and response is not None:
                wait = self.get_retry_after(response)
            if wait is None:
                wait = self.get_backoff_time()
            if wait > 0:
                sleep(wait)

    return DownloadRetry(
        total=config.retries,
        connect=config.retries,
        read=config.retries,
        status=config.retries,
        other=0,
        redirect=10,
        allowed_methods=frozenset({"GET", "HEAD"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=config.backoff_factor_s,
        backoff_max=config.backoff_max_s,
        raise_on_status=False,
        respect_retry_after_header=True,
    )


def mount_retries(
    session: Any, config: DownloadConfig, sleep: Callable[[float], None] = time.sleep
) -> Any:
    """Mount an ``HTTPAdapter`` with :func:`download_retry` on ``session`` for http(s); return it."""
    from requests.adapters import HTTPAdapter

    adapter = HTTPAdapter(max_retries=download_retry(config, sleep))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


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
        session: a ``requests.Session`` to reuse (one is created otherwise); the retrying
            adapter (:func:`mount_retries`) is mounted on it.
        on_progress: called with ``(done_bytes, total_bytes_or_None)``.
        sleep: how backoff and Retry-After waits are spent (injectable for tests).

    Returns:
        A :class:`DownloadResult`.

    Raises:
        NotFoundError: the server answered 404/410.
        DownloadError: retries exhausted, a non-retryable HTTP status, or an HTML page.
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
    session = mount_retries(session or requests.Session(), config, sleep)
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
    return DownloadResult(dest, size, digest, "verified", 0, "checksum")


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
    from urllib3.exceptions import MaxRetryError

    part = part_path(dest)
    state = _PartState(part)
    retry = download_retry(config, sleep)  # attempts in a row without new bytes
    outcome = _Outcome()
    while True:
        before = part.stat().st_size if part.exists() else 0
        state.sync(part, config.chunk_bytes, on_progress)
        try:
            _attempt(url, part, state, expected_size, config, session, on_progress, outcome)
        except _RetriesExhausted as exc:
            raise DownloadError(
                f"giving up on {url} after {outcome.requests} attempts; last error: {exc}"
            ) from None
        except _AttemptFailed as exc:
            after = part.stat().st_size if part.exists() else 0
            if after > before:
                retry = download_retry(config, sleep)  # new bytes: a fresh budget
            try:
                retry = retry.increment(method="GET", url=url)
            except MaxRetryError:
                kept = f"; {after:,} bytes are kept in {part}: run again to resume" if after else ""
                raise DownloadError(
                    f"giving up on {url} after {outcome.requests} attempts "
                    f"({len(retry.history) + 1} in a row without progress); last error: {exc}{kept}"
                ) from None
            retry.sleep()
            continue
        break
    state.sync(part, config.chunk_bytes, on_progress)
    _refuse_html_body(url, part, state, config)
    digest = state.hasher.hexdigest()
    if expected_sha256 is not None and digest != expected_sha256:
        part.unlink()
        state.forget()
        raise ChecksumError(
            f"{url} downloaded with sha256 {digest} but {expected_sha256} is expected; "
            "the server's file differs from the recorded one (a changed mirror?)"
        )
    if expected_sha256 is not None:
        verified_by = "checksum"
    elif outcome.total is not None and outcome.total == state.hashed:
        verified_by = "length"
    else:
        verified_by = ""
    with open(part, "rb+") as stream:
        os.fsync(stream.fileno())
    os.replace(part, dest)
    state.forget()
    return DownloadResult(dest, state.hashed, digest, "downloaded", outcome.requests, verified_by)


@dataclasses.dataclass
class _Outcome:
    """What the attempts of one download saw: requests sent, and the total the last announced."""

    requests: int = 0
    total: int | None = None


class _RetriesExhausted(Exception):
    """urllib3 retried a status (5xx, 408, 429) as often as allowed; the last answer is kept."""


_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body")


def looks_like_html(head: bytes) -> bool:
    """Whether the first bytes of a body are an HTML page (an error or login page)."""
    return head[:1024].lstrip().lower().startswith(_HTML_STARTS)


def _refuse_html_body(url: str, part: Path, state: _PartState, config: DownloadConfig) -> None:
    if not config.refuse_html:
        return
    with open(part, "rb") as stream:
        head = stream.read(1024)
    if looks_like_html(head):
        _restart(part, state)
        raise DownloadError(
            f"{url} answered an HTML page instead of the file ({_preview(head)}); it was not "
            "kept: check the URL (a login or error page?) and run again later"
        )


def _preview(head: bytes) -> str:
    """A short preview of a refused body for messages."""
    text = head[:60].decode("utf-8", "replace").replace("\n", " ").strip()
    return f"starts with {text!r}"


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
    outcome: _Outcome,
) -> None:
    """One request (urllib3 retries included) appending to ``part``; returns when complete."""
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
        outcome.requests += config.retries + 1
        raise _RetriesExhausted(f"request failed: {exc}") from None
    history = getattr(getattr(response.raw, "retries", None), "history", ()) or ()
    outcome.requests += 1 + len(history)
    with response:
        status = response.status_code
        if status in (404, 410):
            raise NotFoundError(f"{url}: HTTP {status} (not found)")
        if status == 416 and offset:
            total = _unsatisfied_total(response.headers.get("Content-Range", ""))
            if total is not None and total == offset and expected_size in (None, total):
                outcome.total = total
                return  # the partial file is already complete
            _restart(part, state)
            raise _AttemptFailed(f"HTTP 416 for a resume at byte {offset:,}: restarting from zero")
        if status in RETRY_STATUSES:
            raise _RetriesExhausted(f"HTTP {status} {response.reason}")
        if status not in (200, 206):
            raise DownloadError(f"{url}: unexpected HTTP {status} {response.reason}")
        content_type = response.headers.get("Content-Type", "")
        if config.refuse_html and content_type.split(";")[0].strip().lower() == "text/html":
            raise DownloadError(
                f"{url} answered an HTML page (Content-Type {content_type}) instead of the file; "
                "nothing was kept: check the URL (a login or error page?) and run again later"
            )
        start, total = _response_range(response, status)
        if start != offset:
            _restart(part, state)  # Range ignored (200) or a range starting elsewhere
            if start != 0:
                raise _AttemptFailed(
                    f"server answered a range starting at byte {start}, not {offset}"
                )
            offset = 0
        if expected_size is not None and total is not None and total != expected_size:
            _restart(part, state)
            raise _AttemptFailed(
                f"server announces {total:,} bytes but {expected_size:,} are expected"
            )
        if offset and state.validator.get("total") not in (None, total):
            _restart(part, state)
            raise _AttemptFailed(f"the file changed size on the server ({total}): restarting")
        if offset == 0:
            state.remember(response.headers, total)
        outcome.total = total
        limit = total if total is not None else expected_size
        try:
            with open(part, "ab") as stream:
                for block in _blocks(response, config.chunk_bytes):
                    if limit is not None and state.hashed + len(block) > limit:
                        stream.close()
                        _restart(part, state)
                        raise _AttemptFailed(f"server sent more than {limit:,} bytes: restarting")
                    stream.write(block)
                    state.add(block)
                    if on_progress is not None:
                        on_progress(state.hashed, limit)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise _AttemptFailed(f"connection lost after {state.hashed:,} bytes: {exc}") from None
    if limit is not None and state.hashed != limit:
        raise _AttemptFailed(f"connection closed after {state.hashed:,} of {limit:,} bytes")


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
            raise _AttemptFailed(f"206 without a usable Content-Range: {response.headers!r}")
        first, _last, total = match.groups()
        if total == "*":
            return int(first), None
        return int(first), int(total)
    length = response.headers.get("Content-Length")
    return 0, int(length) if length and length.isdigit() else None


def _unsatisfied_total(content_range: str) -> int | None:
    match = _UNSATISFIED_RANGE.match(content_range)
    return int(match.group(1)) if match else None
