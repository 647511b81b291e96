"""``wirewatch demo``: the real pipeline over the bundled sample feeds, offline, in seconds.

The samples are served over real HTTP by a server on 127.0.0.1 that the demo starts itself; that
one origin is trusted explicitly, and the private-address guard stays on for every other URL. A
throw-away database makes every run show the same alerts.
"""

from __future__ import annotations

import functools
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO

from bot.app import App, AppOptions
from bot.model import Feed
from bot.paths import bundled_config_dir
from bot.settings import load_settings

__all__ = ["run_demo", "serve_directory"]

FEED_SUFFIXES = {".xml", ".rss", ".atom", ".rdf", ".json"}


class _QuietHandler(SimpleHTTPRequestHandler):
    extensions_map = {  # noqa: RUF012 - the base class declares it as a plain attribute
        **SimpleHTTPRequestHandler.extensions_map,
        ".rss": "application/rss+xml",
        ".atom": "application/atom+xml",
        ".rdf": "application/rdf+xml",
        ".json": "application/feed+json",
        ".xml": "application/xml",
    }

    def log_message(self, format: str, *args: Any) -> None:
        return None


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """Serve a folder over HTTP on 127.0.0.1 (random port); yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="sample-feeds", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def run_demo(stream: TextIO | None = None) -> int:
    out = stream or sys.stdout
    samples = bundled_config_dir() / "samples"
    files = sorted(path for path in samples.iterdir() if path.suffix in FEED_SUFFIXES)
    with serve_directory(samples) as base_url, tempfile.TemporaryDirectory() as data_dir:
        settings = load_settings(
            database_url=f"sqlite+aiosqlite:///{data_dir}/demo.db",
            feeds_file=None,
            poll={"first_fetch_max_age": 10**10, "max_item_age": 10**10},
            http={"enabled": False},
            console={"enabled": "always", "topics": []},
        )
        feeds = tuple(Feed(f"{base_url}/{path.name}") for path in files)
        origin = base_url.removeprefix("http://")
        app = App(
            settings,
            AppOptions(
                console_stream=out,
                trusted_origins=frozenset({origin}),
                extra_feeds=feeds,
                start_scheduler=False,
            ),
        )
        out.write(f"Wirewatch demo: {len(feeds)} sample feeds served from {base_url}\n")
        out.write(f"Topics: {', '.join(sorted(app.topics))}\n")
        try:
            await app.prepare()
            outcomes = await app.poller.poll_due()
            while await app.deliverer.drain_once():
                pass
        finally:
            await app.stop()
        new_items = sum(outcome.new_items for outcome in outcomes)
        errors = [outcome for outcome in outcomes if outcome.status == "error"]
        out.write("─" * 72 + "\n")
        out.write(
            f"{len(outcomes)} feeds polled, {new_items} items read, "
            f"{app.deliverer.sent} alerts delivered, {len(errors)} feed errors\n"
        )
        for outcome in errors:
            out.write(f"  {outcome.feed_url}: {outcome.error}\n")
        return 1 if errors else 0
