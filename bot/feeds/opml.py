"""OPML subscription lists ↔ ``Feed``s: import what other readers export, export what we poll.

``read_opml(data)`` reads OPML 1.0/1.1/2.0 with listparser (which also reads the RDF/FOAF and
iGoogle lists some readers export), and never fetches anything: only bytes are handed over.
Outlines nested in folders are flattened; a feed listed twice (same canonical URL) is kept once,
first title wins; outlines that are not http(s) feeds (``htmlUrl`` only, ``file:``, ``ftp:``) are
skipped and logged. A title equal to its URL counts as no title. Bytes that hold no subscription
list raise ``ConfigError``. An OPML file with no feeds yields an empty list.

``write_opml(feeds, title)`` writes OPML 2.0 with one ``<outline type="rss">`` per feed, escaped by
the XML serializer, in the order given, with no timestamp, so the same feeds give the same bytes.
Only URL and title travel: ``Feed.interval`` and ``Feed.fulltext`` have no OPML attribute that
other readers would understand.
"""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Iterable
from xml.etree import ElementTree

import listparser

from bot.errors import ConfigError
from bot.feeds.urls import canonical_url
from bot.model import Feed

__all__ = ["read_opml", "write_opml"]

log = logging.getLogger(__name__)

_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
# Characters XML 1.0 cannot carry at all; a feed title containing one would make invalid OPML.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def read_opml(data: bytes) -> list[Feed]:
    """Feeds listed in an OPML (or other listparser-readable) subscription list."""
    if not data.strip():
        raise ConfigError("OPML file is empty")
    result = listparser.parse(_as_ascii(data))
    if not result.get("version"):
        error = result.get("bozo_exception")
        detail = f": {error}" if error else ": no <opml> element found"
        raise ConfigError(f"not an OPML subscription list{detail}")
    feeds: dict[str, Feed] = {}
    for entry in result.get("feeds") or []:
        url = str(entry.get("url") or "").strip()
        key = canonical_url(url)
        if key is None:
            log.warning("OPML: skipping %r, not an http(s) feed URL", url)
            continue
        if key not in feeds:
            title = " ".join(str(entry.get("title") or "").split())
            feeds[key] = Feed(url=url, title=title if title and title != url else None)
    return list(feeds.values())


def write_opml(feeds: Iterable[Feed], title: str = "Wirewatch feeds") -> str:
    """An OPML 2.0 document listing ``feeds``; it round-trips through ``read_opml``."""
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = _xml_safe(title)
    body = ElementTree.SubElement(root, "body")
    for feed in feeds:
        text = _xml_safe(feed.title or "") or _xml_safe(feed.url)
        outline = ElementTree.SubElement(body, "outline", type="rss", text=text)
        if feed.title:
            outline.set("title", text)
        outline.set("xmlUrl", _xml_safe(feed.url))
    ElementTree.indent(root)
    document = ElementTree.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{document}\n'


def _as_ascii(data: bytes) -> bytes:
    """The document as ASCII, every other character a reference (``&#1052;``).

    listparser reads bytes with lxml's HTML parser when lxml is installed (as Latin-1, whatever
    the XML declaration says) and as UTF-8 otherwise; character references read the same in
    both. So the encoding is settled here: a BOM, else the XML declaration, else UTF-8.
    """
    encoding = "utf-8"
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                      (codecs.BOM_UTF16_BE, "utf-16")):  # fmt: skip
        if data.startswith(bom):
            encoding = name
            break
    else:
        declared = _DECLARED_ENCODING.match(data.lstrip()[:200])
        if declared:
            encoding = declared.group(1).decode("ascii")
    try:
        return data.decode(encoding).encode("ascii", "xmlcharrefreplace")
    except LookupError as error:
        raise ConfigError(f"OPML file declares an unknown encoding {encoding!r}") from error
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"OPML file is not valid {encoding} (byte {error.start}); save it as UTF-8"
        ) from error


def _xml_safe(text: str) -> str:
    return _XML_ILLEGAL.sub("", " ".join(text.split()))
