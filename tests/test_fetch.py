"""Fetching feeds over real HTTP from a local ``FeedServer``: what a subscriber's feed gets.

Tests that are not about the SSRF guard allow private networks (the server is on 127.0.0.1);
the guard tests use ``trusted_origins`` and ``StaticResolver`` names instead. Nothing leaves
127.0.0.1.
"""

from __future__ import annotations

import asyncio
import socket
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from email.utils import formatdate

import pytest

from bot.errors import FeedError, UnsafeURLError
from bot.feeds.fetch import Fetcher, FetchLimits, HTTPStatusError
from tests.feedserver import FeedServer, StaticResolver, local_limits

RSS = '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title></channel></rss>'


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as feed_server:
        yield feed_server


async def fetch_error(fetcher: Fetcher, url: str) -> FeedError:
    with pytest.raises(FeedError) as failed:
        await fetcher.fetch(url)
    return failed.value


# --- conditional GET and headers ------------------------------------------------------------


async def test_second_poll_of_an_unchanged_feed_is_answered_not_modified(
    server: FeedServer,
) -> None:
    server.set("/feed.xml", RSS, headers={"Cache-Control": "public, max-age=300"})
    async with Fetcher(local_limits()) as fetcher:
        first = await fetcher.fetch(server.url("/feed.xml"))
        second = await fetcher.fetch(server.url("/feed.xml"), etag=first.etag)

    assert first.status == 200 and not first.not_modified
    assert first.content == RSS.encode()
    assert first.content_type == "application/rss+xml; charset=utf-8"
    assert first.etag and first.last_modified and first.max_age == 300.0
    assert second.not_modified and second.status == 304 and second.content == b""
    assert second.etag == first.etag
    assert server.hits("/feed.xml", status=304) == 1
    assert server.requests[1].headers["if-none-match"] == first.etag


async def test_last_modified_alone_is_enough_for_not_modified(server: FeedServer) -> None:
    server.set("/feed.xml", RSS)
    async with Fetcher(local_limits()) as fetcher:
        first = await fetcher.fetch(server.url("/feed.xml"))
        second = await fetcher.fetch(server.url("/feed.xml"), last_modified=first.last_modified)
    assert second.not_modified
    assert second.last_modified == first.last_modified
    assert server.requests[1].headers["if-modified-since"] == first.last_modified


async def test_changed_feed_is_downloaded_again_despite_old_etag(server: FeedServer) -> None:
    server.set("/feed.xml", RSS)
    async with Fetcher(local_limits()) as fetcher:
        first = await fetcher.fetch(server.url("/feed.xml"))
        server.set("/feed.xml", RSS.replace("Wire", "Wire 2"))
        second = await fetcher.fetch(server.url("/feed.xml"), etag=first.etag)
    assert second.status == 200 and b"Wire 2" in second.content
    assert second.etag != first.etag


async def test_a_feed_host_with_long_headers_is_read(server: FeedServer) -> None:
    policy = "default-src 'self'; " + "img-src https://cdn.example.org/x; " * 300  # ~10 KB
    server.set("/feed.xml", RSS, headers={"Content-Security-Policy": policy})
    async with Fetcher(local_limits()) as fetcher:
        assert (await fetcher.fetch(server.url("/feed.xml"))).content == RSS.encode()


async def test_requests_name_the_bot_and_prefer_feed_formats(server: FeedServer) -> None:
    server.set("/feed.xml", RSS)
    async with Fetcher(local_limits()) as fetcher:
        await fetcher.fetch(server.url("/feed.xml"))
    headers = server.requests[0].headers
    assert headers["user-agent"].startswith("Wirewatch/")
    assert headers["accept"].startswith("application/rss+xml, application/atom+xml")
    assert {"gzip", "deflate", "br"} <= {e.strip() for e in headers["accept-encoding"].split(",")}


# --- content encodings and the size cap -----------------------------------------------------


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "gzip, br", "br, deflate"])
async def test_compressed_feeds_are_decoded(server: FeedServer, encoding: str) -> None:
    server.set("/feed.xml", RSS * 50, encoding=encoding)
    async with Fetcher(local_limits()) as fetcher:
        result = await fetcher.fetch(server.url("/feed.xml"))
    assert result.content == (RSS * 50).encode()


async def test_raw_deflate_from_misconfigured_servers_is_decoded(server: FeedServer) -> None:
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    body = raw.compress(RSS.encode()) + raw.flush()
    server.set("/feed.xml", body, headers={"Content-Encoding": "deflate"})
    async with Fetcher(local_limits()) as fetcher:
        assert (await fetcher.fetch(server.url("/feed.xml"))).content == RSS.encode()


@pytest.mark.parametrize(
    ("encoding", "message"),
    [
        ("gzip, gzip, gzip", "refused: 3 stacked Content-Encodings (at most 2)"),
        ("zstd", "unsupported Content-Encoding 'zstd'"),
        ("gzip", "could not decode the gzip response from 127.0.0.1"),
    ],
)
async def test_unusable_encodings_are_explained(
    server: FeedServer, encoding: str, message: str
) -> None:
    server.set("/feed.xml", b"definitely not compressed", headers={"Content-Encoding": encoding})
    async with Fetcher(local_limits()) as fetcher:
        assert str(await fetch_error(fetcher, server.url("/feed.xml"))) == message


@pytest.mark.parametrize("encoding", ["gzip", "br"])
async def test_compression_bomb_stops_at_the_byte_cap_without_filling_memory(
    server: FeedServer, encoding: str
) -> None:
    server.set("/bomb.xml", b"\0" * 50_000_000, encoding=encoding)  # ~50 KB gzip, 80 B brotli
    async with Fetcher(local_limits(max_bytes=1 << 20)) as fetcher:
        tracemalloc.start()
        try:
            error = await fetch_error(fetcher, server.url("/bomb.xml"))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert str(error) == "response larger than 1 MiB (limit)"
    assert peak < 8 * 1024 * 1024


async def test_plain_body_over_the_cap_is_refused(server: FeedServer) -> None:
    server.set("/big.xml", b"x" * 2048)
    async with Fetcher(local_limits(max_bytes=1024)) as fetcher:
        error = await fetch_error(fetcher, server.url("/big.xml"))
        server.set("/fits.xml", b"x" * 1024)
        assert len((await fetcher.fetch(server.url("/fits.xml"))).content) == 1024
    assert str(error) == "response larger than 1 KiB (limit)"


# --- redirects ------------------------------------------------------------------------------


async def test_moved_feed_is_followed_to_its_new_address(server: FeedServer) -> None:
    server.redirect("/old", "/older", status=301)
    server.redirect("/older", server.url("/temporary"), status=308)
    server.redirect("/temporary", "feed.xml", status=307)
    server.set("/feed.xml", RSS)
    async with Fetcher(local_limits()) as fetcher:
        result = await fetcher.fetch(server.url("/old"))
    assert result.url == server.url("/old")
    assert result.final_url == server.url("/feed.xml")
    assert result.content == RSS.encode()


async def test_redirect_loop_is_reported(server: FeedServer) -> None:
    server.redirect("/a", "/b")
    server.redirect("/b", "/a")
    async with Fetcher(local_limits()) as fetcher:
        error = await fetch_error(fetcher, server.url("/a"))
    assert str(error) == f"redirect loop at {server.url('/a')}"
    assert server.hits("/a") == 1


async def test_more_redirects_than_the_limit_are_not_followed(server: FeedServer) -> None:
    for hop in range(6):
        server.redirect(f"/hop{hop}", f"/hop{hop + 1}")
    server.set("/hop6", RSS)
    async with Fetcher(local_limits(max_redirects=5)) as fetcher:
        error = await fetch_error(fetcher, server.url("/hop0"))
        assert (await fetcher.fetch(server.url("/hop1"))).content == RSS.encode()
    assert str(error) == "more than 5 redirects"
    assert server.hits("/hop6") == 1  # only from the second, shorter chain


async def test_redirect_to_a_local_file_is_refused(server: FeedServer) -> None:
    server.redirect("/feed.xml", "file:///etc/passwd")
    async with Fetcher(local_limits()) as fetcher:
        error = await fetch_error(fetcher, server.url("/feed.xml"))
    assert isinstance(error, UnsafeURLError)
    assert str(error) == (
        "redirect to file:///etc/passwd: unsupported URL scheme 'file': "
        "only http and https feeds are allowed"
    )


# --- HTTP errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "message", "permanent"),
    [
        (404, "HTTP 404 Not Found", False),
        (403, "HTTP 403 Forbidden", False),
        (500, "HTTP 500 Internal Server Error", False),
        (410, "HTTP 410 Gone: feed retired", True),
    ],
)
async def test_error_answers_become_readable_feed_errors(
    server: FeedServer, status: int, message: str, permanent: bool
) -> None:
    server.set("/feed.xml", "<html>oops</html>", status=status, content_type="text/html")
    async with Fetcher(local_limits()) as fetcher:
        error = await fetch_error(fetcher, server.url("/feed.xml"))
    assert str(error) == message
    assert error.permanent is permanent
    assert error.retry_after is None
    assert isinstance(error, HTTPStatusError) and error.status == status


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (429, "HTTP 429 Too Many Requests (retry after 120 s)"),
        (503, "HTTP 503 Service Unavailable (retry after 120 s)"),
    ],
)
async def test_busy_server_says_when_to_come_back(
    server: FeedServer, status: int, message: str
) -> None:
    server.set("/feed.xml", "", status=status, headers={"Retry-After": "120"})
    async with Fetcher(local_limits()) as fetcher:
        error = await fetch_error(fetcher, server.url("/feed.xml"))
    assert str(error) == message
    assert error.retry_after == 120.0 and not error.permanent


async def test_retry_after_as_an_http_date(server: FeedServer) -> None:
    later = formatdate(time.time() + 90, usegmt=True)
    server.set("/feed.xml", "", status=503, headers={"Retry-After": later})
    async with Fetcher(local_limits()) as fetcher:
        error = await fetch_error(fetcher, server.url("/feed.xml"))
    assert error.retry_after is not None and 80 <= error.retry_after <= 91


# --- time and concurrency -------------------------------------------------------------------


async def test_endless_trickle_ends_at_the_total_timeout(server: FeedServer) -> None:
    server.trickle("/slow.xml", b"<", interval=0.05)  # never idle long enough for read_timeout
    started = time.monotonic()
    async with Fetcher(local_limits(total_timeout=0.5, read_timeout=2.0)) as fetcher:
        error = await fetch_error(fetcher, server.url("/slow.xml"))
    assert str(error) == "timed out after 0.5 s (the whole download took too long)"
    assert time.monotonic() - started < 2.0


async def test_silent_server_hits_the_read_timeout(server: FeedServer) -> None:
    server.set("/feed.xml", RSS)
    server.delay("/feed.xml", 3.0)
    async with Fetcher(local_limits(read_timeout=0.3)) as fetcher:
        error = await fetch_error(fetcher, server.url("/feed.xml"))
    assert str(error) == "timed out after 0.3 s waiting for 127.0.0.1"


async def test_slow_dns_hits_the_connect_timeout() -> None:
    async def hanging_resolver(host: str, port: int) -> list[str]:
        await asyncio.sleep(10)
        return []

    async with Fetcher(local_limits(connect_timeout=0.2), resolver=hanging_resolver) as fetcher:
        error = await fetch_error(fetcher, "http://slow-dns.example.test/feed.xml")
    assert str(error) == "timed out after 0.2 s connecting to slow-dns.example.test"


async def test_per_host_cap_queues_one_host_but_not_the_others(server: FeedServer) -> None:
    server.set("/feed.xml", RSS)
    server.delay("/feed.xml", 0.3)
    dns = StaticResolver({"a.example.test": ["127.0.0.1"], "b.example.test": ["127.0.0.1"]})
    a, b = (
        f"http://{name}:{server.port}/feed.xml" for name in ("a.example.test", "b.example.test")
    )
    started = time.monotonic()
    async with Fetcher(local_limits(per_host=1), resolver=dns) as fetcher:
        await asyncio.gather(fetcher.fetch(a), fetcher.fetch(a), fetcher.fetch(b))
    elapsed = time.monotonic() - started
    assert server.peak_concurrency == 2  # one for a, one for b
    assert 0.55 <= elapsed < 2.0  # the second request to a waited for the first


# --- network failures -----------------------------------------------------------------------


async def test_closed_port_is_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with Fetcher(local_limits()) as fetcher:
        error = await fetch_error(fetcher, f"http://127.0.0.1:{port}/feed.xml")
    assert str(error) == "could not connect to 127.0.0.1: connection refused"


async def test_unknown_host_is_a_dns_error() -> None:
    async with Fetcher(local_limits(), resolver=StaticResolver()) as fetcher:
        error = await fetch_error(fetcher, "https://nowhere.example.test/feed.xml")
    assert str(error) == "could not resolve host nowhere.example.test"


async def test_tls_failure_is_explained_without_a_traceback(server: FeedServer) -> None:
    server.set("/feed.xml", RSS)
    async with Fetcher(local_limits()) as fetcher:
        error = await fetch_error(fetcher, f"https://127.0.0.1:{server.port}/feed.xml")
    assert str(error).startswith("TLS handshake with 127.0.0.1 failed")
    assert "Traceback" not in str(error) and "\n" not in str(error)


# --- the SSRF guard in a real fetch ---------------------------------------------------------

LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "2130706433",
    "0x7f000001",
    "017700000001",
    "127.1",
    "%31%32%37.0.0.1",
    "[::ffff:127.0.0.1]",
    "a@127.0.0.1",
    "0.0.0.0",
    "localhost",
]


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
async def test_guard_refuses_every_spelling_of_the_local_server_before_connecting(
    server: FeedServer, host: str
) -> None:
    server.set("/feed.xml", RSS)
    dns = StaticResolver()
    async with Fetcher(FetchLimits(), resolver=dns) as fetcher:
        error = await fetch_error(fetcher, f"http://{host}:{server.port}/feed.xml")
    assert isinstance(error, UnsafeURLError) and str(error).startswith("refused: ")
    assert dns.asked == []
    assert server.requests == []


async def test_name_resolving_to_loopback_is_refused_at_connect_time(server: FeedServer) -> None:
    server.set("/feed.xml", RSS)
    dns = StaticResolver({"rebind.example.test": ["127.0.0.1"]})
    async with Fetcher(FetchLimits(), resolver=dns) as fetcher:
        error = await fetch_error(fetcher, f"http://rebind.example.test:{server.port}/feed.xml")
    assert str(error) == (
        "refused: rebind.example.test resolves to 127.0.0.1, which is a loopback address "
        "(private networks are not allowed)"
    )
    assert dns.asked == ["rebind.example.test"]
    assert server.requests == []


async def test_trusted_origin_is_reached_by_name_with_its_host_header(server: FeedServer) -> None:
    server.set("/feed.xml", RSS)
    origin = f"demo.example.test:{server.port}"
    dns = StaticResolver({"demo.example.test": ["127.0.0.1"]})
    async with Fetcher(FetchLimits(trusted_origins=frozenset({origin})), resolver=dns) as fetcher:
        result = await fetcher.fetch(f"http://{origin}/feed.xml")
    assert result.content == RSS.encode()
    assert server.requests[0].headers["host"] == origin


async def test_trusted_server_cannot_redirect_the_bot_to_another_local_port(
    server: FeedServer, other_server: FeedServer
) -> None:
    other_server.set("/admin", "secret")
    server.redirect("/feed.xml", other_server.url("/admin"))
    trusted = frozenset({f"127.0.0.1:{server.port}"})
    async with Fetcher(FetchLimits(trusted_origins=trusted)) as fetcher:
        error = await fetch_error(fetcher, server.url("/feed.xml"))
    assert isinstance(error, UnsafeURLError)
    assert str(error) == (
        f"redirect to {other_server.url('/admin')}: refused: 127.0.0.1 is a loopback address "
        "(private networks are not allowed)"
    )
    assert server.hits("/feed.xml") == 1
    assert other_server.requests == []


async def test_redirect_to_a_name_resolving_to_loopback_is_refused_at_connect_time(
    server: FeedServer, other_server: FeedServer
) -> None:
    other_server.set("/admin", "secret")
    server.redirect("/feed.xml", f"http://internal.example.test:{other_server.port}/admin")
    dns = StaticResolver({"internal.example.test": ["127.0.0.1"]})
    trusted = frozenset({f"127.0.0.1:{server.port}"})
    async with Fetcher(FetchLimits(trusted_origins=trusted), resolver=dns) as fetcher:
        error = await fetch_error(fetcher, server.url("/feed.xml"))
    assert isinstance(error, UnsafeURLError)
    assert "internal.example.test resolves to 127.0.0.1" in str(error)
    assert other_server.requests == []
