"""Fetch one feed over HTTP: a ``FetchResult``, or a ``FeedError`` a person can read.

For each URL, in this order:

1. ``check_url`` refuses unsafe schemes and literal private addresses, then a per-host slot is
   taken (at most ``per_host`` concurrent requests per host:port);
2. a conditional GET (If-None-Match / If-Modified-Since) goes out through an aiohttp session on
   ``guarded_connector``, which checks the address actually connected to (see
   ``bot.feeds.transport``); the checked URL is handed to aiohttp only if its parser sees the
   same host and port as the guard's;
3. redirects are followed here, at most ``max_redirects``, each target checked again;
4. the body is streamed through ``bot.feeds.decode`` (gzip, deflate, br; at most two stacked) in
   bounded pieces, so a compression bomb stops at ``max_bytes`` of decoded data without being
   held in memory;
5. the requests must finish within ``total_timeout`` together (waiting for a per-host slot is not
   counted), so a server that trickles one byte a second cannot hold a fetch forever.

Answers other than 2xx and 304 become ``FeedError``: "HTTP 404 Not Found", "HTTP 410 Gone: feed
retired" (``permanent``), 429/503 with ``retry_after`` from Retry-After.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import re
import ssl
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from types import TracebackType
from typing import Self

import aiohttp
import httpx
import yarl

from bot.errors import FeedError, UnsafeURLError
from bot.feeds.decode import ACCEPT_ENCODING, DecodeError, read_decoded
from bot.feeds.guard import DEFAULT_PORTS, Resolver, check_url, origin_key
from bot.feeds.transport import guarded_connector

__all__ = ["FetchLimits", "FetchResult", "Fetcher", "HTTPStatusError"]

_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, */*;q=0.8"
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024  # raw bytes read per step; decode bounds what each step expands to
_CHECKED_URLS = 32_768  # URLs whose check is remembered: more than a big feed list polls
_HEADER_BYTES = 16 * 1024  # longest header line accepted, as httpx allowed (aiohttp: 8 KiB)


class HTTPStatusError(FeedError):
    """The server answered with an error status (``status``): 404, 410, 429, 5xx…"""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        retry_after: float | None = None,
        permanent: bool = False,
    ) -> None:
        super().__init__(message, retry_after=retry_after, permanent=permanent)
        self.status = status


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """What one fetch may cost; ``trusted_origins`` ("host:port") are exempt from the guard."""

    max_bytes: int = 10 * 1024 * 1024  # cap on the decoded body
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0  # all requests of one fetch, slow streams included
    max_redirects: int = 5
    per_host: int = 2  # concurrent requests per host
    user_agent: str = "Wirewatch/0.1 (+https://github.com/wirewatch/wirewatch; news alert bot)"
    allow_private_networks: bool = False
    trusted_origins: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A successful fetch. ``content`` is the decoded body, ``b""`` when not modified."""

    url: str  # as requested
    final_url: str  # after redirects
    status: int  # 2xx or 304
    content: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None
    max_age: float | None  # Cache-Control max-age, seconds

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True, slots=True)
class _Redirect:
    location: str  # as the server wrote it, for messages
    target: str  # resolved against the URL that answered


class Fetcher:
    """Fetches feeds over one pooled HTTP/1.1 client; create once, share, ``aclose`` at the end.

    ``resolver`` replaces DNS for the guard (tests, custom resolvers). The aiohttp session is
    made on the first fetch, inside the event loop that uses it.
    """

    def __init__(
        self, limits: FetchLimits = FetchLimits(), *, resolver: Resolver | None = None
    ) -> None:
        self._limits = limits
        self._resolver = resolver
        self._session: aiohttp.ClientSession | None = None
        # The check is a pure function of the URL and the limits, and as costly as a request.
        self._check = functools.lru_cache(maxsize=_CHECKED_URLS)(self._check_url)
        self._host_slots: weakref.WeakValueDictionary[str, asyncio.Semaphore] = (
            weakref.WeakValueDictionary()
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            limits = self._limits
            connector = guarded_connector(
                allow_private=limits.allow_private_networks,
                trusted_origins=limits.trusted_origins,
                resolver=self._resolver,
                connect_timeout=limits.connect_timeout,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={
                    "User-Agent": limits.user_agent,
                    "Accept": _ACCEPT,
                    "Accept-Encoding": ACCEPT_ENCODING,
                },
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=limits.connect_timeout, sock_read=limits.read_timeout
                ),
                auto_decompress=False,  # bot.feeds.decode bounds the decoded size itself
                trust_env=False,  # an environment proxy would connect on our behalf, past the guard
                cookie_jar=aiohttp.DummyCookieJar(),  # one feed's cookies are not another's
                max_line_size=_HEADER_BYTES,
                max_field_size=_HEADER_BYTES,
            )
        return self._session

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET ``url``, conditionally when validators from the previous fetch are given."""
        limits = self._limits
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = self._check(url)
        seen = {current.url}
        spent = 0.0
        for _ in range(limits.max_redirects + 1):
            async with self._host_slot(current):
                started = time.monotonic()
                answer = await self._exchange(url, current, headers, limits.total_timeout - spent)
                spent += time.monotonic() - started
            if isinstance(answer, FetchResult):
                return answer
            try:
                target = self._check(answer.target)
            except UnsafeURLError as exc:
                raise UnsafeURLError(f"redirect to {answer.location}: {exc}") from None
            if target.url in seen:
                raise FeedError(f"redirect loop at {target.url}")
            seen.add(target.url)
            current = target
        raise FeedError(f"more than {limits.max_redirects} redirects")

    def _check_url(self, url: str) -> _Target:
        checked = check_url(
            url,
            allow_private=self._limits.allow_private_networks,
            trusted_origins=self._limits.trusted_origins,
        )
        return _Target.of(checked)

    def _host_slot(self, target: _Target) -> asyncio.Semaphore:
        slot = self._host_slots.get(target.origin)
        if slot is None:  # weak values: a host's slot lives while a fetch holds or awaits it
            slot = self._host_slots[target.origin] = asyncio.Semaphore(self._limits.per_host)
        return slot

    async def _exchange(
        self, requested: str, target: _Target, headers: dict[str, str], budget: float
    ) -> FetchResult | _Redirect:
        """One request and its answer, within what is left of the total time budget."""
        deadline = asyncio.timeout(max(budget, 0.0))
        try:
            async with deadline:
                return await self._request(requested, target, headers)
        except (aiohttp.ClientError, TimeoutError) as exc:
            if deadline.expired():
                total = self._limits.total_timeout
                message = f"timed out after {total:g} s (the whole download took too long)"
                raise FeedError(message) from None
            if not isinstance(exc, aiohttp.ClientError):
                raise
            raise FeedError(_describe_client_error(exc, target.host, self._limits)) from exc

    async def _request(
        self, requested: str, target: _Target, headers: dict[str, str]
    ) -> FetchResult | _Redirect:
        session = self._client()
        async with session.get(target.wire, headers=headers, allow_redirects=False) as response:
            try:
                return await self._answer(requested, target, response, headers)
            except BaseException:
                response.close()  # a body left unread: the connection cannot be reused
                raise

    async def _answer(
        self,
        requested: str,
        target: _Target,
        response: aiohttp.ClientResponse,
        sent: dict[str, str],
    ) -> FetchResult | _Redirect:
        status = response.status
        if status in _REDIRECTS:
            location = response.headers.get("location")
            if not location:
                raise FeedError(f"{_status_line(status)} without a Location header")
            try:
                return _Redirect(location, str(httpx.URL(target.url).join(location)))
            except httpx.InvalidURL:
                raise FeedError(f"redirect to an invalid URL: {location!r}") from None
        if status != 304 and not 200 <= status < 300:
            raise _status_error(status, response.headers.get("retry-after"))
        etag = response.headers.get("etag")
        last_modified = response.headers.get("last-modified")
        if status == 304:  # a 304 may omit validators; keep the ones that earned it
            etag = etag or sent.get("If-None-Match")
            last_modified = last_modified or sent.get("If-Modified-Since")
        content = b"" if status == 304 else await self._read_body(target, response)
        return FetchResult(
            url=requested,
            final_url=target.url,
            status=status,
            content=content,
            content_type=response.headers.get("content-type"),
            etag=etag,
            last_modified=last_modified,
            max_age=_max_age(response.headers.get("cache-control")),
        )

    async def _read_body(self, target: _Target, response: aiohttp.ClientResponse) -> bytes:
        """Stream and decode the body, stopping as soon as it passes ``max_bytes``."""
        encoding = response.headers.get("content-encoding")
        try:
            return await read_decoded(
                response.content.iter_chunked(_CHUNK),
                encoding,
                max_bytes=self._limits.max_bytes,
                content_length=response.headers.get("content-length"),
            )
        except DecodeError:
            raise FeedError(
                f"could not decode the {encoding} response from {target.host}"
            ) from None


@dataclass(frozen=True, slots=True)
class _Target:
    """A URL that passed ``check_url``, with the ``yarl.URL`` aiohttp will request."""

    url: str  # as check_url normalized it
    wire: yarl.URL
    host: str
    origin: str  # "host:port", the per-host slot's key

    @classmethod
    def of(cls, checked: str) -> _Target:
        """Parse ``checked`` for aiohttp, refusing it if yarl would reach another host than httpx.

        The guard parses with httpx; a parser that disagreed on the host would connect
        somewhere the guard never judged.
        """
        parsed = httpx.URL(checked)
        port = parsed.port or DEFAULT_PORTS[parsed.scheme]
        wire = yarl.URL(checked, encoded=True)
        origin = origin_key(parsed.host, port)
        if wire.host is None or origin_key(wire.host, wire.port or 0) != origin:
            raise UnsafeURLError(f"refused: {checked} names its host ambiguously")
        return cls(checked, wire, parsed.host, origin)


# --- messages -------------------------------------------------------------------------------


def _status_line(status: int) -> str:
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def _status_error(status: int, retry_after_header: str | None) -> HTTPStatusError:
    line = _status_line(status)
    if status == 410:
        return HTTPStatusError(f"{line}: feed retired", status=status, permanent=True)
    if status in (429, 503):
        retry_after = _retry_after(retry_after_header)
        if retry_after is not None:
            return HTTPStatusError(
                f"{line} (retry after {retry_after:.0f} s)", status=status, retry_after=retry_after
            )
    return HTTPStatusError(line, status=status)


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds from now: either delay-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _max_age(cache_control: str | None) -> float | None:
    match = re.search(r'(?:^|[,\s])max-age\s*=\s*"?(\d+)', cache_control or "", re.IGNORECASE)
    return float(match.group(1)) if match else None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


_ERRNO_REASONS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset",
    errno.ENETUNREACH: "network unreachable",
    errno.EHOSTUNREACH: "host unreachable",
}


def _describe_client_error(exc: aiohttp.ClientError, host: str, limits: FetchLimits) -> str:
    """A one-line explanation of a network failure, without the exception chain."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return f"timed out after {limits.connect_timeout:g} s connecting to {host}"
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return f"timed out after {limits.read_timeout:g} s waiting for {host}"
    for cause in _causes(exc):
        if isinstance(cause, aiohttp.ClientError):
            continue  # aiohttp's wrappers subclass ssl.SSLError without its attributes
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate of {host} is not valid: {cause.verify_message}"
        if isinstance(cause, ssl.SSLError):
            reason = (cause.reason or "error").lower().replace("_", " ")
            return f"TLS handshake with {host} failed ({reason})"
        if isinstance(cause, OSError) and cause.errno in _ERRNO_REASONS:
            return f"could not connect to {host}: {_ERRNO_REASONS[cause.errno]}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"could not connect to {host}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return f"{host} closed the connection before answering"
    if isinstance(exc, aiohttp.ClientResponseError | aiohttp.ClientPayloadError):
        detail = getattr(exc, "message", "") or str(exc)
        return f"{host} sent a malformed HTTP response ({_first_line(detail)})"
    return f"connection to {host} failed ({type(exc).__name__})"


def _first_line(text: object) -> str:
    lines = str(text).strip().splitlines()
    return (lines[0] if lines else "no detail").rstrip(".").lower()
