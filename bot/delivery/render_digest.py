"""Render a digest as plain text, and the wording every digest renderer shares.

A digest message reads the same on every platform::

    Daily digest (1/2)
    17 stories on 3 topics · Mon 2 Mar 08:00 – Tue 3 Mar 08:00 (Europe/Kyiv) · sent late

    Peace talks · 12 stories
    1. Talks resume in Istanbul · 3 sources
       Delegations met for four hours on Tuesday.
       Reuters, BBC, Ukrinform
       https://…

Times are shown in the chat's zone. The header's second line is on the first part only; later
parts repeat the topic heading with "(continued)". ``render_message_text`` is the entry point
for any outbox message that is not a story alert: a digest renders as above, a kind nobody
knows yet as its title and summary, as plain text.
"""

from __future__ import annotations

from bot.digest.localtime import format_local
from bot.model import Alert, AlertKind, Digest, DigestEntry, DigestSection

__all__ = [
    "EMPTY_TEXT",
    "digest_subtitle",
    "digest_title",
    "entry_source_line",
    "entry_title_suffix",
    "render_digest_text",
    "render_message_text",
    "section_heading",
]

EMPTY_TEXT = "No new stories on this chat's digest topics."


def render_message_text(alert: Alert) -> str:
    """Plain text of a message of any kind other than a story alert."""
    if alert.kind == AlertKind.DIGEST and alert.digest is not None:
        return render_digest_text(alert.digest)
    return "\n".join(part for part in (alert.title, alert.summary) if part)


def render_digest_text(digest: Digest) -> str:
    lines = [digest_title(digest)]
    if digest.part == 1:
        lines.append(digest_subtitle(digest))
    if not digest.sections and digest.part == 1:
        lines += ["", EMPTY_TEXT]
    for section in digest.sections:
        lines += ["", section_heading(section)]
        for entry in section.entries:
            lines += _entry_lines(entry)
    return "\n".join(lines)


def _entry_lines(entry: DigestEntry) -> list[str]:
    lines = [f"{entry.rank}. {entry.title}{entry_title_suffix(entry)}"]
    if entry.summary:
        lines.append(f"   {entry.summary}")
    if entry.sources:
        lines.append(f"   {entry_source_line(entry)}")
    lines += [f"   {link}" for link in entry.links]
    return lines


def digest_title(digest: Digest) -> str:
    """ "Daily digest", with "(2/3)" when the digest takes several messages."""
    return digest.title + (f" ({digest.part}/{digest.parts})" if digest.parts > 1 else "")


def digest_subtitle(digest: Digest) -> str:
    """Counts, the period in the chat's zone, and "sent late" after downtime."""
    stories = _count(digest.stories, "story", "stories")
    topics = _count(digest.topics, "topic", "topics")
    counts = f"{stories} on {topics}" if digest.stories else "No new stories"
    start, end = digest.period_start, digest.period_end
    period = f"{format_local(start, digest.zone)} – {format_local(end, digest.zone)}"
    late = " · sent late" if digest.late else ""
    return f"{counts} · {period} ({digest.zone}){late}"


def section_heading(section: DigestSection) -> str:
    if section.continued:
        return f"{section.topic_name} (continued)"
    return f"{section.topic_name} · {_count(section.total, 'story', 'stories')}"


def entry_title_suffix(entry: DigestEntry) -> str:
    return f" · {entry.source_count} sources" if entry.source_count > 1 else ""


def entry_source_line(entry: DigestEntry) -> str:
    return ", ".join(entry.sources)


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"
