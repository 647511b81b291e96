"""A real HTTP feed server on 127.0.0.1 for tests, in a background thread.

Works from sync and async tests alike (the server has its own thread)::

    with FeedServer() as server:
        server.set("/feed.xml", RSS)
        server.redirect("/old", "/feed.xml", status=301)
        ...  # fetch server.url("/feed.xml")
        assert server.hits("/feed.xml", status=304) == 1

Every 2xx answer carries a strong ETag (hash of the bytes sent) and a Last-Modified, and a
matching If-None-Match / If-Modified-Since is answered 304, like a well-behaved feed host.
Unknown paths answer 404. ``requests`` records what was asked and what was answered.
"""

from __future__ import annotations

import gzip as gzip_module
import hashlib
import socket
import sys
import threading
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

import brotli

from bot.feeds.fetch import FetchLimits

__all__ = ["FeedServer", "RecordedRequest", "StaticResolver"]


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the server saw it; header names are lower-cased."""

    method: str
    path: str
    headers: Mapping[str, str]
    status: int


@dataclass(slots=True)
class _Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    trickle: tuple[bytes, float] | None = None  # endless body: this chunk every n seconds


def _encode(body: bytes, encoding: str) -> bytes:
    """Apply a Content-Encoding list in the order it is written ("gzip, br": gzip first)."""
    for name in (part.strip() for part in encoding.split(",")):
        if name == "gzip":
            body = gzip_module.compress(body, mtime=0)
        elif name == "deflate":
            body = zlib.compress(body)
        elif name == "br":
            body = brotli.compress(body, quality=5)
        else:
            raise ValueError(f"FeedServer cannot encode {name!r}")
    return body


class FeedServer:
    """An HTTP/1.1 server with a random port; configure paths with ``set``, ``redirect``…"""

    def __init__(self) -> None:
        self._routes: dict[str, _Route] = {}
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._in_flight = 0
        self.peak_concurrency = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.base_url = ""

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        handler = type("FeedServerHandler", (_Handler,), {"feed_server": self})
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # ends delays and trickles early
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- configuration -----------------------------------------------------------------------

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def set(
        self,
        path: str,
        body: bytes | str,
        *,
        content_type: str = "application/rss+xml; charset=utf-8",
        status: int = 200,
        headers: dict[str, str] | None = None,
        encoding: str | None = None,
    ) -> None:
        """Serve ``body`` at ``path``; ``encoding`` ("gzip", "br", "gzip, br"…) compresses it.

        ``headers`` are sent as given and override the computed ETag / Last-Modified.
        """
        data = body.encode() if isinstance(body, str) else body
        computed = {"Content-Type": content_type}
        if encoding:
            data = _encode(data, encoding)
            computed["Content-Encoding"] = encoding
        if 200 <= status < 300:
            computed["ETag"] = f'"{hashlib.sha256(data).hexdigest()[:20]}"'
            computed["Last-Modified"] = formatdate(time.time(), usegmt=True)
        with self._lock:
            self._routes[path] = _Route(
                body=data, status=status, headers=computed | (headers or {})
            )

    def gzip(self, path: str, body: bytes | str, *, headers: dict[str, str] | None = None) -> None:
        """Serve ``body`` gzip-compressed (shorthand for ``set(..., encoding="gzip")``)."""
        self.set(path, body, encoding="gzip", headers=headers)

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        with self._lock:
            self._routes[path] = _Route(status=status, headers={"Location": location})

    def delay(self, path: str, seconds: float) -> None:
        """Wait ``seconds`` before answering ``path`` (a route that is not set yet serves b"")."""
        with self._lock:
            self._routes.setdefault(path, _Route()).delay = seconds

    def trickle(self, path: str, chunk: bytes = b"<", interval: float = 0.05) -> None:
        """Answer 200 and then send ``chunk`` every ``interval`` seconds, forever."""
        with self._lock:
            self._routes[path] = _Route(
                headers={"Content-Type": "application/rss+xml"}, trickle=(chunk, interval)
            )

    # --- observation -------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def hits(self, path: str, status: int | None = None) -> int:
        """How many requests asked for ``path`` (and were answered ``status``, if given)."""
        return sum(
            1
            for request in self.requests
            if request.path == path and (status is None or request.status == status)
        )

    # --- answering (runs in the server's threads) --------------------------------------------

    def _route(self, path: str) -> _Route | None:
        with self._lock:
            return self._routes.get(path) or self._routes.get(path.partition("?")[0])

    def _answer(self, handler: _Handler) -> None:
        with self._lock:
            self._in_flight += 1
            self.peak_concurrency = max(self.peak_concurrency, self._in_flight)
        try:
            self._respond(handler)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _respond(self, handler: _Handler) -> None:
        route = self._route(handler.path)
        if route is None:
            route = _Route(body=b"not found", status=404, headers={"Content-Type": "text/plain"})
        if route.delay:
            self._stopping.wait(route.delay)
        status = 304 if _not_modified(route, handler) else route.status
        headers = {name.lower(): value for name, value in handler.headers.items()}
        with self._lock:
            self._requests.append(RecordedRequest(handler.command, handler.path, headers, status))
        if route.trickle is not None:
            self._send_trickle(handler, route, *route.trickle)
            return
        handler.send_response(status)
        for name, value in route.headers.items():
            if status != 304 or name.lower() not in ("content-type", "content-encoding"):
                handler.send_header(name, value)
        body = b"" if status == 304 else route.body
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)

    def _send_trickle(self, handler: _Handler, route: _Route, chunk: bytes, every: float) -> None:
        handler.close_connection = True  # no length: the body ends when the connection does
        handler.send_response(200)
        for name, value in route.headers.items():
            handler.send_header(name, value)
        handler.send_header("Connection", "close")
        handler.end_headers()
        try:
            while not self._stopping.is_set():
                handler.wfile.write(chunk)
                handler.wfile.flush()
                self._stopping.wait(every)
        except OSError:
            pass  # the client gave up, which is the point


def _not_modified(route: _Route, handler: BaseHTTPRequestHandler) -> bool:
    if not 200 <= route.status < 300 or route.trickle is not None:
        return False
    etag = route.headers.get("ETag")
    if_none_match = handler.headers.get("If-None-Match")
    if if_none_match is not None:  # takes precedence over If-Modified-Since (RFC 9110)
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or (etag is not None and etag in tags)
    last_modified = route.headers.get("Last-Modified")
    if_modified_since = handler.headers.get("If-Modified-Since")
    if not (last_modified and if_modified_since):
        return False
    try:
        return parsedate_to_datetime(if_modified_since) >= parsedate_to_datetime(last_modified)
    except (TypeError, ValueError):
        return False


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)
        # A client hanging up mid-answer is what the size cap and timeouts are for.


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real feed hosts do
    server_version = "FeedServer/1"
    timeout = 10  # a stuck client must not hold a server thread forever
    feed_server: FeedServer

    def do_GET(self) -> None:
        self.feed_server._answer(self)

    do_HEAD = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean


class StaticResolver:
    """A DNS stand-in for ``bot.feeds.guard.Resolver``: fixed answers, and a log of the questions.

    Lets tests give the local server a public-looking name, or point a name at a forbidden
    address, without touching /etc/hosts or the network.
    """

    def __init__(self, records: Mapping[str, list[str]] | None = None) -> None:
        self.records = dict(records or {})
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if host not in self.records:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.records[host])


def local_limits(**overrides: object) -> FetchLimits:
    """Fetch limits for talking to a local server, with timeouts short enough for a test run."""
    options: dict[str, object] = {
        "allow_private_networks": True,
        "connect_timeout": 2.0,
        "read_timeout": 2.0,
        "total_timeout": 5.0,
    }
    return FetchLimits(**(options | overrides))  # type: ignore[arg-type]
