"""The platform-neutral command core: parse → check → act → reply.

Telegram's ``/subscribe peace-talks`` and Slack's ``/wirewatch subscribe peace-talks`` both arrive
here as ``subscribe peace-talks``. The core checks permissions, changes the store and answers with
a ``Reply``: plain text (the binding escapes it for its platform), whether only the caller should
see it (errors and usage), and, for subscribe and track, a preview of recent items the topic
would have matched. No platform library is imported here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.clock import utcnow
from bot.errors import FeedError, QueryError
from bot.model import Delivery, Feed, Item, Topic
from bot.settings import ChatSettings
from bot.store import alerts as outbox
from bot.store import chats as chat_store
from bot.store import feeds as feed_store
from bot.store.items import recent_items
from bot.store.tables import feeds as feeds_table
from bot.topics import TopicRegistry, custom_topic_id
from handlers import digest_commands as digests
from handlers.permissions import Caller, may_change_chat, may_manage_feeds
from handlers.text import InputTooLong, clean_input

__all__ = ["COMMANDS", "CommandCore", "Reply"]

log = logging.getLogger(__name__)

PREVIEW_ITEMS = 3
DEFAULT_MUTE_HOURS = 24
MAX_MUTE_HOURS = 24 * 30
PREVIEW_WINDOW = 500
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,30}")

# name → (arguments, what it does). The order is the order of /help.
COMMANDS: dict[str, tuple[str, str]] = {
    "help": ("", "how to use Wirewatch"),
    "topics": ("", "topics you can subscribe to"),
    "subscribe": ("TOPIC [instant|digest|both]", "get alerts for a topic in this chat"),
    "unsubscribe": ("TOPIC", "stop alerts for a topic"),
    "mute": ("TOPIC [HOURS]", "silence a topic for a while (24 hours unless you say)"),
    "unmute": ("TOPIC", "end a mute"),
    "list": ("", "this chat's subscriptions"),
    "track": ("NAME QUERY", "create your own topic, e.g. track kharkiv kharkiv AND shelling"),
    "untrack": ("NAME", "delete a topic you created"),
    "feeds": ("", "the news sources and their health"),
    "addfeed": ("URL", "add a news feed (operators; admins where allowed)"),
    "removefeed": ("URL", "remove a news feed"),
    "pause": ("", "hold all alerts for this chat"),
    "resume": ("", "send alerts again"),
    "status": ("", "is the bot healthy, and what is queued"),
    "digest": (digests.DIGEST_ARGS, "the day's top stories per topic, on a schedule"),
    "timezone": (digests.TIMEZONE_ARGS, "this chat's time zone, e.g. Europe/Kyiv"),
    "quiet": (digests.QUIET_ARGS, "hold instant alerts during these hours"),
    "urgent": (digests.URGENT_ARGS, "a topic whose alerts come through quiet hours"),
}

QUERY_HELP = (
    'Topic queries: words and "quoted phrases" (all must appear), OR, NOT or -word, '
    "(groups), prefixes like evacu*, NEAR/5(a, b) for words close together, title:word to look "
    "only at headlines. Spellings and languages are folded: Kyiv = Kiev = Київ = Киев."
)


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    ephemeral: bool = False
    preview: tuple[Item, ...] = field(default=())


def usage(name: str) -> Reply:
    arguments, _ = COMMANDS[name]
    return Reply(f"Usage: {name} {arguments}".rstrip(), ephemeral=True)


class CommandCore:
    def __init__(
        self,
        engine: AsyncEngine,
        registry: TopicRegistry,
        settings: ChatSettings,
        *,
        check_feed: Callable[[str], Awaitable[str | None]],
        health: Callable[[], Awaitable[dict[str, bool]]] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self._registry = registry
        self._settings = settings
        self._check_feed = check_feed
        self._health = health
        self._clock = clock
        self.digests = digests.DigestCommands(engine, registry, clock=clock)  # hooks set by app

    async def handle(self, caller: Caller, text: str) -> Reply:
        """Run one command line (without the platform's prefix) and say what happened."""
        try:
            line = clean_input(text)
        except InputTooLong as error:
            return Reply(f"Too long: {error}.", ephemeral=True)
        name, _, rest = line.partition(" ")
        name = name.lower().lstrip("/")
        if name in {"", "start"}:
            name = "help"
        action = getattr(self, f"_{name}", None)
        if name not in COMMANDS or action is None:
            return Reply(f"Unknown command '{name}'. Try: help", ephemeral=True)
        try:
            reply: Reply = await action(caller, rest.strip())
            return reply
        except Exception:
            log.exception("command %r from %s failed", name, caller.chat)
            return Reply("Something went wrong on our side; nothing was changed.", ephemeral=True)

    # -- reading -------------------------------------------------------------------------------

    async def _help(self, caller: Caller, rest: str) -> Reply:
        lines = ["Wirewatch sends short alerts with source links when news on your topics breaks."]
        for name, (arguments, summary) in COMMANDS.items():
            lines.append(f"{name} {arguments}".rstrip() + f" — {summary}")
        lines.append(QUERY_HELP)
        return Reply("\n".join(lines))

    async def _topics(self, caller: Caller, rest: str) -> Reply:
        async with self._engine.connect() as conn:
            subscribed = {row.topic_id for row in await self._subscriptions(conn, caller)}
        lines = ["Topics (subscribe TOPIC):"]
        for topic in self._registry.visible_to(caller.chat):
            handle = self._registry.handle(topic)
            mark = " ✓" if topic.id in subscribed else ""
            about = f" — {topic.description}" if topic.description else ""
            own = " (yours)" if topic.chat else ""
            lines.append(f"• {handle}: {topic.name}{own}{mark}{about}")
        return Reply("\n".join(lines))

    async def _list(self, caller: Caller, rest: str) -> Reply:
        async with self._engine.connect() as conn:
            subscriptions = await self._subscriptions(conn, caller)
            chat = await chat_store.get_chat(conn, caller.chat)
        if not subscriptions:
            return Reply("This chat has no subscriptions. See topics, then subscribe TOPIC.")
        lines = ["This chat's subscriptions:"]
        now = self._clock()
        for row in subscriptions:
            topic = self._registry.get(row.topic_id)
            label = self._registry.handle(topic) if topic else row.topic_id
            muted = ""
            if row.muted_until and row.muted_until > now:
                muted = f", muted until {row.muted_until:%Y-%m-%d %H:%M} UTC"
            lines.append(f"• {label} ({row.delivery}{muted})")
        if chat and chat.paused:
            lines.append("Alerts are paused: resume to get them again.")
        return Reply("\n".join(lines))

    async def _feeds(self, caller: Caller, rest: str) -> Reply:
        async with self._engine.connect() as conn:
            rows = await feed_store.list_feeds(conn)
        if not rows:
            return Reply("No feeds are configured.")
        healthy = sum(1 for row in rows if not row.error_count)
        lines = [f"{len(rows)} feeds, {healthy} healthy:"]
        for row in rows:
            state = "ok" if not row.error_count else f"failing ({row.last_error})"
            if row.last_success_at is None and not row.error_count:
                state = "not fetched yet"
            lines.append(f"• {row.title or row.url} — {state}\n  {row.url}")
        return Reply("\n".join(lines))

    async def _status(self, caller: Caller, rest: str) -> Reply:
        async with self._engine.connect() as conn:
            rows = await feed_store.list_feeds(conn)
            queued = await outbox.count_by_status(conn)
            chat = await chat_store.get_chat(conn, caller.chat)
        failing = sum(1 for row in rows if row.error_count)
        lines = [
            f"Feeds: {len(rows)} ({failing} failing)",
            f"Topics: {len(self._registry)}",
            "Alerts: {sent} sent, {pending} queued, {failed} failed".format(
                sent=queued.get("sent", 0),
                pending=queued.get("pending", 0) + queued.get("sending", 0),
                failed=queued.get("failed", 0),
            ),
            "This chat: " + ("paused" if chat and chat.paused else "receiving alerts"),
        ]
        if self._health is not None:
            checks = await self._health()
            problems = [name for name, ok in checks.items() if not ok]
            lines.append(
                "Health: all checks pass"
                if not problems
                else "Health: PROBLEM with " + ", ".join(problems)
            )
        return Reply("\n".join(lines))

    # -- changing this chat --------------------------------------------------------------------

    async def _subscribe(self, caller: Caller, rest: str) -> Reply:
        words = rest.split()
        if not words or len(words) > 2:
            return usage("subscribe")
        mode = words[1].lower() if len(words) == 2 else "instant"
        if mode not in {delivery.value for delivery in Delivery}:
            return Reply(f"'{mode}' is not a delivery mode: use instant, digest or both.", True)
        topic = self._registry.resolve(caller.chat, words[0])
        if topic is None:
            return self._unknown_topic(caller, words[0])
        if denied := await self._deny_change(caller):
            return denied
        async with self._engine.begin() as conn:
            chat_pk = await self._chat_pk(conn, caller)
            if full := await self._subscriptions_full(conn, chat_pk, topic.id):
                return full
            new = await chat_store.subscribe(
                conn, chat_pk, topic.id, now=self._clock(), delivery=Delivery(mode)
            )
            preview = await self._preview(conn, topic)
        verb = "Subscribed to" if new else "Updated"
        return Reply(f"{verb} {topic.name} ({mode}).{_preview_note(preview)}", preview=preview)

    async def _unsubscribe(self, caller: Caller, rest: str) -> Reply:
        if len(rest.split()) != 1:
            return usage("unsubscribe")
        topic = self._registry.resolve(caller.chat, rest)
        if topic is None:
            return self._unknown_topic(caller, rest)
        if denied := await self._deny_change(caller):
            return denied
        async with self._engine.begin() as conn:
            removed = await chat_store.unsubscribe(
                conn, await self._chat_pk(conn, caller), topic.id
            )
        if not removed:
            return Reply(f"This chat was not subscribed to {topic.name}.", ephemeral=True)
        return Reply(f"Unsubscribed from {topic.name}.")

    async def _mute(self, caller: Caller, rest: str) -> Reply:
        words = rest.split()
        if not words or len(words) > 2 or (len(words) == 2 and not words[1].isdigit()):
            return usage("mute")
        hours = int(words[1]) if len(words) == 2 else DEFAULT_MUTE_HOURS
        if not 1 <= hours <= MAX_MUTE_HOURS:
            return Reply(f"Mute for 1 to {MAX_MUTE_HOURS} hours.", ephemeral=True)
        return await self._set_mute(caller, words[0], timedelta(hours=hours))

    async def _unmute(self, caller: Caller, rest: str) -> Reply:
        if len(rest.split()) != 1:
            return usage("unmute")
        return await self._set_mute(caller, rest, None)

    async def _set_mute(self, caller: Caller, name: str, duration: timedelta | None) -> Reply:
        topic = self._registry.resolve(caller.chat, name)
        if topic is None:
            return self._unknown_topic(caller, name)
        if denied := await self._deny_change(caller):
            return denied
        until = self._clock() + duration if duration else None
        async with self._engine.begin() as conn:
            chat_pk = await self._chat_pk(conn, caller)
            found = await chat_store.mute(conn, chat_pk, topic.id, until=until)
        if not found:
            return Reply(f"This chat is not subscribed to {topic.name}.", ephemeral=True)
        if until is None:
            return Reply(f"{topic.name} is no longer muted.")
        return Reply(f"{topic.name} muted until {until:%Y-%m-%d %H:%M} UTC.")

    async def _track(self, caller: Caller, rest: str) -> Reply:
        name, _, query = rest.partition(" ")
        name, query = name.lower(), query.strip()
        if not name or not query:
            return usage("track")
        if not NAME_PATTERN.fullmatch(name):
            return Reply("A topic name is up to 31 lowercase letters, digits and '-'.", True)
        if self._registry.resolve(caller.chat, name) is not None:
            return Reply(f"There is already a topic called {name}; pick another name.", True)
        if denied := await self._deny_change(caller):
            return denied
        async with self._engine.begin() as conn:
            chat_pk = await self._chat_pk(conn, caller)
            own = [t for t in self._registry.visible_to(caller.chat) if t.chat is not None]
            if len(own) >= self._settings.max_custom_topics:
                return Reply(
                    f"This chat already has {len(own)} topics of its own, the most allowed "
                    f"({self._settings.max_custom_topics}). Untrack one (see topics) to make room.",
                    ephemeral=True,
                )
            topic = Topic(custom_topic_id(chat_pk, name), name, query, chat=caller.chat)
            if full := await self._subscriptions_full(conn, chat_pk, topic.id):
                return full  # tracking subscribes the chat too
            try:
                self._registry.matcher_for([topic])
            except QueryError as error:
                return Reply(f"That query does not work: {error}.", ephemeral=True)
            await chat_store.save_custom_topic(
                conn, topic, owner_chat_pk=chat_pk, now=self._clock()
            )
            await chat_store.subscribe(conn, chat_pk, topic.id, now=self._clock())
            preview = await self._preview(conn, topic)
        self._registry.add(topic)
        return Reply(
            f"Tracking {name}: {query}. This chat is subscribed.{_preview_note(preview)}",
            preview=preview,
        )

    async def _untrack(self, caller: Caller, rest: str) -> Reply:
        if len(rest.split()) != 1:
            return usage("untrack")
        topic = self._registry.resolve(caller.chat, rest)
        if topic is None or topic.chat != caller.chat:
            return Reply(f"This chat has no topic of its own called {rest}.", ephemeral=True)
        if denied := await self._deny_change(caller):
            return denied
        async with self._engine.begin() as conn:
            await chat_store.delete_custom_topic(conn, topic.id)
        self._registry.remove(topic.id)
        return Reply(f"Stopped tracking {topic.name}.")

    async def _pause(self, caller: Caller, rest: str) -> Reply:
        return await self._set_paused(caller, True)

    async def _resume(self, caller: Caller, rest: str) -> Reply:
        return await self._set_paused(caller, False)

    async def _set_paused(self, caller: Caller, paused: bool) -> Reply:
        if denied := await self._deny_change(caller):
            return denied
        async with self._engine.begin() as conn:
            await chat_store.set_chat_flags(conn, await self._chat_pk(conn, caller), paused=paused)
        if paused:
            return Reply("Alerts paused for this chat. resume to get them again.")
        return Reply("Alerts resumed.")

    # -- shared feeds --------------------------------------------------------------------------

    async def _addfeed(self, caller: Caller, rest: str) -> Reply:
        url = rest.strip()
        if not url or " " in url:
            return usage("addfeed")
        if denied := await self._deny_feeds(caller):
            return denied
        async with self._engine.connect() as conn:
            if full := await self._feed_quota_full(conn, caller):
                return full  # before fetching: a full chat costs the feed's server nothing
        try:
            title = await self._check_feed(url)
        except FeedError as error:
            return Reply(f"Cannot add {url}: {error}", ephemeral=True)
        async with self._engine.begin() as conn:
            existing = await feed_store.get_feed(conn, url)
            if existing is not None:
                return Reply(f"{url} is already watched.", ephemeral=True)
            if full := await self._feed_quota_full(conn, caller):
                return full  # another addfeed from this chat took the last slot meanwhile
            chat_pk = await self._chat_pk(conn, caller)
            await feed_store.add_feed(
                conn, Feed(url, title), now=self._clock(), origin="user", added_by=chat_pk
            )
        return Reply(f"Added {title or url}. Its new items will be matched from now on.")

    async def _removefeed(self, caller: Caller, rest: str) -> Reply:
        url = rest.strip()
        if not url or " " in url:
            return usage("removefeed")
        if denied := await self._deny_feeds(caller):
            return denied
        async with self._engine.begin() as conn:
            row = await feed_store.get_feed(conn, url)
            if row is None:
                return Reply(f"{url} is not watched.", ephemeral=True)
            if row.origin == "config" and not caller.is_operator:
                return Reply(
                    "That feed comes from the configuration; an operator removes it.", True
                )
            await feed_store.remove_feed(conn, url)
        return Reply(f"Removed {row.title or url}.")

    # -- digests, time zone, quiet hours (handlers/digest_commands.py) -------------------------

    async def _digest(self, caller: Caller, rest: str) -> Reply:
        return self._answer(await self.digests.digest(caller, rest, self._refusal(caller)))

    async def _timezone(self, caller: Caller, rest: str) -> Reply:
        return self._answer(await self.digests.timezone(caller, rest, self._refusal(caller)))

    async def _quiet(self, caller: Caller, rest: str) -> Reply:
        return self._answer(await self.digests.quiet(caller, rest, self._refusal(caller)))

    async def _urgent(self, caller: Caller, rest: str) -> Reply:
        return self._answer(await self.digests.urgent(caller, rest, self._refusal(caller)))

    def _refusal(self, caller: Caller) -> digests.Refusal:
        async def refusal() -> str | None:
            denied = await self._deny_change(caller)
            return denied.text if denied else None

        return refusal

    @staticmethod
    def _answer(answer: digests.Answer) -> Reply:
        return Reply(answer.text, ephemeral=answer.ephemeral)

    # -- helpers -------------------------------------------------------------------------------

    async def _deny_change(self, caller: Caller) -> Reply | None:
        if await may_change_chat(caller):
            return None
        return Reply("Only this chat's administrators can change its alerts.", ephemeral=True)

    async def _deny_feeds(self, caller: Caller) -> Reply | None:
        if await may_manage_feeds(caller, allow_user_feeds=self._settings.allow_user_feeds):
            return None
        return Reply("Only the bot's operators can change the feed list.", ephemeral=True)

    async def _subscriptions_full(
        self, conn: AsyncConnection, chat_pk: int, topic_id: str
    ) -> Reply | None:
        """Refuse a new subscription past ``max_subscriptions``; changing a mode is always fine."""
        subscribed = await chat_store.list_subscriptions(conn, chat_pk)
        limit = self._settings.max_subscriptions
        if len(subscribed) < limit or any(row.topic_id == topic_id for row in subscribed):
            return None
        return Reply(
            f"This chat already has {len(subscribed)} subscriptions, the most allowed ({limit}). "
            "Unsubscribe from one (see list) to make room.",
            ephemeral=True,
        )

    async def _feed_quota_full(self, conn: AsyncConnection, caller: Caller) -> Reply | None:
        """Refuse a chat that has added ``max_feeds`` feeds: one chat must not crowd the poller."""
        chat = await chat_store.get_chat(conn, caller.chat)
        added = await _feeds_added_by(conn, chat.id) if chat else 0
        limit = self._settings.max_feeds
        if added < limit:
            return None
        return Reply(
            f"This chat has already added {added} feeds, the most allowed ({limit}). "
            "Remove one with removefeed URL (see feeds) to add another.",
            ephemeral=True,
        )

    def _unknown_topic(self, caller: Caller, name: str) -> Reply:
        suggestions = self._registry.suggest(caller.chat, name)
        hint = f" Did you mean {' or '.join(suggestions)}?" if suggestions else " See topics."
        return Reply(f"No topic called '{name}'.{hint}", ephemeral=True)

    async def _chat_pk(self, conn: AsyncConnection, caller: Caller) -> int:
        """The caller's chat row; a chat that speaks to the bot is reachable again."""
        chat_pk = await chat_store.ensure_chat(
            conn, caller.chat, now=self._clock(), title=caller.chat_title, kind=str(caller.kind)
        )
        await chat_store.set_chat_flags(conn, chat_pk, active=True)
        return chat_pk

    async def _subscriptions(
        self, conn: AsyncConnection, caller: Caller
    ) -> list[chat_store.SubscriptionRow]:
        chat = await chat_store.get_chat(conn, caller.chat)
        return await chat_store.list_subscriptions(conn, chat.id) if chat else []

    async def _preview(self, conn: AsyncConnection, topic: Topic) -> tuple[Item, ...]:
        """The latest stored items this topic would have matched, newest first."""
        matcher = self._registry.matcher_for([topic])
        found = [
            item for item in await recent_items(conn, limit=PREVIEW_WINDOW) if matcher.match(item)
        ]
        return tuple(found[:PREVIEW_ITEMS])


async def _feeds_added_by(conn: AsyncConnection, chat_pk: int) -> int:
    """How many feeds this chat added itself (configured and imported feeds are nobody's)."""
    query = select(func.count()).select_from(feeds_table).where(feeds_table.c.added_by == chat_pk)
    return int((await conn.execute(query)).scalar_one())


def _preview_note(preview: tuple[Item, ...]) -> str:
    if not preview:
        return " Nothing recent matches yet; new stories will arrive here."
    return f" Recent stories it would have caught ({len(preview)}):"
