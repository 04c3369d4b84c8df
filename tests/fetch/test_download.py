import dataclasses
import hashlib

import pytest

from stbench.errors import DataError
from stbench.fetch.download import (
    ChecksumError,
    DownloadError,
    NotFoundError,
    download,
    part_path,
)

from .loopback import FAST, FileRoute, send

DATA = bytes(range(256)) * 400  # 102,400 bytes
SHA = hashlib.sha256(DATA).hexdigest()


def test_plain_download_hashes_and_renames(server, tmp_path):
    server.routes["/f.bin"] = FileRoute(DATA)
    dest = tmp_path / "f.bin"
    seen = []
    result = download(
        server.url("/f.bin"),
        dest,
        expected_size=len(DATA),
        config=FAST,
        on_progress=lambda d, t: seen.append((d, t)),
    )
    assert dest.read_bytes() == DATA
    assert (result.status, result.size, result.sha256, result.attempts) == (
        "downloaded",
        len(DATA),
        SHA,
        1,
    )
    assert not part_path(dest).exists()
    assert seen[-1] == (len(DATA), len(DATA))


def test_dropped_connection_resumes_with_range(server, tmp_path):
    route = FileRoute(DATA, drop_after=30_000, drop_times=2, headers={"Accept-Ranges": "bytes"})
    server.routes["/f.bin"] = route
    result = download(server.url("/f.bin"), tmp_path / "f.bin", config=FAST, sleep=lambda s: None)
    assert result.sha256 == SHA and (tmp_path / "f.bin").read_bytes() == DATA
    assert route.ranges == [None, "bytes=30000-", "bytes=60000-"]
    assert result.attempts == 3


def test_existing_part_file_is_resumed_and_hashed_whole(server, tmp_path):
    route = FileRoute(DATA)
    server.routes["/f.bin"] = route
    dest = tmp_path / "f.bin"
    part_path(dest).write_bytes(DATA[:12_345])
    result = download(server.url("/f.bin"), dest, config=FAST)
    assert route.ranges == ["bytes=12345-"]
    assert result.sha256 == SHA and dest.read_bytes() == DATA


def test_500s_are_retried_with_backoff(server, tmp_path):
    server.routes["/f.bin"] = FileRoute(DATA, fail_first=3)
    sleeps = []
    result = download(server.url("/f.bin"), tmp_path / "f.bin", config=FAST, sleep=sleeps.append)
    assert result.sha256 == SHA and result.attempts == 4
    assert sleeps == [0.002, 0.004]  # urllib3 Retry: none before the 1st retry, then exponential


def test_persistent_500_gives_up_with_clear_error(server, tmp_path):
    server.routes["/f.bin"] = FileRoute(DATA, fail_first=100)
    with pytest.raises(DownloadError, match=r"giving up .* 4 attempts.*HTTP 500"):
        download(server.url("/f.bin"), tmp_path / "f.bin", config=FAST, sleep=lambda s: None)
    assert server.hits("/f.bin") == FAST.retries + 1
    assert not (tmp_path / "f.bin").exists()


def test_server_ignoring_range_restarts_from_zero(server, tmp_path):
    route = FileRoute(DATA, ignore_range=True)
    server.routes["/f.bin"] = route
    dest = tmp_path / "f.bin"
    part_path(dest).write_bytes(b"x" * 5000)  # stale garbage: must not survive
    result = download(server.url("/f.bin"), dest, config=FAST)
    assert route.ranges == ["bytes=5000-"]
    assert result.sha256 == SHA and dest.read_bytes() == DATA


def test_ignoring_range_and_dropping_gives_up_without_progress(server, tmp_path):
    server.routes["/f.bin"] = FileRoute(DATA, ignore_range=True, drop_after=1000, drop_times=99)
    with pytest.raises(DownloadError, match="without progress"):
        download(server.url("/f.bin"), tmp_path / "f.bin", config=FAST, sleep=lambda s: None)
    assert server.hits("/f.bin") <= FAST.retries + 2


def test_wrong_announced_size_is_retried_then_reported(server, tmp_path):
    server.routes["/f.bin"] = FileRoute(DATA)
    with pytest.raises(DownloadError, match=r"announces 102,400 bytes but 99,999 are expected"):
        download(
            server.url("/f.bin"),
            tmp_path / "f.bin",
            expected_size=99_999,
            config=FAST,
            sleep=lambda s: None,
        )
    assert server.hits("/f.bin") == FAST.retries + 1
    assert not part_path(tmp_path / "f.bin").exists()


def test_short_body_under_content_length_is_resumed(server, tmp_path):
    # The server announces the full length but sends only part of it, once.
    server.routes["/f.bin"] = FileRoute(DATA, drop_after=50_000, drop_times=1)
    result = download(server.url("/f.bin"), tmp_path / "f.bin", config=FAST, sleep=lambda s: None)
    assert result.sha256 == SHA


def test_404_raises_not_found_without_retry(server, tmp_path):
    with pytest.raises(NotFoundError, match="404"):
        download(server.url("/missing"), tmp_path / "m", config=FAST, sleep=lambda s: None)
    assert server.hits("/missing") == 1


def test_other_4xx_is_not_retried(server, tmp_path):
    server.routes["/f"] = lambda h, n: send(h, 403, b"forbidden")
    with pytest.raises(DownloadError, match="403"):
        download(server.url("/f"), tmp_path / "f", config=FAST)
    assert server.hits("/f") == 1


def test_complete_part_file_is_finished_by_416(server, tmp_path):
    server.routes["/f.bin"] = FileRoute(DATA)
    dest = tmp_path / "f.bin"
    part_path(dest).write_bytes(DATA)
    result = download(server.url("/f.bin"), dest, config=FAST)
    assert result.sha256 == SHA and dest.read_bytes() == DATA


def test_existing_file_is_verified_against_recorded_sha(server, tmp_path):
    dest = tmp_path / "f.bin"
    dest.write_bytes(DATA)
    result = download(server.url("/f.bin"), dest, expected_sha256=SHA, config=FAST)
    assert result.status == "verified" and server.hits("/f.bin") == 0
    dest.write_bytes(DATA[:-1] + b"\x00")
    with pytest.raises(ChecksumError, match="corrupt or was changed"):
        download(server.url("/f.bin"), dest, expected_sha256=SHA, config=FAST)
    with pytest.raises(DataError, match="exists with 102,400 bytes but 5 are expected"):
        download(server.url("/f.bin"), dest, expected_size=5, config=FAST)


def test_fresh_download_must_match_expected_sha(server, tmp_path):
    server.routes["/f.bin"] = FileRoute(DATA)
    with pytest.raises(ChecksumError, match="differs from the recorded one"):
        download(server.url("/f.bin"), tmp_path / "f.bin", expected_sha256="0" * 64, config=FAST)
    assert not (tmp_path / "f.bin").exists() and not part_path(tmp_path / "f.bin").exists()


def test_unreachable_server_is_retried_then_fails(tmp_path):
    import socket

    with socket.socket() as sock:  # a port that is bound but not listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with pytest.raises(DownloadError, match="request failed"):
            download(
                f"http://127.0.0.1:{port}/x", tmp_path / "x", config=FAST, sleep=lambda s: None
            )


def test_retry_after_is_honoured_within_the_cap(server, tmp_path):
    server.routes["/f.bin"] = FileRoute(DATA, fail_first=1, fail_status=429)
    sleeps = []
    result = download(server.url("/f.bin"), tmp_path / "f.bin", config=FAST, sleep=sleeps.append)
    assert result.sha256 == SHA and sleeps == []  # urllib3: the first retry does not wait

    def busy(handler, count):
        if count == 0:
            send(handler, 503, b"busy", {"Retry-After": "5"})
        else:
            FileRoute(DATA)(handler, count)

    server.routes["/g.bin"] = busy
    sleeps.clear()
    download(server.url("/g.bin"), tmp_path / "g.bin", config=FAST, sleep=sleeps.append)
    assert sleeps == [FAST.backoff_max_s]  # Retry-After 5 s, capped at backoff_max_s


def test_file_changed_between_runs_is_not_spliced(server, tmp_path):
    old = FileRoute(DATA, drop_after=30_000, drop_times=1, headers={"ETag": '"v1"'})
    server.routes["/f.bin"] = old
    dest = tmp_path / "f.bin"
    no_retry = dataclasses.replace(FAST, retries=0)
    with pytest.raises(DownloadError, match="run again to resume"):
        download(server.url("/f.bin"), dest, config=no_retry)
    assert part_path(dest).stat().st_size == 30_000
    new_data = DATA[::-1]
    new = FileRoute(new_data, headers={"ETag": '"v2"'})
    server.routes["/f.bin"] = new
    result = download(server.url("/f.bin"), dest, config=FAST)
    assert new.ranges == ["bytes=30000-"]  # asked to resume, If-Range "v1" -> whole new file
    assert dest.read_bytes() == new_data and result.sha256 == hashlib.sha256(new_data).hexdigest()
    assert not list(tmp_path.glob("*.json"))


def test_unchanged_file_resumes_across_runs_with_if_range(server, tmp_path):
    route = FileRoute(DATA, drop_after=30_000, drop_times=1, headers={"ETag": '"v1"'})
    server.routes["/f.bin"] = route
    dest = tmp_path / "f.bin"
    with pytest.raises(DownloadError):
        download(server.url("/f.bin"), dest, config=dataclasses.replace(FAST, retries=0))
    seen = []
    server.routes["/f.bin"] = lambda h, n: (seen.append(h.headers.get("If-Range")), route(h, n))
    assert download(server.url("/f.bin"), dest, config=FAST).sha256 == SHA
    assert seen == ['"v1"'] and route.ranges[-1] == "bytes=30000-"
