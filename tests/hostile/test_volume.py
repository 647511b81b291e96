"""A feed of 10,000 items, polled by the running bot beside a good feed.

Item n is n minutes old, so the feed spans a week; some items mention the probe topic. All are
parsed within the deadline and stored, and only the matching ones from the last day alert (the
first-fetch age rule): no flood. The time of the first poll is printed.
"""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import func, select

from bot.store.tables import feeds, items
from tests.feedserver import FeedServer
from tests.hostile.documents import many_items, ringing_report
from tests.hostile.newsroom import GOOD_STORY, good_feed, newsroom, newsroom_settings

COUNT = 10_000
FRESH_MATCHING = (3, 700, 1300)  # minutes old: within the first fetch's day; three places
EVERY_OLD_MATCHING = 250  # from a day old on: matching, but too old to alert


async def test_ten_thousand_items_are_stored_and_alert_only_within_the_age_rules(
    tmp_path: Path, feed_server: FeedServer
) -> None:
    document = many_items(
        COUNT, fresh_matching=FRESH_MATCHING, every_old_matching=EVERY_OLD_MATCHING
    ).encode()
    feed_server.set("/bulk.xml", document)
    with FeedServer() as good:
        good.set("/feed.xml", good_feed())
        bulk_url, good_url = feed_server.url("/bulk.xml"), good.url("/feed.xml")
        settings = newsroom_settings(f"sqlite+aiosqlite:///{tmp_path}/w.db", [bulk_url, good_url])
        started = time.monotonic()
        async with newsroom(settings) as room:
            row = await room.wait_for_feed(
                bulk_url, lambda row: row.last_success_at is not None or row.error_count > 0, 120
            )
            elapsed = time.monotonic() - started
            assert (row.error_count, row.last_error) == (0, None)
            async with room.app.engine.connect() as conn:
                stored = await conn.scalar(
                    select(func.count())
                    .select_from(items.join(feeds, feeds.c.id == items.c.feed_id))
                    .where(feeds.c.url == bulk_url)
                )
            expected = [
                GOOD_STORY.title,
                *(ringing_report(n) for n in FRESH_MATCHING),
            ]
            for title in expected:
                await room.wait_for_alert(title)
            alerts = [alert.splitlines()[0] for alert in room.alerts()]

    print(
        f"\n{COUNT:,}-item feed ({len(document) / 1e6:.1f} MB): fetched, parsed, stored and "
        f"matched in {elapsed:.1f} s (parse deadline {settings.fetch.parse_timeout:g} s)"
    )
    assert stored == COUNT
    old_matching = sum(1 for n in range(1440, COUNT) if n % EVERY_OLD_MATCHING == 0)
    assert old_matching > 30  # what a flood would have been made of
    assert sorted(alerts) == sorted(expected)  # none of the old matching ones
