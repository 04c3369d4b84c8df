"""A loopback HTTP server (127.0.0.1, ephemeral port) with scriptable routes for fetch tests."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from stbench.fetch.download import DownloadConfig

#: Fast network settings for tests: small timeouts and backoff.
FAST = DownloadConfig(
    connect_timeout_s=2.0, read_timeout_s=2.0, retries=3, backoff_factor_s=0.001, backoff_max_s=0.01
)

#: A route gets the request handler and the 0-based number of requests it has seen so far.
Route = Callable[[BaseHTTPRequestHandler, int], None]

MAX_REQUESTS = 200  # a test server never answers more than this (bounds runaway loops)


@dataclass
class FileRoute:
    """Serve ``data`` with optional faults.

    Attributes:
        data: the body.
        fail_first: answer ``fail_status`` to the first N requests.
        drop_after: for the first ``drop_times`` requests, close after sending this many bytes.
        ignore_range: always answer 200 with the whole body.
        announce: a Content-Length/total to announce instead of the real one.
        headers: extra response headers.
    """

    data: bytes
    fail_first: int = 0
    fail_status: int = 500
    drop_after: int | None = None
    drop_times: int = 0
    ignore_range: bool = False
    announce: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    ranges: list[str | None] = field(default_factory=list)

    def __call__(self, handler: BaseHTTPRequestHandler, count: int) -> None:
        requested = handler.headers.get("Range")
        self.ranges.append(requested)
        if count < self.fail_first:
            send(handler, self.fail_status, b"server error", {"Content-Type": "text/plain"})
            return
        total = len(self.data)
        start = 0
        match = re.match(r"bytes=(\d+)-$", requested or "")
        status = 200
        if_range = handler.headers.get("If-Range")
        fresh = if_range is None or if_range == self.headers.get("ETag")
        if match and not self.ignore_range and fresh:
            start = int(match.group(1))
            if start >= total:
                send(handler, 416, b"", {"Content-Range": f"bytes */{total}"})
                return
            status = 206
        body = self.data[start:]
        announced_total = self.announce if self.announce is not None else total
        headers = dict(self.headers)
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{total - 1}/{announced_total}"
            headers["Content-Length"] = str(announced_total - start)
        else:
            headers["Content-Length"] = str(announced_total)
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        if self.drop_after is not None and count - self.fail_first < self.drop_times:
            body = body[: self.drop_after]
            handler.close_connection = True
        try:
            handler.wfile.write(body[: max(announced_total - start, 0)])
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        if len(body) != announced_total - start:
            handler.close_connection = True


def send(
    handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None
) -> None:
    """Send a complete response."""
    handler.send_response(status)
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up early are part of the tests


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 with a route table and a request log."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.counts: dict[str, int] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                with server._lock:
                    count = server.counts.get(path, 0)
                    server.counts[path] = count + 1
                    server.requests.append((path, dict(self.headers)))
                    total = len(server.requests)
                if total > MAX_REQUESTS:
                    send(self, 503, b"request budget exhausted")
                    return
                route = server.routes.get(path)
                if route is None:
                    send(self, 404, b"not found", {"Content-Type": "text/plain"})
                    return
                route(self, count)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def hits(self, path: str) -> int:
        """How many requests ``path`` received."""
        return self.counts.get(path, 0)


def slow_route(data: bytes, delay_s: float) -> Route:
    """A route that waits ``delay_s`` before answering (to trigger read timeouts)."""

    def route(handler: BaseHTTPRequestHandler, count: int) -> None:
        time.sleep(delay_s)
        try:
            send(handler, 200, data, {"Content-Type": "image/jpeg"})
        except (BrokenPipeError, ConnectionResetError):
            pass

    return route
