"""The lxml fast path gives exactly the Items feedparser gives, or steps aside.

Every document here is parsed twice by ``parse_feed``: once as the bot does (fast path first),
once with the fast path switched off (feedparser alone). Wherever the fast path takes a document,
the two ``ParsedFeed``s must be equal, field for field.
"""

from __future__ import annotations

import random
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

import pytest

from bot.errors import FeedError
from bot.feeds import parse
from bot.feeds.fastparse import read_feed
from bot.feeds.parse import ParsedFeed, parse_feed
from tests import feeds
from tests.hostile import documents

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpora" / "feedparser"
SAMPLES = ROOT / "config" / "samples"
FEED_URL = "https://news.example/feeds/world.xml"
HEADER_COMMENT = re.compile(rb"^\s*Header:\s*([A-Za-z-]+):\s*(.+?)\s*$", re.MULTILINE)
RSS_NAMESPACES = (
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
    'xmlns:media="http://search.yahoo.com/mrss/" xmlns:atom="http://www.w3.org/2005/Atom"'
)

Outcome = ParsedFeed | tuple[str, str]


@contextmanager
def _fast_path(enabled: bool, taken: list[bool]) -> Iterator[None]:
    def spy(content: bytes, headers: dict[str, str]) -> dict[str, object] | None:
        result = read_feed(content, headers) if enabled else None
        taken.append(result is not None)
        return result

    with mock.patch.object(parse, "read_feed", spy):
        yield


def _outcome(content: bytes, feed_url: str, headers: dict[str, str] | None) -> Outcome:
    try:
        return parse_feed(content, feed_url=feed_url, headers=headers)
    except FeedError as error:
        return (type(error).__name__, str(error))


def parse_both(
    content: bytes, *, feed_url: str = FEED_URL, headers: dict[str, str] | None = None
) -> tuple[Outcome, Outcome, bool]:
    """(as the bot parses, feedparser alone, whether the fast path took the document)."""
    taken: list[bool] = []
    with _fast_path(True, taken):
        bot = _outcome(content, feed_url, headers)
    with _fast_path(False, []):
        alone = _outcome(content, feed_url, headers)
    return bot, alone, taken == [True]


def fast_item(document: str) -> ParsedFeed:
    """The document's parse, asserting the fast path took it and feedparser agrees."""
    bot, alone, taken = parse_both(document.encode())
    assert taken, "the fast path declined this document"
    assert bot == alone
    assert isinstance(bot, ParsedFeed)
    return bot


def rss(items: str, channel: str = "<title>Wire</title>") -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {RSS_NAMESPACES}><channel>'
        f"{channel}{items}</channel></rss>"
    )


def atom(entries: str, attributes: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        f'xmlns:dc="http://purl.org/dc/elements/1.1/"{attributes}><title>Wire</title>'
        f"{entries}</feed>"
    )


# --- the same Items on every document the fast path takes ---------------------------------------


def test_every_corpus_feed_the_fast_path_takes_gives_feedparsers_items() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"feedparser corpus not found at {CORPUS}")
    files = sorted(path for path in CORPUS.rglob("*.xml") if path.is_file())
    taken = 0
    for path in files:
        content = path.read_bytes()
        headers = {
            name.decode(): value.decode("latin-1")
            for name, value in HEADER_COMMENT.findall(content[:4096])
        }
        bot, alone, fast = parse_both(
            content, feed_url=f"https://corpus.example/{path.name}", headers=headers
        )
        if fast:
            taken += 1
            assert bot == alone, path.relative_to(CORPUS)
    print(f"\nfeedparser corpus: {taken} of {len(files)} documents take the fast path")
    assert taken > 0.3 * len(files)


def _project_documents() -> Iterator[tuple[str, bytes]]:
    for path in sorted(SAMPLES.iterdir()):
        if path.suffix != ".md":
            yield path.name, path.read_bytes()
    yield "tests/feeds", feeds.rss(feeds.EVACUATION, feeds.TALKS, feeds.WEATHER).encode()
    yield "odd items", documents.ODD_ITEMS.encode()
    yield "small entity", documents.SMALL_ENTITY.encode()
    yield "many items", documents.many_items(300, fresh_matching=(1, 2), every_old_matching=7)
    yield "cyrillic", documents.cyrillic_feed("Вісник", "Евакуація", "utf-8", declared="utf-8")
    yield "windows-1251", documents.cyrillic_feed("Вісник", "Маріуполь", "cp1251", declared="utf-8")


@pytest.mark.parametrize(("name", "content"), list(_project_documents()))
def test_project_documents_parse_the_same_either_way(name: str, content: bytes | str) -> None:
    data = content.encode() if isinstance(content, str) else content
    bot, alone, _ = parse_both(data, feed_url=f"http://127.0.0.1:8000/{name}")
    assert bot == alone


def test_the_bench_feeds_take_the_fast_path() -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from feedhost import Entry, rss_document
    finally:
        sys.path.remove(str(ROOT / "bench"))
    rng = random.Random(7)
    entries = [
        Entry(f"wire-{n}", f"Title {n} — Київ", f"Summary {n} & more", f"https://w.example/{n}",
              1_700_000_000 + rng.uniform(0, 3600))
        for n in range(20)
    ]  # fmt: skip
    bot, alone, taken = parse_both(
        rss_document("Wire", "https://w.example/", entries),
        headers={"Content-Type": "application/rss+xml"},
    )
    assert taken and bot == alone
    assert isinstance(bot, ParsedFeed) and len(bot.items) == 20


# --- focused cases: each taken by the fast path, equal, and as expected ----------------------


@pytest.mark.parametrize(
    ("element", "expected"),
    [
        ("<pubDate>Thu, 31 Mar 2022 12:40:00 +0300</pubDate>", datetime(2022, 3, 31, 9, 40)),
        ("<pubDate>31 Mar 2022 09:40 GMT</pubDate>", datetime(2022, 3, 31, 9, 40)),
        ("<dc:date>2022-04-01T08:30:00+03:00</dc:date>", datetime(2022, 4, 1, 5, 30)),
        ("<dc:date>2022-04-01</dc:date>", datetime(2022, 4, 1)),
        ("<pubDate>yesterday-ish</pubDate>", None),
        ("<pubDate>junk</pubDate><dc:date>2022-04-01T00:00:00Z</dc:date>", datetime(2022, 4, 1)),
        ("<pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate>", datetime(2100, 1, 1)),
    ],
)
def test_rss_dates(element: str, expected: datetime | None) -> None:
    [item] = fast_item(rss(f"<item><title>t</title>{element}</item>")).items
    assert item.published == (expected.replace(tzinfo=UTC) if expected else None)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("<published>2022-03-31T18:05:00+01:00</published>", datetime(2022, 3, 31, 17, 5)),
        ("<updated>2022-03-31T18:05:00Z</updated>", datetime(2022, 3, 31, 18, 5)),
        ("<updated>2022-01-01T00:00:00Z</updated><published>2021-12-31T00:00:00Z</published>",
         datetime(2021, 12, 31)),
    ],
)  # fmt: skip
def test_atom_dates(entry: str, expected: datetime) -> None:
    [item] = fast_item(atom(f"<entry><id>e</id><title>t</title>{entry}</entry>")).items
    assert item.published == expected.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (rss("<item><title>t</title><link>/2022/story</link></item>"),
         "https://news.example/2022/story"),
        (rss("<item><title>t</title><link>story-2</link></item>"),
         "https://news.example/feeds/story-2"),
        (rss("<item><title>t</title><guid>rel/guid</guid></item>"),
         "https://news.example/feeds/rel/guid"),
        (rss('<item><title>t</title><guid isPermaLink="false">g</guid></item>'), None),
        (rss("<item><link>https://a.example/x?utm_source=q&amp;b=2</link></item>"),
         "https://a.example/x?b=2"),
        (atom('<entry><id>e</id><link href="s-3" xml:base="https://mirror.example/uk/"/></entry>'),
         "https://mirror.example/uk/s-3"),
        (atom('<entry xml:base="https://m.example/a/"><id>e</id><link href="../b/c"/></entry>'),
         "https://m.example/b/c"),
        (atom('<entry><link rel="related" href="/x"/><id>https://n.example/id</id></entry>'),
         "https://n.example/id"),
        (atom('<entry><id>urn:uuid:1</id><link href="/x" type="application/pdf"/></entry>'),
         None),
        (atom('<entry><id>e</id><link href="mailto:desk@news.example"/></entry>'), None),
    ],
)  # fmt: skip
def test_links_resolve_as_feedparser_resolves_them(document: str, expected: str | None) -> None:
    [item] = fast_item(document).items
    assert item.url == expected


def test_an_entry_base_carries_over_to_the_next_entry_as_in_feedparser() -> None:
    document = atom(
        '<entry xml:base="https://mirror.example/uk/"><id>1</id><link href="a"/></entry>'
        '<entry><id>2</id><link href="b"/></entry>'
    )
    assert [item.url for item in fast_item(document).items] == [
        "https://mirror.example/uk/a",
        "https://mirror.example/uk/b",
    ]


@pytest.mark.parametrize(
    ("document", "title"),
    [
        (rss("<item><title>Kiev &amp;amp; Moscow &lt;em&gt;agree&lt;/em&gt;</title></item>"),
         "Kiev & Moscow agree"),
        (rss("<item><title>AT&amp;T &lt; 5 &gt; 3</title></item>"), "AT&T < 5 > 3"),
        (rss("<item><title><![CDATA[<b>Bold</b> move]]></title></item>"), "Bold move"),
        (rss("<item><title>Mariu\u00adpol   \n convoy</title></item>"), "Mariu\u00adpol convoy"),
        (rss("<item><title></title><title>second</title><title>third</title></item>"), "second"),
        (atom('<entry><id>e</id><title type="html">A &lt;b&gt;B&lt;/b&gt;</title></entry>'), "A B"),
        (atom('<entry><id>e</id><title type="html">&amp;lt;b&amp;gt; shown</title></entry>'),
         "<b> shown"),
        (atom('<entry><id>e</id><title type="text">&lt;b&gt;kept&lt;/b&gt;</title></entry>'),
         "<b>kept</b>"),
        (atom('<entry><id>e</id><title type="html"><![CDATA[<i>Київ</i>]]></title></entry>'),
         "Київ"),
    ],
)  # fmt: skip
def test_html_in_titles(document: str, title: str) -> None:
    [item] = fast_item(document).items
    assert item.title == title


@pytest.mark.parametrize(
    ("item", "summary"),
    [
        ("<description><![CDATA[<p>The convoy <b>left</b>.</p><p>Second</p>]]></description>",
         "The convoy left.\nSecond"),
        ("<description>&lt;p&gt;Escaped &amp;amp; decoded&lt;/p&gt;</description>",
         "Escaped & decoded"),
        ("<content:encoded><![CDATA[<p>Full text</p>]]></content:encoded>", "Full text"),
        ("<description>short</description><content:encoded>long</content:encoded>", "short"),
        ("<content:encoded>long</content:encoded><description>short</description>", "short"),
        ("<description></description><content:encoded>&lt;p&gt;c&lt;/p&gt;</content:encoded>", "c"),
        ("<description>&#1052;&#x430;&#1088;&#1110;&#1091;&#1087;&#1086;&#1083;&#1100;</description>",
         "Маріуполь"),
    ],
)  # fmt: skip
def test_summaries_cdata_and_entities(item: str, summary: str) -> None:
    [parsed] = fast_item(rss(f"<item><title>t</title>{item}</item>")).items
    assert parsed.summary == summary


@pytest.mark.parametrize(
    ("item", "author", "language"),
    [
        ("<author>desk@news.example (Desk Editor)</author>", "Desk Editor", None),
        ("<dc:creator>Ірина Петренко</dc:creator><dc:language>uk</dc:language>",
         "Ірина Петренко", "uk"),
        ("<dc:creator>jane@x.org</dc:creator>", "jane@x.org", None),
        ('<media:content url="https://m.example/a.jpg" medium="image"/>'
         '<media:thumbnail url="https://m.example/t.jpg"/>'
         '<media:group><media:content url="https://m.example/b.mp4"/></media:group>'
         '<enclosure url="https://m.example/a.mp3" length="1" type="audio/mpeg"/>'
         '<category domain="x">War</category><comments>/c</comments>', None, None),
    ],
)  # fmt: skip
def test_namespaced_and_inert_elements(item: str, author: str | None, language: str | None) -> None:
    [parsed] = fast_item(rss(f"<item><title>t</title><guid>g</guid>{item}</item>")).items
    assert (parsed.author, parsed.language, parsed.key) == (author, language, "g")


def test_atom_authors_languages_and_content() -> None:
    document = atom(
        '<entry xml:lang="uk-UA"><id>1</id><title>a</title>'
        "<author><name>Ilona</name><email>i@news.example</email></author>"
        '<content type="html">&lt;p&gt;By video.&lt;/p&gt;</content></entry>'
        "<entry><id>2</id><title>b</title><summary>s</summary></entry>",
        ' xml:lang="en"',
    )
    parsed = fast_item(document)
    assert [(i.author, i.language, i.summary) for i in parsed.items] == [
        ("Ilona", "uk", "By video."),
        (None, "en", "s"),
    ]


def test_feed_fields_are_read_the_same_way() -> None:
    channel = (
        "<title>Wire &amp; Co</title><link>https://news.example/</link><language>uk-UA</language>"
        '<atom:link rel="alternate" type="application/feed+json" href="/feed.json"/>'
        '<atom:link rel="self" type="application/rss+xml" href="https://news.example/rss"/>'
        "<ttl>30</ttl><image><title>i</title><url>https://news.example/i.png</url></image>"
    )
    parsed = fast_item(rss("<item><title>t</title></item>", channel))
    assert (parsed.title, parsed.link, parsed.ttl, parsed.feed_links) == (
        "Wire & Co",
        "https://news.example/",
        1800,
        ("https://news.example/feed.json",),
    )
    assert parsed.items[0].language == "uk"


def test_rss_1_0_items_are_keyed_by_their_rdf_about() -> None:
    document = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">'
        '<channel rdf:about="https://news.example/rdf"><title>RDF Wire</title>'
        "<link>https://news.example/</link><dc:language>uk</dc:language>"
        "<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>"
        '<items><rdf:Seq><rdf:li rdf:resource="https://news.example/uk/1"/></rdf:Seq></items>'
        '<image rdf:resource="https://news.example/i.png"/></channel>'
        '<item rdf:about="https://news.example/uk/1"><title>Евакуація</title>'
        "<link>https://news.example/uk/1?utm_source=rss</link>"
        "<dc:date>2022-03-31T10:15:00+03:00</dc:date></item>"
        '<image rdf:about="https://news.example/i.png"><title>i</title>'
        "<url>https://news.example/i.png</url><link>https://news.example/</link></image>"
        "</rdf:RDF>"
    )
    parsed = fast_item(document)
    [item] = parsed.items
    assert (parsed.title, parsed.ttl) == ("RDF Wire", 1800)
    assert (item.key, item.url, item.language) == (
        "https://news.example/uk/1",
        "https://news.example/uk/1",
        "uk",
    )
    assert item.published == datetime(2022, 3, 31, 7, 15, tzinfo=UTC)


# --- what the fast path leaves to feedparser -------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(documents.SMALL_ENTITY, id="doctype-with-entity"),
        pytest.param(documents.external_entity("file:///etc/passwd"), id="external-entity"),
        pytest.param(rss("<item><title>&nbsp;</title></item>"), id="undefined-entity"),
        pytest.param(rss("<item><title>t</title>"), id="not-well-formed"),
        pytest.param(rss('<item xml:base="https://x.example/"><title>t</title></item>'),
                     id="xml-base-in-rss"),
        pytest.param(rss('<item><title type="html">t</title></item>'), id="typed-rss-title"),
        pytest.param(rss('<item><x:y xmlns:x="urn:unknown">1</x:y></item>'),
                     id="unknown-namespace"),
        pytest.param(rss("<item><media:title>t</media:title></item>"), id="media-title"),
        pytest.param(rss("<item><description><b>raw</b> markup</description></item>"),
                     id="markup-in-text"),
        pytest.param(rss("<item><author>a</author><dc:creator>b</dc:creator></item>"),
                     id="two-authors"),
        pytest.param(rss("<item><description>a</description><description>b</description></item>"),
                     id="second-description"),
        pytest.param(rss("<item><source url='https://s.example/'>S</source></item>"), id="source"),
        pytest.param(rss("", "<title>a</title><title>b</title>"), id="two-channel-titles"),
        pytest.param(rss("").replace('xmlns:dc="http://purl.org/dc/elements/1.1/"',
                                     'xmlns:dc="http://purl.org/rss/1.0/modules/content/"'),
                     id="prefix-bound-elsewhere"),
        pytest.param(atom('<entry><id>e</id><content type="xhtml"><div>x</div></content></entry>'),
                     id="atom-xhtml"),
        pytest.param(
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns:atom="http://www.w3.org/2005/Atom" xmlns="http://purl.org/rss/1.0/">'
            "<channel><title>t</title></channel></rdf:RDF>",
            id="rss-1.0-that-feedparser-calls-atom",
        ),
        pytest.param(
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns="http://purl.org/rss/1.0/"><image rdf:about="i"><title>i</title></image>'
            "<channel><title>t</title></channel></rdf:RDF>",
            id="rss-1.0-image-before-channel",
        ),
        pytest.param(
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns="http://my.netscape.com/rdf/simple/0.9/"><channel><title>t</title></channel>'
            "</rdf:RDF>",
            id="rss-0.90",
        ),
        pytest.param('<rss version="2.0"><channel><title>Вісник</title></channel></rss>'
                     .encode("cp1251").decode("latin-1"), id="not-utf-8"),
    ],
)  # fmt: skip
def test_documents_left_to_feedparser(document: str) -> None:
    data = document.encode("latin-1" if document.startswith("<rss") else "utf-8")
    assert read_feed(data, {"content-type": "application/xml"}) is None


def test_an_external_entity_never_reaches_lxml(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    document = documents.external_entity(secret.as_uri()).encode()
    assert read_feed(document, {"content-type": "application/xml"}) is None
    with pytest.raises(FeedError, match="external entity"):
        parse_feed(document, feed_url=FEED_URL)
