"""The places gazetteer: ``config/places.toml`` becomes the ``@aliases`` topic queries use.

A gazetteer file is a list of ``[[places]]`` tables::

    [[places]]
    alias = "kyiv"                 # what a query writes: @kyiv
    kind = "city"                  # optional: city, oblast, region, country or site
    names = ["Kyiv", "Kiev", "Київ", "Киев", "київськ*", "киевск*"]

``names`` are literal spellings, not queries: a word, several words (a phrase), or one word ending
in ``*`` (a prefix of at least three letters, for adjectives and inflections the stemmer does not
bring together). Normalization already folds case, scripts and many spellings (Kyiv/Kiev/Київ are
one key), so a name earns its place when it adds something; listing a folded duplicate is harmless
and documents the spelling.

Everything is checked at load time, and a problem stops start-up with one line that names the
file, the alias and what to fix: unknown keys (a misspelt ``nmaes`` would silently drop a place),
an empty or malformed ``names`` list, a name listed twice, an alias defined twice.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.errors import ConfigError, QueryError
from bot.match.query import parse_query

__all__ = ["KINDS", "load_places", "places_from_dicts"]

KINDS = ("city", "oblast", "region", "country", "site")
_ALIAS_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_KEYS = {"alias", "kind", "names"}
MAX_ALIAS_LENGTH = 64


def load_places(path: Path) -> dict[str, tuple[str, ...]]:
    """Read and validate the ``[[places]]`` tables of a TOML file: alias → its names."""
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except OSError as error:
        raise ConfigError(f"cannot read places file {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"places file {path} is not valid TOML: {error}") from None
    unknown = sorted(set(document) - {"places"})
    if unknown:
        raise ConfigError(
            f"places file {path}: unknown key '{unknown[0]}' (write [[places]] tables)"
        )
    rows = document.get("places", [])
    if not isinstance(rows, list):
        raise ConfigError(f"places file {path}: 'places' must be an array of [[places]] tables")
    try:
        return places_from_dicts(rows)
    except ConfigError as error:
        raise ConfigError(f"places file {path}: {error}") from None


def places_from_dicts(rows: list[Any]) -> dict[str, tuple[str, ...]]:
    """Validate ``[[places]]`` tables into alias → names, in file order."""
    places: dict[str, tuple[str, ...]] = {}
    for number, row in enumerate(rows, start=1):
        alias, names = _place(row, number)
        if alias in places:
            raise ConfigError(f"alias '{alias}' is defined twice")
        places[alias] = names
    return places


def _place(row: object, number: int) -> tuple[str, tuple[str, ...]]:
    if not isinstance(row, Mapping):
        raise ConfigError(f"place #{number} must be a table with alias and names")
    alias = row.get("alias")
    if not isinstance(alias, str) or not alias:
        raise ConfigError(f"place #{number} needs an 'alias'")
    if not _ALIAS_RE.fullmatch(alias) or len(alias) > MAX_ALIAS_LENGTH:
        raise ConfigError(
            f"alias '{alias}' must be lowercase letters, digits and single '-' "
            f"(at most {MAX_ALIAS_LENGTH} characters), like 'kyiv-oblast'"
        )
    where = f"alias '{alias}'"
    unknown = sorted(set(row) - _KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key '{unknown[0]}' (known: {', '.join(sorted(_KEYS))})"
        )
    kind = row.get("kind", "city")
    if kind not in KINDS:
        raise ConfigError(f"{where}: 'kind' must be one of {', '.join(KINDS)}")
    return alias, _names(row.get("names"), where)


def _names(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where} needs 'names', a non-empty list of spellings")
    names: dict[str, str] = {}
    for entry in value:
        if not isinstance(entry, str) or not entry.strip():
            raise ConfigError(f"{where}: every name must be a non-empty string")
        name = " ".join(entry.split())
        if name.casefold() in names:
            raise ConfigError(f"{where} lists '{name}' twice")
        names[name.casefold()] = name
        _check_name(name, where)
    return tuple(names.values())


def _check_name(name: str, where: str) -> None:
    """A name must be what the query language accepts as an alias entry."""
    try:
        parse_query("@place", {"place": [name]})
    except QueryError as error:
        reason = str(error).rsplit(" at column ", 1)[0].removeprefix("alias '@place': ")
        raise ConfigError(f"{where}: name '{name}': {reason}") from None
