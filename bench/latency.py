"""Benchmark (not a test): from an item published on a feed to the alert in a Telegram chat.

    .venv/bin/python bench/latency.py --interval 2        # 20 publications; about a minute
    .venv/bin/python bench/latency.py                     # the issue's 60 s interval: ~30 min
    .venv/bin/python bench/latency.py --quick             # 3 publications at 1 s: a smoke run

What runs: the whole bot (``bot.app.App``: scheduler, poller with its once-a-second tick, parser
workers, ingest, SQLite outbox, deliverer, ``TelegramChannel`` and the Telegram binding) in this
process, one feed served by ``bench/feedhost.py`` in its own process, and ``FakeTelegram``
(``tests/fakes``) with Telegram's real rate limits. One chat is subscribed to a probe topic
(``kestrel``); the feed's interval is ``--interval`` (the busy-feed minimum too).

Each publication puts a matching entry (a new URL and a new story: ``publications``) on the
feed at a random moment
of the poll cycle and waits until the fake Bot API has the chat's message; the latency is the
time between the two (the fake's messages are looked for every 10 ms). Expected: the wait for the
next poll (0 to one interval, a second's tick more) plus fetch, parse, match and send.

The baseline, same run: the same fetch → parse → send path by hand, without the scheduler,
store or outbox (``Fetcher.fetch``, ``FeedParser.parse`` and ``TelegramChannel.send_alert``
right after publishing), the part of the latency that is not waiting for the next poll.
Target (issue "Performance and scale"): ≤ interval + 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this checkout, however the venv installed it

import httpx  # noqa: E402
from corpus import make_items, vocabulary  # noqa: E402
from feedhost import launch, stop  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from bot.app import App, AppOptions  # noqa: E402
from bot.chat.telegram import TelegramChannel  # noqa: E402
from bot.clock import utcnow  # noqa: E402
from bot.feeds.fetch import Fetcher, FetchLimits  # noqa: E402
from bot.feeds.parsing import FeedParser  # noqa: E402
from bot.model import Alert, ChatRef, Feed, Item, Platform  # noqa: E402
from bot.settings import (  # noqa: E402
    ConsoleSettings,
    FetchSettings,
    HttpSettings,
    PollSettings,
    Settings,
    TelegramSettings,
)
from bot.store import chats as chat_store  # noqa: E402
from bot.store import feeds as feed_store  # noqa: E402
from bot.stories import StoryClusterer  # noqa: E402
from tests.fakes.telegram import FakeTelegram  # noqa: E402

CHAT_ID = 4242
TOPIC = "latency-probe"
PROBE = {"id": TOPIC, "name": "Latency probe", "query": "kestrel"}
TARGET_SLACK_S = 2.0


def publications(count: int, seed: int) -> list[dict[str, str]]:
    """Titles and summaries that each begin a story of their own, so each one is an alert.

    A report of a story the chat already has updates that alert after a pause instead
    (``bot/store/story_alerts.py``): not what this benchmark times. Corpus news, each headline
    led by the probe word, kept only when a fresh clusterer starts a new story with it.
    """
    rng = random.Random(seed)
    clusterer = StoryClusterer()
    chosen: list[dict[str, str]] = []
    now = utcnow()
    for number, item in enumerate(make_items(vocabulary(ROOT, rng), count * 10, rng)):
        title = f"Kestrel report {number + 1}: {item.title}"
        probe = Item("https://probe.example/", f"p{number}", title, item.summary, None, now)
        if clusterer.assign(probe) == probe.key:
            chosen.append({"title": title, "summary": item.summary})
        if len(chosen) == count:
            return chosen
    raise RuntimeError("the corpus gave too few distinct stories")


async def measure_app(
    telegram: FakeTelegram, feed_url: str, publish_url: str, options: argparse.Namespace
) -> list[float]:
    interval = options.interval
    with tempfile.TemporaryDirectory(prefix="wirewatch-bench-") as folder:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}",
            poll=PollSettings(interval=interval, min_interval=interval),
            fetch=FetchSettings(allow_private_networks=True),
            http=HttpSettings(enabled=False),
            console=ConsoleSettings(enabled="never"),
            topics=[PROBE],
            telegram=TelegramSettings(
                bot_token=SecretStr(telegram.token), api_base_url=telegram.base_url
            ),
        )
        app = App(settings, AppOptions(extra_feeds=(Feed(feed_url, interval=interval),)))
        await app.prepare()
        async with app.engine.begin() as conn:
            now = utcnow()
            chat = ChatRef(Platform.TELEGRAM, str(CHAT_ID))
            chat_pk = await chat_store.ensure_chat(conn, chat, now=now)
            await chat_store.subscribe(conn, chat_pk, TOPIC, now=now)
        await app.start()
        rng = random.Random(options.seed)
        latencies = []
        try:
            await first_poll(app, feed_url)  # old entries only: no alerts
            async with httpx.AsyncClient() as client:
                for entry in publications(options.publications, options.seed):
                    await asyncio.sleep(rng.uniform(0, interval))  # anywhere in the cycle
                    latencies.append(await publish_and_wait(client, telegram, publish_url, entry))
        finally:
            await app.stop()
    return latencies


async def first_poll(app: App, feed_url: str, timeout: float = 120) -> None:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        async with app.engine.connect() as conn:
            feed = await feed_store.get_feed(conn, feed_url)
        if feed is not None and feed.last_success_at is not None:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the feed was not polled")


async def publish_and_wait(
    client: httpx.AsyncClient,
    telegram: FakeTelegram,
    publish_url: str,
    entry: dict[str, str],
    timeout: float = 300,
) -> float:
    before = len(telegram.messages(CHAT_ID))
    published = time.perf_counter()
    (await client.post(publish_url, json=entry)).raise_for_status()
    while len(telegram.messages(CHAT_ID)) == before:
        if time.perf_counter() - published > timeout:
            raise RuntimeError("no alert arrived: is the topic still matching the headline?")
        await asyncio.sleep(0.01)
    return time.perf_counter() - published


async def measure_baseline(
    telegram: FakeTelegram, feed_url: str, publish_url: str, count: int
) -> list[float]:
    """Publish, then at once fetch, parse and send the newest entry: no scheduler, no store."""
    fetcher = Fetcher(FetchLimits(allow_private_networks=True))
    parser = FeedParser()
    channel = TelegramChannel(telegram.token, telegram.base_url)
    latencies = []
    try:
        async with httpx.AsyncClient() as client:
            await parser.parse(b"<rss/>", feed_url, None)  # start the workers before timing
            for _ in range(count):
                started = time.perf_counter()
                (await client.post(publish_url)).raise_for_status()
                result = await fetcher.fetch(feed_url)
                parsed = await parser.parse(result.content, result.final_url, result.content_type)
                item = parsed.items[0]
                alert = Alert(
                    chat=ChatRef(Platform.TELEGRAM, str(CHAT_ID)),
                    topic_id=TOPIC,
                    topic_name=PROBE["name"],
                    title=item.title,
                    summary=item.summary,
                    links=(item.url,) if item.url else (),
                    published=item.published,
                )
                await channel.send_alert(alert)
                latencies.append(time.perf_counter() - started)
                await asyncio.sleep(1.1)  # Telegram's 1 message/s per chat
    finally:
        await channel.aclose()
        parser.close()
        await fetcher.aclose()
    return latencies


def _summary(latencies: Sequence[float]) -> str:
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"median {statistics.median(ordered):.2f} s, p95 {p95:.2f} s, "
        f"min {ordered[0]:.2f} s, max {ordered[-1]:.2f} s"
    )


async def run(options: argparse.Namespace) -> None:
    host, port = launch(1, churn=0, hosts=1)
    feed_url = f"http://127.0.0.1:{port}/feed/0.xml"
    publish_url = f"http://127.0.0.1:{port}/publish/0"
    try:
        with FakeTelegram() as telegram:
            telegram.add_chat(CHAT_ID, first_name="Olena")
            latencies = await measure_app(telegram, feed_url, publish_url, options)
            baseline = await measure_baseline(telegram, feed_url, publish_url, options.baseline)
    finally:
        stop(host)
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    target = options.interval + TARGET_SLACK_S
    print(f"app: {len(latencies)} publications → alerts: {_summary(latencies)}")
    print(
        f"target p95 ≤ interval + {TARGET_SLACK_S:g} s = {target:g} s: "
        f"{'met' if p95 <= target else 'MISSED'} (p95 {p95:.2f} s)"
    )
    print(
        f"baseline: fetch → parse → send by hand right after publishing, {len(baseline)} times: "
        f"{_summary(baseline)}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=int, help="poll interval, seconds (default 60)")
    parser.add_argument("--publications", type=int, help="items published (default 20)")
    parser.add_argument("--baseline", type=int, default=5, help="baseline publications")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="3 publications at a 1 s interval")
    options = parser.parse_args(argv)
    if options.interval is None:
        options.interval = 1 if options.quick else 60
    if options.publications is None:
        options.publications = 3 if options.quick else 20
    if options.quick:
        options.baseline = 2
    logging.basicConfig(level=logging.ERROR)
    print(
        f"latency bench: publish → Telegram alert, poll interval {options.interval} s, "
        f"{options.publications} publications"
        + (" (--quick: a smoke run)" if options.quick else "")
    )
    asyncio.run(run(options))
    return 0


if __name__ == "__main__":
    sys.exit(main())
