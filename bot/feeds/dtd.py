"""Refuse feeds whose DTD could make the XML parsers fetch or multiply entities.

feedparser keeps the entity declarations it deems safe (plain-text values) and hands them to expat
and, when expat gives up, to its own loose parser, which expands them without any limit: one
100 KB entity referenced 50,000 times (a 400 KB feed) asks a parser worker for 5 GB. It never
loads external entities, but it silently keeps a feed that tries to, with items titled ``&xxe;``.
So ``check_dtd`` reads a document's DTD before feedparser does and raises a ``FeedError`` that
says what it found, checking in this order:

1. an entity declaration it cannot read;
2. an external entity (``SYSTEM`` or ``PUBLIC``): the shape of an XXE attack, which would read
   local files or reach internal URLs;
3. a parameter entity (``<!ENTITY % …>``): feeds have no use for one, and it builds declarations
   out of sight;
4. an entity whose value refers to other entities: the shape of "billion laughs";
5. entities whose references would expand to more than ``MAX_EXPANSION`` bytes in all: the
   quadratic blow-up.

It reads the document as feedparser will (``feedparser.encodings.convert_to_utf8``, with the same
headers, through ``charset.feedparser_reading``, whose answer the later steps reuse), so a
charset, a BOM or UTF-16 cannot hide a DTD, and it searches everything before the root element,
comments included: that covers both the DTD expat reads and the text feedparser's
regular expressions pick declarations from. References are counted with or without their ``;``,
as feedparser's loose parser reads them. Small plain-text entities (``<!ENTITY id "tag:…">``) pass,
as does an external DTD subset (``<!DOCTYPE rss PUBLIC … "…rss-0.91.dtd">``): no parser loads it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping

from bot.errors import FeedError
from bot.feeds.charset import feedparser_reading

__all__ = ["MAX_EXPANSION", "check_dtd"]

MAX_EXPANSION = 1 << 20  # bytes that entity references may add to a document, in all

_UNSAFE = "refused: unsafe DTD"
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
_DECLARATION = re.compile(
    rb"""<!ENTITY\s+(?P<parameter>%\s+)?(?P<name>[^\s"'%>]+)\s+"""
    rb"""(?:(?P<external>SYSTEM|PUBLIC)\b|(?P<quote>["']))""",
    re.IGNORECASE,
)
_LITERAL = re.compile(rb"""\s*(["'])(.*?)\1""", re.DOTALL)
_REFERENCE_IN_VALUE = re.compile(rb"&[^\s#;&]")  # "&#160;" is a character, "&name;" an entity
# A reference as the widest name either parser could read there: expat ends it at ";", the loose
# parser at the first character outside [-.a-zA-Z0-9], so its name is a prefix of this one.
_REFERENCE = re.compile(rb"&([-.\w:\x80-\xff]+)")
_ROOT = re.compile(rb"<\w")
_NOT_SPACE = re.compile(rb"\S")
_DOCTYPE_TOKEN = re.compile(rb"""<!--|<\?|["'\[\]>]""")


def check_dtd(content: bytes, headers: Mapping[str, str]) -> None:
    """Raise ``FeedError`` when the XML in ``content`` declares entities that are not safe.

    ``headers`` are the lower-cased response headers feedparser will be given.
    """
    document, _ = feedparser_reading(content, headers)
    prolog = document[: _prolog_end(document)]
    if not _ENTITY.search(prolog):
        return
    sizes: dict[bytes, int] = {}
    for start in (match.start() for match in _ENTITY.finditer(prolog)):
        name, size = _read_declaration(prolog, start)
        sizes[name] = max(size, sizes.get(name, 0))
    expansion = _expansion(document, sizes)
    if expansion > MAX_EXPANSION:
        raise FeedError(
            f"{_UNSAFE}: its entities would expand to {_mib(expansion)} "
            f"(limit {_mib(MAX_EXPANSION)}), the shape of an entity-expansion attack"
        )


def _prolog_end(document: bytes) -> int:
    """Where the root element starts, for expat and for feedparser alike (the later of the two).

    feedparser takes its DTD from the text before the first ``<`` + letter, even inside a
    comment; expat from the DOCTYPE, read by the XML grammar. A document that never leaves its
    prolog is all prolog.
    """
    first_tag = _ROOT.search(document)
    feedparser_end = first_tag.start() if first_tag else len(document)
    return max(feedparser_end, _xml_prolog_end(document))


def _xml_prolog_end(document: bytes) -> int:
    position = 0
    while found := _NOT_SPACE.search(document, position):
        position = found.start()
        if document.startswith(b"<?", position):
            position = _after(document, b"?>", position + 2)
        elif document.startswith(b"<!--", position):
            position = _after(document, b"-->", position + 4)
        elif _DOCTYPE.match(document, position):
            position = _doctype_end(document, position + len(b"<!DOCTYPE"))
        else:
            return position
    return len(document)


def _doctype_end(document: bytes, position: int) -> int:
    """The end of a DOCTYPE whose name starts at ``position``: quoted literals, comments and
    processing instructions in its internal subset may hold ``]`` and ``>``."""
    in_subset = False
    while token := _DOCTYPE_TOKEN.search(document, position):
        text, position = token[0], token.end()
        if text in (b'"', b"'"):
            position = _after(document, text, position)
        elif text == b"<!--" and in_subset:
            position = _after(document, b"-->", position)
        elif text == b"<?" and in_subset:
            position = _after(document, b"?>", position)
        elif text in (b"[", b"]"):
            in_subset = text == b"["
        elif text == b">" and not in_subset:
            return position
    return len(document)


def _after(document: bytes, marker: bytes, position: int) -> int:
    found = document.find(marker, position)
    return len(document) if found < 0 else found + len(marker)


def _read_declaration(prolog: bytes, start: int) -> tuple[bytes, int]:
    """The name and value size of the ``<!ENTITY`` at ``start``, or ``FeedError`` if unsafe."""
    match = _DECLARATION.match(prolog, start)
    value_end = prolog.find(match["quote"], match.end()) if match and match["quote"] else -1
    if match is None or (match["quote"] and value_end < 0):
        raise FeedError(f"{_UNSAFE}: an entity declaration cannot be read")
    name = match["name"].decode("utf-8", "replace")
    if match["external"]:
        target = _external_target(prolog, match.end())
        raise FeedError(
            f"{_UNSAFE}: it declares the external entity {_ref(match)}{name};{target}; "
            "feeds may not make the bot read files or URLs"
        )
    if match["parameter"]:
        raise FeedError(f"{_UNSAFE}: it declares the parameter entity %{name}; (not allowed)")
    value = prolog[match.end() : value_end]
    if _REFERENCE_IN_VALUE.search(value):
        raise FeedError(
            f"{_UNSAFE}: entity &{name}; is built from other entities, "
            'the shape of a "billion laughs" attack'
        )
    return match["name"], len(value)


def _ref(match: re.Match[bytes]) -> str:
    return "%" if match["parameter"] else "&"


def _external_target(prolog: bytes, position: int) -> str:
    """`` (file:///etc/passwd)``: the last literal of SYSTEM "…" or PUBLIC "…" "…", shortened."""
    literals = []
    for _ in range(2):
        literal = _LITERAL.match(prolog, position)
        if literal is None:
            break
        literals.append(literal[2])
        position = literal.end()
    if not literals:
        return ""
    target = literals[-1].decode("utf-8", "replace")
    return f" ({target[:80]}…)" if len(target) > 80 else f" ({target})"


def _expansion(document: bytes, sizes: Mapping[bytes, int]) -> int:
    """Bytes that references to the declared entities would add, counting every reading."""
    if not any(sizes.values()):
        return 0
    expansion = 0
    for name, count in Counter(_REFERENCE.findall(document)).items():
        # The loose parser may read only a prefix of the name as the reference.
        expansion += count * max(
            (sizes.get(name[:length], 0) for length in range(1, len(name) + 1)), default=0
        )
    return expansion


def _mib(size: int) -> str:
    return f"{size / (1 << 20):,.0f} MiB" if size >= 1 << 20 else f"{size / 1024:,.0f} KiB"
