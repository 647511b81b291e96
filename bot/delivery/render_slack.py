"""Render an alert as a Slack message: a plain-text fallback and Block Kit blocks.

Contract, in order:

1. Blocks: a section with the bold title, linked to the alert's first http(s) link; a section with
   the summary (left out when empty or the same as the title); a context line with topic, matched
   terms, sources with the link's host, and the time; an actions block with "Mute topic"
   (``wirewatch_mute``) and "Unsubscribe" (``wirewatch_unsubscribe``), both valued with the
   topic id (left out if the id is too long to be a button value).
2. Every piece of feed or user text is mrkdwn-escaped (``&``, ``<``, ``>``), in the blocks and in
   the fallback, so ``<!channel>``, ``<@U123>`` or ``<https://evil|bank>`` in a title is shown
   as typed: it never pings anyone and never becomes a link.
3. Only http and https links are linked; their ``|``, ``<``, ``>`` and whitespace are
   percent-encoded so a URL cannot end the link early and smuggle in its own label. Other
   schemes (``javascript:``, ``data:``, ``file:``) are dropped.
4. Slack's limits hold: 3000 characters per text, 50 blocks, 75 per button label. Long text is
   cut at a word boundary and ends with "…"; lengths are counted in UTF-16 units, the stricter
   reading of Slack's "characters", so emoji never push a text over.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from bot.model import Alert, AlertKind

__all__ = [
    "MUTE_ACTION_ID",
    "UNSUBSCRIBE_ACTION_ID",
    "escape_mrkdwn",
    "render_alert_blocks",
    "safe_link_target",
]

MUTE_ACTION_ID = "wirewatch_mute"
UNSUBSCRIBE_ACTION_ID = "wirewatch_unsubscribe"

SECTION_TEXT_LIMIT = 3000  # Slack: section and context texts
TITLE_LIMIT = 300  # a headline longer than this is noise, not news
CONTEXT_PART_LIMIT = 300
FALLBACK_LIMIT = 1000  # the notification line (before the link); Slack shows far less
BUTTON_VALUE_LIMIT = 2000
URL_LIMIT = 3000
EXTRA_LINKS = 3
ELLIPSIS = "…"

_MRKDWN_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_URL_UNSAFE = frozenset('|<>"`{}\\^')

Block = dict[str, Any]


def escape_mrkdwn(text: str) -> str:
    """Slack's escaping for text placed in mrkdwn: only ``&``, ``<`` and ``>`` are special."""
    return "".join(_MRKDWN_ESCAPES.get(char, char) for char in text)


def safe_link_target(url: str) -> str | None:
    """``url`` ready to stand inside ``<…|label>``, or None when it is not an http(s) address."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    encoded = "".join(_percent_encode(char) if _unsafe_in_url(char) else char for char in url)
    target = escape_mrkdwn(encoded)
    return target if len(target) <= URL_LIMIT else None


def render_alert_blocks(alert: Alert) -> tuple[str, list[Block]]:
    """The fallback ``text`` (notifications, screen readers) and the blocks of one alert."""
    if alert.kind != AlertKind.ALERT:  # a digest, or a kind this renderer does not know
        from bot.delivery.render_digest_slack import render_message_blocks  # imports this module

        return render_message_blocks(alert)
    web = _web_links(alert.links)
    link = web[0] if web else None
    blocks: list[Block] = [_section(_title_mrkdwn(alert.title, link))]
    summary = alert.summary.strip()
    if summary and summary != alert.title.strip():
        blocks.append(_section(shorten_escaped(summary, SECTION_TEXT_LIMIT)))
    blocks.append({"type": "context", "elements": _context_elements(alert, web)})
    if 0 < len(alert.topic_id) <= BUTTON_VALUE_LIMIT:
        blocks.append(_actions(alert.topic_id))
    return _fallback_text(alert, link), blocks


def shorten_escaped(text: str, limit: int) -> str:
    """``text`` mrkdwn-escaped, cut at a word boundary with "…" so it is at most ``limit`` long."""
    escaped = escape_mrkdwn(text)
    if _slack_length(escaped) <= limit:
        return escaped
    budget = limit - _slack_length(ELLIPSIS)
    used = cut = 0
    for index, char in enumerate(text):
        used += _slack_length(_MRKDWN_ESCAPES.get(char, char))
        if used > budget:
            break
        cut = index + 1
    head = text[:cut]
    if cut < len(text) and not text[cut].isspace():
        space = max(head.rfind(" "), head.rfind("\n"))
        if space > cut // 2:  # a word boundary, unless that throws away most of the text
            head = head[:space]
    return escape_mrkdwn(head.rstrip(" \n\t,;:-–—")) + ELLIPSIS


def _web_links(links: tuple[str, ...]) -> list[tuple[str, str]]:
    """The http(s) links as (link target, host to show), first one first, without repeats."""
    found: dict[str, str] = {}
    for link in links:
        target = safe_link_target(link)
        if target is not None and target not in found:
            found[target] = urlsplit(link.strip()).hostname or ""
    return list(found.items())


def _title_mrkdwn(title: str, link: tuple[str, str] | None) -> str:
    label = shorten_escaped(" ".join(title.split()) or "(untitled)", TITLE_LIMIT)
    if link is None:
        return f"*{label}*"
    return f"*<{link[0]}|{label}>*"


def _context_elements(alert: Alert, web: list[tuple[str, str]]) -> list[Block]:
    parts = [f"*Topic:* {shorten_escaped(alert.topic_name, CONTEXT_PART_LIMIT)}"]
    if alert.why:
        matched = " + ".join(alert.why)
        parts.append(f"*Why:* matched {shorten_escaped(matched, CONTEXT_PART_LIMIT)}")
    sources = _sources(alert.source_titles, web)
    if sources:
        label = "Sources" if len(alert.source_titles) > 1 else "Source"
        parts.append(f"*{label}:* {sources}")
    if alert.published is not None:
        parts.append(_slack_date(alert.published))
    return [{"type": "mrkdwn", "text": part} for part in parts]


def _sources(titles: tuple[str, ...], web: list[tuple[str, str]]) -> str:
    pieces = []
    if titles:
        pieces.append(shorten_escaped(", ".join(titles), CONTEXT_PART_LIMIT))
    if web:
        pieces.append(escape_mrkdwn(web[0][1]))  # the real host: a title cannot pose as a site
        others = [f"<{target}|{escape_mrkdwn(host)}>" for target, host in web[1 : 1 + EXTRA_LINKS]]
        if others:
            pieces.append("also " + ", ".join(others))
    return " · ".join(pieces)


def _slack_date(published: datetime) -> str:
    """Slack shows the time in the reader's own time zone; the fallback is UTC."""
    if published.tzinfo is None:  # the model promises aware UTC; be safe with a naive one
        published = published.replace(tzinfo=UTC)
    fallback = published.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(published.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _actions(topic_id: str) -> Block:
    return {
        "type": "actions",
        "elements": [
            _button("Mute topic", MUTE_ACTION_ID, topic_id),
            _button("Unsubscribe", UNSUBSCRIBE_ACTION_ID, topic_id),
        ],
    }


def _button(label: str, action_id: str, value: str) -> Block:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action_id,
        "value": value,
    }


def _section(mrkdwn: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def _fallback_text(alert: Alert, link: tuple[str, str] | None) -> str:
    title = " ".join(alert.title.split()) or "(untitled)"
    text = shorten_escaped(f"{alert.topic_name}: {title}", FALLBACK_LIMIT)
    return f"{text}\n<{link[0]}>" if link is not None else text


def _unsafe_in_url(char: str) -> bool:
    return char in _URL_UNSAFE or char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F


def _percent_encode(char: str) -> str:
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))


def _slack_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
