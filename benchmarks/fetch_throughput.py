"""Throughput of stbench.fetch against plain baselines, in one run (ratios printed).

1. download(): resumable, size-checked, sha256 while streaming, vs a plain ``requests`` stream to
   disk (no hash, no checks) from the same loopback server.
2. extract_tar(): safe streaming extraction of a .tar.gz, vs ``tarfile.extractall(filter="data")``.
3. check_zip(): members validated per second (safe names, bomb limits, JPEG magic, CRC).

Run: ``nice python benchmarks/fetch_throughput.py [--mb 256]``.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import tarfile
import tempfile
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from stbench.fetch.download import DownloadConfig, download
from stbench.fetch.tarsafe import extract_tar
from stbench.fetch.zipsafe import check_zip


def serve(path: Path) -> tuple[ThreadingHTTPServer, str]:
    """A loopback server streaming ``path`` (no Range needed for the benchmark)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            size = path.stat().st_size
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            with open(path, "rb") as stream:
                shutil.copyfileobj(stream, self.wfile, 1 << 20)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/blob"


def best_of(repeats: int, run) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_download(work: Path, megabytes: int) -> None:
    blob = work / "blob.bin"
    with open(blob, "wb") as stream:
        for _ in range(megabytes):
            stream.write(os.urandom(1 << 20))
    server, url = serve(blob)
    size = blob.stat().st_size

    def plain() -> None:
        with requests.get(url, stream=True, timeout=30) as response, open(work / "p", "wb") as out:
            for block in response.iter_content(1 << 20):
                out.write(block)

    def ours() -> None:
        (work / "o").unlink(missing_ok=True)
        download(url, work / "o", expected_size=size, config=DownloadConfig())

    t_plain, t_ours = best_of(3, plain), best_of(3, ours)
    server.shutdown()
    mb = size / 1e6
    print(f"download {mb:.0f} MB over loopback")
    print(f"  plain requests stream : {mb / t_plain:8.1f} MB/s")
    print(f"  stbench download()    : {mb / t_ours:8.1f} MB/s (with sha256 + size checks)")
    print(f"  ratio ours/plain      : {t_plain / t_ours:8.2f}")


def bench_tar(work: Path, files: int) -> None:
    archive = work / "t.tar.gz"
    payload = os.urandom(40_000)
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        for index in range(files):
            info = tarfile.TarInfo(f"MegaDepth_v1/{index % 20:04d}/dense0/imgs/{index}.jpg")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))

    def plain() -> None:
        shutil.rmtree(work / "x1", ignore_errors=True)
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(work / "x1", filter="data")

    def ours() -> None:
        shutil.rmtree(work / "x2", ignore_errors=True)
        extract_tar(archive, work / "x2")

    t_plain, t_ours = best_of(3, plain), best_of(3, ours)
    print(f"extract .tar.gz, {files} files of 40 kB")
    print(f"  tarfile extractall(data): {files / t_plain:8.0f} files/s")
    print(f"  stbench extract_tar()   : {files / t_ours:8.0f} files/s (streaming)")
    print(f"  ratio ours/plain        : {t_plain / t_ours:8.2f}")


def bench_zip(work: Path, members: int) -> None:
    path = work / "m.zip"
    frame = b"\xff\xd8\xff\xe0" + os.urandom(30_000) + b"\xff\xd9"
    with zipfile.ZipFile(path, "w") as archive:
        for index in range(members):
            archive.writestr(f"20190101_{index:06d}.jpg", frame)

    def plain() -> None:
        with zipfile.ZipFile(path) as archive:
            assert archive.testzip() is None

    t_plain = best_of(3, plain)
    t_ours = best_of(3, lambda: check_zip(path))
    print(f"validate a zip of {members} JPEG members (30 kB)")
    print(f"  zipfile testzip()     : {members / t_plain:8.0f} members/s (CRC only)")
    print(f"  stbench check_zip()   : {members / t_ours:8.0f} members/s (names, bombs, JPEG, CRC)")
    print(f"  ratio ours/plain      : {t_plain / t_ours:8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=256, help="download size in MB")
    parser.add_argument("--files", type=int, default=3000, help="tar members")
    parser.add_argument("--members", type=int, default=3000, help="zip members")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bench_download(work, args.mb)
        bench_tar(work, args.files)
        bench_zip(work, args.members)


if __name__ == "__main__":
    main()
