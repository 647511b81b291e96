"""Parse stage: the bytes of a fetched feed → a ``ParsedFeed`` of normalized ``Item``s.

``parse_feed(content, feed_url=…, content_type=…, headers=…)`` never touches the network or the
file system: feedparser only ever gets the bytes (given a str it would open URLs and paths itself,
and given raw bytes it would try them as a file name), wrapped in a stream. In order:

1. Empty or blank bytes → ``NotAFeedError``.
2. A body that opens with ``{`` (or a JSON content type with a body not opening with ``<``) is a
   JSON Feed, read by ``jsonfeed.py``; JSON that is not a JSON Feed raises ``FeedError``.
3. Anything else goes to feedparser (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, CDF) with the response headers,
   so a charset in Content-Type is honoured, and with ``feed_url`` as the base URI for relative
   links (``xml:base`` in the document still wins). Its HTML sanitizer and relative-URI rewriting
   are off: entries are reduced to plain text, so no markup survives to need them. First,
   ``dtd.check_dtd`` refuses a DTD declaring external, nested or oversized entities (``FeedError``),
   and ``charset.legacy_cyrillic`` names the encoding of Cyrillic bytes that contradict their
   declared one (windows-1251 or KOI8-U, with a warning) rather than let them become mojibake.
   Then a well-formed UTF-8 RSS 2.0 or Atom 1.0 document is read by ``fastparse`` (lxml), which
   returns feedparser's own result several times faster, or declines, and feedparser parses.
4. A document feedparser recognises as no feed format and that yields no entries is not a feed:
   ``NotAFeedError``. When it is an HTML page, the error carries the feed URLs the page advertises
   (``<link rel="alternate" type="application/rss+xml|atom+xml|feed+json">``), absolute.
5. A broken feed is returned with ``warning`` set (what broke, and where); a valid channel with
   no entries is a ``ParsedFeed`` with no items, not an error. A missing or non-XML Content-Type,
   and RFC 3023's us-ascii default for ``text/xml``, are not warnings: the feed is fine.

Each entry becomes an ``Item`` by the same rules whatever the format:

- ``key``: the guid/id, stripped; else the canonical link; else ``sha1:`` + hex digest of title and
  summary. Entries with none of id, link, title and summary are skipped.
- ``url``: the canonical link (``urls.canonical_url``) resolved against the feed URL.
- ``title``, ``summary``: plain text (``text.html_to_text`` for HTML, whitespace-collapsed text
  otherwise); the title is one line, and taken from the summary's start when the entry has none;
  the summary falls back to the entry's content.
- ``published``: aware UTC, from the published date, else the updated date; unparseable dates are
  ignored, dates in the future are kept as given.
- ``language``: the entry's own (``xml:lang``, ``dc:language``), else the feed's (``<language>``,
  ``xml:lang``), else Content-Language; reduced to a lower-case primary subtag (``uk-UA`` → ``uk``).
- ``author``: a name (RSS's ``email (Name)`` gives Name); ``source_title``: the feed's title.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import re
import time
import xml.sax
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from bot.errors import FeedError
from bot.feeds.charset import legacy_cyrillic
from bot.feeds.dtd import check_dtd
from bot.feeds.fastparse import read_feed
from bot.feeds.jsonfeed import JsonFeed, parse_json_feed
from bot.feeds.text import html_to_text
from bot.feeds.urls import canonical_url
from bot.model import Item

__all__ = ["FEED_MEDIA_TYPES", "NotAFeedError", "ParsedFeed", "parse_feed"]

#: Media types a page uses to advertise its feeds with ``<link rel="alternate">``.
FEED_MEDIA_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/feed+json"}
)
_JSON_MEDIA_TYPES = frozenset({"application/feed+json", "application/json"})
_HTML_MEDIA_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_SY_PERIODS = {"hourly": 3600, "daily": 86400, "weekly": 604800, "monthly": 2592000,
               "yearly": 31536000}  # fmt: skip
_ISO_639_2 = {"eng": "en", "ukr": "uk", "rus": "ru", "deu": "de", "ger": "de", "fra": "fr",
              "fre": "fr", "pol": "pl", "spa": "es", "bel": "be"}  # fmt: skip
_TITLE_FROM_SUMMARY_CHARS = 120
_LINKS_LISTED = 5  # in the error message, which /feeds shows; ``feed_links`` keeps them all
_LINK_CHARS = 200
_RSS_AUTHOR = re.compile(r"\s*[^\s@()]+@[^\s@()]+\s*\((.+)\)\s*")
_LANGUAGES: dict[str, str | None] = {}  # _primary_language's answers: feeds repeat a few tags
_LANGUAGES_KEPT = 1024
# Years whose datetimes ``_utc`` may build directly: far from datetime's and the platform's limits.
_PLAIN_YEARS = range(1901, 9999)


class NotAFeedError(FeedError):
    """The bytes are no feed at all (an HTML page, an error page, garbage, nothing).

    ``feed_links`` lists the feed URLs an HTML page advertises, absolute, so a caller can offer
    them ("this is a web page; did you mean …?") or follow the first one.
    """

    def __init__(self, message: str, feed_links: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.feed_links = feed_links

    def __reduce__(self) -> tuple[type[NotAFeedError], tuple[str, tuple[str, ...]]]:
        return (type(self), (str(self), self.feed_links))  # survives a worker process


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    link: str | None  # the site's home page
    items: tuple[Item, ...]
    ttl: int | None  # seconds, from RSS <ttl> (minutes) or sy:updatePeriod / sy:updateFrequency
    warning: str | None  # why feedparser found the feed broken, when it still yielded entries
    feed_links: tuple[str, ...]  # other feed documents this one advertises (alternate formats)


@dataclass(slots=True)
class _Fields:
    """One entry's raw fields, format-independent; ``_make_item`` applies the rules."""

    guid: str | None
    link: str | None
    title: str
    summary: str
    published: datetime | None
    language: str | None
    author: str | None


def parse_feed(
    content: bytes,
    *,
    feed_url: str,
    content_type: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> ParsedFeed:
    """Parse a fetched feed body; raise ``FeedError`` (``NotAFeedError``) when it is no feed."""
    response_headers = {name.lower(): value for name, value in (headers or {}).items()}
    if content_type:
        response_headers["content-type"] = content_type
    media_type = _media_type(response_headers.get("content-type"))
    start = content.removeprefix(b"\xef\xbb\xbf").lstrip()[:1]
    if not start:
        raise NotAFeedError("not a feed: the response body is empty")
    if start == b"{" or (media_type in _JSON_MEDIA_TYPES and start != b"<"):
        return _from_json_feed(parse_json_feed(content), feed_url)
    return _from_feedparser(content, feed_url, response_headers, media_type)


def _from_feedparser(
    content: bytes, feed_url: str, headers: dict[str, str], media_type: str
) -> ParsedFeed:
    # RFC 7231 dropped Content-Location as a base URI; the URL we fetched is the base, applied by
    # ``canonical_url`` to each link. Given no base, feedparser skips its own resolving of every
    # link and id (a third of its time on a large feed). It would let Content-Language override
    # the document's own <language>; that is our last resort.
    http_language = headers.pop("content-language", None)
    headers.pop("content-location", None)
    # With no Content-Type, read the bytes as XML (declaration, BOM, UTF-8) as feedparser would
    # have without headers; else its "no Content-type" flag hides real encoding faults.
    headers.setdefault("content-type", "application/xml")
    recoding = legacy_cyrillic(content, headers)
    if recoding is not None:  # else feedparser reads it as windows-1252: mojibake
        headers["content-type"] = (
            f"{headers['content-type'].split(';')[0]}; charset={recoding.charset}"
        )
    check_dtd(content, headers)  # feedparser would expand big entities without limit
    result = (_fast_result(content, headers) if recoding is None else None) or _feedparser(
        content, headers
    )
    entries = result.get("entries") or []
    if not result.get("version") and not entries:
        raise _not_a_feed(content, feed_url, media_type, _fault(result))
    feed = result.get("feed") or {}
    title = _detail_text(feed.get("title_detail"), feed.get("title")) or None
    feed_language = (
        feed.get("language") or (feed.get("title_detail") or {}).get("language") or http_language
    )
    items = (_entry_fields(entry, feed_language) for entry in entries)
    fault = _fault(result)
    warnings = [
        recoding.warning if recoding else None,
        _describe(fault, content) if fault is not None else None,
    ]
    return ParsedFeed(
        title=title,
        link=canonical_url(feed.get("link") or "", feed_url),
        items=_make_items(items, feed_url, title),
        ttl=_ttl(feed),
        warning="; ".join(filter(None, warnings)) or None,
        feed_links=_advertised_feeds(feed.get("links") or [], feed_url),
    )


def _fast_result(content: bytes, headers: dict[str, str]) -> dict[str, Any] | None:
    """``fastparse``'s result; on any surprise None, and feedparser has the last word."""
    try:
        return read_feed(content, headers)
    except MemoryError:
        raise  # the worker's memory cap, as below
    except Exception:
        return None


def _feedparser(content: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """feedparser's result, for the documents ``fastparse.read_feed`` leaves to it."""
    try:
        result: dict[str, Any] = feedparser.parse(
            io.BytesIO(content),
            response_headers=headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except MemoryError:
        raise  # the worker's memory cap (bot.feeds.parsing), which it explains itself
    except Exception as error:  # a third-party parser on hostile bytes: contain, name, move on
        raise FeedError(f"feed parser failed: {type(error).__name__}: {error}") from error
    return result


def _entry_fields(entry: dict[str, Any], feed_language: str | None) -> _Fields:
    content = [part for part in entry.get("content") or [] if part.get("value")]
    # feedparser copies content into "summary" (without a summary_detail) when there is none.
    summary = _detail_text(entry.get("summary_detail"), None)
    if not summary and content:
        summary = _detail_text(content[0], None)
    language = entry.get("language")  # dc:language on the item
    title_detail = entry.get("title_detail")
    if not language:
        for detail in (title_detail, entry.get("summary_detail"), *content[:1]):
            language = language or (detail or {}).get("language")  # xml:lang, inherited
    return _Fields(
        guid=entry.get("id"),
        link=entry.get("link"),
        title=_detail_text(title_detail, entry.get("title")),
        summary=summary,
        # dict.get: FeedParserDict maps a missing updated_parsed to published_parsed, and warns.
        published=_utc(dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")),
        language=language or feed_language,
        author=_author(entry),
    )


def _from_json_feed(document: JsonFeed, feed_url: str) -> ParsedFeed:
    title = _plain(document.title or "") or None
    items = (
        _Fields(
            guid=entry.id,
            link=entry.url or entry.external_url,
            title=_plain(entry.title or ""),
            summary=(
                _plain(entry.summary or "")
                or html_to_text(entry.content_html or "")
                or _plain(entry.content_text or "")
            ),
            published=entry.published,
            language=entry.language or document.language,
            author=entry.author or document.author,
        )
        for entry in document.entries
    )
    return ParsedFeed(
        title=title,
        link=canonical_url(document.home_page_url or "", feed_url),
        items=_make_items(items, feed_url, title),
        ttl=None,
        warning=None,
        feed_links=(),
    )


def _make_items(
    entries: Iterable[_Fields], feed_url: str, source_title: str | None
) -> tuple[Item, ...]:
    items = (_make_item(fields, feed_url, source_title) for fields in entries)
    return tuple(item for item in items if item is not None)


def _make_item(fields: _Fields, feed_url: str, source_title: str | None) -> Item | None:
    url = canonical_url(fields.link, feed_url) if fields.link else None
    guid = fields.guid.strip() if fields.guid else ""
    summary = fields.summary
    title = " ".join(fields.title.split()) or _title_from(summary)
    if not (guid or url or title or summary):
        return None
    key = guid or url
    if not key:
        digest = hashlib.sha1(f"{title}\n{summary}".encode(), usedforsecurity=False)
        key = f"sha1:{digest.hexdigest()}"
    author = " ".join(fields.author.split()) if fields.author else ""
    return Item(
        feed_url=feed_url,
        key=key,
        title=title,
        summary=summary,
        url=url,
        published=fields.published,
        language=_primary_language(fields.language),
        author=author or None,
        source_title=source_title,
    )


def _author(entry: Mapping[str, Any]) -> str | None:
    """The author's name; RSS writes ``email (Name)``, which feedparser misreads for long TLDs."""
    raw = entry.get("author") or ""
    rss_form = _RSS_AUTHOR.fullmatch(raw) if raw else None
    if rss_form:
        return rss_form.group(1)
    return (entry.get("author_detail") or {}).get("name") or raw or None


def _detail_text(detail: Mapping[str, Any] | None, fallback: str | None) -> str:
    """Plain text of a feedparser text construct: HTML is rendered, plain text kept as is."""
    if not detail:
        return _plain(fallback or "")
    value = detail.get("value") or ""
    if "html" in (detail.get("type") or ""):
        return html_to_text(value)
    return _plain(value)


def _plain(text: str) -> str:
    return " ".join(text.split())


def _title_from(summary: str) -> str:
    line = " ".join(summary.split())
    if len(line) <= _TITLE_FROM_SUMMARY_CHARS:
        return line
    cut = line[:_TITLE_FROM_SUMMARY_CHARS].rsplit(" ", 1)[0]
    return f"{cut}…"


def _utc(parsed: time.struct_time | None) -> datetime | None:
    """feedparser's dates are UTC struct_times; out-of-range ones are dropped, not fatal."""
    if not parsed:
        return None
    try:  # the same instant, when every field is in range, without the round trip
        year, month, day, hour, minute, second = parsed[:6]
        if type(year) is int and year in _PLAIN_YEARS:
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except (TypeError, ValueError):
        pass
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _primary_language(tag: str | None) -> str | None:
    """``uk-UA`` → ``uk``, ``en_US`` → ``en``, ``ukr`` → ``uk``; anything else → None."""
    if not tag:
        return None
    if tag in _LANGUAGES:
        return _LANGUAGES[tag]
    found = _language_subtag(tag)
    if len(_LANGUAGES) < _LANGUAGES_KEPT:
        _LANGUAGES[tag] = found
    return found


def _language_subtag(tag: str) -> str | None:
    primary = tag.split(",", 1)[0].strip().replace("_", "-").split("-", 1)[0].lower()
    primary = _ISO_639_2.get(primary, primary)
    return primary if primary.isascii() and primary.isalpha() and 2 <= len(primary) <= 3 else None


def _ttl(feed: Mapping[str, Any]) -> int | None:
    """Seconds between useful polls as the feed states it; None when it does not say."""
    try:
        minutes = int(str(feed.get("ttl") or "").strip())
        if minutes > 0:
            return minutes * 60
    except ValueError:
        pass
    period = _SY_PERIODS.get(str(feed.get("sy_updateperiod") or "").strip().lower())
    if period is None:
        return None
    try:
        frequency = int(str(feed.get("sy_updatefrequency") or "1").strip())
    except ValueError:
        frequency = 1
    return max(1, period // max(1, frequency))


def _fault(result: Mapping[str, Any]) -> object | None:
    """The exception that made feedparser call the document broken, unless it is harmless."""
    error = result.get("bozo_exception") if result.get("bozo") else None
    # Not faults of the feed: a missing or non-XML Content-Type (the document parsed anyway), and
    # RFC 3023's us-ascii default for text/xml, which RFC 7303 replaced by the XML declaration.
    if isinstance(error, feedparser.NonXMLContentType):
        return None
    if isinstance(error, feedparser.CharacterEncodingOverride) and "as us-ascii" in str(error):
        return None
    return error


def _describe(error: object, content: bytes) -> str:
    if isinstance(error, xml.sax.SAXParseException):
        line, column = error.getLineNumber() or 1, error.getColumnNumber() or 0
        if _line_was_prepended(content):
            line = max(1, line - 1)
        return f"XML error at line {line}, column {column}: {error.getMessage()}"
    return str(error) or type(error).__name__


def _line_was_prepended(content: bytes) -> bool:
    """feedparser prepends an XML declaration line to documents that have none."""
    head = content.removeprefix(b"\xef\xbb\xbf")[:5]
    wide = b"\x00" in head or head.startswith((b"\xff\xfe", b"\xfe\xff"))  # UTF-16/32: leave
    return not wide and head != b"<?xml"


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _not_a_feed(
    content: bytes, feed_url: str, media_type: str, error: object | None
) -> NotAFeedError:
    head = content[:2048].lower()
    if media_type in _HTML_MEDIA_TYPES or b"<html" in head or b"<!doctype html" in head:
        links = _html_feed_links(content, feed_url)
        if not links:
            return NotAFeedError("not a feed: got an HTML page that advertises no feed")
        noun = "feed" if len(links) == 1 else "feeds"
        listed = ", ".join(_shorten(link) for link in links[:_LINKS_LISTED])
        if len(links) > _LINKS_LISTED:
            listed += f" and {len(links) - _LINKS_LISTED} more"
        return NotAFeedError(
            f"not a feed: got an HTML page (it advertises {len(links)} {noun}: {listed})", links
        )
    reason = f" ({_describe(error, content)})" if error is not None else ""
    return NotAFeedError(f"not a feed: no RSS, Atom or JSON Feed document found{reason}")


def _shorten(link: str) -> str:
    return link if len(link) <= _LINK_CHARS else f"{link[: _LINK_CHARS - 1]}…"


def _advertised_feeds(links: Iterable[Mapping[str, Any]], base: str) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for link in links:
        rel = str(link.get("rel") or "").lower().split()
        if "alternate" in rel and _media_type(link.get("type")) in FEED_MEDIA_TYPES:
            href = _absolute_http(str(link.get("href") or ""), base)
            if href:
                found[href] = None
    return tuple(found)


def _absolute_http(href: str, base: str) -> str | None:
    try:
        url = urljoin(base, href.strip())
        scheme = urlsplit(url).scheme
    except ValueError:
        return None
    return url if href.strip() and scheme in ("http", "https") else None


class _FeedLinkFinder(HTMLParser):
    """Collects ``<link rel="alternate">`` feed references and the ``<base href>`` of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.links: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "link":
            self.links.append(dict(attrs))
        elif tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")

    handle_startendtag = handle_starttag


def _html_feed_links(content: bytes, page_url: str) -> tuple[str, ...]:
    finder = _FeedLinkFinder()
    # Feed links live in <head>; URLs are ASCII or percent-encoded in practice.
    finder.feed(content[:262144].decode("utf-8", "replace"))
    finder.close()
    base = urljoin(page_url, finder.base.strip()) if finder.base else page_url
    return _advertised_feeds(finder.links, base)
