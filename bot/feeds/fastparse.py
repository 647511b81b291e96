"""A fast reader for well-formed RSS and Atom feeds that gives feedparser's answer, or none.

Why lxml: feedparser sends every element, attribute and piece of text through Python SAX
callbacks and its generic bookkeeping, which is most of the parse stage's cost on an ordinary
feed. libxml2 builds the tree in C, and reading from it the few fields ``parse.py`` uses takes a
fraction of that time.

``read_feed(content, headers)`` returns the part of ``feedparser.parse``'s result that
``parse.py`` reads (``version``, ``bozo``, ``feed``, ``entries``), equal to what feedparser
returns for the same bytes and headers, or ``None`` when it cannot promise that, and feedparser
parses. Values pass through feedparser's own helpers (``fastxml``), so the two agree by
construction; only the structure is read here (``fastrss``, ``fastatom``).

It declines, in this order:

1. bytes that are not plain UTF-8 to feedparser: ``convert_to_utf8`` picks another encoding or
   reports a fault (a charset contradicting the document, say);
2. any markup declaration (``<!DOCTYPE``, ``<!ENTITY`` …): DTDs stay with ``dtd.check_dtd`` and
   feedparser, and libxml2 never sees one;
3. a namespace prefix that feedparser would map to another module than its URI says;
4. a document libxml2 finds not well-formed: the parser loads no DTD, resolves no entity, opens
   no network or file, and refuses huge trees;
5. a root other than RSS's ``<rss>``, RSS 1.0's ``<rdf:RDF>`` or Atom 1.0's ``<feed>`` (Atom
   0.3, CDF, RSS 0.90 …);
6. anything in the document feedparser reads in a way the readers do not model (see them).

Callers keep their protections: ``parse.py`` runs ``check_dtd`` and ``legacy_cyrillic`` first,
and the whole parse, this path included, runs in a worker process with a deadline.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import Any

from lxml import etree

from bot.feeds.charset import feedparser_reading
from bot.feeds.fastatom import ATOM_NAMESPACE, read_atom
from bot.feeds.fastrss import RDF_NAMESPACE, read_rdf, read_rss
from bot.feeds.fastxml import KNOWN_NAMESPACES, Decline

__all__ = ["read_feed"]

_MARKUP_DECLARATION = re.compile(rb"<!(?!--|\[CDATA\[)")
_NAMESPACE_DECLARATION = re.compile(rb"""xmlns(?::([^\s=]+))?\s*=\s*(["'])(.*?)\2""", re.DOTALL)
_CANONICAL_PREFIXES = frozenset(KNOWN_NAMESPACES.values())
_RSS_090 = "http://my.netscape.com/rdf/simple/0.9/"
_VERSION_NAMESPACES = {"http://purl.org/rss/1.0/": "rss10", ATOM_NAMESPACE.lower(): "atom10"}


def read_feed(content: bytes, headers: Mapping[str, str]) -> dict[str, Any] | None:
    """feedparser's result for a well-formed RSS 0.9x/1.0/2.0 or Atom 1.0 document, or None.

    ``headers`` are the lower-cased response headers feedparser would be given.
    """
    data, probe = feedparser_reading(content, headers)  # what feedparser's parser reads
    if probe.get("encoding") != "utf-8" or probe.get("bozo"):
        return None
    if _MARKUP_DECLARATION.search(data) or not _prefixes_agree(data):
        return None
    try:
        root = etree.fromstring(data, _safe_parser())
        if root.tag == f"{{{ATOM_NAMESPACE}}}feed":
            return read_atom(root)
        if root.tag == f"{{{RDF_NAMESPACE}}}RDF":
            return read_rdf(root) if _version_by_namespace(data) == "rss10" else None
        return read_rss(root)
    except (etree.LxmlError, Decline):
        return None


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


def _version_by_namespace(data: bytes) -> str | None:
    """The format feedparser names from the first telling namespace declaration, in document
    order; for a root it has no handler for (``rdf:RDF``), that name stands."""
    events = etree.iterparse(
        io.BytesIO(data),
        events=("start-ns",),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
    )
    for _, (prefix, uri) in events:
        lowered = uri.lower()
        if not prefix and lowered == _RSS_090:
            return "rss090"
        if lowered in _VERSION_NAMESPACES:
            return _VERSION_NAMESPACES[lowered]
    return None


def _prefixes_agree(data: bytes) -> bool:
    """False when a prefix names one of feedparser's modules but is bound to another one's URI:
    feedparser maps prefixes document-wide, so it would file those elements elsewhere."""
    for found in _NAMESPACE_DECLARATION.finditer(data):
        prefix = (found[1] or b"").decode("utf-8", "replace")
        known = KNOWN_NAMESPACES.get(found[3].decode("utf-8", "replace").lower())
        if prefix in _CANONICAL_PREFIXES and known is not None and known != prefix:
            return False
    return True
