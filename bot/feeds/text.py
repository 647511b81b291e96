"""HTML fragments from feeds → plain text for matching, summaries and alerts.

``html_to_text(html)`` keeps what a reader would see and nothing else:

- the contents of ``script``, ``style``, ``noscript``, ``iframe``, ``template``, ``svg``, ``math``,
  ``object`` and ``head`` are dropped; images (and with them tracking pixels) contribute no text;
- character references are decoded (``&amp;``, ``&#1052;``, ``&nbsp;`` and legacy ``&copy`` alike);
- whitespace inside a paragraph collapses to one space; a block element (``p``, ``div``, ``br``,
  ``li``, headings, table rows …) ends a paragraph, and paragraphs are joined by a single ``\\n``,
  so callers that want one line can still ``" ".join(text.split())``;
- soft hyphens and zero-width characters are removed, so ``Mariu&shy;pol`` reads ``Mariupol``;
- elements marked as advertising by a class or id token (``ad``, ``advertisement``, ``sponsored``,
  ``feedflare`` … see ``AD_MARKERS``) are dropped, and so are paragraphs that only label one
  ("Advertisement", "Реклама");
- "Read more…" tails are removed (``tidy_paragraphs``): a last paragraph that only invites the
  reader on ("Continue reading →", "Читати далі", "The post … appeared first on …"), or such an
  invitation after the last sentence; a trailing ``[…]`` becomes ``…``.

It is built on the standard library's ``html.parser``, which never raises on misnested or unclosed
tags; an unclosed dropped element (``<style>`` with no end) drops the rest, as a browser would.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html.parser import HTMLParser

__all__ = ["AD_MARKERS", "html_to_text", "tidy_paragraphs"]

_DROPPED = frozenset(
    {"script", "style", "noscript", "iframe", "template", "svg", "math", "object", "head"}
)
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "details", "div", "dl", "dt",
        "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
        "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "td", "th", "tr",
        "ul",
    }
)  # fmt: skip
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
#: Class or id tokens that mark an element as advertising (compared lower-cased, whole tokens).
AD_MARKERS = frozenset(
    {
        "ad", "ads", "advert", "adverts", "advertisement", "advertisements", "advertising",
        "adsbygoogle", "ad-slot", "ad-container", "ad-unit", "ad-wrapper", "ad-banner",
        "sponsored", "sponsored-content", "promo", "promoted", "feedflare",
    }
)  # fmt: skip
_AD_LABEL = re.compile(
    r"\W*(advertisement|advertising|sponsored( content)?|реклама|партнерський матеріал"
    r"|на правах реклами|на правах рекламы)\W*",
    re.IGNORECASE,
)
_READ_ON = (
    r"read (?:more|on|the (?:full|whole|rest of the) (?:story|article|post))|continue reading"
    r"|keep reading|full (?:story|article)|(?:click|tap) here to read more"
    r"|читати (?:далі|більше|повністю)|докладніше|детальніше"
    r"|читать (?:далее|дальше|полностью)|подробнее"
)
_ARROWS = r"[\s.…»›→>:\]\)]*"
_READ_ON_PARAGRAPH = re.compile(
    rf"[\W_]*(?:{_READ_ON}|more|далі|далее){_ARROWS}|The post .+ appeared first on .+",
    re.IGNORECASE,
)
_READ_ON_TAIL = re.compile(
    rf"(?<=[.!?…\"»”)\]])\s*[\[(]?\s*(?:{_READ_ON}){_ARROWS}$", re.IGNORECASE
)
_ELLIPSIS_MARK = re.compile(r"\s*[\[(](?:…|\.\.\.)[\])]$")
# Soft hyphen, zero-width space/joiners, word joiner, BOM: invisible, and they split words.
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
# A "Read more…" invitation is short: only the end of a paragraph is searched for one.
_TAIL_WINDOW = 200
# Every ``str.isspace`` character but " " (tests/test_parse_shortcuts.py checks the list).
_OTHER_SPACES = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# What _ARROWS matches: what may follow a "Read more" invitation.
_ARROW_CHARS = f" {_OTHER_SPACES}.…»›→>:])"
# The last word of every _READ_ON invitation: a tail that ends with none of them, but for arrows,
# holds no invitation (``_without_read_on_tail``). Case-insensitive as _READ_ON_TAIL, so it
# matches whatever that matches; matched at the word's end, looking behind.
_READ_ON_LAST_WORDS = (
    "more", "on", "story", "article", "post", "reading", "далі", "більше", "повністю",
    "докладніше", "детальніше", "далее", "дальше", "полностью", "подробнее",
)  # fmt: skip
_AFTER_READ_ON_LAST_WORD = re.compile(
    "|".join(f"(?<={word})" for word in _READ_ON_LAST_WORDS), re.IGNORECASE
)


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self._chunks: list[str] = []
        self._dropped: dict[str, int] = {}  # open dropped elements by tag, misnesting-proof
        self._ad: tuple[str, int] | None = None  # an open ad element: its tag and nesting depth

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._ad is not None:
            if tag == self._ad[0]:
                self._ad = (tag, self._ad[1] + 1)
        elif tag not in _VOID and _is_ad(attrs):
            self._ad = (tag, 1)
        elif tag in _DROPPED:
            self._dropped[tag] = self._dropped.get(tag, 0) + 1
        elif tag in _BLOCKS:
            self.end_paragraph()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:  # <br/>, <hr/>; a self-closed <script/> opens nothing
            self.end_paragraph()

    def handle_endtag(self, tag: str) -> None:
        if self._ad is not None:
            if tag == self._ad[0]:
                depth = self._ad[1] - 1
                self._ad = (tag, depth) if depth else None
            return
        if self._dropped.get(tag):
            self._dropped[tag] -= 1
        elif tag in _BLOCKS:
            self.end_paragraph()

    def handle_data(self, data: str) -> None:
        if self._ad is None and not any(self._dropped.values()):
            self._chunks.append(data)

    def end_paragraph(self) -> None:
        self.paragraphs.append("".join(self._chunks))
        self._chunks = []


def _is_ad(attrs: list[tuple[str, str | None]]) -> bool:
    tokens = (
        token
        for name, value in attrs
        if name in ("class", "id") and value
        for token in value.lower().split()
    )
    return any(token in AD_MARKERS for token in tokens)


def tidy_paragraphs(paragraphs: Iterable[str]) -> list[str]:
    """Paragraphs as a reader sees them: whitespace collapsed, invisible characters, ad labels
    and a "Read more…" tail removed, empty ones dropped."""
    tidy = [_tidy(paragraph) for paragraph in paragraphs]
    tidy = [p for p in tidy if p and not _AD_LABEL.fullmatch(p)]
    while tidy and _READ_ON_PARAGRAPH.fullmatch(tidy[-1]):
        tidy.pop()
    if tidy:
        tidy[-1] = _without_read_on_tail(tidy[-1])
        if not tidy[-1]:
            tidy.pop()
    return tidy


def _tidy(paragraph: str) -> str:
    # What the last line changes: invisible characters and whitespace other than " ", which are
    # none of them printable (tests/test_parse_shortcuts.py checks), runs of spaces, and the ends.
    if (
        paragraph.isprintable()
        and "  " not in paragraph
        and paragraph[:1] != " "
        and paragraph[-1:] != " "
    ):
        return paragraph
    return " ".join(_INVISIBLE.sub("", paragraph).split())


def _without_read_on_tail(paragraph: str) -> str:
    # An invitation ends where the arrows after it start: when no invitation's last word ends
    # there, _READ_ON_TAIL cannot match, and only the ellipsis mark is left to look at.
    end = len(paragraph.rstrip(_ARROW_CHARS))
    if not paragraph.endswith(("]", ")")) and not _AFTER_READ_ON_LAST_WORD.match(paragraph, end):
        return paragraph.rstrip()
    cut = max(0, len(paragraph) - _TAIL_WINDOW)
    head, tail = paragraph[:cut], paragraph[cut:]
    if cut:  # keep one character before the window for the look-behind
        head, tail = head[:-1], head[-1] + tail
    tail = _READ_ON_TAIL.sub("", tail)
    if tail.endswith(("]", ")")):
        tail = _ELLIPSIS_MARK.sub("…", tail)
    return (head + tail).rstrip()


def html_to_text(html: str) -> str:
    """Return the visible text of an HTML fragment; paragraphs are separated by ``\\n``."""
    if "<" not in html and "&" not in html:
        return "\n".join(tidy_paragraphs([html]))
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    collector.end_paragraph()
    return "\n".join(tidy_paragraphs(collector.paragraphs))
