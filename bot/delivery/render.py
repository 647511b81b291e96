"""Render an alert for a channel. Plain text here; Telegram HTML and Slack blocks build on it."""

from __future__ import annotations

from bot.delivery.render_digest import render_message_text
from bot.model import Alert, AlertKind

__all__ = ["render_alert_text"]


def render_alert_text(alert: Alert) -> str:
    """The alert as a person reads it in a terminal or a plain-text chat."""
    if alert.kind != AlertKind.ALERT:  # a digest, or a kind this renderer does not know
        return render_message_text(alert)
    lines = [alert.title]
    if alert.summary and alert.summary != alert.title:
        lines.append(alert.summary)
    for link in alert.links:
        lines.append(link)
    meta = [f"Topic: {alert.topic_name}"]
    if alert.why:
        meta.append("matched: " + " + ".join(alert.why))
    if alert.source_titles:
        label = "sources" if len(alert.source_titles) > 1 else "source"
        meta.append(f"{label}: " + ", ".join(alert.source_titles))
    if alert.published:
        meta.append(alert.published.strftime("%Y-%m-%d %H:%M UTC"))
    lines.append(" · ".join(meta))
    return "\n".join(lines)
