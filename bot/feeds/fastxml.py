"""feedparser's reading rules, applied to an lxml tree: shared by ``fastrss`` and ``fastatom``.

Each helper reproduces one step of feedparser's ``_FeedParserMixin`` and calls feedparser's own
code wherever it can (date parser, URI joining, the HTML guess, the author split), so that a
value read here equals the one feedparser stores. Whatever a helper cannot reproduce raises
``Decline``, and the document goes to feedparser.
"""

from __future__ import annotations

import contextlib
import re
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
_C1_CONTROLS = re.compile("[\x80-\x9f]")  # the only characters feedparser's cp1252 map changes


class Decline(Exception):
    """The document holds something this reader does not model; feedparser reads it."""


def name(element: Any) -> str:
    """The element's name as feedparser dispatches it: known prefix + ``_`` + lower-case name."""
    tag = element.tag
    if not isinstance(tag, str):
        raise Decline  # an entity reference or another node feedparser sees differently
    if not tag.startswith("{"):
        return tag.lower()
    uri, local = tag[1:].split("}", 1)
    prefix = _prefix(uri)
    return f"{prefix}_{local.lower()}" if prefix else local.lower()


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
    found = {}
    for key, value in element.attrib.items():
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
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        value = value.encode("iso-8859-1").decode("utf-8")
    return value.translate(_cp1252) if _C1_CONTROLS.search(value) else value


def value(element: Any, *, uri: bool = False, base: str = "") -> str:
    """The text of a plain element as feedparser's ``pop`` returns it; ``uri``: resolved."""
    text = leaf_text(element).strip()
    if uri and text:
        text = _urljoin(base, text)
    return finish(text)


def detail(
    element: Any, default_type: str, *, typed: bool, language: str | None = None, base: str = ""
) -> dict[str, Any]:
    """A text construct (``title_detail`` …) as feedparser's ``push_content`` and ``pop`` build
    it. ``typed``: Atom, whose ``type`` is read; RSS text is guessed HTML or not instead."""
    found = attributes(element, scoped=typed)
    if "mode" in found or ("type" in found and not typed):
        raise Decline
    kind = map_content_type(found.get("type", default_type))
    if kind not in ("text/plain", "text/html"):
        raise Decline  # XHTML is rebuilt from markup, other types may be base64
    text = leaf_text(element).strip()
    if not typed and kind == "text/plain" and _FeedParserMixin.looks_like_html(text):
        kind = "text/html"
    language = language.replace("_", "-") if language else language
    return {"type": kind, "language": language, "base": base, "value": finish(text)}


def map_content_type(kind: str) -> str:
    mapped: str = _FeedParserMixin.map_content_type(kind)
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
        self.fields[f"{key}_parsed"] = _parse_date(text)

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
