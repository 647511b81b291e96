"""RSS 0.9x/2.0 (``<rss><channel>``) and RSS 1.0 (``<rdf:RDF>``) from an lxml tree, as
feedparser reads them.

``read_rss(root)`` and ``read_rdf(root)`` return feedparser's ``version``, ``feed`` and
``entries`` for the fields ``parse.py`` uses, or raise ``Decline``. Every ``xml:base`` and
``xml:lang`` declines (RSS feeds rarely carry them, and feedparser's scoping of them is modelled
for Atom only), as do items outside the one channel of RSS 2.0, anything but the channel first in
RSS 1.0 (an image title before it would hide the channel's from feedparser), and anything
``fastxml`` cannot reproduce.
"""

from __future__ import annotations

import re
from typing import Any

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
    leaf_text,
    link_attributes,
    map_content_type,
    name,
    plain_detail,
    value,
)

__all__ = ["RDF_NAMESPACE", "read_rdf", "read_rss"]

RDF_NAMESPACE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

_RSS_VERSIONS = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}
_ENTITY_IN_LINK = re.compile(r"&([A-Za-z0-9_]+);")
_IMAGE_PARTS = frozenset({"title", "link", "url", "width", "height", "description"})
_TEXT_INPUT_PARTS = frozenset({"title", "description", "name", "link"})
_DATES = PUBLISHED | UPDATED


def read_rss(root: Any) -> dict[str, Any]:
    """feedparser's result for ``<rss>`` with one ``<channel>``; ``Decline`` otherwise."""
    if name(root) != "rss":
        raise Decline
    version = attributes(root).get("version", "")
    channels = list(root)
    if len(channels) != 1 or name(channels[0]) != "channel" or channels[0].attrib:
        raise Decline
    feed, entries = _read_channel(channels[0])
    rss_version = _RSS_VERSIONS.get(version) or ("rss20" if version.startswith("2.") else "rss")
    return {"version": rss_version, "bozo": False, "feed": feed, "entries": entries}


def read_rdf(root: Any) -> dict[str, Any]:
    """feedparser's result for RSS 1.0: ``<rdf:RDF>``, its channel first, then items."""
    if root.tag != f"{{{RDF_NAMESPACE}}}RDF" or root.attrib:
        raise Decline
    children = list(root)
    if not children or name(children[0]) != "channel":
        raise Decline
    if set(attributes(children[0])) - {"rdf:about"}:
        raise Decline
    feed, entries = _read_channel(children[0])
    for child in children[1:]:
        child_name = name(child)
        if child_name == "item":
            entries.append(_read_item(child))
        elif child_name in ("image", "textinput"):
            _check_channel_part(child, child_name)
        else:
            raise Decline
    return {"version": "rss10", "bozo": False, "feed": feed, "entries": entries}


def _read_channel(channel: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    feed: dict[str, Any] = {}
    entries = []
    for child in channel:
        child_name = name(child)
        if child_name == "item":
            entries.append(_read_item(child))
        elif child_name in ("title", "dc_title"):
            if "title_detail" in feed:
                raise Decline  # which one wins depends on where items and images sit
            feed["title_detail"] = detail(child, "text/plain", typed=False)
            feed["title"] = feed["title_detail"]["value"]
        elif child_name == "link":
            _read_feed_link(child, feed)
        elif child_name in LANGUAGES:
            attributes(child)
            feed["language"] = value(child)
        elif child_name in SETTINGS:
            if attributes(child):
                raise Decline
            feed[child_name] = value(child)
        else:
            _check_channel_part(child, child_name)
    return feed, entries


def _check_channel_part(element: Any, element_name: str) -> None:
    """Channel elements that set nothing parse.py reads, checked to be what they seem."""
    if element_name == "description":
        detail(element, "text/html", typed=False)
    elif element_name in PUBLISHED | UPDATED | AUTHORS:
        attributes(element)
        leaf_text(element)
    elif element_name in ("image", "textinput"):
        attributes(element)
        allowed = _IMAGE_PARTS if element_name == "image" else _TEXT_INPUT_PARTS
        for part in element:
            if name(part) not in allowed or attributes(part):
                raise Decline
            leaf_text(part)
    elif element_name == "items":  # RSS 1.0's table of contents: <rdf:Seq><rdf:li/>…
        _check_contents(element)
    elif element_name in ("skiphours", "skipdays"):
        attributes(element)
        for part in element:
            if name(part) not in ("hour", "day"):
                raise Decline
            check_generic(part, name(part))
    else:
        _check_item_part(element, element_name)


def _check_contents(element: Any) -> None:
    if attributes(element) or len(element) != 1 or name(element[0]) != "rdf_seq":
        raise Decline
    if attributes(element[0]):
        raise Decline
    for entry in element[0]:
        if name(entry) != "rdf_li":
            raise Decline
        attributes(entry)
        leaf_text(entry)


def _check_item_part(element: Any, element_name: str) -> None:
    if element_name in INERT:
        attributes(element)
        leaf_text(element)
    elif element_name == "media_group":  # feedparser reads its children as the item's own
        attributes(element)
        for part in element:
            if name(part) not in INERT:
                raise Decline
            attributes(part)
            leaf_text(part)
    else:
        check_generic(element, element_name)


def _read_feed_link(element: Any, feed: dict[str, Any]) -> None:
    """RSS ``<link>`` text, or an ``atom:link`` with an ``href`` (feedparser reads both)."""
    found = attributes(element)
    if found:
        link = link_attributes(found, "")
        feed.setdefault("links", []).append(link)
        if link["rel"] == "alternate" and map_content_type(link["type"]) in HTML_TYPES:
            feed["link"] = link["href"]
        return
    feed["link"] = _ENTITY_IN_LINK.sub(r"&\g<1>", value(element, uri=True))
    feed.setdefault("links", []).append(
        {"rel": "alternate", "type": "text/html", "href": feed["link"]}
    )


def _read_item(item: Any) -> dict[str, Any]:
    found = attributes(item)
    if found and set(found) - {"rdf:about"}:
        raise Decline
    entry = EntryFields()
    if found.get("rdf:about"):
        entry.fields["id"] = found["rdf:about"]  # as given: feedparser neither trims nor resolves
    for child in item:
        child_name = name(child)
        if child_name == "title":
            entry.title(plain_detail(child, "text/plain"))
        elif child_name == "link":
            _read_item_link(child, entry)
        elif child_name == "guid":
            found = attributes(child)
            if found and set(found) - {"ispermalink"}:
                raise Decline
            is_link = found.get("ispermalink", "true") == "true"
            entry.guid(value(child, uri=is_link), is_link=is_link)
        elif child_name == "description":
            entry.summary(plain_detail(child, "text/html"))
        elif child_name == "content_encoded":
            entry.content(plain_detail(child, "text/html"))
        elif child_name in _DATES:
            attributes(child)
            entry.date("published" if child_name in PUBLISHED else "updated", value(child))
        elif child_name in AUTHORS:
            if attributes(child):
                raise Decline
            entry.end_author(entry.start_author(), value(child))
        elif child_name in LANGUAGES:
            attributes(child)
            entry.fields["language"] = value(child)
        else:
            _check_item_part(child, child_name)
    return entry.fields


def _read_item_link(element: Any, entry: EntryFields) -> None:
    if attributes(element):
        raise Decline  # atom:link in an item
    link = value(element, uri=True)
    if "&" in link:  # else neither changes it
        link = _ENTITY_IN_LINK.sub(r"&\g<1>", link.replace("&amp;", "&"))
    entry.fields["link"] = link
