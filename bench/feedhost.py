"""Benchmark helper (not a benchmark): many RSS feeds served by one aiohttp process.

    .venv/bin/python bench/feedhost.py --feeds 10000 --hosts 32 --churn 0.1

Run as a separate process by ``bench/poll.py`` and ``bench/latency.py`` so that serving feeds
does not share the bot's event loop or CPU time. It prints ``port <n>`` on stdout when it
listens, then serves until stdin closes (the parent exiting stops it too).

- ``GET /feed/<n>.xml``: feed ``n``, ``--items`` entries, newest first, with an ETag. A request
  whose If-None-Match matches is answered 304 Not Modified, except for the churning share of the
  feeds (``--churn``, every ``round(1/churn)``-th feed): for those a conditional request finds one
  new entry, so a re-poll sees about ``churn`` of the feeds change.
- ``POST /publish/<n>``: a new entry in feed ``n`` now, with the ``title`` and ``summary`` of an
  optional JSON body; answers its guid (``bench/latency.py``).
- It listens on ``--hosts`` loopback addresses (127.0.0.1, 127.0.0.2, …) and one port, so the
  fetcher's per-host limit sees as many hosts as a real feed list spreads over.

``rss_document`` (also used by ``bench/ingest.py``) renders an RSS 2.0 document.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402
from corpus import make_items, vocabulary  # noqa: E402

__all__ = ["Entry", "launch", "rss_document"]

BASE_AGE = 2 * 86400.0  # the entries a feed starts with are two days old: never alerted
PUBLISHED_TITLE = "Evacuation corridor opens in Mariupol, convoy {n} leaves"


@dataclass(frozen=True, slots=True)
class Entry:
    guid: str
    title: str
    summary: str
    link: str
    published: float  # unix time


def rss_document(title: str, link: str, entries: Iterable[Entry]) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>{escape(link)}</link>",
        "<description>Wirewatch benchmark feed</description><language>en</language>",
    ]
    for entry in entries:
        parts.append(
            f"<item><title>{escape(entry.title)}</title><link>{escape(entry.link)}</link>"
            f"<description>{escape(entry.summary)}</description>"
            f'<guid isPermaLink="false">{escape(entry.guid)}</guid>'
            f"<pubDate>{formatdate(entry.published, usegmt=True)}</pubDate></item>"
        )
    parts.append("</channel></rss>\n")
    return "".join(parts).encode()


class FeedSet:
    """The feeds' state: each feed's newest entry number, and when published entries appeared."""

    def __init__(self, count: int, items: int, churn: float, texts: Sequence[tuple[str, str]]):
        self.items = items
        self.every = round(1 / churn) if churn > 0 else 0
        self.texts = texts
        self.newest = [items - 1] * count
        self.published: dict[tuple[int, int], tuple[float, str, str | None]] = {}
        self.started = time.time()

    def etag(self, feed: int) -> str:
        return f'"{feed}-{self.newest[feed]}"'

    def churns(self, feed: int) -> bool:
        return self.every > 0 and feed % self.every == 0

    def publish(self, feed: int, title: str | None = None, summary: str | None = None) -> str:
        self.newest[feed] += 1
        number = self.newest[feed]
        title = title or PUBLISHED_TITLE.format(n=number)
        self.published[(feed, number)] = (time.time(), title, summary)
        return f"f{feed}-e{number}"

    def body(self, feed: int, base_url: str) -> bytes:
        newest = self.newest[feed]
        return rss_document(
            f"Feed {feed}",
            f"{base_url}/",
            (self.entry(feed, n) for n in range(newest, newest - self.items, -1)),
        )

    def entry(self, feed: int, number: int) -> Entry:
        title, summary = self.texts[(feed * 31 + number) % len(self.texts)]
        published = self.published.get((feed, number))
        when = self.started - BASE_AGE - (self.items - number) * 600.0
        if published is not None:
            when, title, own_summary = published
            summary = summary if own_summary is None else own_summary
        link = f"https://news{feed % 97}.example/{feed}/{number}"
        return Entry(f"f{feed}-e{number}", title, summary, link, when)


def _texts(count: int) -> list[tuple[str, str]]:
    """Realistic headline and summary text, from the matching benchmark's corpus."""
    rng = random.Random(7)
    return [(item.title, item.summary) for item in make_items(vocabulary(ROOT, rng), count, rng)]


async def serve(options: argparse.Namespace) -> None:
    feeds = FeedSet(options.feeds, options.items, options.churn, _texts(500))

    async def get_feed(request: web.Request) -> web.Response:
        feed = int(request.match_info["n"])
        if not 0 <= feed < len(feeds.newest):
            raise web.HTTPNotFound()
        validator = request.headers.get("If-None-Match")
        if validator is not None and validator == feeds.etag(feed):
            if not feeds.churns(feed):
                return web.Response(status=304, headers={"ETag": validator})
            feeds.publish(feed)
        body = feeds.body(feed, f"http://{request.host}")
        return web.Response(
            body=body, content_type="application/rss+xml", headers={"ETag": feeds.etag(feed)}
        )

    async def publish(request: web.Request) -> web.Response:
        feed = int(request.match_info["n"])
        entry = await request.json() if request.can_read_body else {}
        return web.Response(text=feeds.publish(feed, entry.get("title"), entry.get("summary")))

    app = web.Application()
    app.router.add_get("/feed/{n}.xml", get_feed)
    app.router.add_post("/publish/{n}", publish)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    first = socket.socket()
    first.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    first.bind(("127.0.0.1", options.port))
    port = first.getsockname()[1]
    await web.SockSite(runner, first, backlog=4096).start()
    for host in range(2, options.hosts + 1):
        await web.TCPSite(runner, f"127.0.0.{host}", port, backlog=4096).start()
    print(f"port {port}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until stdin closes
    await runner.cleanup()


def launch(
    feeds: int, *, items: int = 20, churn: float = 0.1, hosts: int = 32
) -> tuple[subprocess.Popen[str], int]:
    """Start the feed host in its own process; (the process, its port). Close its stdin to stop."""
    command = [sys.executable, __file__, f"--feeds={feeds}", f"--items={items}", f"--churn={churn}"]
    process = subprocess.Popen(
        [*command, f"--hosts={hosts}"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("port "):
        process.kill()
        raise RuntimeError(f"the feed host did not start: {line!r}")
    return process, int(line.split()[1])


def stop(process: subprocess.Popen[str]) -> None:
    assert process.stdin is not None
    process.stdin.close()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=20, help="entries per feed")
    parser.add_argument("--churn", type=float, default=0.1, help="share of feeds that change")
    parser.add_argument("--hosts", type=int, default=32, help="loopback addresses to listen on")
    parser.add_argument("--port", type=int, default=0)
    asyncio.run(serve(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
