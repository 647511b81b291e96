"""OPML import/export: other readers' lists come in flat and de-duplicated, and go out again."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.feeds.opml import read_opml, write_opml
from bot.model import Feed

DEFAULT_FEEDS = Path(__file__).resolve().parents[1] / "config" / "feeds.opml"

NESTED = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Exported from another reader</title></head>
  <body>
    <outline text="News">
      <outline text="Ukraine">
        <outline type="rss" text="Kyiv Wire" xmlUrl="https://kyiv-wire.example/rss"/>
        <outline type="rss" text="Вісник" title="Вісник" xmlUrl="https://visnyk.example/feed?lang=uk&amp;utm_source=reader"/>
      </outline>
      <outline type="rss" text="Kyiv Wire (again)" xmlUrl="https://KYIV-WIRE.example:443/rss"/>
    </outline>
    <outline type="rss" title="Title only" text="" xmlUrl="https://title-only.example/atom"/>
    <outline text="A web page, not a feed" htmlUrl="https://page.example/"/>
    <outline type="rss" text="Local file" xmlUrl="file:///etc/passwd"/>
    <outline type="rss" text="" xmlUrl="https://untitled.example/rss"/>
  </body>
</opml>"""


def test_nested_outlines_are_flattened_and_deduplicated() -> None:
    assert read_opml(NESTED.encode()) == [
        Feed("https://kyiv-wire.example/rss", "Kyiv Wire"),
        Feed("https://visnyk.example/feed?lang=uk&utm_source=reader", "Вісник"),
        Feed("https://title-only.example/atom", "Title only"),
        Feed("https://untitled.example/rss", None),
    ]


@pytest.mark.parametrize(
    "feeds",
    [
        [],
        [Feed("https://a.example/rss")],
        [
            Feed("https://a.example/rss?x=1&y=2", 'Tom & "Jerry" <News>'),
            Feed("https://b.example/feed.json", "Степной курьер"),
            Feed("https://c.example/atom", "Маріуполь\x01 news\nwire"),
            Feed("https://d.example/rdf", None),
        ],
    ],
)
def test_write_opml_round_trips(feeds: list[Feed]) -> None:
    document = write_opml(feeds, title="My <feeds> & more")
    root = ElementTree.fromstring(document.encode())  # well-formed XML
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "My <feeds> & more"
    expected = [
        Feed(feed.url, " ".join(feed.title.replace("\x01", "").split()) if feed.title else None)
        for feed in feeds
    ]
    assert read_opml(document.encode()) == expected


def test_write_opml_is_deterministic() -> None:
    feeds = [Feed("https://a.example/rss", "A"), Feed("https://b.example/rss", "B")]
    assert write_opml(feeds) == write_opml(iter(feeds))


@pytest.mark.parametrize(
    ("encoding", "declaration"),
    [("windows-1251", True), ("utf-16", True), ("utf-8-sig", False), ("utf-8", False)],
)
def test_read_opml_honours_the_declared_encoding(encoding: str, declaration: bool) -> None:
    header = f'<?xml version="1.0" encoding="{encoding}"?>' if declaration else ""
    document = (
        f'{header}<opml version="2.0"><head/><body>'
        '<outline type="rss" text="Приазовський вісник" xmlUrl="https://visnyk.example/rdf"/>'
        "</body></opml>"
    )
    assert read_opml(document.encode(encoding)) == [
        Feed("https://visnyk.example/rdf", "Приазовський вісник")
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"this is not xml", "not an OPML subscription list"),
        (b"<html><body><p>hello</p></body></html>", "not an OPML subscription list"),
        (b'<?xml version="1.0" encoding="klingon"?><opml/>', "unknown encoding"),
        (
            b"<?xml version='1.0'?><opml version='2.0'><head><title>\xff\xfe</title></head></opml>",
            "not valid utf-8",
        ),
    ],
)
def test_read_opml_rejects_what_is_not_opml(data: bytes, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        read_opml(data)


def test_an_opml_file_without_feeds_is_an_empty_list() -> None:
    assert read_opml(b'<opml version="2.0"><head/><body/></opml>') == []


def test_the_default_feed_list_reads() -> None:
    feeds = read_opml(DEFAULT_FEEDS.read_bytes())
    assert len(feeds) >= 6
    assert all(feed.url.startswith("https://") and feed.title for feed in feeds)
    titles = " ".join(feed.title or "" for feed in feeds)
    for outlet in ("Kyiv Independent", "Ukrainska Pravda", "Meduza", "BBC", "UN News"):
        assert outlet in titles
