"""Render a digest message as Telegram HTML, and measure it for splitting.

Layout (wording from ``render_digest``)::

    <b>Daily digest</b> (1/2)
    17 stories on 3 topics · Mon 2 Mar 08:00 – Tue 3 Mar 08:00 (Europe/Kyiv) · <i>sent late</i>

    <b>Peace talks</b> · 12 stories
    1. <a href="https://…">Talks resume in Istanbul</a> · 3 sources
    Delegations met for four hours on Tuesday.
    <i>Reuters, BBC, Ukrinform</i> · also <a href="https://…">bbc.co.uk</a>

Every piece of feed text is escaped; only http(s) links become ``<a href>``. Telegram counts a
message's length in UTF-16 units of the text left once the HTML is parsed (at most 4096) and
reads at most 100 entities; ``TelegramDigestLayout`` measures header, headings and entries that
way, with the code that renders them, so ``split_digest`` makes parts Telegram accepts. An entry
is at most ~800 units and 4 entities, far from either limit.

``render_message_html`` / ``render_message_plain`` are what the Telegram alert renderer calls for
any message that is not a story alert (``Alert.kind``): a digest as above, any other kind as
escaped plain text.
"""

from __future__ import annotations

import html
import re
from dataclasses import replace
from typing import NamedTuple
from urllib.parse import urlsplit

from bot.delivery.links import web_link
from bot.delivery.render_digest import (
    EMPTY_TEXT,
    digest_subtitle,
    digest_title,
    entry_source_line,
    entry_title_suffix,
    render_message_text,
    section_heading,
)
from bot.digest.split import Cost
from bot.model import Alert, AlertKind, Digest, DigestEntry, DigestSection

__all__ = [
    "MAX_ENTITIES",
    "MAX_MESSAGE_UTF16",
    "TelegramDigestLayout",
    "render_digest_html",
    "render_digest_plain",
    "render_message_html",
    "render_message_plain",
]

MAX_MESSAGE_UTF16 = 4096
MAX_ENTITIES = 100
MAX_HOST = 60
MAX_SOURCES_TEXT = 160
EXTRA_LINKS = 2

_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


class _Piece(NamedTuple):
    """Some lines of the message: their HTML, the text Telegram sees, and their entities."""

    html: list[str]
    text: list[str]
    entities: int

    @property
    def cost(self) -> Cost:
        return (sum(_utf16(line) + 1 for line in self.text), self.entities)  # +1: the newline


class _Line:
    def __init__(self) -> None:
        self.html: list[str] = []
        self.text: list[str] = []
        self.entities = 0

    def plain(self, text: str) -> _Line:
        text = _clean(text)
        self.html.append(html.escape(text, quote=False))
        self.text.append(text)
        return self

    def tag(self, name: str, text: str) -> _Line:
        text = _clean(text)
        self.html.append(f"<{name}>{html.escape(text, quote=False)}</{name}>")
        self.text.append(text)
        self.entities += 1
        return self

    def link(self, text: str, url: str | None) -> _Line:
        if url is None:
            return self.plain(text)
        text = _clean(text)
        self.html.append(f'<a href="{html.escape(url)}">{html.escape(text, quote=False)}</a>')
        self.text.append(text)
        self.entities += 1
        return self


def _piece(lines: list[_Line]) -> _Piece:
    return _Piece(
        ["".join(line.html) for line in lines],
        ["".join(line.text) for line in lines],
        sum(line.entities for line in lines),
    )


def render_message_html(alert: Alert) -> str:
    """Telegram HTML for any message that is not a story alert: ``render_alert_html`` hands
    these over (``if alert.kind != AlertKind.ALERT``); an unknown kind is escaped plain text."""
    if alert.kind == AlertKind.DIGEST and alert.digest is not None:
        return render_digest_html(alert.digest)
    return html.escape(render_message_plain(alert), quote=False)


def render_message_plain(alert: Alert) -> str:
    """The same without markup (``render_alert_plain``'s counterpart)."""
    if alert.kind == AlertKind.DIGEST and alert.digest is not None:
        return render_digest_plain(alert.digest)
    return _fit_units(_clean(render_message_text(alert)) or "(empty message)", MAX_MESSAGE_UTF16)


def render_digest_html(digest: Digest) -> str:
    """The message as Telegram HTML (``parse_mode=HTML``)."""
    return "\n".join(line for piece in _pieces(digest) for line in piece.html)


def render_digest_plain(digest: Digest) -> str:
    """The same message without markup, for a resend when Telegram ever refuses the HTML."""
    return "\n".join(line for piece in _pieces(digest) for line in piece.text)


def _pieces(digest: Digest) -> list[_Piece]:
    pieces = [_header(digest)]
    for section in digest.sections:
        pieces.append(_section(section))
        pieces += [_entry(entry) for entry in section.entries]
    return pieces


def _header(digest: Digest) -> _Piece:
    title = _Line().tag("b", digest.title)
    if digest.parts > 1:
        title.plain(digest_title(digest).removeprefix(digest.title))
    lines = [title]
    if digest.part == 1:
        subtitle = digest_subtitle(digest)
        late = subtitle.endswith(" · sent late")
        line = _Line().plain(subtitle.removesuffix(" · sent late"))
        lines.append(line.plain(" · ").tag("i", "sent late") if late else line)
        if not digest.sections:
            lines += [_Line(), _Line().plain(EMPTY_TEXT)]
    return _piece(lines)


def _section(section: DigestSection) -> _Piece:
    heading = section_heading(section)
    rest = heading.removeprefix(section.topic_name)
    return _piece([_Line(), _Line().tag("b", section.topic_name).plain(rest)])


def _entry(entry: DigestEntry) -> _Piece:
    links = [url for url in (web_link(link) for link in entry.links) if url]
    first = links[0] if links else None
    lines = [_Line().plain(f"{entry.rank}. ").link(entry.title, first)]
    lines[0].plain(entry_title_suffix(entry))
    if entry.summary:
        lines.append(_Line().plain(entry.summary))
    extra = links[1 : 1 + EXTRA_LINKS]
    if entry.sources or extra:
        line = _Line()
        if entry.sources:
            line.tag("i", _shorten(entry_source_line(entry), MAX_SOURCES_TEXT))
        if extra:
            line.plain(" · also " if entry.sources else "also ")
            for index, url in enumerate(extra):
                line.plain(", " if index else "").link(_host(url), url)
        lines.append(line)
    return _piece(lines)


class TelegramDigestLayout:
    """Costs in (UTF-16 units of visible text, entities) against Telegram's limits."""

    limit: Cost = (MAX_MESSAGE_UTF16, MAX_ENTITIES)

    def header(self, digest: Digest) -> Cost:
        # Measured with the widest "(n/N)" a part can get, since N is known only after splitting.
        return _header(replace(digest, part=1 if digest.part == 1 else 999, parts=999)).cost

    def section(self, section: DigestSection) -> Cost:
        return _section(section).cost

    def entry(self, entry: DigestEntry) -> Cost:
        return _entry(entry).cost


def _host(url: str) -> str:
    host = (urlsplit(url).hostname or url).removeprefix("www.")
    return _shorten(host, MAX_HOST)


def _clean(text: str) -> str:
    return _UNPRINTABLE.sub("", text)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _fit_units(text: str, limit: int) -> str:
    while _utf16(text) > limit:
        text = text[: len(text) - (_utf16(text) - limit) - 1] + "…"
    return text


def _utf16(text: str) -> int:
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)
