"""What the configuration asks to watch: the topics and the feeds, gathered from every place.

Topics: the bundled built-ins (config/topics.toml), then a topics.toml beside a custom config file,
then ``[[topics]]`` tables in the config itself; a later definition of an id replaces an earlier.
Feeds: the OPML file named by ``feeds_file`` (beside the config) plus ``[[feeds]]`` tables.
"""

from __future__ import annotations

from pathlib import Path

from bot.errors import ConfigError, FeedError
from bot.feeds.opml import read_opml
from bot.match.topics import load_topics, topics_from_dicts
from bot.model import Feed, Topic
from bot.paths import bundled_config_dir
from bot.settings import Settings

__all__ = ["configured_feeds", "configured_topics"]


def configured_topics(settings: Settings) -> list[Topic]:
    bundled = bundled_config_dir() / "topics.toml"
    files = [bundled]
    beside = settings.config_dir / "topics.toml"
    if beside.resolve() != bundled.resolve() and beside.is_file():
        files.append(beside)
    by_id: dict[str, Topic] = {}
    for path in files:
        for topic in load_topics(path):
            by_id[topic.id] = topic
    for topic in topics_from_dicts(settings.topics):
        by_id[topic.id] = topic
    return list(by_id.values())


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
