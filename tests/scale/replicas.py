"""Several ``wirewatch run`` processes on one database, and what the test watches them with.

- ``Replica``: one ``python -m bot run`` subprocess with its own HTTP port and log file.
- ``LeaderWatch``: scrapes every live replica's ``/metrics`` a few times a second and keeps what
  ``wirewatch_leader`` said, so the test can tell how many led at once and when one took over.
- ``TimedFeedServer``: the test feed server, also noting when each request arrived.
- ``rss`` and ``Story``: feed documents with stories made to match, or not match, a topic.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import string
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import aiohttp

from tests.feedserver import FeedServer

ROOT = Path(__file__).resolve().parents[2]
TOPIC_ID, TOPIC_QUERY = "zebracorn-sightings", "zebracorn"


def config_toml(feeds_file: str) -> str:
    """The replicas' config file: the feed list and one topic of the test's own."""
    return (
        f'feeds_file = "{feeds_file}"\n\n[[topics]]\n'
        f'id = "{TOPIC_ID}"\nname = "Zebracorn sightings"\nquery = "{TOPIC_QUERY}"\n'
    )


LISTENING = re.compile(r"HTTP server listening on port (\d+)")


@dataclass
class Replica:
    name: str
    log: Path
    process: subprocess.Popen[bytes]
    killed_at: float | None = None
    _port: int | None = None

    @classmethod
    def start(cls, name: str, env: dict[str, str], folder: Path) -> Replica:
        log = folder / f"{name}.log"
        environment = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
        environment.update(env, PYTHONPATH=str(ROOT), WIREWATCH_HTTP__PORT="0")
        with log.open("ab") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                cwd=folder,
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        return cls(name, log, process)

    @property
    def port(self) -> int | None:
        """The HTTP port it listens on (chosen by the system), once its log says so."""
        if self._port is None:
            found = LISTENING.search(self.log.read_text(errors="replace"))
            self._port = int(found.group(1)) if found else None
        return self._port

    @property
    def alive(self) -> bool:
        return self.killed_at is None and self.process.poll() is None

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.killed_at = time.monotonic()
        self.process.wait(10)

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, as orchestrators stop replicas; the exit code (None: it had to be killed)."""
        if self.process.poll() is not None:
            return self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            return None

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


@dataclass
class LeaderWatch:
    """What each live replica's ``wirewatch_leader`` gauge said, sampled every ``every`` seconds."""

    replicas: list[Replica]
    every: float = 0.25
    samples: list[tuple[float, dict[str, bool]]] = field(default_factory=list)
    metrics: dict[str, str] = field(default_factory=dict)  # the last /metrics text of each

    async def run(self, stop: asyncio.Event) -> None:
        timeout = aiohttp.ClientTimeout(total=2)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while not stop.is_set():
                sample = {}
                for replica in self.replicas:
                    if not replica.alive or replica.port is None:
                        continue
                    if (text := await _scrape(session, replica)) is not None:
                        self.metrics[replica.name] = text
                        sample[replica.name] = _gauge(text, "wirewatch_leader") == 1.0
                self.samples.append((time.monotonic(), sample))
                await asyncio.sleep(self.every)

    def leaders(self) -> list[str]:
        """Who led at the latest sample."""
        return (
            [name for name, leads in self.samples[-1][1].items() if leads] if self.samples else []
        )

    def most_at_once(self) -> int:
        return max((sum(sample.values()) for _, sample in self.samples), default=0)

    def first_leader_after(self, moment: float) -> tuple[float, str] | None:
        for at, sample in self.samples:
            leaders = [name for name, leads in sample.items() if leads]
            if at > moment and leaders:
                return at, leaders[0]
        return None

    def counter(self, name: str, metric: str) -> float:
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in self.metrics.get(name, "").splitlines()
            if line.startswith(metric + "{") or line.startswith(metric + " ")
        )


async def _scrape(session: aiohttp.ClientSession, replica: Replica) -> str | None:
    try:
        async with session.get(f"http://127.0.0.1:{replica.port}/metrics") as response:
            return await response.text() if response.status == 200 else None
    except (aiohttp.ClientError, TimeoutError):
        return None  # not listening yet, or just killed


def _gauge(metrics: str, name: str) -> float | None:
    for line in metrics.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


class TimedFeedServer(FeedServer):
    """The test feed server, also keeping when each path was asked for (time.monotonic())."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: dict[str, list[float]] = defaultdict(list)

    def _answer(self, handler: Any) -> None:
        arrived = time.monotonic()
        with self._lock:
            self.arrivals[handler.path].append(arrived)
        super()._answer(handler)

    def total_requests(self) -> int:
        with self._lock:
            return sum(len(times) for times in self.arrivals.values())


@dataclass(frozen=True, slots=True)
class Story:
    guid: str
    title: str
    summary: str
    published: float  # unix time


def invented_word(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(6, 10)))


def matching_story(rng: random.Random, tag: str) -> Story:
    """A fresh story the topic ``TOPIC_QUERY`` matches, sharing no other word with any other.

    Lower-case invented words: no place, name or number the story clusterer could join on.
    """
    words = [invented_word(rng) for _ in range(5)]
    title = f"{TOPIC_QUERY} seen near {' '.join(words)}"
    summary = " ".join(invented_word(rng) for _ in range(30))
    return Story(f"story-{tag}", title, summary, time.time())


def archive_story(feed: int) -> Story:
    """What every feed starts with: two days old and about nothing, so it never alerts."""
    return Story(
        f"archive-{feed}", f"Archive note {feed}", "Nothing new here.", time.time() - 2 * 86400
    )


def rss(feed: int, stories: list[Story]) -> str:
    items = "".join(
        f"<item><title>{escape(story.title)}</title><guid>{story.guid}</guid>"
        f"<link>https://news.example/{story.guid}</link>"
        f"<description>{escape(story.summary)}</description>"
        f"<pubDate>{formatdate(story.published, usegmt=True)}</pubDate></item>"
        for story in sorted(stories, key=lambda story: -story.published)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed {feed}</title><link>https://news.example/{feed}</link>"
        f"<description>scale test feed</description><language>en</language>{items}"
        "</channel></rss>"
    )


def opml(urls: list[str]) -> str:
    outlines = "".join(
        f'<outline type="rss" text="{n}" xmlUrl="{url}"/>' for n, url in enumerate(urls)
    )
    return f'<?xml version="1.0"?><opml version="2.0"><body>{outlines}</body></opml>'
