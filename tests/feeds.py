"""Build small RSS documents for tests, dated relative to now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Entry:
    guid: str
    title: str
    link: str
    description: str = ""
    age: timedelta = timedelta(minutes=5)


def rss(*entries: Entry, title: str = "Test Wire") -> str:
    now = datetime.now(UTC)
    items = "".join(
        f"<item><guid>{escape(e.guid)}</guid><title>{escape(e.title)}</title>"
        f"<link>{escape(e.link)}</link><description>{escape(e.description)}</description>"
        f"<pubDate>{format_datetime(now - e.age)}</pubDate></item>"
        for e in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://wire.example/</link>"
        f"<description>test feed</description>{items}</channel></rss>"
    )


EVACUATION = Entry(
    "wire-1",
    "Buses evacuate civilians from Mariupol to Zaporizhzhia",
    "https://wire.example/mariupol-buses?utm_source=rss",
    "A convoy of 45 buses left for Mariupol on Friday. The Red Cross mediates the evacuation.",
)
TALKS = Entry(
    "wire-2",
    "Ukraine and Russia resume peace talks by video",
    "https://wire.example/talks",
    "Delegations of Ukraine and Russia met by video link on Friday to continue negotiations.",
)
WEATHER = Entry("wire-3", "Sunny weekend ahead in Lisbon", "https://wire.example/weather")
