"""The ``wirewatch`` command: run the bot, try it offline, and manage its feeds.

Every sub-command prints a clear one-line error and exits non-zero on bad input or settings;
tracebacks are for bugs only.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot import __version__
from bot.errors import ConfigError, WirewatchError
from bot.logs import configure_logging
from bot.settings import Settings, load_settings

if TYPE_CHECKING:
    from bot.app import App

__all__ = ["main"]

# Less free room than this beside the SQLite file and the bot would fail on its first writes, or
# soon after; said at once instead, in the words a full disk deserves.
MIN_FREE_BYTES = 1024 * 1024


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wirewatch",
        description="Watch news feeds and alert chats when tracked topics appear.",
    )
    parser.add_argument("--version", action="version", version=f"wirewatch {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=summary, description=summary)

    command("run", "run the bot: poll feeds, match topics, deliver alerts (Ctrl-C stops)")
    command("demo", "run the pipeline over the bundled sample feeds, offline, and print alerts")
    check = command("check-feed", "fetch and parse one feed; print its items")
    check.add_argument("url", help="the feed's URL")
    check.add_argument("--limit", type=int, default=20, help="items to print (default 20)")
    opml_in = command("import-opml", "add the feeds of an OPML file")
    opml_in.add_argument("file", type=Path, help="OPML file exported by a feed reader")
    command("export-opml", "print the feed list as OPML")
    command("migrate", "create or upgrade the database schema")
    match = command("match", "show which topics a text, a feed or a stream of items match, and why")
    match.add_argument("text", nargs="?", help="a headline or paragraph to match")
    match.add_argument("--topic", metavar="ID", help="try only this topic")
    match.add_argument(
        "--feed", metavar="URL", help="fetch this feed and mark each item ✓/✗ for --topic"
    )
    match.add_argument(
        "--jsonl",
        action="store_true",
        help='read items as JSON lines on stdin ({"id", "title", "summary", "language"}), '
        'write {"id", "topics", "why"} lines to stdout',
    )
    match.epilog = (
        "exit status: 0 when something matched, 1 when nothing did (with --jsonl: when a line was "
        "malformed), 2 on an error"
    )
    stories = command("stories", "group items into stories: JSON lines in, {id, story} lines out")
    stories.add_argument(
        "--jsonl",
        action="store_true",
        required=True,
        help='read {"id", "title", "summary", "url", "published", "language"} lines from stdin',
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        # The demo's output is its alerts; only problems are logged beside them.
        level = "WARNING" if args.command == "demo" else settings.log.level
        configure_logging(level, settings.log.format, _secrets(settings))
        return asyncio.run(_dispatch(args, settings))
    except WirewatchError as error:
        print(f"wirewatch: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _secrets(settings: Settings) -> list[str]:
    secrets = [
        settings.telegram.bot_token,
        settings.telegram.webhook_secret,
        settings.slack.bot_token,
        settings.slack.signing_secret,
        settings.slack.app_token,
    ]
    return [secret.get_secret_value() for secret in secrets if secret]


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from bot import commands

    match args.command:
        case "run":
            return await _run(settings)
        case "demo":
            from bot.demo import run_demo

            return await run_demo()
        case "check-feed":
            return await commands.check_feed(settings, args.url, limit=args.limit)
        case "import-opml":
            return await commands.import_opml(settings, args.file)
        case "export-opml":
            return await commands.export_opml(settings)
        case "migrate":
            return await commands.migrate_store(settings)
        case "match":
            return await commands.match_items(
                settings, args.text, topic_id=args.topic, feed_url=args.feed, jsonl=args.jsonl
            )
        case "stories":
            from bot.stories.cli import run_stories_jsonl

            return run_stories_jsonl(sys.stdin, sys.stdout, sys.stderr)
    raise AssertionError(args.command)


async def _run(settings: Settings) -> int:
    from bot.app import App

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    app = App(settings)
    await _start(app, settings)
    try:
        await stop.wait()
    finally:
        await app.stop()
    return 0


async def _start(app: App, settings: Settings) -> None:
    """Start the bot; a store that fails on its first writes (a disk full after the migration,
    a server gone) is one ``ConfigError`` line, like a store that cannot be opened at all."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    where = _database_location(settings.database_url)
    if full := _sqlite_disk_full(settings.database_url):
        raise ConfigError(f"cannot write to the database at {where}: {full}")
    try:
        await app.start()
    except (OperationalError, InterfaceError) as error:  # the store failing; a bug keeps its trace
        await _stop_quietly(app)
        reason = _first_line(error)
        raise ConfigError(f"cannot write to the database at {where}: {reason}") from None


async def _stop_quietly(app: App) -> None:
    """Release what a half-started bot holds; its "stopped" log line would bury the reason."""
    logging.disable(logging.INFO)
    try:
        await app.stop()
    finally:
        logging.disable(logging.NOTSET)


def _database_location(url: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return parsed.render_as_string()  # the password hidden


def _sqlite_disk_full(url: str) -> str | None:
    """``the disk is full (…)`` when the SQLite file's folder has (almost) no room left."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    folder = Path(parsed.database).expanduser().parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return None  # the store's own error says why when the bot tries it
    if free >= MIN_FREE_BYTES:
        return None
    return f"the disk is full ({free // 1024} KiB free in {folder}; the bot needs at least 1 MiB)"


def _first_line(error: Exception) -> str:
    """The driver's own words (SQLAlchemy appends the SQL and a link on later lines)."""
    original = getattr(error, "orig", None) or error
    text = str(original).strip()
    return text.splitlines()[0] if text else type(original).__name__


if __name__ == "__main__":
    sys.exit(main())
