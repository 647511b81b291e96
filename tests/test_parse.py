"""Parse stage: feed bytes of every format become the same plain-text, UTC, canonical Items."""

from __future__ import annotations

import pickle
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.errors import FeedError
from bot.feeds.parse import NotAFeedError, ParsedFeed, parse_feed
from bot.feeds.text import html_to_text

FEED_URL = "https://news.example/feeds/world.xml"
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "feedparser"

RSS_091 = b"""<?xml version="1.0"?>
<rss version="0.91"><channel><title>Old Wire</title><link>https://news.example/</link>
<description>d</description><language>en-gb</language>
<item><title>Talks resume</title><link>https://news.example/a/1?utm_source=rss</link>
<description>Delegations meet again.</description></item></channel></rss>"""

RSS_20 = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Wire &amp; Co</title><link>https://news.example/</link>
<item><title>Buses leave for Mariupol</title><link>/2022/03/31/buses</link>
<guid isPermaLink="false"> wire-1 </guid><pubDate>Thu, 31 Mar 2022 12:40:00 +0300</pubDate>
<description>&lt;p&gt;The convoy &lt;b&gt;left&lt;/b&gt; at dawn.&lt;/p&gt;</description>
<author>desk@news.example (Desk Editor)</author></item></channel></rss>"""

RSS_10 = b"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://news.example/rdf"><title>RDF Wire</title>
<link>https://news.example/</link><description>d</description><dc:language>uk</dc:language></channel>
<item rdf:about="https://news.example/uk/1"><title>\xd0\x95\xd0\xb2\xd0\xb0\xd0\xba\xd1\x83\xd0\xb0\xd1\x86\xd1\x96\xd1\x8f</title>
<link>https://news.example/uk/1</link><dc:date>2022-03-31T10:15:00+03:00</dc:date></item>
</rdf:RDF>"""

ATOM_10 = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en-US"><title>Atom Wire</title>
<link href="https://news.example/"/><id>urn:uuid:feed</id><updated>2022-03-31T00:00:00Z</updated>
<entry><title type="html">Kiev &amp;amp; Moscow &lt;em&gt;agree&lt;/em&gt; to talk</title>
<link href="https://news.example/a/2"/><id>urn:uuid:entry-2</id>
<updated>2022-03-31T18:05:00+01:00</updated>
<content type="html">&lt;p&gt;By video.&lt;/p&gt;</content>
<author><name>Ilona</name></author></entry>
</feed>"""

JSON_FEED_10 = b"""{"version": "https://jsonfeed.org/version/1", "title": "JSON Wire",
"home_page_url": "https://news.example/", "author": {"name": "Desk"},
"items": [{"id": 42, "url": "https://news.example/j/42?fbclid=x", "title": "Corridor opens",
"content_html": "<p>Buses &amp; cars</p>", "date_published": "2022-03-31T10:00:00+03:00"}]}"""

JSON_FEED_11 = """{"version": "https://jsonfeed.org/version/1.1", "title": "JSON Wire",
"language": "ru-RU", "authors": [{"name": "Анна"}, {"name": "Пётр"}],
"items": [{"id": "j-1", "external_url": "https://other.example/story", "summary": "Переговоры",
"content_text": "long text", "date_modified": "2022-04-01T06:10:00Z"}]}""".encode()


@pytest.mark.parametrize(
    ("document", "title", "key", "url", "published", "language"),
    [
        pytest.param(
            RSS_091,
            "Talks resume",
            "https://news.example/a/1",
            "https://news.example/a/1",
            None,
            "en",
            id="rss-0.91",
        ),
        pytest.param(
            RSS_20,
            "Buses leave for Mariupol",
            "wire-1",
            "https://news.example/2022/03/31/buses",
            datetime(2022, 3, 31, 9, 40, tzinfo=UTC),
            None,
            id="rss-2.0",
        ),
        pytest.param(
            RSS_10,
            "Евакуація",
            "https://news.example/uk/1",
            "https://news.example/uk/1",
            datetime(2022, 3, 31, 7, 15, tzinfo=UTC),
            "uk",
            id="rss-1.0",
        ),
        pytest.param(
            ATOM_10,
            "Kiev & Moscow agree to talk",
            "urn:uuid:entry-2",
            "https://news.example/a/2",
            datetime(2022, 3, 31, 17, 5, tzinfo=UTC),
            "en",
            id="atom-1.0",
        ),
        pytest.param(
            JSON_FEED_10,
            "Corridor opens",
            "42",
            "https://news.example/j/42",
            datetime(2022, 3, 31, 7, 0, tzinfo=UTC),
            None,
            id="jsonfeed-1.0",
        ),
        pytest.param(
            JSON_FEED_11,
            "Переговоры",
            "j-1",
            "https://other.example/story",
            datetime(2022, 4, 1, 6, 10, tzinfo=UTC),
            "ru",
            id="jsonfeed-1.1",
        ),
    ],
)
def test_each_format_yields_the_same_kind_of_item(
    document: bytes,
    title: str,
    key: str,
    url: str,
    published: datetime | None,
    language: str | None,
) -> None:
    parsed = parse_feed(document, feed_url=FEED_URL)
    assert isinstance(parsed, ParsedFeed)
    assert parsed.warning is None
    [item] = parsed.items
    assert (item.title, item.key, item.url, item.published, item.language) == (
        title,
        key,
        url,
        published,
        language,
    )
    assert item.feed_url == FEED_URL
    assert item.source_title == parsed.title
    if item.published is not None:
        assert item.published.tzinfo is UTC


def test_summaries_and_authors_are_plain_text() -> None:
    [rss] = parse_feed(RSS_20, feed_url=FEED_URL).items
    assert rss.summary == "The convoy left at dawn."
    assert rss.author == "Desk Editor"
    assert parse_feed(RSS_20, feed_url=FEED_URL).title == "Wire & Co"
    [atom] = parse_feed(ATOM_10, feed_url=FEED_URL).items
    assert (atom.summary, atom.author) == ("By video.", "Ilona")  # content stands in for summary
    [json10] = parse_feed(JSON_FEED_10, feed_url=FEED_URL).items
    assert (json10.summary, json10.author) == ("Buses & cars", "Desk")
    [json11] = parse_feed(JSON_FEED_11, feed_url=FEED_URL).items
    assert (json11.summary, json11.author) == ("Переговоры", "Анна, Пётр")


def _rss(items: str, channel: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"{channel}{items}</channel></rss>"
    ).encode()


def test_entries_without_guid_or_link_get_stable_content_keys() -> None:
    document = _rss(
        "<item><title>Briefing</title><description>Morning notes</description></item>"
        "<item><title>Briefing</title><description>Evening notes</description></item>"
    )
    first = parse_feed(document, feed_url=FEED_URL).items
    second = parse_feed(document, feed_url=FEED_URL).items
    assert [item.key for item in first] == [item.key for item in second]
    assert all(re.fullmatch(r"sha1:[0-9a-f]{40}", item.key) for item in first)
    assert first[0].key != first[1].key
    assert first[0].url is None


def test_key_prefers_guid_then_canonical_link() -> None:
    document = _rss(
        '<item><title>a</title><guid isPermaLink="false">  g-1\n</guid><link>https://news.example/1</link></item>'
        "<item><title>b</title><guid>   </guid>"
        "<link>https://News.example/2?utm_source=x#top</link></item>"
    )
    keys = [item.key for item in parse_feed(document, feed_url=FEED_URL).items]
    assert keys == ["g-1", "https://news.example/2"]


def test_entries_with_nothing_to_show_are_skipped() -> None:
    document = _rss("<item><category>x</category></item><item><title>kept</title></item>")
    assert [item.title for item in parse_feed(document, feed_url=FEED_URL).items] == ["kept"]


def test_an_untitled_entry_is_titled_from_its_summary() -> None:
    long = " ".join(["evacuation"] * 30)
    document = _rss(f"<item><description>{long}</description></item>")
    [item] = parse_feed(document, feed_url=FEED_URL).items
    assert item.title.endswith("…") and len(item.title) <= 121
    assert item.summary == long


@pytest.mark.parametrize(
    ("link", "xml_base", "expected"),
    [
        ("/2022/04/01/story", "", "https://news.example/2022/04/01/story"),
        ("story-2", "", "https://news.example/feeds/story-2"),
        ("story-3", ' xml:base="https://mirror.example/uk/"', "https://mirror.example/uk/story-3"),
        ("mailto:desk@news.example", "", None),
    ],
)
def test_relative_links_resolve_against_the_feed_url(
    link: str, xml_base: str, expected: str | None
) -> None:
    document = (
        f'<feed xmlns="http://www.w3.org/2005/Atom"{xml_base}><title>T</title>'
        f'<entry><title>t</title><id>e</id><link href="{link}"/></entry></feed>'
    ).encode()
    [item] = parse_feed(document, feed_url=FEED_URL).items
    assert item.url == expected


@pytest.mark.parametrize(
    ("channel", "item", "http_language", "expected"),
    [
        ("<language>uk-UA</language>", "", None, "uk"),
        ("<language>en_US</language>", "", "ru", "en"),
        ("<language>ukr</language>", "", None, "uk"),
        ("", "", "ru-RU, en", "ru"),
        ("", "", None, None),
        ("<language>x</language>", "", None, None),
        (
            "<language>en</language>",
            '<dc:language xmlns:dc="http://purl.org/dc/elements/1.1/">ru</dc:language>',
            None,
            "ru",
        ),
    ],
)
def test_language_is_a_primary_subtag(
    channel: str, item: str, http_language: str | None, expected: str | None
) -> None:
    document = _rss(f"<item><title>t</title>{item}</item>", channel)
    headers = {"Content-Language": http_language} if http_language else None
    [parsed] = parse_feed(document, feed_url=FEED_URL, headers=headers).items
    assert parsed.language == expected


def test_atom_entry_language_overrides_the_feed_language() -> None:
    document = (
        b'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en"><title>T</title>'
        b'<entry xml:lang="uk-UA"><title>a</title><id>1</id></entry>'
        b"<entry><title>b</title><id>2</id></entry></feed>"
    )
    items = parse_feed(document, feed_url=FEED_URL).items
    assert [item.language for item in items] == ["uk", "en"]


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("Thu, 31 Mar 2022 12:40:00 +0300", datetime(2022, 3, 31, 9, 40, tzinfo=UTC)),
        ("Thu, 31 Mar 2022 09:40:00 GMT", datetime(2022, 3, 31, 9, 40, tzinfo=UTC)),
        ("2022-04-01T08:30:00+03:00", datetime(2022, 4, 1, 5, 30, tzinfo=UTC)),
        ("Fri, 01 Jan 2100 00:00:00 GMT", datetime(2100, 1, 1, tzinfo=UTC)),  # kept as given
        ("yesterday-ish", None),
        ("Mon, 99 Foo 2022 99:99:99 GMT", None),
    ],
)
def test_dates_are_aware_utc_or_absent(date: str, expected: datetime | None) -> None:
    document = _rss(f"<item><title>t</title><pubDate>{date}</pubDate></item>")
    [item] = parse_feed(document, feed_url=FEED_URL).items
    assert item.published == expected


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ("<ttl>30</ttl>", 1800),
        ("<ttl>0</ttl>", None),
        ("<ttl>soon</ttl>", None),
        (
            "<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>",
            1800,
        ),
        ("<sy:updatePeriod>daily</sy:updatePeriod>", 86400),
        ("<sy:updatePeriod>fortnightly</sy:updatePeriod>", None),
        ("", None),
    ],
)
def test_ttl_in_seconds(channel: str, expected: int | None) -> None:
    document = _rss("", channel).replace(
        b"<rss ", b'<rss xmlns:sy="http://purl.org/rss/1.0/modules/syndication/" '
    )
    assert parse_feed(document, feed_url=FEED_URL).ttl == expected


def test_a_valid_channel_with_no_entries_is_an_empty_feed() -> None:
    parsed = parse_feed(_rss("", "<link>https://news.example/</link>"), feed_url=FEED_URL)
    assert (parsed.title, parsed.link, parsed.items, parsed.warning) == (
        "T",
        "https://news.example/",
        (),
        None,
    )


def test_a_broken_feed_that_still_yields_items_carries_a_warning() -> None:
    document = _rss("<item><title>first</title></item><item><title>second &bogus; </title>")
    parsed = parse_feed(document[: -len("</channel></rss>")], feed_url=FEED_URL)
    assert [item.title for item in parsed.items][:1] == ["first"]
    assert parsed.warning is not None and "line 1" in parsed.warning


def test_an_html_page_is_not_a_feed_but_names_the_feeds_it_advertises() -> None:
    page = b"""<!DOCTYPE html><html><head><title>News</title><base href="/world/">
    <link rel="stylesheet" href="/s.css">
    <link rel="alternate" type="application/rss+xml" title="RSS" href="rss.xml">
    <link rel="alternate" type="application/atom+xml" href="https://news.example/atom">
    <link rel="alternate" type="application/feed+json" href="feed.json">
    <link rel="alternate" type="application/rss+xml" href="rss.xml">
    <link rel="alternate" hreflang="uk" href="/uk/">
    </head><body><p>Hello</p></body></html>"""
    with pytest.raises(NotAFeedError) as caught:
        parse_feed(page, feed_url="https://news.example/index.html", content_type="text/html")
    assert caught.value.feed_links == (
        "https://news.example/world/rss.xml",
        "https://news.example/atom",
        "https://news.example/world/feed.json",
    )
    assert str(caught.value).startswith("not a feed: got an HTML page (it advertises 3 feeds: ")


def test_results_and_errors_survive_a_worker_process_boundary() -> None:
    parsed = parse_feed(RSS_20, feed_url=FEED_URL)
    assert pickle.loads(pickle.dumps(parsed)) == parsed
    error = pickle.loads(pickle.dumps(NotAFeedError("not a feed", ("https://a.example/rss",))))
    assert (str(error), error.feed_links) == ("not a feed", ("https://a.example/rss",))


def test_an_html_page_without_feed_links() -> None:
    with pytest.raises(NotAFeedError, match="advertises no feed") as caught:
        parse_feed(b"<html><body>Maintenance</body></html>", feed_url=FEED_URL)
    assert caught.value.feed_links == ()


def test_a_feed_names_its_alternate_formats() -> None:
    document = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>'
        b'<link rel="alternate" type="application/feed+json" href="/feed.json"/>'
        b'<link rel="alternate" type="text/html" href="/"/></feed>'
    )
    assert parse_feed(document, feed_url=FEED_URL).feed_links == ("https://news.example/feed.json",)


@pytest.mark.parametrize(
    ("content", "content_type", "message"),
    [
        (b"", None, "empty"),
        (b" \r\n\t", "application/rss+xml", "empty"),
        (b"\x00\x01\x02binary\xff", None, "no RSS, Atom or JSON Feed"),
        (b"just some text", "text/plain", "no RSS, Atom or JSON Feed"),
        (b"<note><to>x</to></note>", "application/xml", "no RSS, Atom or JSON Feed"),
        (b'{"hello": "world"}', "application/json", "not a JSON Feed"),
        (b"[1, 2, 3]", "application/json", "not an object"),
        (b'{"version": "https://jsonfeed.org/version/1", ', None, "invalid JSON"),
        (b"nope", "application/feed+json", "invalid JSON"),
        # Never treated as a path or a URL to open: feedparser would read /etc/passwd.
        (b"/etc/passwd", None, "no RSS, Atom or JSON Feed"),
        (b"https://news.example/feed.xml", None, "no RSS, Atom or JSON Feed"),
    ],
)
def test_bytes_that_are_no_feed_raise_feed_error(
    content: bytes, content_type: str | None, message: str
) -> None:
    with pytest.raises(FeedError, match=message):
        parse_feed(content, feed_url=FEED_URL, content_type=content_type)


def test_charset_in_content_type_is_honoured() -> None:
    document = _rss("<item><title>Маріуполь: евакуація</title></item>", "<title>Вісник</title>")
    legacy = document.decode().replace("utf-8", "windows-1251").encode("windows-1251")
    parsed = parse_feed(
        legacy.replace(b' encoding="windows-1251"', b""),
        feed_url=FEED_URL,
        headers={"Content-Type": "application/rss+xml; charset=windows-1251"},
    )
    assert parsed.items[0].title == "Маріуполь: евакуація"
    assert parsed.warning is None


def test_bytes_that_contradict_their_declared_encoding_are_read_with_a_warning() -> None:
    mislabelled = _rss("<item><title>Маріуполь</title></item>").decode().encode("windows-1251")
    parsed = parse_feed(mislabelled, feed_url=FEED_URL)
    assert len(parsed.items) == 1
    assert parsed.warning is not None and "declared as utf-8" in parsed.warning


def test_utf8_under_text_xml_without_charset_is_read_without_a_warning() -> None:
    document = _rss("<item><title>Мариуполь</title></item>")
    parsed = parse_feed(document, feed_url=FEED_URL, content_type="text/xml")
    assert (parsed.items[0].title, parsed.warning) == ("Мариуполь", None)


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>Hello <b>world</b></p><p>Second</p>", "Hello world\nSecond"),
        ("<script>track('x')</script>Text<style>p{color:red}</style> more", "Text more"),
        ("<noscript><img src=t.gif></noscript><iframe src=ad></iframe>ok", "ok"),
        ("AT&amp;T &lt;tag&gt; &#1052;&#x430;&nbsp;&copy; 2022", "AT&T <tag> Ма © 2022"),
        ("<b><i>Mariu</b>pol</i> <em>evacuation", "Mariupol evacuation"),
        ("Mariu&shy;pol\u200b", "Mariupol"),
        ("line<br>break<br/>again", "line\nbreak\nagain"),
        ('<img src="https://px.example/p.gif" width="1" height="1">After', "After"),
        ("a < b and c > d", "a < b and c > d"),
        ("   lots \n\n of   space  ", "lots of space"),
        ("<ul><li>one</li><li>two</li></ul>", "one\ntwo"),
        ("<div><div> </div></div>", ""),
        ("<script>never closed", ""),
        ("<!-- comment -->visible", "visible"),
    ],
)
def test_html_to_text(html: str, expected: str) -> None:
    assert html_to_text(html) == expected


_HEADER_COMMENT = re.compile(rb"^\s*Header:\s*([A-Za-z-]+):\s*(.+?)\s*$", re.MULTILINE)


def test_feedparser_corpus_raises_nothing_but_feed_error() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"feedparser corpus not found at {CORPUS}")
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix in {".xml", ".json"})
    parsed = failed = items = 0
    for path in files:
        content = path.read_bytes()
        headers = {
            name.decode(): value.decode("latin-1")
            for name, value in _HEADER_COMMENT.findall(content[:4096])
        }
        try:
            result = parse_feed(
                content, feed_url=f"https://corpus.example/{path.name}", headers=headers
            )
        except FeedError:
            failed += 1
            continue
        assert isinstance(result, ParsedFeed)
        parsed += 1
        items += len(result.items)
    print(
        f"feedparser corpus: {len(files)} files, {parsed} parsed ({items} items),",
        f"{failed} raised FeedError",
    )
    assert parsed > 0.9 * len(files)
