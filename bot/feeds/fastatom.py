"""Atom 1.0 (``<feed xmlns="http://www.w3.org/2005/Atom">``) from an lxml tree, as feedparser
reads it.

``read_atom(root)`` returns feedparser's ``version``, ``feed`` and ``entries`` for the fields
``parse.py`` uses, or raises ``Decline``. Atom leans on ``xml:base`` and ``xml:lang``, so they
are tracked element by element exactly as feedparser does, quirks included: leaving an element
restores the parent's base only when the parent has one, so a base set on one entry carries over
to the next when the feed itself has none. XHTML text, ``<source>`` and a second author decline.
"""

from __future__ import annotations

from typing import Any

from feedparser.urls import _urljoin, make_safe_absolute_uri

from bot.feeds.fastxml import (
    AUTHORS,
    HTML_TYPES,
    INERT,
    LANGUAGES,
    PUBLISHED,
    SETTINGS,
    UPDATED,
    Decline,
    EntryFields,
    attributes,
    check_generic,
    detail,
    finish,
    leaf_text,
    link_attributes,
    map_content_type,
    name,
    value,
)

__all__ = ["ATOM_NAMESPACE", "read_atom"]

ATOM_NAMESPACE = "http://www.w3.org/2005/Atom"
_PERSON_PARTS = frozenset({"name", "email", "uri", "url", "homepage"})
_DATES = PUBLISHED | UPDATED


def read_atom(root: Any) -> dict[str, Any]:
    """feedparser's result for an Atom 1.0 ``<feed>``; ``Decline`` otherwise."""
    if root.tag != f"{{{ATOM_NAMESPACE}}}feed":
        raise Decline
    reader = _AtomReader()
    reader.visit(root, reader.read_feed)
    return {"version": "atom10", "bozo": False, "feed": reader.feed, "entries": reader.entries}


class _AtomReader:
    """Walks the tree in document order, keeping feedparser's base and language stacks."""

    def __init__(self) -> None:
        self.feed: dict[str, Any] = {}
        self.entries: list[dict[str, Any]] = []
        self._base = ""
        self._language: str | None = None
        self._bases: list[str] = []
        self._languages: list[str | None] = []

    def visit(self, element: Any, read: Any) -> None:
        """Enter ``element``'s scope, ``read(element, attributes)``, leave the scope."""
        found = attributes(element, scoped=True)
        self._enter(found)
        read(element, found)
        self._leave()

    def _enter(self, found: dict[str, str]) -> None:
        base = found.get("xml:base", found.get("base")) or self._base
        if self._base:
            self._base = make_safe_absolute_uri(self._base, base) or self._base
        else:
            self._base = _urljoin(self._base, base)
        language = found.get("xml:lang", found.get("lang"))
        if language == "":
            language = None
        elif language is None:
            language = self._language
        self._language = language
        self._bases.append(self._base)
        self._languages.append(language)

    def _leave(self) -> None:
        self._bases.pop()
        if self._bases and self._bases[-1]:
            self._base = self._bases[-1]
        self._languages.pop()
        if self._languages:
            self._language = self._languages[-1]

    def _detail(self, element: Any) -> dict[str, Any]:
        return detail(element, "text/plain", typed=True, language=self._language, base=self._base)

    def _leaf(self, element: Any, found: dict[str, str]) -> None:
        leaf_text(element)

    def read_feed(self, root: Any, found: dict[str, str]) -> None:
        if self._language:
            self.feed["language"] = self._language.replace("_", "-")
        for child in root:
            child_name = name(child)
            if child_name == "entry":
                self.visit(child, self._read_entry)
            elif child_name in ("title", "dc_title"):
                self.visit(child, self._read_feed_title)
            elif child_name in ("link", "id", *LANGUAGES, *SETTINGS):
                self.visit(child, self._read_feed_field)
            elif child_name in ("author", "contributor"):
                self.visit(child, self._check_person)
            elif child_name in PUBLISHED | UPDATED | AUTHORS:
                self.visit(child, self._leaf)
            else:
                self._check_part(child, child_name)

    def _read_feed_title(self, element: Any, found: dict[str, str]) -> None:
        if "title_detail" in self.feed:
            raise Decline  # which one wins depends on where entries sit
        self.feed["title_detail"] = self._detail(element)
        self.feed["title"] = self.feed["title_detail"]["value"]

    def _read_feed_field(self, element: Any, found: dict[str, str]) -> None:
        element_name = name(element)
        if element_name == "link":
            self._link(found, self.feed)
        elif element_name == "id":
            if found.get("ispermalink", "true") == "true":  # feedparser takes an id for a link
                self.feed.setdefault("link", value(element, uri=True, base=self._base))
        elif element_name in SETTINGS and found:
            raise Decline
        else:
            self.feed[element_name if element_name in SETTINGS else "language"] = value(element)

    def _link(self, found: dict[str, str], context: dict[str, Any]) -> None:
        link = link_attributes(found, self._base)
        context.setdefault("links", []).append(link)
        if link["rel"] == "alternate" and map_content_type(link["type"]) in HTML_TYPES:
            context["link"] = link["href"]

    def _check_person(self, element: Any, found: dict[str, str]) -> None:
        for part in element:
            if name(part) not in _PERSON_PARTS:
                raise Decline
            self.visit(part, self._leaf)

    def _check_part(self, element: Any, element_name: str) -> None:
        if element_name in INERT:
            self.visit(element, self._leaf)
        elif element_name == "media_group":  # feedparser reads its children as the entry's own
            self.visit(element, self._check_media_group)
        else:
            check_generic(element, element_name)
            self.visit(element, self._leaf)

    def _check_media_group(self, element: Any, found: dict[str, str]) -> None:
        for part in element:
            if name(part) not in INERT:
                raise Decline
            self.visit(part, self._leaf)

    def _read_entry(self, element: Any, found: dict[str, str]) -> None:
        if set(found) - {"xml:base", "xml:lang"}:
            raise Decline
        entry = EntryFields()
        for child in element:
            self.visit(child, lambda part, attrs: self._read_entry_part(entry, part, attrs))
        self.entries.append(entry.fields)

    def _read_entry_part(self, entry: EntryFields, element: Any, found: dict[str, str]) -> None:
        element_name = name(element)
        if element_name == "title":
            entry.title(self._detail(element))
        elif element_name == "link":
            self._link(found, entry.fields)
        elif element_name == "id":
            is_link = found.get("ispermalink", "true") == "true"
            entry.guid(value(element, uri=is_link, base=self._base), is_link=is_link)
        elif element_name == "summary":
            entry.summary(self._detail(element))
        elif element_name == "content":
            entry.content(self._content(element, found))
        elif element_name in _DATES:
            entry.date("published" if element_name in PUBLISHED else "updated", value(element))
        elif element_name in ("author", *AUTHORS):
            self._read_author(entry, element)
        elif element_name in LANGUAGES:
            entry.fields["language"] = value(element)
        elif element_name == "contributor":
            self._check_person(element, found)
        else:
            self._check_entry_part(element, element_name)

    def _check_entry_part(self, element: Any, element_name: str) -> None:
        if element_name in INERT:
            leaf_text(element)
        elif element_name == "media_group":
            self._check_media_group(element, {})
        else:
            check_generic(element, element_name)

    def _content(self, element: Any, found: dict[str, str]) -> dict[str, Any]:
        content = self._detail(element)
        if found.get("src"):
            content["src"] = found["src"]
        return content

    def _read_author(self, entry: EntryFields, element: Any) -> None:
        """``<author>`` with ``name``/``email``/``uri``, or RSS-style text, via feedparser's
        own bookkeeping, in its order."""
        context = entry.start_author()
        for part in element:
            self.visit(part, lambda person, attrs: self._author_part(context, person))
        text = (element.text or "") + "".join(part.tail or "" for part in element)
        entry.end_author(context, finish(text.strip()))

    def _author_part(self, context: Any, element: Any) -> None:
        element_name = name(element)
        if element_name not in _PERSON_PARTS:
            raise Decline
        if element_name in ("name", "email"):  # feedparser returns these before its touch-ups
            context._save_author(element_name, leaf_text(element).strip())
        else:
            context._save_author("href", value(element, uri=True, base=self._base))
