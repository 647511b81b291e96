"""Render what the bot says in Telegram chats, as HTML for ``parse_mode=HTML``.

Contract, in order:

1. Text: every character of a command's ``Reply`` is HTML-escaped, so a topic name, query or URL
   echoed back never turns into markup or a link, whatever was typed.
2. Preview: the items a new subscription or topic would have caught, one line each: the title
   linked to the article (only plain http(s) links are linked), its source and its date.
3. Telegram's limit: 4096 UTF-16 units once the HTML is parsed. A long reply (``feeds`` with
   many sources) is split at line ends into several messages, at most ``MAX_MESSAGES``; a line
   longer than a message is cut with "…" (on the plain text, so no tag or ``&amp;`` is split).

Command replies are sent without link previews: they are lists and answers, and a card for the
first link would bury them. The command menu (``setMyCommands``) and the welcome a group gets
when the bot joins live here too: they are what the bot says, not what it does.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC

from telegram import BotCommand

from bot.delivery.links import web_link
from bot.delivery.render_telegram import MAX_MESSAGE_UTF16, utf16_length
from bot.model import Item
from handlers.commands import Reply

__all__ = ["MAX_MESSAGES", "WELCOME", "command_menu", "render_reply", "shorten"]

log = logging.getLogger(__name__)

MAX_MESSAGES = 5
MAX_PREVIEW_TITLE = 200
MAX_PREVIEW_SOURCE = 80
MAX_COMMAND_DESCRIPTION = 256
ELLIPSIS = "…"
# Telegram's rule for a command name: what the menu and CommandHandler accept.
COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")

WELCOME = (
    "Hello! I am Wirewatch: I post short alerts with source links when news on your topics "
    "breaks.\n"
    "An administrator of this group subscribes it with /subscribe TOPIC; /topics lists the "
    "topics and /help explains the rest."
)


@dataclass(frozen=True, slots=True)
class _Line:
    html: str
    visible: int  # UTF-16 units once Telegram has parsed the HTML


def render_reply(reply: Reply) -> list[str]:
    """The reply as one or more HTML messages, each within Telegram's length limit."""
    text = reply.text.strip() or "(no answer)"
    lines = [_text_line(line) for line in text.splitlines()]
    lines.extend(_preview_line(item) for item in reply.preview)
    return _pack(lines)


def shorten(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, cut at a word boundary with "…"."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > len(cut) // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + ELLIPSIS


def command_menu(commands: Mapping[str, tuple[str, str]]) -> list[BotCommand]:
    """The command list for ``setMyCommands``: "TOPIC [HOURS] — what it does" under each name.

    A name Telegram would refuse (capitals, dashes, over 32 characters) is left out of the menu
    with a warning; it is not reachable as a Telegram command either.
    """
    menu: list[BotCommand] = []
    for name, (arguments, summary) in commands.items():
        if not COMMAND_NAME.fullmatch(name):
            log.warning("command %r is not a valid Telegram command name; it is not offered", name)
            continue
        description = f"{arguments} — {summary}" if arguments else summary
        menu.append(BotCommand(name, shorten(description, MAX_COMMAND_DESCRIPTION) or name))
    return menu


def _text_line(line: str) -> _Line:
    visible = _fit(line, MAX_MESSAGE_UTF16)
    return _Line(html.escape(visible, quote=False), utf16_length(visible))


def _preview_line(item: Item) -> _Line:
    title = _fit(" ".join(item.title.split()) or "(untitled)", MAX_PREVIEW_TITLE)
    about = (
        [_fit(" ".join(item.source_title.split()), MAX_PREVIEW_SOURCE)] if item.source_title else []
    )
    if item.published is not None:
        published = item.published
        if published.tzinfo is None:
            published = published.replace(tzinfo=UTC)
        about.append(published.astimezone(UTC).strftime("%Y-%m-%d"))
    suffix = (" — " + ", ".join(part for part in about if part)) if any(about) else ""
    target = web_link(item.url)
    title_html = html.escape(title, quote=False)
    if target is not None:
        title_html = f'<a href="{html.escape(target, quote=True)}">{title_html}</a>'
    return _Line(
        f"• {title_html}{html.escape(suffix, quote=False)}", utf16_length(f"• {title}{suffix}")
    )


def _pack(lines: list[_Line]) -> list[str]:
    """Lines joined into messages of at most Telegram's length, split at line ends."""
    messages: list[list[_Line]] = [[]]
    used = 0
    for line in lines:
        size = line.visible + (1 if messages[-1] else 0)
        if messages[-1] and used + size > MAX_MESSAGE_UTF16:
            messages.append([])
            size = line.visible
            used = 0
        messages[-1].append(line)
        used += size
    if len(messages) > MAX_MESSAGES:
        dropped = sum(len(message) for message in messages[MAX_MESSAGES - 1 :])
        messages = messages[: MAX_MESSAGES - 1]
        messages.append([_Line(f"{ELLIPSIS} and {dropped} more lines", 0)])
    texts = ["\n".join(line.html for line in message) for message in messages]
    return [text for text in texts if text.strip()] or ["(no answer)"]


def _fit(text: str, limit: int) -> str:
    if utf16_length(text) <= limit:
        return text
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit - 1:
            return text[:index] + ELLIPSIS
    return text
