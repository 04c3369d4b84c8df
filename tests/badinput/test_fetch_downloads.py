"""Bad input: downloads that must not be trusted, and a user who deletes a bad archive.

Every case runs against a loopback HTTP server (127.0.0.1) and asserts the exact outcome.
"""

import dataclasses
import email.utils
import io
import json
import tarfile
import time

import pytest
from fetch.loopback import FAST, FileRoute, LoopbackServer, send

from stbench.errors import DataError
from stbench.fetch.download import DownloadError, download, part_path
from stbench.fetch.megadepth import fetch_megadepth, known_digest
from stbench.fetch.webcams import fetch_webcams

TOP = "phoenix/S6/zl548/MegaDepth_v1"
DEPTH_ROUTE = "/md/Megadepth_v1/MegaDepth_v1.tar.gz"
HTML = b"<!DOCTYPE html><html><body><h1>503 Service Unavailable</h1></body></html>\n"


@pytest.fixture
def server():
    instance = LoopbackServer()
    instance.thread.start()
    try:
        yield instance
    finally:
        instance.httpd.shutdown()
        instance.httpd.server_close()


def depth_archive() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for k in range(40):
            data = bytes([k]) * 5000 + k.to_bytes(4, "big") * 3000
            info = tarfile.TarInfo(f"{TOP}/0015/dense0/imgs/{k:03d}.jpg")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def log_entry(root):
    return json.loads((root / "fetch_log.json").read_text())["entries"][
        "archives/MegaDepth_v1.tar.gz"
    ]


def test_short_content_length_is_untrusted_and_a_deleted_archive_downloads_again(server, tmp_path):
    data = depth_archive()
    server.routes[DEPTH_ROUTE] = FileRoute(data, announce=len(data) // 2)  # cut, and says so
    root = tmp_path / "md"
    with pytest.raises(DataError, match=r"truncated.*\n.*delete .*MegaDepth_v1.tar.gz and run"):
        fetch_megadepth(root, ["depth"], url=server.url("/md"), config=FAST)
    entry = log_entry(root)
    assert (entry["status"], entry["trusted"], entry["size"]) == ("invalid", False, len(data) // 2)
    assert known_digest(entry) is None and not (root / "MegaDepth_v1").exists()

    (root / "archives/MegaDepth_v1.tar.gz").unlink()  # what the message says to do
    server.routes[DEPTH_ROUTE] = FileRoute(data)  # the mirror is fixed
    fetch_megadepth(root, ["depth"], url=server.url("/md"), config=FAST)
    entry = log_entry(root)
    assert (entry["status"], entry["trusted"], entry["verified_by"]) == (
        "extracted",
        True,
        "length",
    )
    assert entry["size"] == len(data) and entry["extracted_files"] == 40
    assert known_digest(entry) == entry["sha256"]


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/octet-stream"])
def test_html_page_is_refused_never_recorded_and_the_next_run_succeeds(
    server, tmp_path, content_type
):
    data = depth_archive()
    server.routes[DEPTH_ROUTE] = lambda h, n: send(h, 200, HTML, {"Content-Type": content_type})
    root = tmp_path / "md"
    with pytest.raises(DownloadError, match="HTML page"):
        fetch_megadepth(root, ["depth"], url=server.url("/md"), config=FAST)
    archive = root / "archives/MegaDepth_v1.tar.gz"
    assert not archive.exists() and not part_path(archive).exists()
    assert not (root / "fetch_log.json").exists()  # nothing recorded, trusted or not
    server.routes[DEPTH_ROUTE] = FileRoute(data)
    fetch_megadepth(root, ["depth"], url=server.url("/md"), config=FAST)
    assert log_entry(root)["trusted"] is True


def test_body_shorter_than_content_length_is_never_finished_or_recorded(server, tmp_path):
    data = depth_archive()
    server.routes[DEPTH_ROUTE] = FileRoute(
        data, ignore_range=True, drop_after=len(data) // 3, drop_times=10_000
    )
    root = tmp_path / "md"
    with pytest.raises(DownloadError, match="without progress"):
        fetch_megadepth(root, ["depth"], url=server.url("/md"), config=FAST)
    assert not (root / "archives/MegaDepth_v1.tar.gz").exists()
    assert not (root / "fetch_log.json").exists()


def test_an_old_untrusted_digest_is_not_a_known_value(server, tmp_path):
    data = depth_archive()
    root = tmp_path / "md"
    root.mkdir()
    stale = {"status": "downloaded", "sha256": "0" * 64, "size": 5, "url": "x"}
    (root / "fetch_log.json").write_text(
        json.dumps({"version": 1, "entries": {"archives/MegaDepth_v1.tar.gz": stale}})
    )
    server.routes[DEPTH_ROUTE] = FileRoute(data)
    fetch_megadepth(root, ["depth"], url=server.url("/md"), config=FAST)
    assert log_entry(root)["trusted"] is True
    assert known_digest({**stale, "extracted": True}) == "0" * 64  # pre-`trusted` entries


def test_webcam_month_served_as_html_is_failed_and_asked_again(server, tmp_path):
    route = "/wc/00000090/2019.01.zip"
    server.routes[route] = lambda h, n: send(h, 200, HTML, {"Content-Type": "text/html"})
    seen = []
    template = server.url("/wc/{id:08}/{YYYY}.{MM}.zip")
    fetch_webcams(
        tmp_path, [90], [(2019, 1)], url_template=template, config=FAST,
        on_month=lambda *row: seen.append(row),
    )  # fmt: skip
    assert seen[0][1] == "failed" and "HTML page" in seen[0][2]
    assert not (tmp_path / "00000090/2019.01.zip").exists()
    entry = json.loads((tmp_path / "fetch_log.json").read_text())["entries"]["00000090/2019.01.zip"]
    assert entry["status"] == "failed" and "sha256" not in entry


def test_503_then_200_with_retry_after_in_seconds(server, tmp_path):
    def busy_once(handler, count):
        if count == 0:
            send(handler, 503, b"busy", {"Retry-After": "1"})
        else:
            FileRoute(b"payload" * 100)(handler, count)

    server.routes["/f"] = busy_once
    result = download(server.url("/f"), tmp_path / "f", config=FAST)  # the real sleep: 1 s
    assert (result.status, result.attempts, result.verified_by) == ("downloaded", 2, "length")
    assert server.hits("/f") == 2
    waits = []
    server.routes["/g"] = busy_once
    patient = dataclasses.replace(FAST, backoff_max_s=30.0)
    download(server.url("/g"), tmp_path / "g", config=patient, sleep=waits.append)
    assert waits == [1.0]


def test_retry_after_as_http_date_is_parsed_and_capped(server, tmp_path):
    def busy_until(when):
        def route(handler, count):
            if count == 0:
                send(
                    handler,
                    503,
                    b"busy",
                    {"Retry-After": email.utils.formatdate(when, usegmt=True)},
                )
            else:
                FileRoute(b"payload")(handler, count)

        return route

    waits = []
    server.routes["/d"] = busy_until(time.time() + 20)
    patient = dataclasses.replace(FAST, backoff_max_s=60.0)
    download(server.url("/d"), tmp_path / "d", config=patient, sleep=waits.append)
    assert len(waits) == 1 and 15.0 <= waits[0] <= 21.0  # an HTTP date 20 s ahead
    waits.clear()
    server.routes["/e"] = busy_until(time.time() + 3600)
    download(server.url("/e"), tmp_path / "e", config=patient, sleep=waits.append)
    assert waits == [60.0]  # capped at backoff_max_s
    waits.clear()
    server.routes["/bad"] = lambda h, n: (
        send(h, 503, b"", {"Retry-After": "soon"}) if n == 0 else FileRoute(b"x")(h, n)
    )
    download(server.url("/bad"), tmp_path / "bad", config=patient, sleep=waits.append)
    assert waits == []  # unparseable: the backoff (none before the first retry)


def zip_bytes(frames: int) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for k in range(frames):
            archive.writestr(
                f"2019010{k}_120000.jpg", b"\xff\xd8\xff" + bytes([k]) * 4000 + b"\xff\xd9"
            )
    return buffer.getvalue()


def test_webcam_zip_cut_by_a_short_content_length_is_invalid_then_retried(server, tmp_path):
    data = zip_bytes(3)
    route = "/wc/00000090/2019.01.zip"
    server.routes[route] = FileRoute(data, announce=len(data) - 100)
    template = server.url("/wc/{id:08}/{YYYY}.{MM}.zip")
    seen = []
    fetch = dict(url_template=template, config=FAST, on_month=lambda *row: seen.append(row))
    fetch_webcams(tmp_path, [90], [(2019, 1)], **fetch)
    log = tmp_path / "fetch_log.json"
    entry = json.loads(log.read_text())["entries"]["00000090/2019.01.zip"]
    assert seen[-1][1] == "invalid" and (entry["status"], entry["trusted"]) == ("invalid", False)
    assert not (tmp_path / "00000090/2019.01.zip").exists()  # deleted, nothing to clean up
    server.routes[route] = FileRoute(data)
    fetch_webcams(tmp_path, [90], [(2019, 1)], retry_failed=True, **fetch)
    entry = json.loads(log.read_text())["entries"]["00000090/2019.01.zip"]
    assert seen[-1][1] == "ok" and entry["jpeg_members"] == 3
    assert (entry["trusted"], entry["verified_by"]) == (True, "length")
