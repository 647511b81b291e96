"""feedparser's reading rules, applied to an lxml tree: shared by ``fastrss`` and ``fastatom``.

Each helper reproduces one step of feedparser's ``_FeedParserMixin`` and calls feedparser's own
code wherever it can (date parser, URI joining, the HTML guess, the author split), so that a
value read here equals the one feedparser stores. Whatever a helper cannot reproduce raises
``Decline``, and the document goes to feedparser.
"""

from __future__ import annotations

import contextlib
import re
from datetime import datetime, timedelta
from typing import Any

from feedparser.api import StrictFeedParser
from feedparser.datetimes import _parse_date
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin

__all__ = [
    "AUTHORS",
    "HTML_TYPES",
    "INERT",
    "KNOWN_NAMESPACES",
    "LANGUAGES",
    "PUBLISHED",
    "SETTINGS",
    "UPDATED",
    "Decline",
    "EntryFields",
    "attributes",
    "check_generic",
    "finish",
    "leaf_text",
    "link_attributes",
    "map_content_type",
    "name",
    "parse_date",
    "plain_detail",
]

KNOWN_NAMESPACES: dict[str, str] = {
    uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()
}
HTML_TYPES = frozenset({"application/xhtml+xml", "text/html"})
PUBLISHED = frozenset({"pubdate", "published", "issued", "dcterms_issued"})
UPDATED = frozenset({"updated", "modified", "lastbuilddate", "dc_date", "dcterms_modified"})
AUTHORS = frozenset({"author", "dc_creator", "dc_author", "managingeditor"})
LANGUAGES = frozenset({"language", "dc_language"})
SETTINGS = frozenset({"ttl", "sy_updateperiod", "sy_updatefrequency"})  # feed-level, read as is
# Elements whose feedparser handlers touch no field parse.py reads.
INERT = frozenset(
    {
        "category", "dc_subject", "keywords", "enclosure", "cloud", "generator", "copyright",
        "rights", "dc_rights", "webmaster", "dc_publisher", "media_category", "media_keywords",
        "media_content", "media_thumbnail", "media_credit", "media_rating", "media_restriction",
        "media_license", "media_player", "created", "dcterms_created", "expirationdate",
        "subtitle", "tagline", "info",
    }
)  # fmt: skip
# Element names feedparser handles specially ("_start_title" → "title"); the rest it stores as is.
_HANDLED = frozenset(
    name.split("_", 2)[2] for name in dir(StrictFeedParser) if name.startswith(("_start_", "_end_"))
)
# Keys parse.py reads: an unhandled element of that name would be stored under it.
_READ_KEYS = frozenset(
    {
        "title", "title_detail", "link", "links", "id", "summary", "summary_detail", "content",
        "published_parsed", "updated_parsed", "language", "author", "author_detail", "authors",
        *SETTINGS,
    }
)  # fmt: skip
_NAMESPACED_ATTRIBUTES = frozenset({"xml:base", "xml:lang", "rdf:about", "rdf:resource"})
# The only characters feedparser's cp1252 map changes are C1 controls, U+0080–U+009F.
_C1_IN_UTF8 = re.compile(rb"\xc2[\x80-\x9f]")
_BEYOND_LATIN1 = re.compile(r"[^\x00-\xff]")
_looks_like_html = _FeedParserMixin.looks_like_html
_map_content_type = _FeedParserMixin.map_content_type
# Element names by lxml tag, as ``name`` computes them: a tree repeats a few tags many times.
_NAMES: dict[str, str] = {}
_NAMES_KEPT = 4096  # a hostile document's endless distinct tags are computed, not kept
# feedparser's URI fixer only changes a URI with slashes after "scheme://" (see ``_join``).
_EXTRA_SLASHES = ":///"
# The RFC 822 dates most feeds write, which feedparser's W3DTF handler (tried first) rejects and
# its RFC 822 handler reads; ``_parse_date`` has the last word on anything else (see ``date``).
_RFC822_DATE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{1,2}) "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([0-9]{4}) "
    r"([0-9]{2}):([0-9]{2}):([0-9]{2}) (GMT|[+-][0-9]{4})"
)
_MONTHS = {
    month: number
    for number, month in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}


class Decline(Exception):
    """The document holds something this reader does not model; feedparser reads it."""


def name(element: Any) -> str:
    """The element's name as feedparser dispatches it: known prefix + ``_`` + lower-case name."""
    tag = element.tag
    known = _NAMES.get(tag)  # only names of str tags are kept
    if known is not None:
        return known
    if not isinstance(tag, str):
        raise Decline  # an entity reference or another node feedparser sees differently
    if not tag.startswith("{"):
        found = tag.lower()
    else:
        uri, local = tag[1:].split("}", 1)
        prefix = _prefix(uri)
        found = f"{prefix}_{local.lower()}" if prefix else local.lower()
    if len(_NAMES) < _NAMES_KEPT:
        _NAMES[tag] = found
    return found


def _prefix(uri: str) -> str:
    lowered = uri.lower()
    prefix = "" if "backend.userland.com/rss" in lowered else KNOWN_NAMESPACES.get(lowered)
    if prefix is None or prefix != prefix.lower():
        raise Decline  # an unknown namespace, or one feedparser lower-cases inconsistently
    return prefix


def attributes(element: Any, *, scoped: bool = False) -> dict[str, str]:
    """Attributes as feedparser sees them: ``prefix:name`` lower-cased, ``rel``/``type`` values
    lower-cased. Unless ``scoped`` (the reader tracks them), ``xml:base``/``xml:lang`` decline.

    feedparser also files a namespaced attribute under its bare name, where it could pass for
    ``href`` or ``type``; so only the namespaced ones whose bare names mean nothing are read.
    """
    items = element.items()
    if not items:
        return {}
    found = {}
    for key, value in items:
        if key.startswith("{"):
            uri, local = key[1:].split("}", 1)
            prefix = _prefix(uri)
            key = f"{prefix}:{local}".lower() if prefix else local.lower()
            if key not in _NAMESPACED_ATTRIBUTES:
                raise Decline
        else:
            key = key.lower()
            if key in ("base", "lang"):
                raise Decline  # feedparser's other spelling of xml:base, xml:lang
        if not scoped and key in ("xml:base", "xml:lang"):
            raise Decline
        found[key] = value.lower() if key in ("rel", "type") else value
    return found


def leaf_text(element: Any) -> str:
    if len(element):
        raise Decline  # markup inside: feedparser would rebuild it as text
    return element.text or ""


def finish(value: str) -> str:
    """feedparser's last touches to every text: undo UTF-8 read as Latin-1, map C1 to cp1252."""
    if value.isascii():
        return value
    if not _BEYOND_LATIN1.search(value):  # else it cannot be encoded in Latin-1
        with contextlib.suppress(UnicodeDecodeError):  # rare: Latin-1 text, not UTF-8 bytes
            value = value.encode("iso-8859-1").decode("utf-8")
    # A C1 control is "\xc2" and a byte 0x80–0x9f in UTF-8, a sequence nothing else encodes to;
    # bytes are searched much faster than text.
    if _C1_IN_UTF8.search(value.encode("utf-8", "surrogatepass")):
        return value.translate(_cp1252)
    return value


def value(element: Any, *, uri: bool = False, base: str = "") -> str:
    """The text of a plain element as feedparser's ``pop`` returns it; ``uri``: resolved."""
    if len(element):
        raise Decline  # as leaf_text
    text = (element.text or "").strip()
    if uri and text:
        text = _join(base, text)
    return finish(text)


def _join(base: str, uri: str) -> str:
    """feedparser's ``_urljoin``: with no base and no slashes to fix, the URI as it is."""
    if base or _EXTRA_SLASHES in uri:
        joined: str = _urljoin(base, uri)
        return joined
    return uri


def detail(
    element: Any, default_type: str, *, typed: bool, language: str | None = None, base: str = ""
) -> dict[str, Any]:
    """A text construct (``title_detail`` …) as feedparser's ``push_content`` and ``pop`` build
    it. ``typed``: Atom, whose ``type`` is read; RSS text is guessed HTML or not instead."""
    found = attributes(element, scoped=typed)
    kind = default_type  # "text/plain" or "text/html": what map_content_type leaves as is
    if found:
        if "mode" in found or ("type" in found and not typed):
            raise Decline
        if "type" in found:
            kind = map_content_type(found["type"])
    if kind not in ("text/plain", "text/html"):
        raise Decline  # XHTML is rebuilt from markup, other types may be base64
    text = leaf_text(element).strip()
    # looks_like_html wants a close tag or an entity reference: no "<" and no "&", no HTML
    if (
        not typed
        and kind == "text/plain"
        and ("<" in text or "&" in text)
        and _looks_like_html(text)
    ):
        kind = "text/html"
    language = language.replace("_", "-") if language else language
    return {"type": kind, "language": language, "base": base, "value": finish(text)}


def plain_detail(element: Any, default_type: str) -> dict[str, Any]:
    """``detail(element, default_type, typed=False)`` (RSS text), for an element without
    attributes built directly; ``default_type`` is "text/plain" or "text/html"."""
    if element.items():
        return detail(element, default_type, typed=False)
    if len(element):
        raise Decline  # as leaf_text
    text = (element.text or "").strip()
    kind = default_type
    if kind == "text/plain" and ("<" in text or "&" in text) and _looks_like_html(text):
        kind = "text/html"
    return {"type": kind, "language": None, "base": "", "value": finish(text)}


def map_content_type(kind: str) -> str:
    mapped: str = _map_content_type(kind)
    return mapped


def link_attributes(found: dict[str, str], base: str) -> dict[str, str]:
    """An ``atom:link`` as feedparser's ``_start_link`` stores it (``href`` required here)."""
    if "href" not in found or {"url", "uri"} & set(found):
        raise Decline
    rel = found.setdefault("rel", "alternate")
    found.setdefault("type", "application/atom+xml" if rel == "self" else "text/html")
    found["href"] = _urljoin(base, found["href"])
    return found


def check_generic(element: Any, element_name: str) -> None:
    """An element feedparser has no handler for is stored under its name: harmless as a leaf."""
    if element_name in _HANDLED or element_name in _READ_KEYS:
        raise Decline
    attributes(element)
    leaf_text(element)


class EntryFields:
    """One entry's fields, set in document order with the state feedparser keeps meanwhile."""

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}
        self._titled = False
        self._has_content = False
        self._authors = 0

    def title(self, found: dict[str, Any]) -> None:
        if not self._titled:  # the first non-empty title stays
            self.fields["title"], self.fields["title_detail"] = found["value"], found
            self._titled = bool(found["value"])

    def guid(self, text: str, *, is_link: bool) -> None:
        self.fields["id"] = text
        if is_link:
            self.fields.setdefault("link", text)

    def summary(self, found: dict[str, Any]) -> None:
        if "summary" in self.fields and not self._has_content:
            raise Decline  # feedparser then takes it as content, and leaves its stack uneven
        self.fields["summary"], self.fields["summary_detail"] = found["value"], found

    def content(self, found: dict[str, Any]) -> None:
        self._has_content = True
        self.fields.setdefault("content", []).append(found)
        self.fields.setdefault("summary", found["value"])

    def date(self, key: str, text: str) -> None:
        self.fields[key] = text
        self.fields[f"{key}_parsed"] = parse_date(text)

    def start_author(self) -> _Context:
        self._authors += 1
        if self._authors > 1:
            raise Decline  # which name wins depends on feedparser's order of bookkeeping
        self.fields.setdefault("authors", []).append({})
        return _Context(self.fields)

    def end_author(self, context: _Context, text: str) -> None:
        self.fields["author"] = text
        context._sync_author_detail()


class _Context:
    """Stands in for feedparser's parser where its author bookkeeping asks for the context."""

    _save_author = _FeedParserMixin._save_author
    _sync_author_detail = _FeedParserMixin._sync_author_detail

    def __init__(self, fields: dict[str, Any]) -> None:
        self._fields = fields

    def _get_context(self) -> dict[str, Any]:
        return self._fields


def parse_date(text: str) -> Any:
    """feedparser's ``_parse_date(text)``, reading its most common form directly.

    For ``Wdy, DD Mon YYYY HH:MM:SS GMT|±hhmm`` the W3DTF handler, which feedparser tries first,
    returns None (the text has no four-character date before a ``t``), and the RFC 822 handler's
    result is computed here as it computes it; anything unusual goes to feedparser.
    """
    found = _RFC822_DATE.fullmatch(text)
    if found is None:
        return _parse_date(text)
    day, month, year, hour, minute, second, zone = found.groups()
    try:
        stamp = datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second))
        if zone == "GMT":
            return stamp.utctimetuple()  # less a zero timedelta: the same datetime
        hours, minutes = int(zone[1:3]), int(zone[3:])
        if zone[0] == "-":
            hours, minutes = -hours, -minutes
        return (stamp - timedelta(0, 0, 0, 0, minutes, hours)).utctimetuple()
    except (OverflowError, ValueError):
        return _parse_date(text)  # it rejects the date, and the next handlers have their say
