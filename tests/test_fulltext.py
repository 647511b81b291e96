"""Full text for headline-only feeds, over real HTTP from a local ``FeedServer``.

Pages are fetched by the real guarded ``Fetcher``. Tests that are not about the SSRF guard allow
private networks (the server is on 127.0.0.1); the guard tests trust the article server's origin
only, as the demo does, so any other local address must be refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.feeds.fetch import Fetcher
from bot.feeds.fulltext import FullText
from bot.feeds.text import html_to_text
from bot.model import Feed, Item
from bot.store import articles
from bot.store import feeds as feed_store
from bot.store.items import insert_new_items, unstored_items
from bot.store.tables import articles as article_table
from tests.clock import Clock
from tests.feedserver import FeedServer, local_limits

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HEADLINE = "Convoy reaches Mariupol"
FEED_SUMMARY = "Buses arrive after talks."
PARAGRAPHS = (
    "A humanitarian convoy of forty buses reached Mariupol on Tuesday morning after three days "
    "of negotiations at checkpoints along the route.",
    "Officials said more than two thousand civilians were registered for evacuation, most of "
    "them women, children and elderly residents who had sheltered in basements for weeks.",
    "The International Committee of the Red Cross said its teams would accompany the buses back "
    "to Zaporizhzhia, a journey that normally takes four hours.",
)
ARTICLE_PAGE = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{HEADLINE} | Example News</title>
<script>window.dataLayer = []; track('pageview');</script><style>body {{ color: red }}</style>
</head><body>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li>
<li><a href="/sport">Sport</a></li></ul></nav></header>
<div class="ad" id="top-banner">Buy cheap flights now!</div>
<main><article>
<h1>{HEADLINE}</h1>
<p>{PARAGRAPHS[0]}</p>
<p>Advertisement</p>
<p>{PARAGRAPHS[1]}</p>
<div class="Advertisement wide"><p>Sponsored: the best VPN deals of the year, click here.</p></div>
<p>{PARAGRAPHS[2]}</p>
<img src="https://px.example/pixel.gif" width="1" height="1" alt="">
<p><a href="/news/convoy-full">Read more…</a></p>
</article></main>
<aside><h3>Most read</h3><ul><li><a href="/a">Celebrity weds</a></li>
<li><a href="/b">Football scores</a></li></ul></aside>
<footer><p>© 2026 Example News. All rights reserved. Privacy policy. Cookie settings.</p></footer>
<script>console.log("bye")</script>
</body></html>"""
HTML = "text/html; charset=utf-8"


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(local_limits()) as fetcher:
        yield fetcher


@pytest.fixture
def full_text(engine: AsyncEngine, fetcher: Fetcher, clock: Clock) -> FullText:
    return FullText(engine, fetcher.fetch, clock=clock)


def headline(url: str | None, key: str = "", summary: str = FEED_SUMMARY) -> Item:
    return Item(
        feed_url="https://wire.example/feed.xml",
        key=key or url or "no-link",
        title=HEADLINE,
        summary=summary,
        url=url,
        language="en",
    )


async def cached(engine: AsyncEngine, url: str) -> articles.Article:
    async with engine.connect() as conn:
        return (await articles.get_articles(conn, [url]))[url]


async def cached_all(engine: AsyncEngine) -> dict[str, articles.Article]:
    async with engine.connect() as conn:
        urls = (await conn.execute(select(article_table.c.url))).scalars().all()
        return await articles.get_articles(conn, urls)


# --- the article's text ---------------------------------------------------------------------


async def test_headline_only_item_gets_the_articles_main_text_and_nothing_else(
    feed_server: FeedServer, full_text: FullText
) -> None:
    feed_server.set("/news/convoy", ARTICLE_PAGE, content_type=HTML)
    item = headline(feed_server.url("/news/convoy"))

    [enriched] = await full_text.enrich([item])

    assert enriched.summary == "\n\n".join(PARAGRAPHS)
    assert (enriched.title, enriched.key, enriched.url) == (item.title, item.key, item.url)
    assert enriched.language == "en"


async def test_a_page_is_fetched_once_for_every_item_and_poll_that_links_it(
    feed_server: FeedServer, engine: AsyncEngine, fetcher: Fetcher, clock: Clock
) -> None:
    feed_server.set("/news/convoy", ARTICLE_PAGE, content_type=HTML)
    url = feed_server.url("/news/convoy")
    first = FullText(engine, fetcher.fetch, clock=clock)

    twice = await first.enrich([headline(url, "guid-1"), headline(url + "?utm_source=x", "g-2")])
    clock.now += timedelta(hours=1)
    again = await FullText(engine, fetcher.fetch, clock=clock).enrich([headline(url, "guid-3")])

    assert feed_server.hits("/news/convoy") == 1
    assert {item.summary for item in [*twice, *again]} == {"\n\n".join(PARAGRAPHS)}


async def test_a_cached_text_older_than_max_age_is_fetched_again(
    feed_server: FeedServer, engine: AsyncEngine, fetcher: Fetcher, clock: Clock
) -> None:
    feed_server.set("/news/convoy", ARTICLE_PAGE, content_type=HTML)
    full_text = FullText(engine, fetcher.fetch, max_age=timedelta(days=1), clock=clock)
    await full_text.enrich([headline(feed_server.url("/news/convoy"))])

    clock.now += timedelta(days=2)
    await full_text.enrich([headline(feed_server.url("/news/convoy"))])

    assert feed_server.hits("/news/convoy") == 2


async def test_a_cyrillic_page_in_its_declared_legacy_charset_reads_as_cyrillic(
    feed_server: FeedServer, full_text: FullText
) -> None:
    body = "Колона з сорока автобусів прибула до Маріуполя у вівторок вранці. " * 4
    page = f"<html><head><title>Колона</title></head><body><article><p>{body}</p></article>"
    feed_server.set("/uk", page.encode("cp1251"), content_type="text/html; charset=windows-1251")

    [item] = await full_text.enrich([headline(feed_server.url("/uk"))])

    assert item.summary.startswith("Колона з сорока автобусів прибула до Маріуполя")


# --- failures keep the feed's summary --------------------------------------------------------


async def test_a_missing_page_keeps_the_feed_summary_and_is_not_asked_again_for_a_while(
    feed_server: FeedServer, engine: AsyncEngine, full_text: FullText, clock: Clock
) -> None:
    url = feed_server.url("/gone")
    item = headline(url)

    assert await full_text.enrich([item]) == [item]
    clock.now += timedelta(hours=1)
    assert await full_text.enrich([item]) == [item]

    assert feed_server.hits("/gone") == 1
    failure = await cached(engine, url)
    assert (failure.text, failure.error) == (None, "HTTP 404 Not Found")
    clock.now += timedelta(hours=6)
    await full_text.enrich([item])
    assert feed_server.hits("/gone") == 2  # a failure is retried once it is old enough


@pytest.mark.parametrize(
    ("body", "content_type", "error"),
    [
        (b"%PDF-1.7 ...", "application/pdf", "not an HTML page (application/pdf)"),
        (
            b"<html><body><nav><a href='/'>Home</a> <a href='/w'>World</a></nav></body></html>",
            HTML,
            "no article text found on the page",
        ),
    ],
)
async def test_a_page_without_article_text_keeps_the_feed_summary(
    feed_server: FeedServer,
    engine: AsyncEngine,
    full_text: FullText,
    body: bytes,
    content_type: str,
    error: str,
) -> None:
    feed_server.set("/page", body, content_type=content_type)
    item = headline(feed_server.url("/page"))

    assert await full_text.enrich([item]) == [item]
    assert (await cached(engine, item.url or "")).error == error


async def test_a_slow_page_is_given_up_without_holding_the_poll(
    feed_server: FeedServer, engine: AsyncEngine, fetcher: Fetcher, clock: Clock
) -> None:
    feed_server.set("/slow", ARTICLE_PAGE, content_type=HTML)
    feed_server.delay("/slow", 3.0)
    feed_server.set("/fast", ARTICLE_PAGE, content_type=HTML)
    full_text = FullText(engine, fetcher.fetch, budget=0.5, clock=clock)
    slow, fast = headline(feed_server.url("/slow")), headline(feed_server.url("/fast"))

    enriched = await full_text.enrich([slow, fast])

    assert enriched == [slow, replace(fast, summary="\n\n".join(PARAGRAPHS))]
    assert list(await cached_all(engine)) == [fast.url]  # the slow one is tried again next time


async def test_a_cancelled_poll_leaves_no_fetch_behind(
    feed_server: FeedServer, full_text: FullText
) -> None:
    feed_server.set("/slow", ARTICLE_PAGE, content_type=HTML)
    feed_server.delay("/slow", 3.0)
    poll = asyncio.create_task(full_text.enrich([headline(feed_server.url("/slow"))]))
    await asyncio.sleep(0.3)  # the request is on its way: the server holds it for 3 s

    poll.cancel()
    with pytest.raises(asyncio.CancelledError):
        await poll

    assert asyncio.all_tasks() == {asyncio.current_task()}


# --- hostile links ---------------------------------------------------------------------------


@pytest.fixture
async def guarded(
    engine: AsyncEngine, feed_server: FeedServer, clock: Clock
) -> AsyncIterator[FullText]:
    """Private networks refused; only the article server's own origin is trusted."""
    limits = local_limits(
        allow_private_networks=False,
        trusted_origins=frozenset({f"127.0.0.1:{feed_server.port}"}),
    )
    async with Fetcher(limits) as fetcher:
        yield FullText(engine, fetcher.fetch, clock=clock)


@pytest.mark.parametrize(
    ("link", "reason"),
    [
        ("http://10.0.0.7/admin", "refused: 10.0.0.7 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "refused: 169.254.169.254 is the cloud"),
        ("http://0x7f000001:{other}/secret", "refused: 127.0.0.1 is a loopback address"),
        ("http://localhost:{other}/secret", "refused: localhost is a local host name"),
        ("{trusted}/redirect", "redirect to http://127.0.0.1:{other}/secret: refused: 127.0.0.1"),
    ],
)
async def test_a_link_to_a_private_address_is_refused_and_the_item_keeps_its_summary(
    feed_server: FeedServer,
    other_server: FeedServer,
    engine: AsyncEngine,
    guarded: FullText,
    link: str,
    reason: str,
) -> None:
    other_server.set("/secret", ARTICLE_PAGE, content_type=HTML)
    feed_server.redirect("/redirect", other_server.url("/secret"))
    url = link.format(trusted=feed_server.base_url, other=other_server.port)
    item = headline(url)

    assert await guarded.enrich([item]) == [item]

    assert other_server.requests == []
    [stored] = (await cached_all(engine)).values()
    assert stored.text is None
    assert (stored.error or "").startswith(reason.format(other=other_server.port))


async def test_the_trusted_article_server_itself_is_read(
    feed_server: FeedServer, guarded: FullText
) -> None:
    feed_server.set("/news/convoy", ARTICLE_PAGE, content_type=HTML)
    [item] = await guarded.enrich([headline(feed_server.url("/news/convoy"))])
    assert item.summary.startswith(PARAGRAPHS[0])


# --- bounds ----------------------------------------------------------------------------------


async def test_a_huge_page_gives_a_bounded_text(
    feed_server: FeedServer, engine: AsyncEngine, fetcher: Fetcher, clock: Clock
) -> None:
    sentence = "The convoy moved slowly through the city while volunteers counted the buses. "
    paragraphs = "".join(f"<p>Day {day}. {sentence * 5}</p>" for day in range(20_000))
    page = f"<html><body><article>{paragraphs}</article></body></html>"
    feed_server.set("/huge", page, content_type=HTML)  # about 8 MB
    full_text = FullText(engine, fetcher.fetch, max_chars=2000, clock=clock)

    [item] = await full_text.enrich([headline(feed_server.url("/huge"))])

    assert len(page) > 7_000_000
    assert 1000 <= len(item.summary) <= 2000
    assert item.summary.endswith("buses.")  # cut at a paragraph or sentence, not mid-word


async def test_a_page_of_too_many_elements_is_not_read(
    feed_server: FeedServer, engine: AsyncEngine, full_text: FullText
) -> None:
    feed_server.set("/dense", "<html><body>" + "<p>a</p>" * 20_000, content_type=HTML)
    item = headline(feed_server.url("/dense"))

    assert await full_text.enrich([item]) == [item]
    error = (await cached(engine, item.url or "")).error
    assert error == "page too large to read (20,002 elements, limit 15,000)"


async def test_a_page_over_the_fetch_size_limit_keeps_the_feed_summary(
    feed_server: FeedServer, engine: AsyncEngine, clock: Clock
) -> None:
    feed_server.set("/huge", "<p>" + "word " * 400_000 + "</p>", content_type=HTML)
    async with Fetcher(local_limits(max_bytes=1024 * 1024)) as fetcher:
        item = headline(feed_server.url("/huge"))
        assert await FullText(engine, fetcher.fetch, clock=clock).enrich([item]) == [item]
    assert (await cached(engine, item.url or "")).error == "response larger than 1 MiB (limit)"


async def test_a_feed_of_thousands_of_items_fetches_only_a_few_pages_per_poll(
    feed_server: FeedServer, engine: AsyncEngine, fetcher: Fetcher, clock: Clock
) -> None:
    for number in range(30):
        feed_server.set(f"/news/{number}", ARTICLE_PAGE, content_type=HTML)
    items = [headline(feed_server.url(f"/news/{number}")) for number in range(30)]
    full_text = FullText(engine, fetcher.fetch, per_poll=5, concurrency=2, clock=clock)

    enriched = await full_text.enrich(items)

    assert len(feed_server.requests) == 5
    assert feed_server.peak_concurrency <= 2
    assert [item.summary != FEED_SUMMARY for item in enriched] == [True] * 5 + [False] * 25


async def test_items_without_a_link_pass_through(full_text: FullText) -> None:
    items = [headline(None, "a"), headline("mailto:desk@wire.example", "b")]
    assert await full_text.enrich(items) == items


async def test_a_feed_summary_longer_than_the_article_is_kept(
    feed_server: FeedServer, full_text: FullText
) -> None:
    feed_server.set("/news/convoy", ARTICLE_PAGE, content_type=HTML)
    long_summary = "Already the whole story. " * 40
    item = headline(feed_server.url("/news/convoy"), summary=long_summary)
    assert await full_text.enrich([item]) == [item]


# --- a poll: only new items --------------------------------------------------------------------


async def test_a_poll_fetches_pages_only_for_items_the_feed_has_not_stored(
    feed_server: FeedServer, engine: AsyncEngine, full_text: FullText
) -> None:
    feed_server.set("/news/old", ARTICLE_PAGE, content_type=HTML)
    feed_server.set("/news/new", ARTICLE_PAGE, content_type=HTML)
    old, new = headline(feed_server.url("/news/old")), headline(feed_server.url("/news/new"))
    async with engine.begin() as conn:
        feed = await feed_store.add_feed(conn, Feed(old.feed_url, fulltext=True), now=START)
        await insert_new_items(conn, feed.id, [old], now=START)

    polled = await full_text.enrich_new(feed.id, [new, old])

    assert polled == (replace(new, summary="\n\n".join(PARAGRAPHS)), old)
    assert (feed_server.hits("/news/new"), feed_server.hits("/news/old")) == (1, 0)


async def test_new_items_of_a_feed_of_thousands_are_told_apart_from_stored_ones(
    engine: AsyncEngine,
) -> None:
    items = [headline(f"https://wire.example/news/{number}") for number in range(1200)]
    async with engine.begin() as conn:
        feed = await feed_store.add_feed(conn, Feed(items[0].feed_url), now=START)
        await insert_new_items(conn, feed.id, items[::2], now=START)
        relinked = replace(items[1], key="new-guid", url=items[0].url)
        assert await unstored_items(conn, feed.id, [relinked, *items]) == items[1::2]


async def test_old_cached_pages_are_pruned(
    feed_server: FeedServer, engine: AsyncEngine, full_text: FullText, clock: Clock
) -> None:
    feed_server.set("/news/convoy", ARTICLE_PAGE, content_type=HTML)
    await full_text.enrich([headline(feed_server.url("/news/convoy"))])
    assert await full_text.prune() == 0
    clock.now += timedelta(days=8)
    assert await full_text.prune() == 1


# --- plain text out of feed HTML -------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>The convoy left.</p><p><a href='/full'>Read more…</a></p>", "The convoy left."),
        ("The convoy left at dawn. Read more »", "The convoy left at dawn."),
        ("<p>The convoy left.</p><p>Continue reading →</p>", "The convoy left."),
        ("The convoy left at dawn [&hellip;]", "The convoy left at dawn…"),
        ("<p>Колона вирушила.</p><p>Читати далі</p>", "Колона вирушила."),
        ("<p>Колонна ушла.</p><p>Читать далее…</p>", "Колонна ушла."),
        ("<p>Hi.</p><p>The post <a>Hi</a> appeared first on <a>Wire</a>.</p>", "Hi."),
        ("I want to read more books", "I want to read more books"),
        ("<p>One.</p><div class='ad wide'><div>Buy</div> now</div><p>Two.</p>", "One.\nTwo."),
        ("<p>One.</p><p>ADVERTISEMENT</p><p>Two.</p>", "One.\nTwo."),
        ("<p>One.</p><img class='ad' src='x.gif'><p>Two.</p>", "One.\nTwo."),
        ("<div class='feedflare'><a href='x'><img src='f.gif'></a></div>Body.", "Body."),
        ("<p id='sponsored'>Deal!</p><p>Body.</p>", "Body."),
        ("<p class='adventure'>Trip.</p>", "Trip."),
    ],
)
def test_feed_html_loses_ads_and_read_more_tails(html: str, expected: str) -> None:
    assert html_to_text(html) == expected
