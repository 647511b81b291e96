"""A digest → the outbox messages for one chat: split to its platform's limits, each an ``Alert``.

Telegram and Slack parts are measured by their own renderers (``split_digest``); the console
has no limit and gets one message. Each part is an ``Alert`` of kind ``digest`` carrying the
part, with its plain-text rendering as ``summary`` for any renderer that does not know digests,
no ``topic_id`` (a digest is about several topics: no per-topic buttons) and no links (no
preview of one story under the whole digest).
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.delivery.render_digest import digest_title, render_digest_text
from bot.delivery.render_digest_slack import SlackDigestLayout
from bot.delivery.render_digest_telegram import TelegramDigestLayout
from bot.digest.split import Layout, split_digest
from bot.model import Alert, AlertKind, ChatRef, Digest, Platform

__all__ = ["LAYOUTS", "digest_alert", "digest_messages"]

LAYOUTS: Mapping[Platform, Layout] = {
    Platform.TELEGRAM: TelegramDigestLayout(),
    Platform.SLACK: SlackDigestLayout(),
}


def digest_messages(chat: ChatRef, digest: Digest) -> list[Alert]:
    layout = LAYOUTS.get(chat.platform)
    parts = split_digest(digest, layout) if layout is not None else [digest]
    return [digest_alert(chat, part) for part in parts]


def digest_alert(chat: ChatRef, part: Digest) -> Alert:
    return Alert(
        chat=chat,
        topic_id="",
        topic_name=part.title,
        title=digest_title(part),
        summary=render_digest_text(part),
        links=(),
        published=part.period_end,
        kind=AlertKind.DIGEST,
        digest=part,
    )
