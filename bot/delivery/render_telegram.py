"""Render an alert for Telegram: HTML for ``parse_mode=HTML``, and plain text for the fallback.

The HTML layout (every field escaped; only http/https links become ``<a href>``)::

    <b><a href="https://…">Title</a></b>
    Summary, at most three sentences.

    <i>Topic: Peace talks · matched: Mariupol + evacuation</i>
    Sources: Reuters, Ukrinform · also: <a href="https://…">kyivindependent.com</a>
    2026-03-01 12:00 UTC

Telegram refuses a text longer than 4096 UTF-16 code units after entity parsing, and ignores
entities past the 100th. So every field but the summary has a cap of its own (title, topic,
matched terms, sources, extra links), which keeps the rest of the message under half the limit
and under a dozen entities; the summary then gets whatever room is left and is shortened at a
word boundary with "…". Cuts are made on plain text before escaping, so a tag or an ``&amp;``
is never split. ``render_alert_plain`` is the same message without markup, the article URL on a
line of its own, for a resend when Telegram ever refuses the HTML.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple
from urllib.parse import urlsplit

from bot.delivery.links import web_link
from bot.delivery.render_digest_telegram import render_message_html, render_message_plain
from bot.model import Alert, AlertKind

__all__ = [
    "MAX_MESSAGE_UTF16",
    "article_url",
    "render_alert_html",
    "render_alert_plain",
    "utf16_length",
]

MAX_MESSAGE_UTF16 = 4096
MAX_SENTENCES = 3
MAX_TITLE = 300
MAX_TOPIC = 200
MAX_TERMS = 10
MAX_TERM = 60
MAX_SOURCES = 10
MAX_SOURCE = 80
MAX_EXTRA_LINKS = 5
MAX_HOST = 60
MAX_PLAIN_URL = 1024  # the plain fallback prints URLs: longer ones are left to the preview…
MAX_PLAIN_EXTRA_URL = 200  # …and long extra links show as their host
ELLIPSIS = "…"

# C0/C1 controls and lone surrogates: Telegram rejects or mangles them, and they are never content.
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_WHITESPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def utf16_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def article_url(alert: Alert) -> str | None:
    """The link the title points to: the alert's first plain http(s) link, if any."""
    return next((url for url in map(web_link, alert.links) if url), None)


def render_alert_html(alert: Alert) -> str:
    """The alert as Telegram HTML, at most 4096 UTF-16 units once parsed and a dozen entities."""
    if alert.kind != AlertKind.ALERT:
        return render_message_html(alert)
    fields = _Fields.of(alert)
    title = _text(fields.title)
    if fields.url:
        title = _link(title, fields.url)
    head = _tag("b", title)
    tail = _html_tail(fields)
    room = MAX_MESSAGE_UTF16 - _visible_length([head, *tail])
    summary = _text(_fit(fields.summary, room))
    lines = [head, summary] if summary.text else [head]
    return "\n".join(line.html for line in [*lines, *tail])


def render_alert_plain(alert: Alert) -> str:
    """The same alert without markup: what a resend without ``parse_mode`` shows."""
    if alert.kind != AlertKind.ALERT:
        return render_message_plain(alert)
    fields = _Fields.of(alert)
    head = [fields.title]
    if fields.url and len(fields.url) <= MAX_PLAIN_URL:
        head.append(fields.url)
    tail = _plain_tail(fields)
    fixed = [*head, *tail]
    room = MAX_MESSAGE_UTF16 - sum(utf16_length(line) for line in fixed) - len(fixed)
    summary = _fit(fields.summary, room)
    lines = [fields.title, summary, *head[1:]] if summary else head
    return "\n".join([*lines, *tail])


@dataclass(frozen=True, slots=True)
class _Fields:
    """The alert's fields cleaned (one line, printable) and capped, ready for either layout."""

    title: str
    url: str | None
    summary: str
    topic: str
    terms: tuple[str, ...]
    sources: tuple[str, ...]
    more_sources: int
    extra_links: tuple[str, ...]
    published: str | None

    @classmethod
    def of(cls, alert: Alert) -> _Fields:
        links = list(dict.fromkeys(url for url in map(web_link, alert.links) if url))
        sources = [_fit(_line(s), MAX_SOURCE) for s in alert.source_titles if _line(s)]
        title = _fit(_line(alert.title), MAX_TITLE) or "(untitled)"
        summary = _first_sentences(_line(alert.summary), MAX_SENTENCES)
        return cls(
            title=title,
            url=links[0] if links else None,
            summary="" if summary == title else summary,
            topic=_fit(_line(alert.topic_name), MAX_TOPIC),
            terms=tuple(_fit(_line(t), MAX_TERM) for t in alert.why if _line(t))[:MAX_TERMS],
            sources=tuple(sources[:MAX_SOURCES]),
            more_sources=max(0, len(sources) - MAX_SOURCES),
            extra_links=tuple(links[1 : 1 + MAX_EXTRA_LINKS]),
            published=_utc_time(alert.published),
        )

    @property
    def meta(self) -> str:
        parts = [f"Topic: {self.topic}"] if self.topic else []
        if self.terms:
            parts.append("matched: " + " + ".join(self.terms))
        return " · ".join(parts)

    @property
    def source_names(self) -> str:
        more = f" and {self.more_sources} more" if self.more_sources else ""
        return ", ".join(self.sources) + more


class _Piece(NamedTuple):
    """A fragment of the message: its HTML, and the text a reader sees once Telegram parses it."""

    html: str
    text: str


def _text(text: str) -> _Piece:
    return _Piece(html.escape(text, quote=False), text)


def _tag(name: str, inner: _Piece) -> _Piece:
    return _Piece(f"<{name}>{inner.html}</{name}>", inner.text)


def _link(inner: _Piece, url: str) -> _Piece:
    return _Piece(f'<a href="{html.escape(url, quote=True)}">{inner.html}</a>', inner.text)


def _join(pieces: list[_Piece], separator: str) -> _Piece:
    return _Piece(
        html.escape(separator, quote=False).join(p.html for p in pieces),
        separator.join(p.text for p in pieces),
    )


def _visible_length(lines: list[_Piece]) -> int:
    """What these lines take once parsed, plus one newline each (the summary's line adds one)."""
    return sum(utf16_length(line.text) for line in lines) + len(lines)


def _html_tail(fields: _Fields) -> list[_Piece]:
    lines = [_text("")]  # a blank line between the story and its metadata
    if fields.meta:
        lines.append(_tag("i", _text(fields.meta)))
    sources: list[_Piece] = []
    if fields.sources:
        sources.append(_text("Sources: " + fields.source_names))
    if fields.extra_links:
        links = _join([_link(_text(_host(url)), url) for url in fields.extra_links], ", ")
        sources.append(_join([_text("also:"), links], " "))
    if sources:
        lines.append(_join(sources, " · "))
    if fields.published:
        lines.append(_text(fields.published))
    return lines


def _plain_tail(fields: _Fields) -> list[str]:
    lines = [""]
    if fields.meta:
        lines.append(fields.meta)
    sources = ["Sources: " + fields.source_names] if fields.sources else []
    if fields.extra_links:
        shown = (u if len(u) <= MAX_PLAIN_EXTRA_URL else _host(u) for u in fields.extra_links)
        sources.append("also: " + " ".join(shown))
    if sources:
        lines.append(" · ".join(sources))
    if fields.published:
        lines.append(fields.published)
    return lines


def _line(text: str) -> str:
    """One printable line: controls dropped, every run of whitespace a single space."""
    return _WHITESPACE.sub(" ", _UNPRINTABLE.sub("", text)).strip()


def _first_sentences(text: str, count: int) -> str:
    return " ".join(_SENTENCE_END.split(text)[:count])


def _fit(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` UTF-16 units, else cut at a word boundary with "…"."""
    if utf16_length(text) <= limit:
        return text
    if limit < 2:
        return ""
    cut = _prefix(text, limit - 1)
    space = cut.rfind(" ")
    if space > len(cut) // 2:  # a word boundary not too far back; else cut inside the word
        cut = cut[:space]
    while cut and (unicodedata.combining(cut[-1]) or cut[-1] in "\u200d\ufe0f"):
        cut = cut[:-1]  # never leave half an emoji sequence or a bare combining mark
    return cut.rstrip(" ,;:-–—") + ELLIPSIS


def _prefix(text: str, units: int) -> str:
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > units:
            return text[:index]
    return text


def _host(url: str) -> str:
    host = urlsplit(url).hostname or url
    return _fit(host.removeprefix("www."), MAX_HOST)


def _utc_time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
