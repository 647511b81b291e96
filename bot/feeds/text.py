"""HTML fragments from feeds → plain text for matching, summaries and alerts.

``html_to_text(html)`` keeps what a reader would see and nothing else:

- the contents of ``script``, ``style``, ``noscript``, ``iframe``, ``template``, ``svg``, ``math``,
  ``object`` and ``head`` are dropped; images (and with them tracking pixels) contribute no text;
- character references are decoded (``&amp;``, ``&#1052;``, ``&nbsp;`` and legacy ``&copy`` alike);
- whitespace inside a paragraph collapses to one space; a block element (``p``, ``div``, ``br``,
  ``li``, headings, table rows …) ends a paragraph, and paragraphs are joined by a single ``\\n``,
  so callers that want one line can still ``" ".join(text.split())``;
- soft hyphens and zero-width characters are removed, so ``Mariu&shy;pol`` reads ``Mariupol``.

It is built on the standard library's ``html.parser``, which never raises on misnested or unclosed
tags; an unclosed dropped element (``<style>`` with no end) drops the rest, as a browser would.
"""

from __future__ import annotations

from html.parser import HTMLParser

__all__ = ["html_to_text"]

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
# Soft hyphen, zero-width space/joiners, word joiner, BOM: invisible, and they split words.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self._chunks: list[str] = []
        self._dropped: dict[str, int] = {}  # open dropped elements by tag, misnesting-proof

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED:
            self._dropped[tag] = self._dropped.get(tag, 0) + 1
        elif tag in _BLOCKS:
            self.end_paragraph()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:  # <br/>, <hr/>; a self-closed <script/> opens nothing
            self.end_paragraph()

    def handle_endtag(self, tag: str) -> None:
        if self._dropped.get(tag):
            self._dropped[tag] -= 1
        elif tag in _BLOCKS:
            self.end_paragraph()

    def handle_data(self, data: str) -> None:
        if not any(self._dropped.values()):
            self._chunks.append(data)

    def end_paragraph(self) -> None:
        paragraph = " ".join("".join(self._chunks).translate(_INVISIBLE).split())
        if paragraph:
            self.paragraphs.append(paragraph)
        self._chunks = []


def html_to_text(html: str) -> str:
    """Return the visible text of an HTML fragment; paragraphs are separated by ``\\n``."""
    if "<" not in html and "&" not in html:
        return " ".join(html.translate(_INVISIBLE).split())
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    collector.end_paragraph()
    return "\n".join(collector.paragraphs)
