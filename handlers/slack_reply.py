"""Render a command ``Reply`` as a Slack message for a ``response_url``.

Contract, in order:

1. Who sees it: ``ephemeral`` (only the person who typed the command or clicked) or
   ``in_channel``. The caller decides; this module only writes the answer.
2. Text: every character of the reply is mrkdwn-escaped (``&``, ``<``, ``>``) and the sections
   are ``verbatim``, so a topic name, query or URL echoed back never pings ``@channel``, never
   becomes a link or a channel mention, whatever was typed.
3. Preview: the items a new subscription would have caught, as a short list of linked titles
   with their source; only http(s) links are linked (``safe_link_target``).
4. Slack's limits hold: 3000 characters a section, 50 blocks a message. A long reply (``feeds``
   with many sources) is split at line ends into several sections, and cut with "…" past that.
"""

from __future__ import annotations

from typing import Any, Literal

from bot.delivery.render_slack import safe_link_target, shorten_escaped
from bot.model import Item
from handlers.commands import Reply

__all__ = ["ResponseType", "render_reply", "section"]

ResponseType = Literal["ephemeral", "in_channel"]

SECTION_LIMIT = 3000
MAX_TEXT_SECTIONS = 40  # of Slack's 50 blocks, leaving room for the preview
FALLBACK_LIMIT = 3000
PREVIEW_TITLE_LIMIT = 200
PREVIEW_SOURCE_LIMIT = 80
ELLIPSIS = "…"

Block = dict[str, Any]


def render_reply(reply: Reply, response_type: ResponseType) -> dict[str, Any]:
    """The keyword arguments for bolt's ``respond()``: text (the fallback), blocks, visibility."""
    blocks = [section(text) for text in _text_sections(reply.text)]
    if reply.preview:
        blocks.append(section(_preview_list(reply.preview)))
    return {
        "text": shorten_escaped(reply.text, FALLBACK_LIMIT),
        "blocks": blocks,
        "response_type": response_type,
        "replace_original": False,
        "unfurl_links": False,
        "unfurl_media": False,
    }


def section(mrkdwn: str) -> Block:
    """A section of already-escaped mrkdwn that Slack shows as written (no auto-links)."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn, "verbatim": True}}


def _text_sections(text: str) -> list[str]:
    """The reply escaped and cut into sections of at most ``SECTION_LIMIT``, at line ends."""
    sections: list[str] = []
    current: list[str] = []
    used = 0
    for line in (text.strip() or "(no answer)").splitlines():
        escaped = shorten_escaped(line, SECTION_LIMIT) if line.strip() else " "
        size = _units(escaped) + (1 if current else 0)
        if current and used + size > SECTION_LIMIT:
            sections.append("\n".join(current))
            current, used = [], 0
            size = _units(escaped)
        current.append(escaped)
        used += size
    if current:
        sections.append("\n".join(current))
    if len(sections) > MAX_TEXT_SECTIONS:
        sections = [*sections[: MAX_TEXT_SECTIONS - 1], ELLIPSIS]
    return sections


def _preview_list(items: tuple[Item, ...]) -> str:
    return "\n".join(_preview_line(item) for item in items)


def _preview_line(item: Item) -> str:
    title = shorten_escaped(" ".join(item.title.split()) or "(untitled)", PREVIEW_TITLE_LIMIT)
    target = safe_link_target(item.url) if item.url else None
    line = f"• <{target}|{title}>" if target else f"• {title}"
    if item.source_title:
        line += " — " + shorten_escaped(item.source_title, PREVIEW_SOURCE_LIMIT)
    return line


def _units(text: str) -> int:
    """Length as Slack counts it (UTF-16 units), so emoji never push a section over."""
    return len(text.encode("utf-16-le")) // 2
