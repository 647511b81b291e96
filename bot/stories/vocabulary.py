"""Finds concepts in normalized tokens: the compiled form of ``lexicon`` and ``gazetteer``.

Contract: ``Vocabulary.concepts(tokens, text)`` walks the tokens of one text (from
``normalize_text``, with ``text`` the string they point into) left to right and returns
``(index, length, concepts)`` for each match, longest phrase first at each position; a matched
token is consumed. Patterns only meet words of their own script (a Cyrillic pattern never matches
an English word that happens to fold to the same letters: гори* is not "horizon").

A departure or arrival word (``st:departed``, ``st:arrived``) within two words after a negation
(not, unable, fail…, не, ні, нет) becomes ``st:halted``: "unable to reach", "не змогла
дістатися".

Speed: the pattern ids of a word are cached per (key, form, script); phrases are indexed by their
first word, so a text costs a few dict lookups per token.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.match.normalize import Token, normalize_prefix, normalize_term
from bot.match.places import load_places
from bot.paths import bundled_config_dir
from bot.stories.gazetteer import BUILTIN_PLACES, COUNTRIES
from bot.stories.lexicon import (
    CONCEPT_TABLE,
    NEGATIONS,
    ORGANISATION_TABLE,
    STOPWORDS,
    parse_table,
)

__all__ = [
    "ConceptMatch",
    "Vocabulary",
    "build_vocabulary",
    "default_vocabulary",
    "is_cyrillic_word",
    "merged_places",
    "place_rows",
]

_NEGATABLE = frozenset({"st:departed", "st:arrived"})
_HALTED = "st:halted"
_NEGATION_REACH = 2
_CACHE_LIMIT = 200_000

# A word pattern: (script, kind, text); kind: "=" a match key, "*" a form prefix, "." a form.
_Pattern = tuple[bool, str, str]


@dataclass(frozen=True, slots=True)
class ConceptMatch:
    """Concepts found at ``tokens[index : index + length]``."""

    index: int
    length: int
    concepts: tuple[str, ...]


def is_cyrillic_word(text: str, start: int) -> bool:
    return "\u0400" <= text[start] <= "\u04ff"


@dataclass(slots=True)
class _Phrase:
    rest: tuple[int, ...]
    concepts: tuple[str, ...]


@dataclass(slots=True)
class Vocabulary:
    """Compiled concept tables; build with ``Vocabulary.build`` or ``default_vocabulary``."""

    _pattern_ids: dict[_Pattern, int] = field(default_factory=dict)
    _exact: dict[tuple[bool, str], list[int]] = field(default_factory=dict)
    _prefixes: dict[tuple[bool, str], list[int]] = field(default_factory=dict)
    _forms: dict[tuple[bool, str], list[int]] = field(default_factory=dict)
    _prefix_lengths: list[int] = field(default_factory=list)
    _phrases: dict[int, list[_Phrase]] = field(default_factory=dict)
    _negations: frozenset[str] = frozenset()
    _stopwords: frozenset[str] = frozenset()
    _cache: dict[tuple[str, str, bool], frozenset[int]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        rows: Iterable[tuple[str, Sequence[str]]],
        *,
        negations: str = NEGATIONS,
        stopwords: str = STOPWORDS,
    ) -> Vocabulary:
        vocabulary = cls()
        for concept, patterns in rows:
            for pattern in patterns:
                vocabulary._add_phrase(concept, pattern)
        for phrases in vocabulary._phrases.values():
            phrases.sort(key=lambda phrase: -len(phrase.rest))
        vocabulary._prefix_lengths = sorted({len(text) for _, text in vocabulary._prefixes})
        vocabulary._negations = _keys(negations)
        vocabulary._stopwords = _keys(stopwords)
        return vocabulary

    def is_stopword(self, key: str) -> bool:
        return key in self._stopwords

    def concepts(self, tokens: Sequence[Token], text: str) -> list[ConceptMatch]:
        """Concept matches in ``tokens``, left to right, longest phrase first."""
        ids = [self._ids(token, text) for token in tokens]
        matches = []
        index = 0
        while index < len(tokens):
            if not ids[index]:
                index += 1
                continue
            length, concepts = self._longest(ids, index)
            if not length:
                index += 1
                continue
            if _NEGATABLE.intersection(concepts) and self._negated(tokens, index):
                concepts = tuple(_HALTED if c in _NEGATABLE else c for c in concepts)
            matches.append(ConceptMatch(index, length, concepts))
            index += length
        return matches

    def _longest(self, ids: Sequence[frozenset[int]], index: int) -> tuple[int, tuple[str, ...]]:
        best_length = 0
        found: list[str] = []
        for pattern_id in sorted(ids[index]):
            for phrase in self._phrases.get(pattern_id, ()):
                length = len(phrase.rest) + 1
                if length < best_length or index + length > len(ids):
                    continue
                if all(part in ids[index + 1 + j] for j, part in enumerate(phrase.rest)):
                    if length > best_length:
                        best_length, found = length, []
                    found.extend(c for c in phrase.concepts if c not in found)
        return best_length, tuple(found)

    def _negated(self, tokens: Sequence[Token], index: int) -> bool:
        before = tokens[max(0, index - _NEGATION_REACH) : index]
        return any(token.key in self._negations for token in before)

    def _ids(self, token: Token, text: str) -> frozenset[int]:
        cyrillic = is_cyrillic_word(text, token.start)
        cache_key = (token.key, token.form, cyrillic)
        found = self._cache.get(cache_key)
        if found is None:
            form = token.form
            ids = set(self._exact.get((cyrillic, token.key), ()))
            ids.update(self._forms.get((cyrillic, form), ()))
            for length in self._prefix_lengths:
                if length > len(form):
                    break
                ids.update(self._prefixes.get((cyrillic, form[:length]), ()))
            found = frozenset(ids)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[cache_key] = found
        return found

    def _add_phrase(self, concept: str, pattern: str) -> None:
        parts = [part_id for part in pattern.split("+") for part_id in self._part_ids(part)]
        if not parts:
            return
        first, *rest = parts
        phrases = self._phrases.setdefault(first, [])
        for phrase in phrases:
            if phrase.rest == tuple(rest):
                if concept not in phrase.concepts:
                    phrase.concepts += (concept,)
                return
        phrases.append(_Phrase(tuple(rest), (concept,)))

    def _part_ids(self, word: str) -> list[int]:
        """Pattern ids of one part; a part the normalizer splits (Ivano-Frankivsk) is a phrase."""
        cyrillic = any("\u0400" <= char <= "\u04ff" for char in word)
        if word.endswith("*"):
            *exact, last = normalize_prefix(word[:-1]) or ("",)
            texts = [(".", form) for form in exact] + [("*", last)]
        elif word.endswith("."):
            texts = [(".", form) for form in normalize_prefix(word[:-1])]
        else:
            texts = [("=", key) for key in normalize_term(word)]
        return [self._pattern_id(cyrillic, kind, text) for kind, text in texts if text]

    def _pattern_id(self, cyrillic: bool, kind: str, text: str) -> int:
        pattern = (cyrillic, kind, text)
        pattern_id = self._pattern_ids.setdefault(pattern, len(self._pattern_ids))
        table = {"*": self._prefixes, ".": self._forms, "=": self._exact}[kind]
        ids = table.setdefault((cyrillic, text), [])
        if pattern_id not in ids:
            ids.append(pattern_id)
        return pattern_id


def _keys(words: str) -> frozenset[str]:
    return frozenset(key for word in words.split() if word != "|" for key in normalize_term(word))


def place_rows(places: Mapping[str, Sequence[str]]) -> list[tuple[str, tuple[str, ...]]]:
    """Gazetteer entries as concept rows: ``country:`` for countries, ``place:`` otherwise.

    Spellings may be written as the shared gazetteer writes them (words separated by spaces) or
    as ``lexicon`` does (``+``). An oblast counts as its city (``kyiv-oblast`` → ``place:kyiv``):
    "Kyiv region" and "Kyiv" must not read as two different places.
    """
    rows = []
    for alias, spellings in places.items():
        name = alias.removesuffix("-oblast")
        kind = "country" if name in COUNTRIES else "place"
        rows.append((f"{kind}:{name}", tuple(spelling.replace(" ", "+") for spelling in spellings)))
    return rows


def merged_places(shared: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """The shared gazetteer, plus the built-in places it does not have."""
    places = {alias: tuple(names) for alias, names in shared.items()}
    for alias, names in BUILTIN_PLACES.items():
        places.setdefault(alias, names)
    return places


def build_vocabulary(places: Mapping[str, Sequence[str]] | None = None) -> Vocabulary:
    """The concept tables with ``places`` (default: the built-in list) as the gazetteer."""
    rows = [
        *parse_table(CONCEPT_TABLE),
        *parse_table(ORGANISATION_TABLE),
        *place_rows(BUILTIN_PLACES if places is None else places),
    ]
    return Vocabulary.build(rows)


_DEFAULT: Vocabulary | None = None


def default_vocabulary() -> Vocabulary:
    """The built-in tables with the bundled gazetteer (``config/places.toml``), compiled once."""
    global _DEFAULT
    if _DEFAULT is None:
        path = bundled_config_dir() / "places.toml"
        places = merged_places(load_places(path)) if path.is_file() else BUILTIN_PLACES
        _DEFAULT = build_vocabulary(places)
    return _DEFAULT
