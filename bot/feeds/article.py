"""An article page → its main text, for feeds that carry only a headline.

Why trafilatura: finding the article in a page full of menus, teasers, cookie banners and
comment threads is a research problem, not a parser's job, and trafilatura is the open-source
extractor that leads the public comparisons of it (precision and recall across languages,
Cyrillic included). It is Apache-2.0, pure Python over lxml, maintained, and it takes a string
we give it: it never fetches anything itself, so every request stays with the guarded fetcher.
readability-lxml and newspaper3k were considered; both trail it and newspaper3k is unmaintained.

``extract_article`` is CPU-bound (call it off the event loop) and works in this order:

1. only an HTML page is read (``text/html``, ``application/xhtml+xml``, or no type given);
2. at most ``max_html_bytes`` of it, decoded by w3lib (BOM, the header's charset, ``<meta>``, then
   detection), so trafilatura gets text and never decompresses or guesses on its own;
   a page of more than ``MAX_ELEMENTS`` elements is refused once parsed (lxml, fast), since
   extraction's cost grows with them and a hostile page could hold the CPU for seconds;
3. trafilatura extracts the main text, favouring precision, without comments or tables, with
   elements marked as ads (``bot.feeds.text.AD_MARKERS``) pruned first;
4. ``tidy_paragraphs`` removes ad labels and "Read more…" tails, a first paragraph that repeats
   the title is dropped, and paragraphs are joined by a blank line, so that a heading without a
   full stop stays a sentence of its own for the summarizer;
5. the text is cut to ``max_chars`` at a paragraph, sentence or word boundary.

A page with less than ``MIN_WORDS`` words of text is a ``FeedError`` ("no article text found on
the page").
"""

from __future__ import annotations

import re

from w3lib.encoding import html_to_unicode

from bot.errors import FeedError
from bot.feeds.text import AD_MARKERS, tidy_paragraphs

__all__ = ["MAX_CHARS", "MAX_ELEMENTS", "MAX_HTML_BYTES", "MIN_WORDS", "extract_article"]

MAX_HTML_BYTES = 2 * 1024 * 1024
MAX_CHARS = 5000
MAX_ELEMENTS = 15_000  # a news page has a few thousand; extraction costs ~0.1 ms per element
MIN_WORDS = 20  # less is a menu or a teaser that the extractor fell back on, not an article

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_SENTENCE_END = re.compile(r"[.!?…][\"'”»’)\]]*\s")
_WORD = re.compile(r"\w")


_UPPER_TO_LOWER = "'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'"


def _has_marker(attribute: str, marker: str) -> str:
    """XPath 1.0 for "``marker`` is one of the attribute's tokens, in any case"."""
    tokens = f"concat(' ', translate(normalize-space(@{attribute}), {_UPPER_TO_LOWER}), ' ')"
    return f"contains({tokens}, ' {marker} ')"


_AD_XPATH = "//*[{}]".format(
    " or ".join(_has_marker(name, marker) for name in ("class", "id") for marker in AD_MARKERS)
)


def extract_article(
    content: bytes,
    content_type: str | None,
    *,
    url: str,
    title: str = "",
    max_html_bytes: int = MAX_HTML_BYTES,
    max_chars: int = MAX_CHARS,
) -> str:
    """The readable main text of an HTML page, or ``FeedError`` saying why there is none."""
    _require_html(content_type)
    _, html = html_to_unicode(content_type, content[:max_html_bytes])
    import trafilatura  # half a second to import: paid by the first article, not every command

    tree = trafilatura.load_html(html)
    if tree is None:
        raise FeedError("no article text found on the page")
    elements = sum(1 for _ in tree.iter())
    if elements > MAX_ELEMENTS:
        raise FeedError(f"page too large to read ({elements:,} elements, limit {MAX_ELEMENTS:,})")
    extracted = trafilatura.extract(
        tree,
        url=url,
        favor_precision=True,
        include_comments=False,
        include_tables=False,
        prune_xpath=_AD_XPATH,
    )
    paragraphs = _without_title(tidy_paragraphs((extracted or "").splitlines()), title)
    if sum(len(paragraph.split()) for paragraph in paragraphs) < MIN_WORDS:
        raise FeedError("no article text found on the page")
    return _cap("\n\n".join(paragraphs), max_chars)


def _require_html(content_type: str | None) -> None:
    media_type = (content_type or "").partition(";")[0].strip().lower()
    if media_type and media_type not in _HTML_TYPES:
        raise FeedError(f"not an HTML page ({media_type})")


def _without_title(paragraphs: list[str], title: str) -> list[str]:
    """Drop a first paragraph that only repeats the headline (the page's ``<h1>``)."""
    if paragraphs and _letters(paragraphs[0]) == _letters(title):
        return paragraphs[1:]
    return paragraphs


def _letters(text: str) -> str:
    return "".join(_WORD.findall(text.casefold()))


def _cap(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at the last boundary that keeps half of it."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    paragraph = head.rfind("\n\n")
    if paragraph >= limit // 2:
        return head[:paragraph]
    sentences = [match.end() for match in _SENTENCE_END.finditer(head)]
    if sentences and sentences[-1] >= limit // 2:
        return head[: sentences[-1]].rstrip()
    space = head.rfind(" ", 0, limit - 1)
    return (head[:space] if space > 0 else head[: limit - 1]).rstrip() + "…"
