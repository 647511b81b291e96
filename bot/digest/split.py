"""Split a digest into messages that each fit a platform's limits, never cutting a story.

A platform describes its limits as a ``Layout``: what the header, a topic heading and one entry
cost, in as many measures as the platform limits (Telegram: visible UTF-16 length and entities;
Slack: blocks). Costs add up, and each piece is measured by rendering it with the renderer's own
code, so a part that fits here fits when it is sent. Entries go into messages in order; when the
next entry does not fit, a new message starts, with the topic's heading repeated as
"(continued)". The header on later parts is the short one. Every entry is capped by the
renderers far below a message's limit, so an entry always fits an empty message.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from bot.model import Digest, DigestEntry, DigestSection

__all__ = ["Cost", "Layout", "split_digest"]

Cost = tuple[int, ...]


class Layout(Protocol):
    @property
    def limit(self) -> Cost: ...

    def header(self, digest: Digest) -> Cost:
        """The header of ``digest`` (its ``part`` says first or later), with room for "(99/99)"."""
        ...

    def section(self, section: DigestSection) -> Cost: ...

    def entry(self, entry: DigestEntry) -> Cost: ...


def split_digest(digest: Digest, layout: Layout) -> list[Digest]:
    """``digest`` as one or more parts, numbered ``part`` of ``parts``, each within ``layout``."""
    first_header = layout.header(replace(digest, part=1, parts=2))
    later_header = layout.header(replace(digest, part=2, parts=2))
    parts: list[list[DigestSection]] = []
    current: list[DigestSection] = []
    used = first_header
    for section in digest.sections:
        remaining = list(section.entries)
        continued = section.continued
        while remaining:
            piece = replace(section, entries=(), continued=continued)
            cost = _add(used, layout.section(piece))
            taken: list[DigestEntry] = []
            for entry in remaining:
                with_entry = _add(cost, layout.entry(entry))
                if not _fits(with_entry, layout.limit) and (taken or current):
                    break
                taken.append(entry)  # an entry alone in a message always goes in
                cost = with_entry
            if taken:
                current.append(replace(piece, entries=tuple(taken)))
                remaining = remaining[len(taken) :]
                used = cost
                continued = True
            if remaining:
                parts.append(current)
                current, used = [], later_header
    if current or not parts:
        parts.append(current)
    return [
        replace(digest, sections=tuple(sections), part=number, parts=len(parts))
        for number, sections in enumerate(parts, 1)
    ]


def _add(left: Cost, right: Cost) -> Cost:
    return tuple(a + b for a, b in zip(left, right, strict=True))


def _fits(cost: Cost, limit: Cost) -> bool:
    return all(used <= most for used, most in zip(cost, limit, strict=True))
