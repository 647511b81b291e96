"""Every topic the bot matches: the configured built-ins and the custom topics chats create.

A chat sees the built-ins and its own custom topics; it names a custom topic by the name it gave
(``kharkiv``), while the stored id is made unique per chat (``c12-kharkiv``). The registry owns
the one ``Matcher``, so adding or removing a topic at run time is a cheap, local change.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping, Sequence

from bot.match.matcher import Matcher
from bot.model import ChatRef, Item, Match, Topic

__all__ = ["TopicRegistry", "custom_topic_id"]


def custom_topic_id(chat_pk: int, name: str) -> str:
    return f"c{chat_pk}-{name}"


class TopicRegistry(Mapping[str, Topic]):
    """A read-only mapping of topic id → Topic that also matches items."""

    def __init__(
        self, builtins: Iterable[Topic], aliases: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        self._topics: dict[str, Topic] = {}
        self.aliases: Mapping[str, Sequence[str]] = dict(aliases or {})
        self.matcher = Matcher(aliases=self.aliases)
        for topic in builtins:
            self.add(topic)

    def __getitem__(self, topic_id: str) -> Topic:
        return self._topics[topic_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._topics)

    def __len__(self) -> int:
        return len(self._topics)

    def add(self, topic: Topic) -> None:
        """Start matching a topic (raises ``QueryError`` for a bad query, changing nothing)."""
        self.matcher.add(topic)
        self._topics[topic.id] = topic

    def remove(self, topic_id: str) -> None:
        self.matcher.remove(topic_id)
        self._topics.pop(topic_id, None)

    def match(self, item: Item) -> list[Match]:
        return self.matcher.match(item)

    def matcher_for(self, topics: Iterable[Topic]) -> Matcher:
        """A separate matcher for a few topics (previews, validation), with the same aliases.

        Raises ``QueryError`` when a query is malformed.
        """
        return Matcher(topics, aliases=self.aliases)

    def visible_to(self, chat: ChatRef) -> list[Topic]:
        """Built-ins first, then the chat's own topics."""
        builtins = [topic for topic in self._topics.values() if topic.chat is None]
        own = [topic for topic in self._topics.values() if topic.chat == chat]
        return builtins + own

    def resolve(self, chat: ChatRef, name: str) -> Topic | None:
        """The topic a chat means by ``name``: its own custom topic first, then a built-in."""
        wanted = name.strip().lower()
        for topic in self.visible_to(chat):
            if topic.chat == chat and topic.name.lower() == wanted:
                return topic
        builtin = self._topics.get(wanted)
        return builtin if builtin is not None and builtin.chat is None else None

    def suggest(self, chat: ChatRef, name: str) -> list[str]:
        """Close names for a "did you mean"."""
        names = [self.handle(topic) for topic in self.visible_to(chat)]
        return difflib.get_close_matches(name.strip().lower(), names, n=3, cutoff=0.5)

    @staticmethod
    def handle(topic: Topic) -> str:
        """What a user types to name the topic: a built-in's id, a custom topic's name."""
        return topic.id if topic.chat is None else topic.name
