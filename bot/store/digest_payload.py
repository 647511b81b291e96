"""A digest message as JSON in the outbox's ``payload``, and back.

Only messages of another kind than a story alert carry ``kind`` (and, for digests, ``digest``) in
their payload, so story alerts keep the payload they always had. Times are ISO 8601 with offset.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.model import Alert, AlertKind, Digest, DigestEntry, DigestSection

__all__ = ["digest_from_json", "digest_to_json", "kind_fields", "kind_payload"]


def kind_payload(alert: Alert) -> dict[str, Any]:
    """The payload keys a message of another kind adds; none for a story alert."""
    if alert.kind == AlertKind.ALERT:
        return {}
    return {
        "kind": str(alert.kind),
        "digest": digest_to_json(alert.digest) if alert.digest is not None else None,
    }


def kind_fields(payload: dict[str, Any]) -> dict[str, Any]:
    """``Alert`` keyword arguments for the keys ``kind_payload`` wrote (none when absent)."""
    if "kind" not in payload:
        return {}
    digest = payload.get("digest")
    return {
        "kind": str(payload["kind"]),
        "digest": digest_from_json(digest) if isinstance(digest, dict) else None,
    }


def digest_to_json(digest: Digest) -> dict[str, Any]:
    return {
        "title": digest.title,
        "period_start": digest.period_start.isoformat(),
        "period_end": digest.period_end.isoformat(),
        "zone": digest.zone,
        "stories": digest.stories,
        "topics": digest.topics,
        "late": digest.late,
        "part": digest.part,
        "parts": digest.parts,
        "sections": [
            {
                "topic_id": section.topic_id,
                "topic_name": section.topic_name,
                "total": section.total,
                "continued": section.continued,
                "entries": [_entry_to_json(entry) for entry in section.entries],
            }
            for section in digest.sections
        ],
    }


def _entry_to_json(entry: DigestEntry) -> dict[str, Any]:
    return {
        "rank": entry.rank,
        "title": entry.title,
        "summary": entry.summary,
        "links": list(entry.links),
        "sources": list(entry.sources),
        "source_count": entry.source_count,
        "published": entry.published.isoformat() if entry.published else None,
    }


def digest_from_json(data: dict[str, Any]) -> Digest:
    return Digest(
        title=data["title"],
        period_start=datetime.fromisoformat(data["period_start"]),
        period_end=datetime.fromisoformat(data["period_end"]),
        zone=data["zone"],
        stories=int(data["stories"]),
        topics=int(data["topics"]),
        late=bool(data.get("late", False)),
        part=int(data.get("part", 1)),
        parts=int(data.get("parts", 1)),
        sections=tuple(
            DigestSection(
                topic_id=section["topic_id"],
                topic_name=section["topic_name"],
                total=int(section["total"]),
                continued=bool(section.get("continued", False)),
                entries=tuple(_entry_from_json(entry) for entry in section["entries"]),
            )
            for section in data.get("sections", ())
        ),
    )


def _entry_from_json(data: dict[str, Any]) -> DigestEntry:
    published = data.get("published")
    return DigestEntry(
        rank=int(data["rank"]),
        title=data["title"],
        summary=data.get("summary", ""),
        links=tuple(data.get("links", ())),
        sources=tuple(data.get("sources", ())),
        source_count=int(data.get("source_count", 1)),
        published=datetime.fromisoformat(published) if published else None,
    )
