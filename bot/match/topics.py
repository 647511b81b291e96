"""Topics from configuration: the built-in ``config/topics.toml`` and ``[[topics]]`` tables.

A topic table has ``id`` (a slug of ``a-z``, ``0-9`` and ``-``, unique), ``name`` and ``query``,
and may have ``description``, ``languages`` (ISO 639 codes such as ``"uk"``), ``sources`` (parts of
feed host names) and ``min_score`` (a number ≥ 0, see ``matcher``). Every query is compiled here, so
a bad topic stops start-up with one line that names it and the column of the problem::

    topic 'peace-talks': unexpected ')' at column 17

Unknown keys are errors as well: a misspelt ``langauges`` would otherwise silently widen a topic.
Queries may use ``@aliases`` only when the caller passes the same aliases the matcher will get.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bot.errors import ConfigError, QueryError
from bot.match.query import parse_query
from bot.model import Topic

__all__ = ["load_topics", "topics_from_dicts"]

_ID_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_LANGUAGE_RE = re.compile(r"[a-z]{2,3}")
_KEYS = {"id", "name", "query", "description", "languages", "sources", "min_score"}
MAX_ID_LENGTH = 64


def load_topics(
    path: Path, aliases: Mapping[str, Sequence[str]] | None = None
) -> tuple[Topic, ...]:
    """Read and validate the ``[[topics]]`` tables of a TOML file."""
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except OSError as error:
        raise ConfigError(f"cannot read topics file {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"topics file {path} is not valid TOML: {error}") from None
    rows = document.get("topics", [])
    if not isinstance(rows, list):
        raise ConfigError(f"topics file {path}: 'topics' must be an array of [[topics]] tables")
    try:
        return topics_from_dicts(rows, aliases)
    except ConfigError as error:
        raise ConfigError(f"topics file {path}: {error}") from None


def topics_from_dicts(
    rows: Sequence[Mapping[str, Any]], aliases: Mapping[str, Sequence[str]] | None = None
) -> tuple[Topic, ...]:
    """Validate topic tables (from topics.toml or the main config) into ``Topic`` values."""
    topics: list[Topic] = []
    seen: set[str] = set()
    for number, row in enumerate(rows, start=1):
        topic = _topic(row, number, aliases)
        if topic.id in seen:
            raise ConfigError(f"topic id '{topic.id}' is defined twice")
        seen.add(topic.id)
        topics.append(topic)
    return tuple(topics)


def _topic(row: object, number: int, aliases: Mapping[str, Sequence[str]] | None) -> Topic:
    if not isinstance(row, Mapping):
        raise ConfigError(f"topic #{number} must be a table with id, name and query")
    raw_id = row.get("id")
    if not isinstance(raw_id, str) or not raw_id:
        raise ConfigError(f"topic #{number} needs an 'id'")
    if not _ID_RE.fullmatch(raw_id) or len(raw_id) > MAX_ID_LENGTH:
        raise ConfigError(
            f"topic id '{raw_id}' must be lowercase letters, digits and single '-' "
            f"(at most {MAX_ID_LENGTH} characters), like 'mariupol-evacuation'"
        )
    where = f"topic '{raw_id}'"
    unknown = sorted(set(row) - _KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key '{unknown[0]}' (known: {', '.join(sorted(_KEYS))})"
        )
    name = _text(row, "name", where, required=True)
    query = _text(row, "query", where, required=True)
    try:
        parse_query(query, aliases)
    except QueryError as error:
        raise ConfigError(f"{where}: {error}") from None
    return Topic(
        id=raw_id,
        name=name,
        query=query,
        description=_text(row, "description", where, required=False),
        languages=_languages(row, where),
        sources=_strings(row, "sources", where),
        min_score=_min_score(row, where),
    )


def _text(row: Mapping[str, Any], key: str, where: str, *, required: bool) -> str:
    value = row.get(key, "")
    if not isinstance(value, str):
        raise ConfigError(f"{where}: '{key}' must be a string")
    value = value.strip()
    if required and not value:
        raise ConfigError(f"{where} needs a '{key}'")
    return value


def _strings(row: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = row.get(key, [])
    if isinstance(value, str) or not isinstance(value, list):
        raise ConfigError(f"{where}: '{key}' must be a list of strings")
    if not all(isinstance(entry, str) and entry.strip() for entry in value):
        raise ConfigError(f"{where}: '{key}' must be a list of non-empty strings")
    return tuple(dict.fromkeys(entry.strip().lower() for entry in value))


def _languages(row: Mapping[str, Any], where: str) -> tuple[str, ...]:
    languages = _strings(row, "languages", where)
    for language in languages:
        if not _LANGUAGE_RE.fullmatch(language):
            raise ConfigError(f"{where}: language '{language}' is not an ISO 639 code like 'uk'")
    return languages


def _min_score(row: Mapping[str, Any], where: str) -> float:
    value = row.get("min_score", 0.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{where}: 'min_score' must be a number ≥ 0")
    return float(value)
