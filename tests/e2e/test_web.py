"""The bot's HTTP surface as an operator uses it: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import asyncio
import io
import socket

import httpx

from bot.app import App, AppOptions
from bot.settings import load_settings
from bot.store.db import create_engine
from tests.feeds import TALKS, rss
from tests.feedserver import FeedServer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_metrics_count_polls_and_alerts_and_readyz_tracks_the_database(
    database_url: str, feed_server: FeedServer
) -> None:
    feed_server.set("/wire.xml", rss(TALKS))
    port = free_port()
    settings = load_settings(
        database_url=database_url,
        feeds_file=None,
        feeds=[{"url": feed_server.url("/wire.xml")}],
        poll={"interval": 1, "min_interval": 1},
        fetch={"allow_private_networks": True},
        http={"port": port},
        console={"enabled": "always"},
    )
    app = App(settings, AppOptions(console_stream=io.StringIO()))
    await app.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(100):
                metrics = (await client.get("/metrics")).text
                sent = 'wirewatch_alerts_total{outcome="sent",platform="console"} 1.0' in metrics
                if sent and "wirewatch_outbox_depth 0.0" in metrics:  # depth is read first
                    break
                await asyncio.sleep(0.1)
            ready = await client.get("/readyz")
            live = await client.get("/healthz")
            app.engine = create_engine("postgresql+asyncpg://postgres@127.0.0.1:9/none")
            unready = await client.get("/readyz")
    finally:
        await app.stop()

    assert 'wirewatch_feed_polls_total{status="ok"}' in metrics
    assert 'wirewatch_alerts_total{outcome="sent",platform="console"} 1.0' in metrics
    assert "wirewatch_outbox_depth 0.0" in metrics
    assert "wirewatch_items_new_total 1.0" in metrics
    assert 'wirewatch_matches_total{topic="peace-talks"} 1.0' in metrics
    assert (live.status_code, ready.status_code) == (200, 200)
    assert ready.json()["checks"] == {
        "database": True,
        "scheduler": True,
        "platform:console": True,
    }
    assert unready.status_code == 503
    assert unready.json()["checks"]["database"] is False
