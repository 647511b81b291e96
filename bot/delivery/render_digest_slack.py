"""Render a digest message as Slack Block Kit, and measure it for splitting.

Blocks, in order:

1. a ``header`` ("Daily digest (1/2)"), and on the first part a ``context`` line with the counts,
   the period in the chat's zone and "sent late";
2. per topic, a ``section`` with the bold topic name and its story count ("(continued)" when it
   goes on from the previous message);
3. per story, one ``section``: the bold headline linked to its first link, the source count, the
   one-line summary, then the sources in italics and up to two more links by host.

Feed text is mrkdwn-escaped and links made safe as in ``render_slack`` (only http(s), at most
``MAX_URL`` long here so an entry stays short). A message holds at most 50 blocks and a section
3000 characters: ``SlackDigestLayout`` counts blocks for ``split_digest``, and an entry is
capped well under 3000 (and checked: a longer one drops its extra links, then its summary).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from bot.delivery.render_digest import (
    EMPTY_TEXT,
    digest_subtitle,
    digest_title,
    entry_source_line,
    entry_title_suffix,
    render_message_text,
)
from bot.delivery.render_slack import escape_mrkdwn, safe_link_target, shorten_escaped
from bot.digest.split import Cost
from bot.model import Alert, AlertKind, Digest, DigestEntry, DigestSection

__all__ = [
    "MAX_BLOCKS",
    "SlackDigestLayout",
    "render_digest_blocks",
    "render_message_blocks",
]

Block = dict[str, Any]

MAX_BLOCKS = 50
SECTION_LIMIT = 3000
HEADER_LIMIT = 150
MAX_URL = 500
TITLE_LIMIT = 300
SUMMARY_LIMIT = 600
SOURCES_LIMIT = 300
EXTRA_LINKS = 2
FALLBACK_LIMIT = 1000


def render_message_blocks(alert: Alert) -> tuple[str, list[Block]]:
    """Fallback text and blocks for any message that is not a story alert."""
    if alert.kind == AlertKind.DIGEST and alert.digest is not None:
        return render_digest_blocks(alert.digest)
    text = shorten_escaped(render_message_text(alert) or "(empty message)", SECTION_LIMIT)
    return shorten_escaped(alert.title or text, FALLBACK_LIMIT), [_section(text)]


def render_digest_blocks(digest: Digest) -> tuple[str, list[Block]]:
    """The fallback ``text`` (notifications) and the blocks of one digest message."""
    blocks = _header_blocks(digest)
    for section in digest.sections:
        blocks.append(_section(_heading(section)))
        blocks += [_section(_entry(entry)) for entry in section.entries]
    fallback = digest_title(digest)
    if digest.part == 1:
        fallback += ": " + digest_subtitle(digest)
    return shorten_escaped(fallback, FALLBACK_LIMIT), blocks


class SlackDigestLayout:
    """Costs in blocks against Slack's 50 per message."""

    limit: Cost = (MAX_BLOCKS,)

    def header(self, digest: Digest) -> Cost:
        return (len(_header_blocks(digest)),)

    def section(self, section: DigestSection) -> Cost:
        return (1,)

    def entry(self, entry: DigestEntry) -> Cost:
        return (1,)


def _header_blocks(digest: Digest) -> list[Block]:
    title = digest_title(digest)
    if len(title) > HEADER_LIMIT:
        title = title[: HEADER_LIMIT - 1] + "…"
    blocks: list[Block] = [{"type": "header", "text": {"type": "plain_text", "text": title}}]
    if digest.part == 1:
        subtitle = shorten_escaped(digest_subtitle(digest), SECTION_LIMIT)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": subtitle}]})
        if not digest.sections:
            blocks.append(_section(escape_mrkdwn(EMPTY_TEXT)))
    return blocks


def _heading(section: DigestSection) -> str:
    name = shorten_escaped(section.topic_name, TITLE_LIMIT)
    if section.continued:
        return f"*{name}* (continued)"
    stories = "1 story" if section.total == 1 else f"{section.total} stories"
    return f"*{name}* · {stories}"


def _entry(entry: DigestEntry) -> str:
    links = _links(entry.links)
    text = _entry_text(entry, links, with_summary=True)
    if _length(text) > SECTION_LIMIT:
        text = _entry_text(entry, links[:1], with_summary=True)
    if _length(text) > SECTION_LIMIT:
        text = _entry_text(entry, links[:1], with_summary=False)
    return text


def _entry_text(entry: DigestEntry, links: list[tuple[str, str]], *, with_summary: bool) -> str:
    label = shorten_escaped(entry.title, TITLE_LIMIT)
    headline = f"<{links[0][0]}|{label}>" if links else label
    lines = [f"*{entry.rank}. {headline}*{escape_mrkdwn(entry_title_suffix(entry))}"]
    if with_summary and entry.summary:
        lines.append(shorten_escaped(entry.summary, SUMMARY_LIMIT))
    meta = []
    if entry.sources:
        meta.append(f"_{shorten_escaped(entry_source_line(entry), SOURCES_LIMIT)}_")
    extra = [f"<{target}|{escape_mrkdwn(host)}>" for target, host in links[1 : 1 + EXTRA_LINKS]]
    if extra:
        meta.append("also " + ", ".join(extra))
    if meta:
        lines.append(" · ".join(meta))
    return "\n".join(lines)


def _links(links: tuple[str, ...]) -> list[tuple[str, str]]:
    """(link target, host) of the http(s) links short enough for a digest, without repeats."""
    found: dict[str, str] = {}
    for link in links:
        target = safe_link_target(link)
        if target is not None and len(target) <= MAX_URL and target not in found:
            found[target] = (urlsplit(link.strip()).hostname or "").removeprefix("www.")
    return list(found.items())


def _section(mrkdwn: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def _length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
