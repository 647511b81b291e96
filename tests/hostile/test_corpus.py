"""feedparser's own test feeds, served over local HTTP and read through the bot's fetch and parse.

Every file of ``../shared/corpora/feedparser`` (beside this repository) is served with the HTTP
headers its ``Header:`` comments ask for, fetched by ``Fetcher`` and parsed by ``FeedParser`` in
its worker processes, many at a time, as the poller would. None may crash or hang: each ends as
a parsed feed or a ``FeedError``. The figures are printed.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from bot.errors import FeedError
from bot.feeds.fetch import Fetcher, FetchLimits
from bot.feeds.parsing import FeedParser
from tests import feedserver
from tests.feedserver import FeedServer

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpora" / "feedparser"
HEADER = re.compile(rb"^\s*Header:\s*([A-Za-z-]+):\s*(.+?)\s*$", re.MULTILINE)
IN_FLIGHT = 24
BUDGET_SECONDS = 55


def serve_corpus(server: FeedServer) -> list[str]:
    """Serve every corpus file at its relative path, with its ``Header:`` comments as headers."""
    paths = []
    for file in sorted(CORPUS.rglob("*")):
        if not file.is_file() or file.suffix not in {".xml", ".json"}:
            continue
        content = file.read_bytes()
        headers = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in HEADER.findall(content[:4096])
        }
        default = "application/feed+json" if file.suffix == ".json" else "application/xml"
        content_type = next(
            (value for name, value in headers.items() if name.lower() == "content-type"), default
        )
        headers = {name: value for name, value in headers.items() if name.lower() != "content-type"}
        path = "/" + file.relative_to(CORPUS).as_posix()
        server.set(path, content, content_type=content_type, headers=headers)
        paths.append(path)
    return paths


@pytest.fixture
def prompt_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """FeedServer writes headers and body in two sends; with Nagle and delayed ACKs each answer
    then waits ~40 ms for nothing. Buffering the handler's writes sends them as one, which turns
    2,000 fetches from half a minute into a few seconds. (Belongs in tests/feedserver.py.)"""
    monkeypatch.setattr(feedserver._Handler, "wbufsize", 64 * 1024)


@pytest.mark.usefixtures("prompt_server")
async def test_every_corpus_feed_is_fetched_and_parsed_without_a_crash_or_a_hang() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"feedparser corpus not found at {CORPUS}")
    limits = FetchLimits(allow_private_networks=True, per_host=IN_FLIGHT, total_timeout=10)
    parser = FeedParser(timeout=10, workers=2)
    outcomes: Counter[str] = Counter()
    items = 0
    errors: Counter[str] = Counter()
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def read(fetcher: Fetcher, url: str) -> None:
        nonlocal items
        async with slots:
            try:
                fetched = await fetcher.fetch(url)
                parsed = await parser.parse(
                    fetched.content, fetched.final_url, fetched.content_type
                )
            except FeedError as error:
                outcomes["FeedError"] += 1
                errors[str(error).split(":")[0]] += 1
                return
        outcomes["with items" if parsed.items else "without items"] += 1
        items += len(parsed.items)

    started = time.monotonic()
    with FeedServer() as server:
        paths = serve_corpus(server)
        try:
            async with Fetcher(limits) as fetcher:
                reads = (read(fetcher, server.url(path)) for path in paths)
                await asyncio.wait_for(asyncio.gather(*reads), BUDGET_SECONDS)
        finally:
            parser.close()
    elapsed = time.monotonic() - started

    parsed = outcomes["with items"] + outcomes["without items"]
    print(
        f"\nfeedparser corpus over HTTP: {len(paths)} files in {elapsed:.1f} s — {parsed} parsed "
        f"({outcomes['with items']} yield {items} items, {outcomes['without items']} no items), "
        f"{outcomes['FeedError']} FeedError: {dict(errors.most_common(5))}"
    )
    assert sum(outcomes.values()) == len(paths)  # every file ended, one way or the other
    assert parsed > 0.9 * len(paths)
