"""Bytes that contradict their declared encoding: Cyrillic is read as Cyrillic, the rest as before.

The running bot's view is in test_broken_documents.py; here each kind of mislabelled text is a row.
"""

from __future__ import annotations

import pytest

from bot.feeds.parse import parse_feed
from tests.hostile.documents import item, rss_document

FEED_URL = "https://hostile.example/feed.xml"


@pytest.mark.parametrize(
    ("title", "encoding", "read_as"),
    [
        ("Маріуполь: евакуація триває третій день", "windows-1251", "windows-1251"),
        ("Мариуполь: эвакуация продолжается третий день", "windows-1251", "windows-1251"),
        ("Мариуполь: эвакуация продолжается третий день", "koi8-r", "koi8-u"),
        ("Маріуполь: евакуація триває третій день", "koi8-u", "koi8-u"),
        # Western text keeps feedparser's own guess: its accents stand alone, not in words.
        ("Café Müller: naïve façade, déjà vu in München", "windows-1252", "windows-1252"),
    ],
)
def test_text_in_a_legacy_encoding_declared_as_utf8(
    title: str, encoding: str, read_as: str
) -> None:
    document = rss_document(item(title, guid="t", description=f"{title}. {title}."))
    parsed = parse_feed(document.encode(encoding), feed_url=FEED_URL)
    [parsed_item] = parsed.items
    assert parsed_item.title == title
    assert parsed.warning == f"document declared as utf-8, but parsed as {read_as}"


def test_valid_utf8_is_left_alone() -> None:
    title = "Маріуполь: евакуація триває"
    parsed = parse_feed(rss_document(item(title, guid="t")).encode(), feed_url=FEED_URL)
    assert (parsed.items[0].title, parsed.warning) == (title, None)
