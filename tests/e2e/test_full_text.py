"""A headline-only feed with ``fulltext = true``: the alert is matched and summarized from the
article page, fetched once; a page that fails leaves the feed's own words."""

from __future__ import annotations

import io

from bot.app import App, AppOptions
from bot.settings import load_settings
from tests.e2e.test_pipeline import alerts_in, wait_for
from tests.feeds import WEATHER, Entry, rss
from tests.feedserver import FeedServer

ARTICLE = """<!doctype html><html><head><title>Wire</title><script>track()</script></head><body>
<nav><a href="/">Home</a> <a href="/world">World</a></nav>
<article><h1>Buses leave the city</h1>
<p>Forty-five buses left Mariupol for Zaporizhzhia on Friday morning, carrying about 2,000
civilians out of the besieged port city.</p>
<p>The Red Cross, which mediates the evacuation, said the humanitarian corridor held for six
hours and that a second convoy is planned for Saturday.</p>
<p>Local officials said many more residents are waiting for transport.</p>
<div class="advertisement">Buy our newsletter</div>
<p>Read more…</p></article></body></html>"""


async def test_the_alert_reads_the_article_a_headline_only_feed_links(
    database_url: str, feed_server: FeedServer
) -> None:
    headline = Entry("hl-1", "Buses leave the city", feed_server.url("/articles/1"))
    feed_server.set("/articles/1", ARTICLE, content_type="text/html; charset=utf-8")
    feed_server.set("/headlines.xml", rss(WEATHER))
    settings = load_settings(
        database_url=database_url,
        feeds_file=None,
        feeds=[{"url": feed_server.url("/headlines.xml"), "fulltext": True}],
        poll={"interval": 1, "min_interval": 1},
        fetch={"allow_private_networks": True, "total_timeout": 2},
        http={"enabled": False},
        console={"enabled": "always"},
    )
    stream = io.StringIO()
    app = App(settings, AppOptions(console_stream=stream))
    await app.start()
    try:
        await wait_for(lambda: feed_server.hits("/headlines.xml"))
        feed_server.set("/headlines.xml", rss(headline, WEATHER))
        await wait_for(lambda: alerts_in(stream))
        await wait_for(lambda: feed_server.hits("/headlines.xml", status=304) >= 2)
        assert app.scheduler.get_job("prune-articles") is not None  # the cache does not grow
    finally:
        await app.stop()

    (alert,) = alerts_in(stream)
    assert alert.startswith("Buses leave the city")  # the headline alone matches no topic …
    assert "Forty-five buses left Mariupol" in alert  # … the article's text does
    assert "Buy our newsletter" not in alert and "Read more" not in alert
    assert feed_server.hits("/articles/1") == 1
