"""What the configuration asks to watch: the topics and the feeds, gathered from every place.

Aliases: the bundled places gazetteer (config/places.toml), then a places.toml beside a custom
config file; a later definition of an alias replaces an earlier.
Topics: the bundled built-ins (config/topics.toml), then a topics.toml beside a custom config file,
then ``[[topics]]`` tables in the config itself; a later definition of an id replaces an earlier.
Every topic is validated against the configured aliases, which the ``TopicRegistry`` must be given.
Feeds: the OPML file named by ``feeds_file`` (beside the config) plus ``[[feeds]]`` tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from bot.errors import ConfigError, FeedError
from bot.feeds.opml import read_opml
from bot.match.places import load_places
from bot.match.topics import load_topics, topics_from_dicts
from bot.model import Feed, Topic
from bot.paths import bundled_config_dir
from bot.settings import Settings

__all__ = ["configured_aliases", "configured_feeds", "configured_topics"]


def configured_aliases(settings: Settings) -> dict[str, tuple[str, ...]]:
    """Alias name → its spellings, for ``@kyiv`` in topic queries."""
    aliases: dict[str, tuple[str, ...]] = {}
    for path in _bundled_then_beside(settings, "places.toml"):
        aliases.update(load_places(path))
    return aliases


def configured_topics(
    settings: Settings, aliases: Mapping[str, Sequence[str]] | None = None
) -> list[Topic]:
    """Every configured topic; ``aliases`` defaults to ``configured_aliases(settings)``."""
    if aliases is None:
        aliases = configured_aliases(settings)
    by_id: dict[str, Topic] = {}
    for path in _bundled_then_beside(settings, "topics.toml"):
        for topic in load_topics(path, aliases):
            by_id[topic.id] = topic
    for topic in topics_from_dicts(settings.topics, aliases):
        by_id[topic.id] = topic
    return list(by_id.values())


def _bundled_then_beside(settings: Settings, name: str) -> list[Path]:
    bundled = bundled_config_dir() / name
    files = [bundled]
    beside = settings.config_dir / name
    if beside.resolve() != bundled.resolve() and beside.is_file():
        files.append(beside)
    return files


def configured_feeds(settings: Settings) -> list[Feed]:
    feeds: dict[str, Feed] = {}
    if settings.feeds_file:
        path = Path(settings.feeds_file)
        if not path.is_absolute():
            path = settings.config_dir / path
        try:
            for feed in read_opml(path.read_bytes()):
                feeds[feed.url] = feed
        except FileNotFoundError:
            raise ConfigError(f"feeds_file not found: {path}") from None
        except FeedError as error:
            raise ConfigError(f"feeds_file {path}: {error}") from None
    for entry in settings.feeds:
        feeds[entry.url] = Feed(entry.url, entry.title, entry.interval, entry.fulltext)
    return list(feeds.values())
