"""A parse that needs more memory than a parser worker may use ends as one feed's clear error.

The DTD guard stops the entity blow-ups we know of; the workers' memory cap is for the ones
nobody has found yet. Here an 8 MB title (feedparser holds many copies of it) meets a 128 MiB cap.
"""

from __future__ import annotations

import sys

import pytest

from bot.errors import FeedError
from bot.feeds.parsing import FeedParser
from tests.hostile.documents import item, rss_document
from tests.hostile.newsroom import good_feed

pytestmark = pytest.mark.skipif(
    sys.platform != "linux", reason="the address-space cap is enforced on Linux"
)


async def test_a_parse_over_the_memory_cap_fails_alone_and_the_worker_carries_on() -> None:
    huge = rss_document(item("kestrel " * 1_000_000, guid="huge")).encode()
    parser = FeedParser(timeout=60, workers=1, memory_limit=128 << 20)
    try:
        with pytest.raises(FeedError) as failed:
            await parser.parse(huge, "https://hostile.example/huge.xml", None)
        parsed = await parser.parse(good_feed().encode(), "https://good.example/feed.xml", None)
    finally:
        parser.close()
    assert str(failed.value) == "the feed needs more memory to parse than a parser may use"
    assert [entry.title for entry in parsed.items] == ["Kestrel nests on the Kyiv TV tower"]
